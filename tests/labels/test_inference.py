"""Truth inference, label-error detection and active learning on simulated data."""

from __future__ import annotations

import numpy as np
import pytest

from shipyard.core import InvalidInput
from shipyard.labels import (
    dawid_skene,
    entropy,
    find_label_issues,
    least_confidence,
    majority_vote,
    margin,
    uncertainty,
    weighted_majority,
)
from shipyard.labels.simulate import Crowd, SimulatedAnnotator


def _crowd_with_spammers(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, Crowd, tuple]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)
    crowd = Crowd.make(6, accuracy=[0.85, 0.8, 0.75, 0.7, 0.9, 0.9], spammers=2, seed=seed)
    return truth, crowd, crowd.label(truth, 3, overlap=3)


def test_dawid_skene_beats_majority_vote_with_spammers() -> None:
    truth, _crowd, (item, rater, label) = _crowd_with_spammers()
    mv = majority_vote(item, rater, label, len(truth), 3)
    ds = dawid_skene(item, rater, label, len(truth), 3)
    assert ds.converged
    assert ds.accuracy(truth) > mv.accuracy(truth) + 0.03
    # the learned confusion matrices expose the spammers: near-uniform rows
    diag = np.array([np.trace(c) / 3 for c in ds.confusion])
    assert diag[4] < 0.5 and diag[5] < 0.5
    assert diag[:4].min() > 0.6
    assert np.allclose(ds.posteriors.sum(axis=1), 1.0)


def test_weighted_majority_uses_accuracies() -> None:
    truth, crowd, (item, rater, label) = _crowd_with_spammers(seed=1)
    mv = majority_vote(item, rater, label, len(truth), 3)
    acc = [a.accuracy if not a.spammer else 1 / 3 for a in crowd.annotators]
    wmv = weighted_majority(item, rater, label, len(truth), 3, accuracy=acc)
    assert wmv.accuracy(truth) > mv.accuracy(truth)
    assert wmv.extra["weights"][4] == 0.0  # a random annotator gets no vote
    with pytest.raises(InvalidInput, match="needs per-annotator weights"):
        weighted_majority(item, rater, label, len(truth), 3)


def test_dawid_skene_anchored_by_known_answers() -> None:
    # two annotators who systematically swap classes 0 and 1 outnumber one honest one
    truth = np.tile([0, 1, 2], 200)
    swap = np.array([1, 0, 2])[truth]
    item = np.repeat(np.arange(600), 3)
    rater = np.tile([0, 1, 2], 600)
    label = np.stack([swap, swap, truth], axis=1).ravel()
    free = dawid_skene(item, rater, label, 600, 3)
    anchored = dawid_skene(item, rater, label, 600, 3, known={i: int(truth[i]) for i in range(30)})
    assert free.accuracy(truth) < 0.5
    assert anchored.accuracy(truth) == 1.0


def test_majority_vote_confidence_and_unrated_items() -> None:
    agg = majority_vote([0, 0, 0, 1, 1], [0, 1, 2, 0, 1], [2, 2, 1, 0, 0], 3, 3)
    assert agg.labels.tolist() == [2, 0, -1]
    assert agg.confidence[0] == pytest.approx(2 / 3)
    assert agg.n_ratings.tolist() == [3, 2, 0]
    with pytest.raises(InvalidInput, match="at least 2 classes"):
        majority_vote([0], [0], [0], 1, 1)


def test_simulated_annotators_hit_their_accuracy() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, 20000)
    good = SimulatedAnnotator("g", accuracy=0.8).answer(truth, 4, rng)
    spam = SimulatedAnnotator("s", spammer=True, bias=(1, 0, 0, 0)).answer(truth, 4, rng)
    assert (good == truth).mean() == pytest.approx(0.8, abs=0.02)
    assert (spam == 0).all()
    item, rater, _ = Crowd.make(5, seed=2).label(truth[:100], 4, overlap=3)
    pairs = set(zip(item.tolist(), rater.tolist(), strict=True))
    assert len(pairs) == 300  # three distinct annotators per item


def test_confident_learning_finds_planted_errors() -> None:
    rng = np.random.default_rng(0)
    n, k = 2000, 3
    truth = rng.integers(0, k, n)
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), truth] += 3.0
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    given = truth.copy()
    flipped = rng.choice(n, 100, replace=False)
    given[flipped] = (truth[flipped] + 1) % k
    issues = find_label_issues(given, probs)
    found = set(issues["index"].tolist())
    precision = len(found & set(flipped.tolist())) / max(len(found), 1)
    recall = len(found & set(flipped.tolist())) / 100
    assert precision > 0.8 and recall > 0.7
    assert issues["label_quality"].is_monotonic_increasing
    with pytest.raises(InvalidInput, match="sum to 1"):
        find_label_issues(given, probs * 2)
    with pytest.raises(InvalidInput, match="shape"):
        find_label_issues(given[:10], probs)


def test_uncertainty_strategies() -> None:
    p = np.array([[0.98, 0.01, 0.01], [0.4, 0.35, 0.25], [1 / 3, 1 / 3, 1 / 3]])
    for fn in (least_confidence, margin, entropy):
        s = fn(p)
        assert s[0] < s[1] < s[2] or (fn is margin and s[0] < s[1] <= s[2])
    assert entropy(p)[2] == pytest.approx(1.0)
    assert uncertainty(p, "margin")[0] == pytest.approx(1 - 0.97)
    with pytest.raises(InvalidInput, match="unknown uncertainty strategy"):
        uncertainty(p, "random")

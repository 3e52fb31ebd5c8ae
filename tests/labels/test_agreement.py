"""Agreement coefficients against published, hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest

from shipyard.core import InvalidInput
from shipyard.labels import (
    agreement_report,
    box_iou,
    cohen_kappa,
    count_matrix,
    fleiss_kappa,
    fleiss_kappa_per_class,
    gwet_ac1,
    krippendorff_alpha,
    match_agreement,
    match_score,
    observed_agreement,
    pairwise_agreement,
    span_iou,
)

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers,
# 12 units, values 1-5, with missing data.
KRIPP = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]

# Fleiss (1971) as reproduced on Wikipedia: 10 subjects, 14 raters, 5 categories.
FLEISS = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)


def _long(table: list[list[int | None]]) -> tuple[list[int], list[int], list[int]]:
    item, rater, label = [], [], []
    for r, row in enumerate(table):
        for i, v in enumerate(row):
            if v is not None:
                item.append(i)
                rater.append(r)
                label.append(v - 1)
    return item, rater, label


def test_krippendorff_alpha_textbook_example() -> None:
    item, _, label = _long(KRIPP)
    counts = count_matrix(item, label, 12, 5)
    assert krippendorff_alpha(counts) == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(counts, "interval") == pytest.approx(0.849, abs=5e-4)
    assert krippendorff_alpha(counts, "ordinal") == pytest.approx(0.815, abs=5e-4)


def test_fleiss_kappa_textbook_example() -> None:
    assert fleiss_kappa(FLEISS) == pytest.approx(0.210, abs=5e-4)
    # P-bar from the same worked example
    assert observed_agreement(FLEISS) == pytest.approx(0.378, abs=5e-4)
    per = fleiss_kappa_per_class(FLEISS)
    # category kappa by hand for class 5: 1 - sum n(n_i - n) / (N n (n-1) p q)
    n5 = FLEISS[:, 4]
    p5 = n5.sum() / FLEISS.sum()
    expected = 1 - (n5 * (14 - n5)).sum() / (10 * 14 * 13 * p5 * (1 - p5))
    assert per[4] == pytest.approx(expected)


def test_cohen_kappa_textbook_example() -> None:
    # Wikipedia: 50 proposals, yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> kappa 0.4
    a = [0] * 25 + [1] * 25
    b = [0] * 20 + [1] * 5 + [0] * 10 + [1] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_gwet_ac1_resists_the_kappa_paradox() -> None:
    # 125 items, both raters say "yes" 118 times: high agreement, skewed prevalence.
    a = [0] * 118 + [0] * 5 + [1] * 2
    b = [0] * 118 + [1] * 5 + [0] * 2
    counts = count_matrix(np.r_[np.arange(125), np.arange(125)], np.r_[a, b], 125, 2)
    # by hand: pa = 118/125; pi_yes = (123/125 + 120/125) / 2; pe = 2 pi (1 - pi)
    pi = (123 / 125 + 120 / 125) / 2
    pe = 2 * pi * (1 - pi)
    assert gwet_ac1(counts) == pytest.approx((118 / 125 - pe) / (1 - pe))
    assert gwet_ac1(counts) > 0.9
    assert cohen_kappa(a, b) < 0.0  # the paradox


def test_pairwise_agreement_matches_cohen_on_each_pair() -> None:
    item, rater, label = _long(KRIPP)
    pa = pairwise_agreement(item, rater, label, 5)
    table = np.array([[np.nan if v is None else v - 1 for v in row] for row in KRIPP])
    for a, b, n, kappa in zip(pa.a, pa.b, pa.n, pa.kappa, strict=True):
        both = ~np.isnan(table[a]) & ~np.isnan(table[b])
        assert n == both.sum()
        expected = cohen_kappa(table[a][both].astype(int), table[b][both].astype(int), 5)
        assert kappa == pytest.approx(expected, nan_ok=True)
    assert len(pa.a) == 6  # every pair of the 4 observers co-rated something


def test_report_flags_the_random_annotator() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 600)
    item = np.repeat(np.arange(600), 3)
    rater = np.tile([0, 1, 2], 600)
    label = np.repeat(truth, 3)
    noisy = rater == 2
    label[noisy] = rng.integers(0, 3, noisy.sum())
    rep = agreement_report(item, rater, label, classes=["a", "b", "c"], raters=["x", "y", "z"])
    per = rep.per_annotator.set_index("annotator")
    assert per.loc["x", "mean_cohen_kappa"] > 0.4
    assert per.loc["z", "mean_cohen_kappa"] < per.loc["x", "mean_cohen_kappa"] - 0.3
    assert rep.confusion.sum() == 2 * 3 * 600  # 3 pairs per item, symmetric
    assert rep.to_dict()["n_items"] == 600


def test_count_matrix_rejects_out_of_range_labels() -> None:
    with pytest.raises(InvalidInput, match=r"class indices in \[0, 2\)"):
        count_matrix([0, 1], [0, 2], 2, 2)
    with pytest.raises(InvalidInput, match="unknown Krippendorff metric"):
        krippendorff_alpha(FLEISS, "ratio")


def test_iou_and_match_scores() -> None:
    assert span_iou({"start": 0, "end": 10}, {"start": 5, "end": 15}) == pytest.approx(5 / 15)
    a = {"x": 0.0, "y": 0.0, "w": 0.5, "h": 0.5}
    b = {"x": 0.25, "y": 0.0, "w": 0.5, "h": 0.5}
    assert box_iou(a, b) == pytest.approx(0.125 / 0.375)
    s1 = [{"start": 0, "end": 4, "label": "PER"}, {"start": 10, "end": 14, "label": "LOC"}]
    s2 = [{"start": 0, "end": 4, "label": "PER"}]
    assert match_score(s1, s1, span_iou) == 1.0
    assert match_score(s1, s2, span_iou) == pytest.approx(2 * 1.0 / 3)
    # same place, different label: no match
    s3 = [{"start": 0, "end": 4, "label": "LOC"}]
    assert match_score(s2, s3, span_iou) == 0.0
    assert match_score([], [], span_iou) == 1.0
    res = match_agreement({0: {"a": s1, "b": s2}, 1: {"a": s2, "b": s2}}, "text_spans")
    assert res["match_agreement"] == pytest.approx((2 / 3 + 1) / 2)
    assert res["pairs"].iloc[0]["items"] == 2

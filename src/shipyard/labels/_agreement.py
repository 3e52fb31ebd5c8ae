"""Inter-annotator agreement, vectorized over long-format ratings.

Ratings are three aligned integer arrays ``item``, ``rater``, ``label`` (one entry per
annotation). Most coefficients only need the *count matrix* ``N[i, c]`` (how many
annotators put item ``i`` in class ``c``), built with one ``bincount``; pairwise Cohen's
kappa groups co-rated pairs with one sort. Items rated by fewer than two annotators do
not count toward agreement (there is nothing to agree with).

Textbook definitions:

* Fleiss' kappa (Fleiss 1971), generalized to a varying number of raters per item.
* Krippendorff's alpha from the coincidence matrix (Krippendorff 2011), with nominal,
  ordinal and interval distance metrics; handles missing ratings.
* Gwet's AC1 (Gwet 2008): chance agreement from class prevalence, robust to skewed
  classes where kappa collapses ("kappa paradox").
* Cohen's kappa (Cohen 1960) for every pair of annotators that rated common items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..core import InvalidInput

IntArray = np.ndarray[Any, np.dtype[np.int64]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def count_matrix(item: Any, label: Any, n_items: int, n_classes: int) -> FloatArray:
    """``N[i, c]``: the number of ratings putting item *i* in class *c*."""
    item = np.asarray(item, dtype=np.int64)
    label = np.asarray(label, dtype=np.int64)
    if item.shape != label.shape:
        raise InvalidInput("item and label arrays must have the same length")
    if len(label) and (label.min() < 0 or label.max() >= n_classes):
        raise InvalidInput(f"labels must be class indices in [0, {n_classes})")
    flat = np.bincount(item * n_classes + label, minlength=n_items * n_classes)
    return flat.reshape(n_items, n_classes).astype(np.float64)


def _pairable(counts: Any) -> tuple[FloatArray, FloatArray]:
    n = np.asarray(counts, dtype=np.float64)
    if n.ndim != 2:
        raise InvalidInput("a count matrix has shape (items, classes)")
    r = n.sum(axis=1)
    keep = r >= 2
    return n[keep], r[keep]


def observed_agreement(counts: Any) -> float:
    """Mean proportion of agreeing rater pairs per item (Fleiss' P-bar)."""
    n, r = _pairable(counts)
    if len(r) == 0:
        return float("nan")
    return float(np.mean((n * (n - 1)).sum(axis=1) / (r * (r - 1))))


def fleiss_kappa(counts: Any) -> float:
    """Fleiss' kappa from a count matrix ``(items, classes)``."""
    n, r = _pairable(counts)
    if len(r) == 0:
        return float("nan")
    p_bar = float(np.mean((n * (n - 1)).sum(axis=1) / (r * (r - 1))))
    p_j = n.sum(axis=0) / n.sum()
    p_e = float((p_j**2).sum())
    if p_e >= 1.0:
        return 1.0 if p_bar >= 1.0 else float("nan")
    return (p_bar - p_e) / (1.0 - p_e)


def fleiss_kappa_per_class(counts: Any) -> FloatArray:
    """Fleiss' category-wise kappa: agreement on each class against the rest."""
    n, r = _pairable(counts)
    if len(r) == 0:
        return np.full(np.asarray(counts).shape[1], np.nan)
    p_j = n.sum(axis=0) / n.sum()
    disagree = (n * (r[:, None] - n)).sum(axis=0)
    denom = (r * (r - 1)).sum() * p_j * (1 - p_j)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1.0 - disagree / denom
    return np.where(denom > 0, out, np.nan)


def gwet_ac1(counts: Any) -> float:
    """Gwet's AC1 (multi-rater) from a count matrix ``(items, classes)``."""
    n, r = _pairable(counts)
    q = n.shape[1]
    if len(r) == 0 or q < 2:
        return float("nan")
    p_a = float(np.mean((n * (n - 1)).sum(axis=1) / (r * (r - 1))))
    pi = (n / r[:, None]).mean(axis=0)
    p_e = float((pi * (1 - pi)).sum() / (q - 1))
    return (p_a - p_e) / (1.0 - p_e)


def _distance(metric: str, totals: FloatArray, values: FloatArray | None) -> FloatArray:
    q = len(totals)
    idx = np.arange(q)
    if metric == "nominal":
        return 1.0 - np.eye(q)
    if metric == "interval":
        v = idx.astype(float) if values is None else np.asarray(values, dtype=float)
        return (v[:, None] - v[None, :]) ** 2
    if metric == "ordinal":
        cum = np.concatenate([[0.0], np.cumsum(totals)])
        lo = np.minimum(idx[:, None], idx[None, :])
        hi = np.maximum(idx[:, None], idx[None, :])
        between = cum[hi + 1] - cum[lo]
        return (between - (totals[:, None] + totals[None, :]) / 2.0) ** 2
    raise InvalidInput(
        f"unknown Krippendorff metric {metric!r}: use 'nominal', 'ordinal' or 'interval'"
    )


def coincidence_matrix(counts: Any) -> FloatArray:
    """Krippendorff's coincidence matrix ``o[c, k]`` of pairable values."""
    n, r = _pairable(counts)
    w = n / (r - 1)[:, None]
    return w.T @ n - np.diag(w.sum(axis=0))


def krippendorff_alpha(counts: Any, metric: str = "nominal", values: Any = None) -> float:
    """Krippendorff's alpha from a count matrix; *values* give classes numeric values."""
    o = coincidence_matrix(counts)
    totals = o.sum(axis=1)
    total = totals.sum()
    if total <= 1:
        return float("nan")
    delta = _distance(metric, totals, None if values is None else np.asarray(values, float))
    d_o = float((o * delta).sum())
    d_e = float((np.outer(totals, totals) * delta).sum()) / (total - 1)
    if d_e == 0:
        return 1.0 if d_o == 0 else float("nan")
    return 1.0 - d_o / d_e


def cohen_kappa(a: Any, b: Any, n_classes: int | None = None) -> float:
    """Cohen's kappa of two aligned label arrays."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise InvalidInput("Cohen's kappa needs two non-empty label arrays of the same length")
    q = int(n_classes or max(a.max(), b.max()) + 1)
    conf = np.bincount(a * q + b, minlength=q * q).reshape(q, q).astype(float)
    return float(_kappa_from_confusion(conf[None])[0])


def _kappa_from_confusion(conf: FloatArray) -> FloatArray:
    n = conf.sum(axis=(1, 2))
    po = np.trace(conf, axis1=1, axis2=2) / n
    pe = ((conf.sum(axis=2) / n[:, None]) * (conf.sum(axis=1) / n[:, None])).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = (po - pe) / (1.0 - pe)
    return np.where(pe >= 1.0, np.where(po >= 1.0, 1.0, np.nan), k)


@dataclass
class PairAgreement:
    """Agreement of every annotator pair that rated common items."""

    a: IntArray
    b: IntArray
    n: IntArray
    percent: FloatArray
    kappa: FloatArray
    confusion: FloatArray  # (pairs, classes, classes): rows a's label, columns b's

    def pooled_confusion(self) -> FloatArray:
        """Label co-occurrence over all pairs, symmetric (who is 'a' is arbitrary)."""
        total = self.confusion.sum(axis=0)
        return total + total.T


def co_rated_pairs(
    item: Any, rater: Any, label: Any
) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray]:
    """Every pair of ratings of the same item: (item, rater_a, rater_b, label_a, label_b)."""
    item = np.asarray(item, dtype=np.int64)
    rater = np.asarray(rater, dtype=np.int64)
    label = np.asarray(label, dtype=np.int64)
    order = np.lexsort((rater, item))
    it, ra, la = item[order], rater[order], label[order]
    parts: list[tuple[IntArray, IntArray]] = []
    d = 1
    while d < len(it):
        same = np.flatnonzero(it[:-d] == it[d:])
        if len(same) == 0:
            break
        parts.append((same, same + d))
        d += 1
    if not parts:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e, e, e
    i = np.concatenate([p[0] for p in parts])
    j = np.concatenate([p[1] for p in parts])
    return it[i], ra[i], ra[j], la[i], la[j]


def pairwise_agreement(item: Any, rater: Any, label: Any, n_classes: int) -> PairAgreement:
    """Cohen's kappa and percent agreement for every co-rating annotator pair."""
    _, ra, rb, la, lb = co_rated_pairs(item, rater, label)
    if len(ra) == 0:
        e = np.zeros(0, dtype=np.int64)
        return PairAgreement(e, e, e, np.zeros(0), np.zeros(0), np.zeros((0, n_classes, n_classes)))
    span = int(max(ra.max(), rb.max())) + 1
    keys, inv = np.unique(ra * span + rb, return_inverse=True)
    q = n_classes
    conf = (
        np.bincount(inv * q * q + la * q + lb, minlength=len(keys) * q * q)
        .reshape(len(keys), q, q)
        .astype(float)
    )
    n = conf.sum(axis=(1, 2))
    percent = np.trace(conf, axis1=1, axis2=2) / n
    return PairAgreement(
        a=keys // span,
        b=keys % span,
        n=n.astype(np.int64),
        percent=percent,
        kappa=_kappa_from_confusion(conf),
        confusion=conf,
    )


@dataclass
class AgreementReport:
    """Agreement of one project (or one set of ratings), overall and broken down."""

    n_items: int
    n_ratings: int
    percent_agreement: float
    fleiss_kappa: float
    krippendorff_alpha: float
    gwet_ac1: float
    per_class: pd.DataFrame
    pairs: pd.DataFrame
    per_annotator: pd.DataFrame
    confusion: FloatArray
    classes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "n_items": self.n_items,
            "n_ratings": self.n_ratings,
            "percent_agreement": _f(self.percent_agreement),
            "fleiss_kappa": _f(self.fleiss_kappa),
            "krippendorff_alpha": _f(self.krippendorff_alpha),
            "gwet_ac1": _f(self.gwet_ac1),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "classes": self.classes,
            "per_class": _records(self.per_class),
            "pairs": _records(self.pairs),
            "per_annotator": _records(self.per_annotator),
            "confusion": self.confusion.tolist(),
        }


def _f(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 6)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in df.to_dict(orient="records"):
        out.append({k: (_f(v) if isinstance(v, float) else v) for k, v in rec.items()})
    return out


def agreement_report(
    item: Any,
    rater: Any,
    label: Any,
    *,
    classes: list[str],
    raters: list[str],
    n_items: int | None = None,
) -> AgreementReport:
    """Every classification agreement figure for long-format ratings."""
    item = np.asarray(item, dtype=np.int64)
    rater = np.asarray(rater, dtype=np.int64)
    label = np.asarray(label, dtype=np.int64)
    q = len(classes)
    n_items = int(n_items if n_items is not None else (item.max() + 1 if len(item) else 0))
    counts = count_matrix(item, label, n_items, q)
    rated = counts.sum(axis=1)
    per_class = pd.DataFrame(
        {
            "class": classes,
            "ratings": counts.sum(axis=0).astype(int),
            "fleiss_kappa": fleiss_kappa_per_class(counts),
        }
    )
    pa = pairwise_agreement(item, rater, label, q)
    pairs = pd.DataFrame(
        {
            "annotator_a": [raters[i] for i in pa.a],
            "annotator_b": [raters[i] for i in pa.b],
            "items": pa.n,
            "percent_agreement": pa.percent,
            "cohen_kappa": pa.kappa,
        }
    )
    rows = []
    for r_idx, name in enumerate(raters):
        mine = (pa.a == r_idx) | (pa.b == r_idx)
        n = pa.n[mine]
        ok = mine & np.isfinite(pa.kappa)
        rows.append(
            {
                "annotator": name,
                "ratings": int((rater == r_idx).sum()),
                "co_rated": int(n.sum()),
                "percent_agreement": float(np.average(pa.percent[mine], weights=n))
                if n.sum()
                else float("nan"),
                "mean_cohen_kappa": float(np.average(pa.kappa[ok], weights=pa.n[ok]))
                if pa.n[ok].sum()
                else float("nan"),
            }
        )
    return AgreementReport(
        n_items=int((rated >= 2).sum()),
        n_ratings=len(label),
        percent_agreement=observed_agreement(counts),
        fleiss_kappa=fleiss_kappa(counts),
        krippendorff_alpha=krippendorff_alpha(counts),
        gwet_ac1=gwet_ac1(counts),
        per_class=per_class,
        pairs=pairs,
        per_annotator=pd.DataFrame(
            rows,
            columns=["annotator", "ratings", "co_rated", "percent_agreement", "mean_cohen_kappa"],
        ),
        confusion=pa.pooled_confusion() if len(pa.a) else np.zeros((q, q)),
        classes=list(classes),
    )

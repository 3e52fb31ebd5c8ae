"""Match-based agreement for text spans and bounding boxes.

Two annotations of one item are sets of regions with labels. Regions are paired by
maximum total IoU (Hungarian assignment, only same-label pairs with IoU at or above
the threshold count), and the pair's agreement is ``2 * sum(IoU of matches) / (|A| +
|B|)``: 1 for identical sets, 0 when nothing overlaps, and 1 when both are empty.

Spans are ``{"start", "end", "label"}`` (character offsets, end exclusive); boxes are
``{"x", "y", "w", "h", "label"}`` in fractions of the image size (0-1).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

Region = Mapping[str, Any]


def span_iou(a: Region, b: Region) -> float:
    inter = max(0, min(a["end"], b["end"]) - max(a["start"], b["start"]))
    union = max(a["end"], b["end"]) - min(a["start"], b["start"])
    return inter / union if union > 0 else 0.0


def box_iou(a: Region, b: Region) -> float:
    ix = max(0.0, min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"]))
    iy = max(0.0, min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"]))
    inter = ix * iy
    union = a["w"] * a["h"] + b["w"] * b["h"] - inter
    return inter / union if union > 0 else 0.0


IOU: dict[str, Callable[[Region, Region], float]] = {
    "text_spans": span_iou,
    "bounding_boxes": box_iou,
}


def match_score(
    a: Sequence[Region],
    b: Sequence[Region],
    iou: Callable[[Region, Region], float],
    threshold: float = 0.5,
) -> float:
    """Agreement of two region sets: 2·Σ IoU(matched) / (|a| + |b|)."""
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    m = np.array([[iou(x, y) if x.get("label") == y.get("label") else 0.0 for y in b] for x in a])
    m[m < threshold] = 0.0
    rows, cols = linear_sum_assignment(m, maximize=True)
    return float(2.0 * m[rows, cols].sum() / (len(a) + len(b)))


def match_agreement(
    annotations: Mapping[int, Mapping[str, Sequence[Region]]],
    kind: str,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """Mean pairwise match score overall, per annotator pair and per annotator.

    *annotations* maps item → {annotator: regions}.
    """
    iou = IOU[kind]
    pair_scores: dict[tuple[str, str], list[float]] = {}
    item_scores = []
    for per_rater in annotations.values():
        names = sorted(per_rater)
        scores = []
        for x, y in combinations(names, 2):
            s = match_score(per_rater[x], per_rater[y], iou, threshold)
            pair_scores.setdefault((x, y), []).append(s)
            scores.append(s)
        if scores:
            item_scores.append(float(np.mean(scores)))
    pairs = pd.DataFrame(
        [
            {"annotator_a": a, "annotator_b": b, "items": len(v), "match_agreement": np.mean(v)}
            for (a, b), v in sorted(pair_scores.items())
        ],
        columns=["annotator_a", "annotator_b", "items", "match_agreement"],
    )
    per: dict[str, list[float]] = {}
    for (a, b), v in pair_scores.items():
        per.setdefault(a, []).extend(v)
        per.setdefault(b, []).extend(v)
    per_annotator = pd.DataFrame(
        [
            {"annotator": k, "co_rated": len(v), "match_agreement": np.mean(v)}
            for k, v in sorted(per.items())
        ],
        columns=["annotator", "co_rated", "match_agreement"],
    )
    return {
        "n_items": len(item_scores),
        "match_agreement": float(np.mean(item_scores)) if item_scores else float("nan"),
        "threshold": threshold,
        "pairs": pairs,
        "per_annotator": per_annotator,
    }


def medoid(
    per_rater: Mapping[str, Sequence[Region]], kind: str, threshold: float = 0.5
) -> tuple[str, float]:
    """The annotator whose regions agree most with everyone else's, and that mean score."""
    iou = IOU[kind]
    names = sorted(per_rater)
    if len(names) == 1:
        return names[0], float("nan")
    best, best_score = names[0], -1.0
    for x in names:
        s = float(
            np.mean(
                [match_score(per_rater[x], per_rater[y], iou, threshold) for y in names if y != x]
            )
        )
        if s > best_score:
            best, best_score = x, s
    return best, best_score

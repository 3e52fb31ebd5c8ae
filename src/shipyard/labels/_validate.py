"""Checking and normalizing one annotation for a project's kind."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ._errors import InvalidAnnotation, LabelNotInClasses, SpanOutOfRange


def _class_index(value: Any, classes: Sequence[str], project: str) -> int:
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, int):
        if 0 <= value < len(classes):
            return value
    elif isinstance(value, str) and value in classes:
        return list(classes).index(value)
    raise LabelNotInClasses(
        f"label {value!r} is not a class of labeling project {project!r}; "
        f"use one of: {', '.join(classes)}",
        details={"label": value, "classes": list(classes), "project": project},
    )


def normalize(
    kind: str,
    value: Any,
    classes: Sequence[str],
    project: str,
    text: str | None = None,
) -> tuple[int | None, Any]:
    """Return ``(label_index, value_json)`` for storage, or raise a clear error."""
    if kind == "classification":
        return _class_index(value, classes, project), None
    if kind == "multilabel":
        if isinstance(value, str | int) or not isinstance(value, Sequence):
            raise InvalidAnnotation(
                f"a multilabel annotation of project {project!r} is a list of class names, "
                f"got {value!r}"
            )
        idx = sorted({_class_index(v, classes, project) for v in value})
        return None, [classes[i] for i in idx]
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise InvalidAnnotation(
            f"a {kind} annotation of project {project!r} is a list of regions "
            f"(dicts with 'label' and coordinates), got {value!r}"
        )
    out = []
    for region in value:
        if not isinstance(region, Mapping):
            raise InvalidAnnotation(f"each region must be a dict, got {region!r}")
        label = classes[_class_index(region.get("label"), classes, project)]
        if kind == "text_spans":
            out.append(_span(region, label, project, text))
        else:
            out.append(_box(region, label, project))
    return None, out


def _span(region: Mapping[str, Any], label: str, project: str, text: str | None) -> dict[str, Any]:
    start, end = region.get("start"), region.get("end")
    if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool):
        raise InvalidAnnotation(
            f"a span needs integer 'start' and 'end' character offsets, got {dict(region)!r}"
        )
    n = len(text or "")
    if not (0 <= start < end <= n):
        raise SpanOutOfRange(
            f"span [{start}, {end}) lies outside the task's text of {n} characters in "
            f"project {project!r}; offsets must satisfy 0 <= start < end <= {n}",
            details={"start": start, "end": end, "length": n},
        )
    return {"start": start, "end": end, "label": label, "text": (text or "")[start:end]}


def _box(region: Mapping[str, Any], label: str, project: str) -> dict[str, Any]:
    try:
        x, y, w, h = (float(region[k]) for k in ("x", "y", "w", "h"))
    except (KeyError, TypeError, ValueError):
        raise InvalidAnnotation(
            f"a box needs numeric 'x', 'y', 'w', 'h' (fractions of the image size), "
            f"got {dict(region)!r}"
        ) from None
    eps = 1e-6
    if not all(math.isfinite(v) for v in (x, y, w, h)) or not (
        w > 0 and h > 0 and x >= -eps and y >= -eps and x + w <= 1 + eps and y + h <= 1 + eps
    ):
        raise InvalidAnnotation(
            f"box {dict(region)!r} of project {project!r} is outside the image: x, y, w, h "
            "are fractions of the image size with w, h > 0 and x + w <= 1, y + h <= 1"
        )
    return {"x": x, "y": y, "w": w, "h": h, "label": label}

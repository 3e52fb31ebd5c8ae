"""Model registry REST routes: models, versions, aliases, evaluations, promotions, cards."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from ...core import InvalidInput
from .._deps import get_ws

router = APIRouter(prefix="/api/v1", tags=["models"])

MAX_UPLOAD_BYTES = 2 * 1024**3
MAX_INLINE_ROWS = 100_000


def _ref(name: str, selector: str) -> str:
    return f"{name}@{selector}"


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


class RegisterIn(BaseModel):
    run: str
    artifact: str = "model"
    flavor: str | None = None
    datasets: list[str] = Field(default_factory=list)
    description: str = ""
    metrics: dict[str, float] = Field(default_factory=dict)
    tags: dict[str, Any] = Field(default_factory=dict)


class AliasIn(BaseModel):
    version: int | str
    reason: str = ""


class EvaluateIn(BaseModel):
    dataset: str | None = Field(None, description="A dataset reference such as 'churn-test@2'.")
    records: list[dict[str, Any]] | None = Field(
        None, description="Inline rows instead of a dataset."
    )
    target: str
    task: str | None = None
    checks: list[str] | None = Field(None, description="Checks; default: the success criteria.")
    suite: dict[str, Any] | None = Field(None, description="A suite in its TOML shape.")
    slices: list[str] = Field(default_factory=list)


class PromoteIn(BaseModel):
    alias: str = "champion"
    force: bool = False
    reason: str = ""
    dataset: str | None = None
    records: list[dict[str, Any]] | None = None
    target: str | None = None
    checks: list[str] | None = None
    suite: dict[str, Any] | None = None


class PredictIn(BaseModel):
    inputs: list[dict[str, Any]] | dict[str, list[Any]] | list[Any]
    proba: bool = False


class CriteriaIn(BaseModel):
    criteria: dict[str, str]
    replace: bool = False


def _data(dataset: str | None, records: list[dict[str, Any]] | None) -> Any:
    if records is not None:
        if len(records) > MAX_INLINE_ROWS:
            raise InvalidInput(
                f"at most {MAX_INLINE_ROWS} inline records; commit a dataset instead"
            )
        import pandas as pd

        return pd.DataFrame.from_records(records)
    return dataset


def _suite(checks: list[str] | None, suite: dict[str, Any] | None) -> Any:
    from ...evaluation import Suite

    if suite is not None:
        s = Suite.from_dict(suite)
        return s.merged(Suite(checks=checks)) if checks else s
    return Suite(checks=checks) if checks is not None else None


# ---------------------------------------------------------------------- models
@router.get("/models")
def list_models(ws: Any = Depends(get_ws)) -> list[dict[str, Any]]:
    """Every registered model with its latest version and aliases."""
    return [m.to_dict() for m in ws.models.list_models()]


@router.get("/models/{name}")
def get_model(name: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """A model and all its versions."""
    m = ws.models.get_model(name)
    return {**m.to_dict(), "versions": [v.to_dict() for v in ws.models.versions(name)]}


@router.post("/models/{name}/versions", status_code=201)
def register_from_run(name: str, body: RegisterIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Register a run's model artifact as a new version."""
    v = ws.models.register(
        name,
        run=body.run,
        artifact=body.artifact,
        flavor=body.flavor,
        datasets=body.datasets,
        description=body.description,
        metrics=body.metrics,
        tags=body.tags,
    )
    return dict(v.to_dict())


@router.post("/models/{name}/versions/upload", status_code=201)
async def register_upload(
    name: str,
    request: Request,
    filename: str = Query(
        ..., description="File name; its suffix picks the format (.onnx, .joblib…)."
    ),
    description: str = Query(""),
    ws: Any = Depends(get_ws),
) -> dict[str, Any]:
    """Register a model file sent as the raw request body."""
    suffix = Path(filename).suffix.lower()
    if suffix not in (".onnx", ".pt", ".pth", ".pkl", ".pickle", ".joblib"):
        raise InvalidInput(
            f"cannot register {filename!r}: use a .onnx, .pt, .pth, .pkl, .pickle or .joblib file",
            details={"filename": filename},
        )
    with tempfile.TemporaryDirectory(prefix="shipyard-upload-") as tmp:
        path = Path(tmp) / f"model{suffix}"
        size = 0
        with open(path, "wb") as f:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise InvalidInput("model upload exceeds 2 GiB")
                f.write(chunk)
        if size == 0:
            raise InvalidInput("the request body is empty: send the model file's bytes")
        v = ws.models.register(name, str(path), description=description)
    return dict(v.to_dict())


# ---------------------------------------------------------------------- versions
@router.get("/models/{name}/versions/{selector}")
def get_version(name: str, selector: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """One version (``3``, ``champion``, ``latest`` or ``sha256:ab12``) with its latest report."""
    v = ws.models.get(_ref(name, selector))
    return {**v.to_dict(), "latest_evaluation": _clean(ws.models.latest_report(v))}


@router.post("/models/{name}/versions/{selector}/archive")
def archive_version(name: str, selector: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return dict(ws.models.archive(_ref(name, selector)).to_dict())


@router.delete("/models/{name}/versions/{selector}", status_code=204)
def delete_version(name: str, selector: str, ws: Any = Depends(get_ws)) -> Response:
    ws.models.delete(_ref(name, selector))
    return Response(status_code=204)


@router.post("/models/{name}/versions/{selector}/predict")
def predict(name: str, selector: str, body: PredictIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Predict with a version (for checks and debugging; serve traffic with a deployment)."""
    p = ws.models.load(_ref(name, selector))
    out: dict[str, Any] = {
        "model": p.version.ref,
        "predictions": _clean(p.predict(body.inputs).tolist()),
    }
    if body.proba:
        out["probabilities"] = _clean(p.predict_proba(body.inputs).tolist())
    return out


@router.get("/models/{name}/versions/{selector}/card")
def card(
    name: str,
    selector: str,
    format: str = Query("markdown", pattern="^(markdown|html)$"),
    ws: Any = Depends(get_ws),
) -> Response:
    """The model card as Markdown or HTML."""
    text = ws.models.card(_ref(name, selector), format=format)
    if format == "html":
        return HTMLResponse(text)
    return PlainTextResponse(text, media_type="text/markdown")


@router.get("/models/{name}/versions/{selector}/evaluations")
def evaluations(name: str, selector: str, ws: Any = Depends(get_ws)) -> list[dict[str, Any]]:
    """Stored evaluation reports of a version, newest first."""
    return [_clean(r.to_dict()) for r in ws.evaluations.reports(_ref(name, selector))]


@router.post("/models/{name}/versions/{selector}/evaluate", status_code=201)
def evaluate(
    name: str, selector: str, body: EvaluateIn, ws: Any = Depends(get_ws)
) -> dict[str, Any]:
    """Evaluate a version on a dataset reference or inline records; store the report."""
    if body.dataset is None and body.records is None:
        raise InvalidInput("give 'dataset' (a dataset reference) or 'records' (inline rows)")
    report = ws.evaluations.evaluate(
        _ref(name, selector),
        _data(body.dataset, body.records),
        body.target,
        body.task,
        _suite(body.checks, body.suite),
        slices=body.slices or None,
    )
    return dict(_clean(report.to_dict()))


@router.post("/models/{name}/versions/{selector}/promote")
def promote(name: str, selector: str, body: PromoteIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Move an alias to this version if it passes the gate (409 GateFailed otherwise)."""
    data = _data(body.dataset, body.records) if (body.dataset or body.records) else None
    p = ws.models.promote(
        _ref(name, selector),
        body.alias,
        suite=_suite(body.checks, body.suite),
        dataset=data,
        target=body.target,
        force=body.force,
        reason=body.reason,
    )
    return dict(_clean(p.to_dict()))


# ---------------------------------------------------------------------- aliases
@router.get("/models/{name}/aliases")
def aliases(name: str, ws: Any = Depends(get_ws)) -> dict[str, int]:
    return dict(ws.models.aliases(name))


@router.get("/models/{name}/aliases/history")
def alias_history(
    name: str, alias: str | None = Query(None), ws: Any = Depends(get_ws)
) -> list[dict[str, Any]]:
    """Every alias move: from, to, when, why."""
    return [m.to_dict() for m in ws.models.alias_history(name, alias)]


@router.put("/models/{name}/aliases/{alias}")
def set_alias(name: str, alias: str, body: AliasIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return dict(
        ws.models.set_alias(name, alias, version=body.version, reason=body.reason).to_dict()
    )


@router.delete("/models/{name}/aliases/{alias}")
def delete_alias(
    name: str, alias: str, reason: str = Query(""), ws: Any = Depends(get_ws)
) -> dict[str, Any]:
    return dict(ws.models.delete_alias(name, alias, reason=reason).to_dict())


@router.get("/models/{name}/promotions")
def promotions(name: str, ws: Any = Depends(get_ws)) -> list[dict[str, Any]]:
    """Every promotion attempt of the model's versions, refused ones included."""
    return [_clean(p.to_dict()) for p in ws.models.promotions(name)]


@router.get("/models/{name}/compare")
def compare(
    name: str,
    a: str = Query(..., description="Version or alias"),
    b: str = Query(...),
    ws: Any = Depends(get_ws),
) -> dict[str, Any]:
    """Two versions side by side: metrics with deltas, facts, latest reports."""
    return dict(_clean(ws.models.compare(_ref(name, a), _ref(name, b))))


@router.get("/models/{name}/criteria")
def criteria_matrix(name: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Each version of the model against each success criterion."""
    return dict(_clean(ws.evaluations.criteria_matrix(name)))


# ---------------------------------------------------------------------- criteria
@router.get("/success-criteria")
def get_criteria(ws: Any = Depends(get_ws)) -> dict[str, str]:
    """The project's success criteria (project file, then API overrides)."""
    return dict(ws.evaluations.success_criteria())


@router.put("/success-criteria")
def put_criteria(body: CriteriaIn, ws: Any = Depends(get_ws)) -> dict[str, str]:
    """Declare success criteria, e.g. ``{"criteria": {"auc": ">= 0.85"}}``."""
    return dict(ws.evaluations.set_success_criteria(body.criteria, replace=body.replace))

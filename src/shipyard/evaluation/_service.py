"""``ws.evaluations``: run suites against model versions, store reports, gate promotions."""

from __future__ import annotations

import io
import time
import tomllib
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from ..core import InvalidInput, NotFound, new_id, utcnow
from ..registry import ModelVersion, Predictor, resolve_dataset, row_hashes, to_columns
from ._behavioral import BehavioralTest
from ._metrics import (
    CLASSIFICATION,
    REGRESSION,
    compute_metrics,
    default_slice_metric,
    infer_task,
    is_worse,
    slice_groups,
)
from ._report import EvaluationReport
from ._suite import LOWER_IS_BETTER, Check, Suite, metric_name
from .tables import evaluations, success_criteria

_TASKS = (CLASSIFICATION, REGRESSION)
LATENCY_BUDGET_S = 2.0
"""Latency sampling stops after this long once MIN_LATENCY_SAMPLES calls were timed."""
MIN_LATENCY_SAMPLES = 40


@dataclass
class GateResult:
    passed: bool
    checks: list[dict[str, Any]]
    evaluation_id: str | None


class _Scorer:
    """Labels and a scalar score per row (positive-class probability or the value)."""

    def __init__(self, predictor: Predictor, task: str, target_class: Any) -> None:
        self.p = predictor
        self.task = task
        self.index = None
        if task == CLASSIFICATION and predictor.has_proba:
            classes = predictor.classes
            if target_class is not None and classes:
                self.index = [str(c) for c in classes].index(str(target_class))
            else:
                self.index = -1

    def labels(self, frame: Any) -> np.ndarray:
        return np.asarray(self.p.predict(frame)).reshape(len(frame), -1)[:, 0]

    def scores(self, frame: Any) -> np.ndarray:
        if self.index is not None:
            return np.asarray(self.p.predict_proba(frame))[:, self.index]
        out = np.asarray(self.p.predict(frame), dtype=float)
        return out.reshape(len(frame), -1)[:, 0]


class Evaluations:
    """Evaluate model versions, keep the reports, declare success criteria."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    # ================================================================== evaluate
    def evaluate(
        self,
        model: Any,
        dataset: Any,
        target: str | None = None,
        task: str | None = None,
        suite: Suite | str | list[str] | dict[str, Any] | None = None,
        *,
        slices: list[str] | None = None,
        store: bool = True,
    ) -> EvaluationReport:
        """Evaluate *model* (a reference or ModelVersion) on *dataset* (a DataFrame or a
        dataset reference) against *target*; store and return the report.

        *suite* is a :class:`Suite`, a TOML path, a list of check strings or a mapping;
        ``None`` uses the project's success criteria.
        """
        version = model if isinstance(model, ModelVersion) else self.ws.models.get(model)
        the_suite = self._suite(suite)
        if slices:
            the_suite = the_suite.merged(Suite(slices=slices))
        data = resolve_dataset(self.ws, dataset, "evaluation dataset")
        frame = data.frame
        if target is None:
            raise InvalidInput(
                f"evaluate({version.ref!r}, …) needs target= naming the label column; columns: "
                f"{', '.join(map(str, frame.columns))}",
                details={"model": version.ref},
            )
        if target not in frame.columns:
            raise InvalidInput(
                f"the evaluation data has no target column {target!r}; columns: "
                f"{', '.join(map(str, frame.columns))}",
                details={"field": target},
            )
        if task is not None and task not in _TASKS:
            raise InvalidInput(f"task must be one of {', '.join(_TASKS)}, not {task!r}")
        if len(frame) == 0:
            raise InvalidInput("the evaluation data has no rows", details={"model": version.ref})
        label = {
            "label": data.label,
            "dataset_version_id": data.dataset_version_id,
            "rows": len(frame),
        }
        return self._run(version, frame, target, task, the_suite, label, store)

    def _run(
        self,
        version: ModelVersion,
        frame: Any,
        target: str,
        task: str | None,
        suite: Suite,
        dataset: dict[str, Any],
        store: bool,
    ) -> EvaluationReport:
        predictor = self.ws.models.load(version)
        X = frame.drop(columns=[target])
        y = frame[target].to_numpy()
        data_checks: list[dict[str, Any]] = []
        sig_ok = True
        if version.signature is not None:
            try:
                version.signature.prepare(X, f"the evaluation data of {version.ref}")
                msg = f"all {len(version.signature.inputs)} inputs present with matching types"
            except InvalidInput as exc:
                sig_ok, msg = False, exc.message
            data_checks.append(
                {"name": "signature", "passed": sig_ok, "message": msg, "value": None}
            )
        if suite.data_checks:
            data_checks += self._leakage(version, frame, suite.max_leakage)
        if not sig_ok:
            task = task or infer_task(y, predictor.has_proba)
            report = EvaluationReport(
                new_id(),
                version.ref,
                version.id,
                dataset,
                target,
                task,
                {},
                [],
                [],
                data_checks,
                {},
                [
                    self._unevaluated(c, "the data does not match the signature")
                    for c in suite.checks
                ],
                suite.to_dict(),
                utcnow(),
            )
            return self._store(report, frame, store)
        task = task or infer_task(y, predictor.has_proba)
        scorer = _Scorer(predictor, task, suite.target_class)
        pred = (
            np.asarray(predictor.predict(X)).reshape(len(X), -1)[:, 0]
            if task == REGRESSION
            else np.asarray(predictor.predict(X))
        )
        proba = (
            predictor.predict_proba(X) if task == CLASSIFICATION and predictor.has_proba else None
        )
        metrics = compute_metrics(task, y, pred, proba, predictor.classes, suite.target_class)
        slices = self._slices(task, frame, y, pred, proba, predictor, metrics, suite)
        behavioral = [self._behavioral(t, scorer, X, task) for t in suite.behavioral]
        operational = self._operational(version, predictor, X, suite.latency_samples)
        baselines: dict[str, Any] = {}
        checks = [
            self._check(
                c,
                version,
                metrics,
                operational,
                slices,
                data_checks,
                frame,
                target,
                task,
                suite,
                baselines,
            )
            for c in suite.checks
        ]
        report = EvaluationReport(
            new_id(),
            version.ref,
            version.id,
            dataset,
            target,
            task,
            metrics,
            slices,
            behavioral,
            data_checks,
            operational,
            checks,
            suite.to_dict(),
            utcnow(),
            baselines,
        )
        return self._store(report, frame, store)

    def _store(self, report: EvaluationReport, frame: Any, store: bool) -> EvaluationReport:
        if not store:
            return report
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        digest = self.ws.blobs.put_bytes(buf.getvalue())
        with self.ws.db.write() as conn:
            conn.execute(
                evaluations.insert().values(
                    id=report.id,
                    model_version_id=report.model_version_id,
                    dataset_label=report.dataset["label"][:256],
                    dataset_version_id=report.dataset.get("dataset_version_id"),
                    data_digest=digest,
                    target=report.target,
                    task=report.task,
                    passed=report.passed,
                    suite=report.suite,
                    report=_jsonable(report.to_dict()),
                    created_at=report.created_at,
                )
            )
        return report

    # ------------------------------------------------------------------ parts
    def _slices(
        self,
        task: str,
        frame: Any,
        y: Any,
        pred: Any,
        proba: Any,
        predictor: Predictor,
        overall: dict[str, Any],
        suite: Suite,
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        n_labels = len(overall.get("labels", []))
        primary = suite.slice_metric or default_slice_metric(task, n_labels)
        for col in suite.slices:
            if col not in frame.columns:
                raise InvalidInput(
                    f"slice column {col!r} is not in the evaluation data; columns: "
                    f"{', '.join(map(str, frame.columns))}",
                    details={"field": col},
                )
            for value, mask in slice_groups(frame, col, suite.bins):
                m = compute_metrics(
                    task,
                    y[mask],
                    pred[mask],
                    None if proba is None else proba[mask],
                    predictor.classes,
                    suite.target_class,
                )
                m = {k: v for k, v in m.items() if k not in ("confusion_matrix", "labels")}
                score, ref = m.get(primary), overall.get(primary)
                n = int(mask.sum())
                small = n < suite.min_slice_size
                flagged = (
                    not small
                    and isinstance(score, (int, float))
                    and isinstance(ref, (int, float))
                    and is_worse(primary, float(score), float(ref), suite.slice_tolerance)
                )
                out.append(
                    {
                        "column": col,
                        "value": value,
                        "n": n,
                        "metric": primary,
                        "score": score,
                        "overall": ref,
                        "metrics": m,
                        "small": small,
                        "flagged": bool(flagged),
                    }
                )
        return out

    def _behavioral(
        self, test: BehavioralTest, scorer: _Scorer, X: Any, task: str
    ) -> dict[str, Any]:
        return test.run(scorer, X, task)

    def _leakage(self, version: ModelVersion, frame: Any, max_rate: float) -> list[dict[str, Any]]:
        out = []
        for td in self.ws.models.training_data(version):
            cols = td.hashed_columns
            if not all(c in frame.columns for c in cols):
                missing = [c for c in cols if c not in frame.columns]
                out.append(
                    {
                        "name": f"leakage vs {td.label}",
                        "passed": True,
                        "value": None,
                        "message": f"not checked: evaluation data lacks {', '.join(missing[:5])}",
                    }
                )
                continue
            train = self.ws.models.training_row_hashes(td)
            overlap = int(np.isin(row_hashes(frame, cols), train).sum())
            rate = overlap / len(frame) if len(frame) else 0.0
            out.append(
                {
                    "name": f"leakage vs {td.label}",
                    "passed": rate <= max_rate,
                    "value": rate,
                    "message": f"{overlap} of {len(frame)} evaluation rows also appear "
                    "in the training data",
                }
            )
        return out

    def _operational(
        self, version: ModelVersion, predictor: Predictor, X: Any, samples: int
    ) -> dict[str, Any]:
        cols = to_columns(X, None, "evaluation data")
        n = min(samples, len(X))
        rows = [{k: v[i : i + 1] for k, v in cols.items()} for i in range(n)]
        for r in rows[: min(5, n)]:
            predictor.predict(r)  # warm up
        times: list[float] = []
        deadline = time.perf_counter() + LATENCY_BUDGET_S
        for r in rows:
            t0 = time.perf_counter()
            predictor.predict(r)
            times.append((time.perf_counter() - t0) * 1000)
            if len(times) >= MIN_LATENCY_SAMPLES and t0 > deadline:
                break  # slow models: enough samples for a p95 within the time budget
        n = len(times)
        arr = np.asarray(times)
        return {
            "p50_latency_ms": float(np.percentile(arr, 50)),
            "p95_latency_ms": float(np.percentile(arr, 95)),
            "p99_latency_ms": float(np.percentile(arr, 99)),
            "latency_samples": n,
            "size_mb": version.size_bytes / 1e6,
        }

    def _check(
        self,
        c: Check,
        version: ModelVersion,
        metrics: dict[str, Any],
        operational: dict[str, Any],
        slices: list[dict[str, Any]],
        data_checks: list[dict[str, Any]],
        frame: Any,
        target: str,
        task: str,
        suite: Suite,
        baselines: dict[str, Any],
    ) -> dict[str, Any]:
        base = {
            "name": c.name,
            "kind": c.kind,
            "metric": c.metric,
            "op": c.op,
            "threshold": c.threshold,
        }
        if c.kind == "metric":
            value = metrics.get(c.metric, operational.get(c.metric))
            if c.metric == "leakage_rate":
                rates = [
                    d["value"]
                    for d in data_checks
                    if d["name"].startswith("leakage") and d["value"] is not None
                ]
                value = max(rates) if rates else 0.0
            if not isinstance(value, (int, float)):
                known = [
                    k for k, v in {**metrics, **operational}.items() if isinstance(v, (int, float))
                ]
                return {
                    **base,
                    "passed": False,
                    "value": None,
                    "message": f"metric {c.metric!r} is not available for this {task} evaluation; "
                    f"available: {', '.join(sorted(known))}",
                }
            ok = c.holds(float(value))
            return {
                **base,
                "passed": ok,
                "value": float(value),
                "message": f"{c.metric} = {value:.4g} "
                f"({'meets' if ok else 'misses'} {c.op} {c.threshold:g})",
            }
        if c.kind in ("slice_min", "slice_max"):
            if not slices:
                return {
                    **base,
                    "passed": False,
                    "value": None,
                    "message": "no slices were evaluated; declare slices=[column, …] in the suite",
                }
            scored = [
                s
                for s in slices
                if not s["small"] and isinstance(s["metrics"].get(c.metric), (int, float))
            ]
            if not scored:
                return {
                    **base,
                    "passed": False,
                    "value": None,
                    "message": f"no slice with at least {suite.min_slice_size} rows "
                    f"has {c.metric!r}",
                }
            pick = min if c.kind == "slice_min" else max
            worst = pick(scored, key=lambda s: s["metrics"][c.metric])
            value = float(worst["metrics"][c.metric])
            ok = c.holds(value)
            return {
                **base,
                "passed": ok,
                "value": value,
                "message": f"{'worst' if c.kind == 'slice_min' else 'largest'} slice "
                f"{worst['column']}={worst['value']} has {c.metric} = {value:.4g}",
            }
        # compare with another version on the same data
        ref = c.baseline or ""
        ref = f"{version.name}{ref}" if ref.startswith("@") else ref
        try:
            other = self.ws.models.get(ref)
        except NotFound:
            return {
                **base,
                "passed": True,
                "value": None,
                "message": f"no baseline {ref} yet; nothing to compare",
            }
        if other.id == version.id:
            return {**base, "passed": True, "value": 0.0, "message": f"{ref} is this version"}
        if other.ref not in baselines:
            rep = self._run(
                other,
                frame,
                target,
                task,
                Suite(data_checks=False, latency_samples=1),
                {"label": "baseline"},
                store=False,
            )
            baselines[other.ref] = {
                k: v for k, v in rep.metrics.items() if isinstance(v, (int, float))
            }
        mine, theirs = metrics.get(c.metric), baselines[other.ref].get(c.metric)
        if not isinstance(mine, (int, float)) or not isinstance(theirs, (int, float)):
            return {
                **base,
                "passed": False,
                "value": None,
                "message": f"{c.metric!r} unavailable for the comparison",
            }
        drop = (mine - theirs) if c.metric in LOWER_IS_BETTER else (theirs - mine)
        ok = drop <= c.threshold
        return {
            **base,
            "passed": ok,
            "value": float(drop),
            "baseline": other.ref,
            "message": f"{c.metric} {mine:.4g} vs {theirs:.4g} for {other.ref} "
            f"({'worse' if drop > 0 else 'better or equal'} by {abs(drop):.4g})",
        }

    @staticmethod
    def _unevaluated(c: Check, why: str) -> dict[str, Any]:
        return {
            "name": c.name,
            "kind": c.kind,
            "metric": c.metric,
            "op": c.op,
            "threshold": c.threshold,
            "passed": False,
            "value": None,
            "message": f"not evaluated: {why}",
        }

    # ================================================================== reports
    def reports(self, model: Any) -> list[EvaluationReport]:
        """Stored reports of a version, newest first."""
        v = model if isinstance(model, ModelVersion) else self.ws.models.get(model)
        with self.ws.db.read() as conn:
            rows = conn.execute(
                sa.select(evaluations.c.report)
                .where(evaluations.c.model_version_id == v.id)
                .order_by(evaluations.c.id.desc())
            ).all()
        return [EvaluationReport.from_dict(r.report) for r in rows]

    def get(self, evaluation_id: str) -> EvaluationReport:
        with self.ws.db.read() as conn:
            row = conn.execute(
                sa.select(evaluations.c.report).where(evaluations.c.id == evaluation_id)
            ).first()
        if row is None:
            raise NotFound(f"no evaluation {evaluation_id!r}", details={"id": evaluation_id})
        return EvaluationReport.from_dict(row.report)

    def latest_report(self, version: ModelVersion) -> dict[str, Any] | None:
        with self.ws.db.read() as conn:
            row = conn.execute(
                sa.select(evaluations.c.report)
                .where(evaluations.c.model_version_id == version.id)
                .order_by(evaluations.c.id.desc())
                .limit(1)
            ).first()
        return None if row is None else dict(row.report)

    def forget(self, version: ModelVersion, *, conn: sa.Connection) -> None:
        """Drop the reports of a version being deleted (inside the registry's transaction)."""
        conn.execute(evaluations.delete().where(evaluations.c.model_version_id == version.id))

    # ================================================================== gate
    def check_promotion(
        self, version: ModelVersion, alias: str, *, suite: Any, dataset: Any, target: str | None
    ) -> GateResult:
        the_suite = self._suite(suite)
        if dataset is not None:
            report = self.evaluate(version, dataset, target, suite=the_suite)
            return GateResult(report.passed, report.all_checks, report.id)
        with self.ws.db.read() as conn:
            row = conn.execute(
                sa.select(evaluations)
                .where(evaluations.c.model_version_id == version.id)
                .order_by(evaluations.c.id.desc())
                .limit(1)
            ).first()
        if row is None:
            if the_suite.is_empty:
                return GateResult(True, [], None)
            return GateResult(
                False,
                [
                    {
                        "name": "evaluation data",
                        "kind": "data",
                        "passed": False,
                        "value": None,
                        "message": f"{version.ref} has never been evaluated; run "
                        f"ws.models.evaluate({version.ref!r}, dataset, target=…) or pass dataset=",
                    }
                ],
                None,
            )
        import pandas as pd

        frame = pd.read_parquet(io.BytesIO(self.ws.blobs.get_bytes(row.data_digest)))
        label = {
            "label": row.dataset_label,
            "dataset_version_id": row.dataset_version_id,
            "rows": len(frame),
        }
        report = self._run(version, frame, target or row.target, row.task, the_suite, label, True)
        return GateResult(report.passed, report.all_checks, report.id)

    # ================================================================== criteria
    def success_criteria(self) -> dict[str, str]:
        """Project success criteria: ``[success]`` of the project file, then API overrides."""
        criteria = {k: v for k, v in self._project_success().items() if isinstance(v, str)}
        with self.ws.db.read() as conn:
            for metric, expr in conn.execute(
                sa.select(success_criteria.c.metric, success_criteria.c.expression)
            ):
                criteria[metric] = expr
        return criteria

    def set_success_criteria(
        self, criteria: dict[str, str], *, replace: bool = False
    ) -> dict[str, str]:
        """Declare criteria through the API (``{"auc": ">= 0.85"}``); validated first."""
        rows = []
        for metric, expr in criteria.items():
            if not isinstance(expr, str):
                raise InvalidInput(
                    f"criterion {metric!r} must be a string like '>= 0.85', not {expr!r}"
                )
            Suite.from_dict({metric: expr}, source="success criteria")  # raises on bad input
            rows.append({"metric": str(metric), "expression": expr.strip(), "updated_at": utcnow()})
        with self.ws.db.write() as conn:
            if replace:
                conn.execute(success_criteria.delete())
            else:
                conn.execute(
                    success_criteria.delete().where(
                        success_criteria.c.metric.in_([r["metric"] for r in rows])
                    )
                )
            if rows:
                conn.execute(success_criteria.insert(), rows)
        return self.success_criteria()

    def default_suite(self) -> Suite:
        settings = {k: v for k, v in self._project_success().items() if not isinstance(v, str)}
        with self.ws.db.read() as conn:
            overrides = dict(
                conn.execute(
                    sa.select(success_criteria.c.metric, success_criteria.c.expression)
                ).all()
            )
        merged = {
            **{k: v for k, v in self._project_success().items() if isinstance(v, str)},
            **overrides,
        }
        return Suite.from_dict({**settings, **merged}, source="success criteria")

    def _project_success(self) -> dict[str, Any]:
        path = self.ws.settings.project_file
        if not path.exists():
            return {}
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput(
                f"the project file {path} is not valid TOML: {exc}", details={"path": str(path)}
            ) from None
        success = data.get("success", {})
        if not isinstance(success, dict):
            raise InvalidInput(f"[success] in {path} must be a table", details={"path": str(path)})
        return success

    def criteria_matrix(self, name: str) -> dict[str, Any]:
        """Each version of *name* against each success criterion (latest report per version)."""
        checks = self.default_suite().checks
        rows = []
        for v in self.ws.models.versions(name):
            report = self.latest_report(v)
            cells = []
            for c in checks:
                value = None
                if report:
                    if c.kind == "metric":
                        value = report["metrics"].get(c.metric, report["operational"].get(c.metric))
                    else:
                        done = [x for x in report["checks"] if x["name"] == c.name]
                        value = done[0]["value"] if done else None
                ok = None
                if isinstance(value, (int, float)) and c.kind in (
                    "metric",
                    "slice_min",
                    "slice_max",
                ):
                    ok = c.holds(float(value))
                elif report:
                    done = [x for x in report["checks"] if x["name"] == c.name]
                    ok = done[0]["passed"] if done else None
                cells.append({"criterion": c.name, "value": value, "passed": ok})
            rows.append(
                {
                    "version": v.version,
                    "ref": v.ref,
                    "aliases": list(v.aliases),
                    "evaluated": report is not None,
                    "cells": cells,
                }
            )
        return {"criteria": [c.name for c in checks], "versions": rows}

    # ------------------------------------------------------------------ helpers
    def _suite(self, suite: Any) -> Suite:
        if suite is None:
            return self.default_suite()
        if isinstance(suite, Suite):
            return suite
        if isinstance(suite, dict):
            return Suite.from_dict(suite)
        if isinstance(suite, list):
            return Suite(checks=suite)
        if isinstance(suite, str):
            if "\n" in suite or suite.endswith(".toml"):
                return Suite.from_toml(suite)
            return Suite(checks=[suite])
        raise InvalidInput(
            "suite= must be a Suite, a TOML path, a list of checks or a mapping, "
            f"not {type(suite).__name__}"
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


__all__ = ["Evaluations", "GateResult", "metric_name"]

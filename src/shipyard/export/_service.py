"""The export service of a workspace: ONNX export, quantization, ``.ort``, reports.

Every operation reads a registered version, builds a candidate, measures it against
its source (parity, metric, size, latency) and registers it only if its gate passes.
Each attempt stores a report (``export_reports``); refused attempts keep the reason.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from ..core import InvalidInput, NotFound, new_id, utcnow
from ..registry import ModelVersion, Signature
from ..registry.flavors import get_flavor
from ._data import Rows, load_rows, signature_from_rows
from ._errors import DataRequired, ParityFailed, QuantizationRefused, UnsupportedModel
from ._measure import Runner, _columns, latencies, parity, pick_metric, score
from ._quantize import feeds, quantize, resolve_method, to_ort
from .tables import export_reports

CONVERTIBLE = ("sklearn", "pytorch", "lightgbm", "xgboost")
"""Flavors :meth:`Exports.to_onnx` converts."""
FORMATS = ("onnx", "ort")
_LABELS = {"dynamic": "int8-dynamic", "static": "int8-static", "fp16": "float16"}


@dataclass(frozen=True)
class ExportReport:
    """One stored export, quantization, ``.ort`` conversion or distillation attempt."""

    id: str
    operation: str
    status: str
    source: str
    result: str | None
    report: dict[str, Any]
    created_at: datetime

    @property
    def passed(self) -> bool:
        return self.status == "registered"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "operation": self.operation,
            "status": self.status,
            "source": self.source,
            "result": self.result,
            "report": self.report,
            "created_at": self.created_at.isoformat(),
        }


class Exports:
    """``sy.export`` bound to one workspace. Thread-safe (every write is one transaction)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    # ================================================================== ONNX
    def to_onnx(
        self,
        ref: Any,
        opset: int | None = None,
        dataset: Any = None,
        *,
        target: str | None = None,
        name: str | None = None,
        rows: int = 200,
        atol: float = 1e-4,
        rtol: float = 1e-3,
        min_agreement: float = 0.99,
        benchmark: bool = True,
        _before_register: Callable[[bytes], None] | None = None,
    ) -> ModelVersion:
        """Convert version *ref* to ONNX, check parity on data rows, register the result.

        Parity runs on up to *rows* rows of *dataset* (or the version's input example):
        outputs (probabilities for classifiers) must match within ``atol + rtol·|x|`` on
        at least *min_agreement* of rows, and so must predicted labels; otherwise
        :class:`ParityFailed` is raised and nothing is registered.
        """
        v = self.ws.models.get(ref)
        if v.flavor in FORMATS:
            raise InvalidInput(
                f"{v.ref} is already {v.flavor.upper()}; quantize it with "
                f"sy.export.quantize({v.ref!r}) or write the mobile format with "
                f"sy.export.to_ort({v.ref!r})",
                details={"ref": v.ref, "flavor": v.flavor},
            )
        source = Runner.of_predictor(self.ws.models.load(v))
        sample, signature = self._rows(v, dataset, target, "exporting it to ONNX")
        data, converter = self._convert(v, signature, sample, opset)
        candidate = self._candidate(data, "onnx", signature, f"the ONNX export of {v.ref}")
        check = sample.sample(rows)
        report: dict[str, Any] = {
            "operation": "onnx",
            "source": v.ref,
            "source_flavor": v.flavor,
            "converter": converter,
            "opset": _opsets(data),
            "parity": parity(
                source, candidate, check, atol=atol, rtol=rtol, min_agreement=min_agreement
            ),
        }
        report.update(
            self._compare(source, candidate, sample, v.size_bytes, len(data), None, benchmark)
        )
        if not report["parity"]["passed"]:
            msg = (
                f"the ONNX export of {v.ref} was not registered: parity failed on "
                f"{check.label}: {report['parity']['reason']}; loosen atol=/rtol=/"
                "min_agreement= only if the difference is acceptable"
            )
            report["refused"] = msg
            self._store("onnx", "refused", v, None, report)
            raise ParityFailed(msg, report)
        if _before_register is not None:
            _before_register(data)
        new = self._register(
            v,
            data,
            "onnx",
            signature,
            sample,
            name,
            report,
            description=f"ONNX export of {v.ref} ({converter})",
            tags={"format": "onnx", "exported_from": v.ref, "converter": converter},
        )
        self.ws.lineage.record(v.lineage_node, new.lineage_node, "exported_from")
        self._store("onnx", "registered", v, new, report)
        return new

    # ================================================================== quantize
    def quantize(
        self,
        ref: Any,
        strategy: str = "auto",
        dataset: Any = None,
        holdout: Any = None,
        *,
        tolerance: float = 0.01,
        metric: str | None = None,
        target: str | None = None,
        calibration_rows: int = 256,
        name: str | None = None,
        opset: int | None = None,
        benchmark: bool = True,
    ) -> ModelVersion:
        """Quantize version *ref* with ONNX Runtime and register it if the gate passes.

        *strategy*: ``dynamic`` (int8 weights), ``static`` (int8 QDQ, calibrated on
        *calibration_rows* rows of *dataset*), ``fp16``, or ``auto`` (static for
        convolutional graphs, dynamic otherwise). A version that is not ONNX is exported
        first (:meth:`to_onnx`). The gate: *metric* on *holdout* (default: *dataset*)
        may drop at most *tolerance* (0.01 = one point of accuracy) below the float
        model; otherwise :class:`QuantizationRefused` is raised with the report.
        """
        v = self.ws.models.get(ref)
        converted = None
        if v.flavor == "ort":
            raise InvalidInput(
                f"{v.ref} is in the mobile .ort format, which cannot be quantized; quantize "
                "the ONNX version it came from, then write .ort from the quantized one",
                details={"ref": v.ref},
            )
        if dataset is None and holdout is None:
            raise DataRequired(
                f"quantizing {v.ref} needs rows to check the quantized model against the float "
                "one: pass dataset= (calibration rows and, without holdout=, the gate's data) "
                "or holdout=",
                details={"problem": "missing data", "ref": v.ref},
            )

        def needs_calibration(data: bytes) -> None:
            if dataset is None and resolve_method(strategy, data) == "static":
                raise DataRequired(
                    f"static int8 quantization of {v.ref} calibrates activations on data "
                    "rows; pass dataset= (a dataset reference or arrays), or use "
                    "strategy='dynamic'",
                    details={"problem": "missing calibration data", "ref": v.ref},
                )

        if v.flavor != "onnx":
            if strategy != "auto":
                resolve_method(strategy, b"")  # an unknown strategy fails before converting
            converted = self.to_onnx(
                v,
                opset,
                dataset if dataset is not None else holdout,
                target=target,
                name=name,
                benchmark=False,
                _before_register=needs_calibration,
            )
            v = converted
        data = self.ws.models.model_bytes(v)
        needs_calibration(data)
        resolved = resolve_method(strategy, data)
        source = Runner.of_predictor(self.ws.models.load(v))
        signature = v.signature
        calib = None
        if dataset is not None:
            calib = load_rows(self.ws, dataset, signature, target=target, what="calibration data")
        if holdout is not None:
            test = load_rows(self.ws, holdout, signature, target=target, what="the holdout")
        elif calib is not None:
            test = calib
        else:
            raise DataRequired(
                f"quantizing {v.ref} needs rows to check the quantized model against the float "
                "one: pass dataset= (calibration rows and, without holdout=, the gate's data) "
                "or holdout=",
                details={"problem": "missing data", "ref": v.ref},
            )
        feed_list = None
        if resolved == "static" and calib is not None:
            rows_for_calib = calib.sample(calibration_rows, seed=1)
            feed_list = feeds(data, source.prepare(rows_for_calib.X))
        q_data = quantize(data, resolved, feed_list, v.ref)
        candidate = self._candidate(q_data, "onnx", signature, f"the quantized {v.ref}")
        chosen = pick_metric(source, test, metric)
        before = score(source, test, chosen)
        after = score(candidate, test, chosen, reference=source)
        drop = before - after
        report: dict[str, Any] = {
            "operation": "quantize",
            "source": v.ref,
            "method": resolved,
            "requested": strategy,
            "converted": converted.ref if converted else None,
            "calibration": None
            if calib is None or resolved != "static"
            else {"data": calib.label, "rows": min(calibration_rows, len(calib))},
            "gate": {
                "metric": chosen,
                "data": test.label,
                "rows": len(test),
                "before": before,
                "after": after,
                "drop": drop,
                "tolerance": tolerance,
                "passed": bool(drop <= tolerance + 1e-12),
            },
            "fidelity": parity(
                source, candidate, test.sample(500), atol=1e-2, rtol=0.0, min_agreement=0.0
            ),
        }
        report.update(
            self._compare(
                source, candidate, test, len(data), len(q_data), (before, after, chosen), benchmark
            )
        )
        if not report["gate"]["passed"]:
            msg = (
                f"the {_LABELS[resolved]} quantization of {v.ref} was not registered: "
                f"{chosen} on {test.label} fell from {before:.4f} to {after:.4f} "
                f"({drop * 100:.1f} points), more than the tolerance of {tolerance * 100:g} "
                "point(s); try another method (static with more calibration rows, dynamic, "
                "fp16) or raise tolerance= if the loss is acceptable"
            )
            report["refused"] = msg
            self._store("quantize", "refused", v, None, report)
            raise QuantizationRefused(msg, report)
        new = self._register(
            v,
            q_data,
            "onnx",
            signature,
            test,
            name,
            report,
            description=f"{_LABELS[resolved]} quantization of {v.ref} "
            f"({chosen} {before:.4f} → {after:.4f})",
            tags={"format": "onnx", "quantization": _LABELS[resolved], "quantized_from": v.ref},
        )
        self.ws.lineage.record(v.lineage_node, new.lineage_node, "quantized_from")
        self._store("quantize", "registered", v, new, report)
        return new

    # ================================================================== mobile
    def to_ort(
        self,
        ref: Any,
        dataset: Any = None,
        *,
        target: str | None = None,
        name: str | None = None,
        path: str | Path | None = None,
        rows: int = 200,
    ) -> ModelVersion:
        """Write version *ref* (ONNX, or exported first) in ONNX Runtime Mobile's ``.ort``
        format, check it predicts like the ONNX model, and register it (flavor ``ort``).
        With *path*, the ``.ort`` file is also written there."""
        v = self.ws.models.get(ref)
        if v.flavor == "ort":
            if path is not None:
                Path(path).write_bytes(self.ws.models.model_bytes(v))
            return v
        if v.flavor != "onnx":
            v = self.to_onnx(v, None, dataset, target=target, name=name, benchmark=False)
        data = self.ws.models.model_bytes(v)
        ort_data = to_ort(data)
        source = Runner.of_predictor(self.ws.models.load(v))
        sample, signature = self._rows(v, dataset, target, "converting it to .ort")
        candidate = self._candidate(ort_data, "ort", signature, f"the .ort form of {v.ref}")
        report: dict[str, Any] = {
            "operation": "ort",
            "source": v.ref,
            "parity": parity(source, candidate, sample.sample(rows), atol=1e-5, rtol=1e-4),
        }
        report.update(
            self._compare(source, candidate, sample, len(data), len(ort_data), None, False)
        )
        if not report["parity"]["passed"]:
            msg = f"the .ort form of {v.ref} does not predict like it: {report['parity']['reason']}"
            report["refused"] = msg
            self._store("ort", "refused", v, None, report)
            raise ParityFailed(msg, report)
        new = self._register(
            v,
            ort_data,
            "ort",
            signature,
            sample,
            name,
            report,
            description=f"ONNX Runtime Mobile (.ort) form of {v.ref}",
            tags={"format": "ort", "converted_from": v.ref},
        )
        self.ws.lineage.record(v.lineage_node, new.lineage_node, "converted_from")
        self._store("ort", "registered", v, new, report)
        if path is not None:
            Path(path).write_bytes(ort_data)
        return new

    def save(self, ref: Any, path: str | Path) -> Path:
        """Write the stored bytes of version *ref* (``.onnx``, ``.ort``…) to *path*."""
        p = Path(path)
        p.write_bytes(self.ws.models.model_bytes(ref))
        return p

    # ================================================================== reports
    def reports(self, ref: Any = None, limit: int = 50) -> list[ExportReport]:
        """Reports about version *ref* (as source or result), newest first; all if None."""
        q = sa.select(export_reports).order_by(export_reports.c.id.desc()).limit(limit)
        if ref is not None:
            v = self.ws.models.get(ref)
            q = q.where(
                sa.or_(
                    export_reports.c.version_id == v.id, export_reports.c.source_version_id == v.id
                )
            )
        with self.ws.db.read() as conn:
            rows = conn.execute(q).all()
        return [self._report(r) for r in rows]

    def report(self, ref: Any) -> ExportReport:
        """The report of the export that produced version *ref*."""
        v = self.ws.models.get(ref)
        with self.ws.db.read() as conn:
            row = conn.execute(
                sa.select(export_reports).where(export_reports.c.version_id == v.id)
            ).first()
        if row is None:
            raise NotFound(
                f"{v.ref} was not produced by an export, quantization or distillation, so it "
                f"has no export report; see sy.export.reports({v.ref!r}) for exports made from it",
                details={"ref": v.ref},
            )
        return self._report(row)

    def get_report(self, report_id: str) -> ExportReport:
        with self.ws.db.read() as conn:
            row = conn.execute(
                sa.select(export_reports).where(export_reports.c.id == report_id.upper())
            ).first()
        if row is None:
            raise NotFound(f"no export report {report_id!r}", details={"id": report_id})
        return self._report(row)

    def _report(self, r: Any) -> ExportReport:
        rep = dict(r.report or {})
        return ExportReport(
            r.id,
            r.operation,
            r.status,
            rep.get("source", r.source_version_id),
            rep.get("result"),
            rep,
            r.created_at,
        )

    # ================================================================== helpers
    def _rows(
        self, v: ModelVersion, dataset: Any, target: str | None, purpose: str
    ) -> tuple[Rows, Signature]:
        signature = v.signature
        if dataset is not None:
            rows = load_rows(self.ws, dataset, signature, target=target, what="the data")
        elif v.input_example is not None and signature is not None:
            rows = load_rows(
                self.ws,
                _example(v.input_example, signature),
                signature,
                what=f"the input example of {v.ref}",
            )
            rows.label = f"the input example of {v.ref}"
        else:
            raise DataRequired(
                f"{v.ref} has no "
                + ("input example" if signature is not None else "signature or input example")
                + f", so its inputs are unknown for {purpose}: pass dataset= with rows the "
                "model takes (a dataset reference like 'churn@2', a DataFrame or arrays), "
                "or register the model with input_example=",
                details={"ref": v.ref, "problem": "missing data"},
            )
        if signature is None:
            signature = signature_from_rows(rows)
        return rows, Signature(signature.inputs)

    def _convert(
        self, v: ModelVersion, signature: Signature, rows: Rows, opset: int | None
    ) -> tuple[bytes, str]:
        raw = self.ws.models.load(v).raw
        if v.flavor == "pytorch":
            from . import _torch

            model, converter = _torch.convert(
                raw, v.flavor_meta, signature, rows.head(4).X, opset, v.ref
            )
        elif v.flavor in ("lightgbm", "xgboost") and type(raw).__name__ == "Booster":
            from ._sklearn import convert_booster

            model, converter = convert_booster(raw, signature, opset, v.ref)
        elif v.flavor in ("sklearn", "lightgbm", "xgboost"):
            from ._sklearn import convert

            model, converter = convert(raw, signature, opset, v.ref)
        else:
            raise UnsupportedModel(
                f"cannot export {v.ref} to ONNX: its flavor {v.flavor!r} has no converter "
                f"(convertible: {', '.join(CONVERTIBLE)}); export the model with its library's "
                "own ONNX exporter and register the .onnx file with flavor='onnx'",
                details={"ref": v.ref, "flavor": v.flavor},
            )
        return bytes(model.SerializeToString()), converter

    def _candidate(self, data: bytes, flavor: str, signature: Signature, what: str) -> Runner:
        fl = get_flavor(flavor)
        saved = fl.save(data, {}, None)
        return Runner.of_loaded(what, fl.load(saved.data, saved.meta), signature)

    def _compare(
        self,
        source: Runner,
        candidate: Runner,
        rows: Rows,
        size_before: int,
        size_after: int,
        metric: tuple[float, float, str] | None,
        benchmark: bool,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "size": {
                "before": size_before,
                "after": size_after,
                "ratio": round(size_before / max(size_after, 1), 3),
            },
        }
        if metric is None and rows.y is not None:
            name = pick_metric(source, rows, None)
            metric = (score(source, rows, name), score(candidate, rows, name), name)
        if metric is not None:
            out["metric"] = {
                "name": metric[2],
                "data": rows.label,
                "before": metric[0],
                "after": metric[1],
            }
        if benchmark:
            out["latency"] = {
                "before": latencies(source, rows),
                "after": latencies(candidate, rows),
                "runtime": "in-process, CPU",
            }
        return out

    def _register(
        self,
        source: ModelVersion,
        data: bytes,
        flavor: str,
        signature: Signature,
        rows: Rows,
        name: str | None,
        report: dict[str, Any],
        *,
        description: str,
        tags: dict[str, Any],
    ) -> ModelVersion:
        metrics = {"size_bytes": float(len(data))}
        if "metric" in report:
            metrics[report["metric"]["name"]] = float(report["metric"]["after"])
        lat = report.get("latency", {}).get("after", {})
        for b, stats in lat.items():
            metrics[f"latency_{b}_p50_ms"] = float(stats["p50_ms"])
        example = _columns(rows.head(3).X)  # a dict of columns fits every flavor
        new = self.ws.models.register(
            name or source.name,
            data,
            signature=signature.to_dict(),
            input_example=example,
            metrics=metrics,
            description=description,
            tags=tags,
            flavor=flavor,
        )
        report["result"] = new.ref
        return new

    def _store(
        self,
        operation: str,
        status: str,
        source: ModelVersion,
        result: ModelVersion | None,
        report: dict[str, Any],
    ) -> str:
        report_id = new_id()
        report["result"] = result.ref if result is not None else None
        with self.ws.db.write() as conn:
            conn.execute(
                export_reports.insert().values(
                    id=report_id,
                    operation=operation,
                    status=status,
                    source_version_id=source.id,
                    version_id=result.id if result else None,
                    report=_jsonable(report),
                    created_at=utcnow(),
                )
            )
        return report_id


def _example(example: Any, signature: Signature) -> Any:
    if signature.is_tensor:
        return np.asarray(example)
    import pandas as pd

    return pd.DataFrame(example)


def _opsets(data: bytes) -> dict[str, int]:
    import onnx

    return {o.domain or "ai.onnx": int(o.version) for o in onnx.load_from_string(data).opset_import}


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


_services: weakref.WeakKeyDictionary[Any, Exports] = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_default: list[Any] = []


def service(ws: Any = None) -> Exports:
    """The :class:`Exports` of *ws* (default: ``Workspace()`` from the settings)."""
    if ws is None:
        with _lock:
            if not _default:
                from .._workspace import Workspace

                _default.append(Workspace())
            ws = _default[0]
    with _lock:
        svc = _services.get(ws)
        if svc is None:
            svc = _services[ws] = Exports(ws)
        return svc

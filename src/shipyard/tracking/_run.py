"""A tracked run: params, tags, metrics (buffered), artifacts, lineage, lifecycle."""

from __future__ import annotations

import io
import json
import math
import numbers
import os
import re
import tempfile
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO

from ..core import Conflict, InvalidInput, NotFound, did_you_mean, utcnow
from ..store import Node
from ._env import SystemSampler
from ._writer import MetricWriter

if TYPE_CHECKING:
    from ._series import Series
    from ._service import Runs

TERMINAL = ("finished", "failed", "killed", "lost")
_NUMBER_TYPES = (float, int)
_KEY_RE = re.compile(r"^[A-Za-z0-9_\-./:][A-Za-z0-9_\-./: ]{0,249}$")


def validate_key(key: Any, what: str) -> str:
    if not isinstance(key, str) or not _KEY_RE.match(key) or key != key.strip():
        raise InvalidInput(
            f"invalid {what} key {key!r}: use 1-250 letters, digits, '_', '-', '.', '/', ':' "
            "or inner spaces (e.g. 'val/loss')",
            details={"key": repr(key)},
        )
    return key


def encode_param(key: str, value: Any) -> tuple[str, float | None, str]:
    """(text, numeric value or None, type tag) of a param value."""
    if isinstance(value, bool):
        return str(value), None, "bool"
    if isinstance(value, numbers.Integral):
        return str(int(value)), float(value), "int"
    if isinstance(value, numbers.Real):
        f = float(value)
        return repr(f), (f if math.isfinite(f) else None), "float"
    if value is None:
        return "None", None, "none"
    if isinstance(value, str):
        if len(value) > 6000:
            raise InvalidInput(
                f"param {key!r} is {len(value)} characters long; params hold at most 6000 "
                "(log long values with run.log_text or run.log_dict)",
                details={"key": key},
            )
        return value, None, "str"
    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = str(value)
    return text, None, "json"


def decode_param(text: str, vtype: str) -> Any:
    if vtype == "str":
        return text
    if vtype == "int":
        return int(text)
    if vtype == "float":
        return float(text)
    if vtype == "bool":
        return text == "True"
    if vtype == "none":
        return None
    if vtype == "json":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def to_float(key: str, value: Any) -> float:
    """A metric value as float (NaN and ±inf kept); InvalidInput otherwise."""
    if isinstance(value, str | bytes) or value is None or isinstance(value, bool):
        raise InvalidInput(
            f"metric {key!r} must be a number, got {type(value).__name__} {value!r}",
            details={"key": key},
        )
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"metric {key!r} must be a number, got {type(value).__name__} {value!r}",
            details={"key": key},
        ) from None
    return f


def _ts_ms(timestamp: Any) -> int:
    if isinstance(timestamp, datetime):
        return int(timestamp.timestamp() * 1000)
    if isinstance(timestamp, int | float) and not isinstance(timestamp, bool):
        return int(timestamp)
    raise InvalidInput(
        f"timestamp must be a datetime or epoch milliseconds, got {timestamp!r}",
        details={"timestamp": repr(timestamp)},
    )


def artifact_path(name: str) -> str:
    p = PurePosixPath(str(name).replace("\\", "/"))
    if not str(name) or p.is_absolute() or ".." in p.parts or str(p) in (".", ""):
        raise InvalidInput(
            f"invalid artifact path {name!r}: use a relative path without '..' "
            "(e.g. 'model/model.pkl')",
            details={"path": str(name)},
        )
    return str(p)


@dataclass(frozen=True)
class Artifact:
    path: str
    digest: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "digest": self.digest, "size": self.size}


class Run:
    """One tracked run. Live while ``status == "running"``; read-only once it ended.

    Obtain with ``ws.start_run(...)`` (live, heartbeat sent by this process) or
    ``ws.runs.get(run_id)``. Metric points are buffered and written in the background;
    ``flush()`` (and ``end()``) return once every point logged so far is durable.
    """

    def __init__(
        self,
        service: Runs,
        row: Any,
        experiment: str,
        params: dict[str, Any],
        tags: dict[str, str],
        summaries: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self._svc = service
        self._ws = service.ws
        self.id: str = row.id
        self.name: str = row.name
        self.experiment: str = experiment
        self.experiment_id: str = row.experiment_id
        self.status: str = row.status
        self.parent_id: str | None = row.parent_id
        self.start_time: datetime = row.start_time
        self.end_time: datetime | None = row.end_time
        self.error: str | None = row.error
        self.env: dict[str, Any] = row.env or {}
        self._params = params
        self._tags = tags
        self._summaries = summaries
        self._sids: dict[str, int] = {}
        self._next_step: dict[str, int] = {}
        self._owned = False
        self._sampler: SystemSampler | None = None
        self._writer: MetricWriter = service.writer

    # ------------------------------------------------------------------ identity
    @property
    def lineage_node(self) -> Node:
        return Node("run", self.id, f"{self.experiment}/{self.name}")

    @property
    def is_live(self) -> bool:
        return self.status == "running"

    @property
    def duration_s(self) -> float | None:
        end = self.end_time or (utcnow() if self.is_live else None)
        return None if end is None else (end - self.start_time).total_seconds()

    def __repr__(self) -> str:
        return (
            f"Run(id={self.id!r}, name={self.name!r}, experiment={self.experiment!r}, "
            f"status={self.status!r})"
        )

    def _check_live(self, action: str) -> None:
        if self.status != "running":
            raise Conflict(
                f"cannot {action}: run {self.id} ({self.experiment}/{self.name}) is "
                f"{self.status}; start a new run (ws.start_run) to record more",
                details={"run_id": self.id, "status": self.status},
            )

    # ------------------------------------------------------------------ params & tags
    @property
    def params(self) -> dict[str, Any]:
        return dict(self._params)

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._tags)

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record params. A param is set once: a different value later raises Conflict."""
        self._check_live("log params")
        self._svc.write_params(self.id, params)
        for k, v in params.items():
            text, _, vtype = encode_param(k, v)
            self._params[k] = decode_param(text, vtype)

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set tags (mutable labels; a later value replaces an earlier one)."""
        self._check_live("set tags")
        self._svc.write_tags(self.id, tags)
        self._tags.update({k: str(v) for k, v in tags.items()})

    # ------------------------------------------------------------------ metrics
    def _series(self, key: str) -> int:
        validate_key(key, "metric")
        sid, last_step = self._svc.series_id(self.id, key)
        self._sids[key] = sid
        self._next_step[key] = 0 if last_step is None else last_step + 1
        return sid

    def log_metric(
        self, key: str, value: Any, step: int | None = None, timestamp: Any = None
    ) -> None:
        self.log_metrics({key: value}, step=step, timestamp=timestamp)

    def log_metrics(
        self, metrics: Mapping[str, Any], step: int | None = None, timestamp: Any = None
    ) -> None:
        """Buffer metric values (written in the background). ``step`` defaults to the
        next step of each key; NaN and ±inf are kept as such."""
        if self.status != "running":
            self._check_live("log metrics")
        ts = time.time_ns() // 1_000_000 if timestamp is None else _ts_ms(timestamp)
        if step is not None and type(step) is not int:
            if isinstance(step, bool) or not isinstance(step, numbers.Integral):
                raise InvalidInput(
                    f"step must be an integer, got {step!r}", details={"step": repr(step)}
                )
            step = int(step)
        sids = self._sids
        if step is not None:
            try:  # fast path: known keys, plain numbers, explicit step
                ids = [sids[k] for k in metrics]
                values = list(metrics.values())
                for v in values:
                    if type(v) not in _NUMBER_TYPES:
                        raise KeyError
                self._writer.put(ids, step, ts, values)
                return
            except KeyError:
                pass
        points = self._points_slow(metrics, step, ts)
        self._writer.put([p[0] for p in points], [p[1] for p in points], ts, [p[3] for p in points])

    def _points_slow(
        self, metrics: Mapping[str, Any], step: int | None, ts: int
    ) -> list[tuple[int, int, int, float]]:
        values = {
            k: (v if type(v) in _NUMBER_TYPES else to_float(k, v)) for k, v in metrics.items()
        }
        points = []
        for key, v in values.items():
            sid = self._sids.get(key)
            if sid is None:
                sid = self._series(key)
            if step is None:
                s = self._next_step[key]
                self._next_step[key] = s + 1
            else:
                s = step
            points.append((sid, s, ts, v))
        return points

    def flush(self, timeout: float | None = None) -> None:
        """Block until every metric point logged so far is in the database."""
        self._writer.flush(timeout)

    @property
    def metrics(self) -> dict[str, float]:
        """The last value of each metric (from the per-run summary)."""
        return {k: s["last"] for k, s in self.metric_summaries().items()}

    def metric_summaries(self) -> dict[str, dict[str, Any]]:
        """Per metric key: last, last_step, min, max, count."""
        if self._summaries is None or self.is_live:
            if self.is_live:
                self.flush()
            self._summaries = self._svc.summaries([self.id]).get(self.id, {})
        return {k: dict(v) for k, v in self._summaries.items()}

    def history(self, key: str, max_points: int | None = None, method: str = "minmax") -> Series:
        """The series of one metric, downsampled to *max_points* if given."""
        if self.is_live:
            self.flush()
        return self._svc.series(self.id, key, max_points=max_points, method=method)

    # ------------------------------------------------------------------ artifacts
    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> list[Artifact]:
        """Store a file or a directory (recursively) under *name* (default: its base name)."""
        self._check_live("log artifacts")
        src = Path(path)
        if not src.exists():
            raise NotFound(
                f"cannot log artifact {str(path)!r}: no such file or directory",
                details={"path": str(path)},
            )
        base = artifact_path(name or src.name)
        if src.is_dir():
            files = sorted(p for p in src.rglob("*") if p.is_file())
            names = [f"{base}/{p.relative_to(src).as_posix()}" for p in files]
        else:
            files, names = [src], [base]
        digests = self._ws.blobs.put_many(files)
        items = [(n, d, f.stat().st_size) for n, d, f in zip(names, digests, files, strict=True)]
        return self._svc.write_artifacts(self.id, items)

    def log_bytes(self, data: bytes, name: str) -> Artifact:
        self._check_live("log artifacts")
        path = artifact_path(name)
        digest = self._ws.blobs.put_bytes(data)
        return self._svc.write_artifacts(self.id, [(path, digest, len(data))])[0]

    def log_text(self, text: str, name: str) -> Artifact:
        return self.log_bytes(text.encode("utf-8"), name)

    def log_dict(self, data: Any, name: str) -> Artifact:
        """Store a dict as JSON (``.json``) or YAML (``.yaml``/``.yml``, needs PyYAML)."""
        lower = name.lower()
        if lower.endswith((".yaml", ".yml")):
            try:
                import yaml
            except ImportError:
                raise InvalidInput(
                    f"cannot write {name!r} as YAML: PyYAML is not installed; "
                    "use a '.json' name or pip install pyyaml"
                ) from None
            text = yaml.safe_dump(data, sort_keys=False)
        else:
            text = json.dumps(data, indent=2, sort_keys=True, default=str)
        return self.log_bytes(text.encode("utf-8"), name)

    def log_figure(self, figure: Any, name: str) -> Artifact:
        """Store a matplotlib figure (png/svg/pdf by extension) or a Plotly figure
        (``.html`` page loading Plotly.js from its CDN, or ``.json``)."""
        lower = name.lower()
        if hasattr(figure, "to_plotly_json"):
            if lower.endswith(".json"):
                return self.log_text(figure.to_json(), name)
            if lower.endswith(".html"):
                return self.log_text(figure.to_html(include_plotlyjs="cdn", full_html=True), name)
            raise InvalidInput(
                f"cannot store a Plotly figure as {name!r}: use a name ending in .html or .json"
            )
        if hasattr(figure, "savefig"):
            ext = lower.rsplit(".", 1)[-1] if "." in lower else ""
            if ext not in ("png", "svg", "pdf", "jpg", "jpeg"):
                raise InvalidInput(
                    f"cannot store a matplotlib figure as {name!r}: use .png, .svg, .pdf or .jpg"
                )
            buf = io.BytesIO()
            figure.savefig(buf, format=ext, bbox_inches="tight")
            return self.log_bytes(buf.getvalue(), name)
        raise InvalidInput(
            f"log_figure takes a matplotlib or Plotly figure, got {type(figure).__name__}"
        )

    def artifacts(self, prefix: str = "") -> list[Artifact]:
        """Stored artifacts (path, digest, size), optionally under a path prefix."""
        return self._svc.artifacts(self.id, prefix)

    def _find(self, path: str) -> list[Artifact]:
        path = path.strip("/")
        arts = self.artifacts()
        exact = [a for a in arts if a.path == path]
        if exact:
            return exact
        under = [a for a in arts if not path or a.path.startswith(path + "/")]
        if not under:
            raise NotFound(
                f"run {self.id} has no artifact {path!r}; "
                f"{did_you_mean(sorted({a.path.split('/')[0] for a in arts}))}",
                details={"run_id": self.id, "path": path},
            )
        return under

    def open_artifact(self, path: str) -> BinaryIO:
        found = self._find(path)
        if len(found) != 1 or found[0].path != path.strip("/"):
            raise InvalidInput(
                f"artifact {path!r} of run {self.id} is a directory; open one of its files "
                f"({', '.join(a.path for a in found[:5])}) or use download_artifacts",
            )
        return self._ws.blobs.open(found[0].digest)

    def download_artifacts(
        self, path: str = "", dest_dir: str | os.PathLike[str] | None = None
    ) -> Path:
        """Write the artifact file or directory *path* under *dest_dir* (default: a new
        temp folder) keeping its relative path; return the local path of *path*."""
        found = self._find(path)
        dest = Path(dest_dir) if dest_dir is not None else Path(tempfile.mkdtemp(prefix="run-"))
        self._ws.blobs.get_many([(a.digest, dest / a.path) for a in found])
        return dest / path.strip("/") if path.strip("/") else dest

    # ------------------------------------------------------------------ lineage
    def _node_of(self, obj: Any) -> Node:
        if isinstance(obj, Node):
            return obj
        if hasattr(obj, "lineage_node"):
            return obj.lineage_node
        if isinstance(obj, str):
            kind, sep, _ = obj.partition(":")
            if sep and "@" not in kind and kind.replace("_", "").isalpha() and kind != "sha256":
                return self._ws.lineage.node(obj)
            datasets = getattr(self._ws, "datasets", None)
            if datasets is None:
                raise InvalidInput(
                    f"cannot resolve {obj!r}: this workspace has no dataset service; "
                    "pass the object itself or a '<kind>:<id>' lineage key",
                    details={"ref": obj},
                )
            return datasets.get(obj).lineage_node
        raise InvalidInput(
            f"log_input/log_output take an object with a lineage_node, a '<kind>:<id>' "
            f"key or a dataset reference like 'churn@3', got {type(obj).__name__}"
        )

    def log_input(self, obj: Any, relation: str = "input_to") -> None:
        """Record that this run read *obj* (a dataset version, a ``kind:id`` key, ``churn@3``)."""
        self._ws.lineage.record(self._node_of(obj), self.lineage_node, relation)

    def log_output(self, obj: Any, relation: str = "produced") -> None:
        """Record that this run produced *obj*."""
        self._ws.lineage.record(self.lineage_node, self._node_of(obj), relation)

    def inputs(self) -> list[Node]:
        g = self._ws.lineage.upstream(self.lineage_node, depth=1)
        return [g.nodes[e.src] for e in g.edges if e.dst == self.lineage_node.key]

    def outputs(self) -> list[Node]:
        g = self._ws.lineage.downstream(self.lineage_node, depth=1)
        return [g.nodes[e.dst] for e in g.edges if e.src == self.lineage_node.key]

    # ------------------------------------------------------------------ lifecycle
    def start_system_metrics(self, interval: float = 10.0) -> None:
        """Sample CPU %, RSS and GPU use every *interval* seconds as ``system/*`` metrics."""
        if interval <= 0:
            raise InvalidInput(f"system metrics interval must be > 0 seconds, got {interval}")
        if self._sampler is None:
            self._sampler = SystemSampler(lambda m, step: self.log_metrics(m, step=step), interval)
            self._sampler.start()

    def end(self, status: str = "finished", error: str | None = None) -> None:
        """Flush every buffered point, then mark the run *status* (finished, failed, killed)."""
        if status not in ("finished", "failed", "killed"):
            raise InvalidInput(
                f"invalid run status {status!r}: end a run as 'finished', 'failed' or 'killed'"
            )
        if self._sampler is not None:
            self._sampler.stop()
            self._sampler = None
        if self.status in TERMINAL and self.status != "lost":
            if self.status == status:
                return
            raise Conflict(
                f"run {self.id} already ended as {self.status}; it cannot become {status}",
                details={"run_id": self.id, "status": self.status},
            )
        self._writer.unwatch(self.id)
        try:
            self.flush()
        finally:
            self.end_time = self._svc.write_end(self.id, status, error)
            self.status = status
            self.error = error
            self._svc.forget_live(self)

    def __enter__(self) -> Run:
        self._svc.push_active(self)
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self._svc.pop_active(self)
        if self.status != "running":
            return
        if exc is None:
            self.end("finished")
        elif isinstance(exc, KeyboardInterrupt):
            self.end("killed", error="KeyboardInterrupt")
        else:
            text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.end("failed", error=text)

    def refresh(self) -> Run:
        """Re-read status, params, tags and summaries from the database."""
        fresh = self._svc.get(self.id)
        for attr in ("status", "end_time", "error", "_params", "_tags", "_summaries", "name"):
            setattr(self, attr, getattr(fresh, attr))
        return self

    def to_dict(self) -> dict[str, Any]:
        from ._series import json_float

        return {
            "id": self.id,
            "name": self.name,
            "experiment": self.experiment,
            "experiment_id": self.experiment_id,
            "status": self.status,
            "parent_id": self.parent_id,
            "start_time": self.start_time.isoformat(),
            "end_time": self.end_time.isoformat() if self.end_time else None,
            "duration_s": self.duration_s,
            "error": self.error,
            "params": self.params,
            "tags": self.tags,
            "metrics": {
                k: {kk: json_float(vv) if isinstance(vv, float) else vv for kk, vv in s.items()}
                for k, s in self.metric_summaries().items()
            },
            "env": self.env,
        }


def iter_param_rows(run_id: str, params: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    for k, v in params.items():
        validate_key(k, "param")
        text, num, vtype = encode_param(k, v)
        yield {"run_id": run_id, "key": k, "value": text, "value_num": num, "vtype": vtype}

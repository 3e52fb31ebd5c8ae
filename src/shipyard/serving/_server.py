"""The model server: Open Inference Protocol v2, TF-Serving style and records endpoints.

``create_server(ws, refs)`` returns a Starlette app serving the given model versions
(``name@alias`` follows the alias). Inputs are validated against each version's
signature (400 naming the input), batched per model (:mod:`._batcher`), run in a thread
pool off the event loop, counted in Prometheus metrics and logged to the monitoring sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import math
import os
import time
from collections.abc import AsyncIterator, Awaitable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core import InvalidInput, NotFound
from ._batcher import BatchConfig, Batcher, Overloaded, n_rows
from ._metrics import ServerMetrics
from ._openapi import openapi_endpoint
from ._predlog import PredictionLogger, open_sink, warm_up

log = logging.getLogger("shipyard.serving")

_GC_YOUNG = 20_000  # allocations between young-generation collections (Python's: 700)

# OIP datatypes ↔ numpy
_DTYPES = {
    "BOOL": np.bool_,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
    "BYTES": np.object_,
}


def oip_datatype(arr: np.ndarray) -> str:
    k = arr.dtype
    if k.kind == "b":
        return "BOOL"
    if k.kind in "iu":
        return f"{'U' if k.kind == 'u' else ''}INT{k.itemsize * 8}"
    if k.kind == "f":
        return f"FP{k.itemsize * 8}"
    return "BYTES"


_ID_PREFIX = os.urandom(5).hex()
_id_counter = itertools.count()


def next_request_id() -> str:
    """A request id unique across processes: a random per-process prefix and a counter
    (``uuid4`` costs several microseconds per request)."""
    return f"{_ID_PREFIX}{next(_id_counter):010x}"


def _reseed_ids() -> None:
    global _ID_PREFIX, _id_counter
    _ID_PREFIX, _id_counter = os.urandom(5).hex(), itertools.count()


os.register_at_fork(after_in_child=_reseed_ids)


class BadRequest(Exception):
    def __init__(self, message: str, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


def _json(data: Any, status: int = 200) -> Response:
    return Response(_dumps(data), status_code=status, media_type="application/json")


def _dumps(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)


def _error_body(type_: str, message: str, **details: Any) -> bytes:
    body: dict[str, Any] = {"error": {"type": type_, "message": message}}
    if details:
        body["error"]["details"] = details
    return _dumps(body)


def _error(status: int, type_: str, message: str, **details: Any) -> Response:
    return Response(
        _error_body(type_, message, **details), status_code=status, media_type="application/json"
    )


# ---------------------------------------------------------------------- loaded models
class Loaded:
    """One loaded, warmed model version with its batcher."""

    def __init__(self, mv: Any, predictor: Any, batcher: Batcher) -> None:
        self.mv = mv
        self.predictor = predictor
        self.batcher = batcher
        self.ready = False
        self.inflight = 0
        self.source_id: str = mv.id  # the version the reference resolved to
        self.name = str(mv.name)
        self.version = int(mv.version)


@dataclass
class Slot:
    """What the server serves under one name: a reference it follows and its version."""

    name: str
    ref: str
    current: Loaded | None = None
    loading: bool = False
    error: str | None = None
    follows_alias: bool = False
    deployment_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class ModelServer:
    """State of one server process: the models, metrics, log, executor."""

    def __init__(
        self,
        ws: Any,
        refs: list[str],
        *,
        batching: BatchConfig | None = None,
        threads: int = 2,
        max_body_bytes: int = 8 * 1024 * 1024,
        watch_interval_s: float | None = 2.0,
        deployment: str | None = None,
        prediction_log: bool = True,
        log_queue: int = 10_000,
        record_deployments: bool = True,
        url: str | None = None,
        onnx: bool = False,
        intra_op_threads: int | None = 1,
        features: dict[str, str] | None = None,
        own_process: bool = False,
    ) -> None:
        self.ws = ws
        self.own_process = own_process
        self.intra_op_threads = intra_op_threads
        self.features = dict(features or {})  # model name -> feature service reference
        self._join_keys: dict[str, list[str]] = {}
        self.feature_executor = ThreadPoolExecutor(2, thread_name_prefix="shipyard-features")
        self.refs = list(refs)
        self.batch_config = batching or BatchConfig()
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="shipyard-infer")
        self.load_executor = ThreadPoolExecutor(1, thread_name_prefix="shipyard-load")
        self.max_body_bytes = max_body_bytes
        self.watch_interval_s = watch_interval_s
        self.deployment = deployment
        self.prediction_log = prediction_log
        self.log_queue = log_queue
        self.record_deployments = record_deployments
        self.url = url
        self.onnx = onnx
        self.metrics = ServerMetrics()
        self.slots: dict[str, Slot] = {}
        self.logger: PredictionLogger | None = None
        self._watch_task: asyncio.Task[None] | None = None
        for ref in self.refs:
            name = ref.split("@", 1)[0]
            key = name if name not in self.slots else ref
            tail = ref.split("@", 1)[1] if "@" in ref else ""
            self.slots[key] = Slot(
                key, ref, follows_alias=bool(tail) and not tail.lstrip("v").isdigit()
            )

    # ------------------------------------------------------------------ loading
    def _predict_fn(self, predictor: Any) -> Any:
        def predict(inputs: Any) -> dict[str, np.ndarray]:
            return {"predict": np.asarray(predictor.predict_prepared(inputs))}

        return predict

    def _onnx_version(self, mv: Any) -> Any:
        """The ONNX export of *mv* (an earlier one, or exported now), or *mv* itself."""
        if mv.flavor == "onnx":
            return mv
        try:
            import shipyard.export as ex

            for r in ex.reports(mv, 200, ws=self.ws):
                if r.operation == "onnx" and r.passed and r.source == mv.ref and r.result:
                    return self.ws.models.get(r.result)
            return ex.to_onnx(mv.ref, ws=self.ws)
        except Exception as exc:  # no converter, parity refused…: serve the native flavor
            log.warning("serving %s natively; ONNX export failed: %s", mv.ref, exc)
            return mv

    def _load_sync(self, ref: str) -> tuple[Any, Any, str]:
        source = self.ws.models.get(ref)
        mv = self._onnx_version(source) if self.onnx else source
        predictor = self.ws.models.load(mv.ref, threads=self.intra_op_threads)
        example = mv.input_example
        if example is not None:
            predictor.predict(example)  # warm-up: first call allocates, JIT-compiles…
        return mv, predictor, source.id

    def _make_loaded(self, mv: Any, predictor: Any) -> Loaded:
        m = self.metrics
        name, version = str(mv.name), str(mv.version)

        rows_h = m.batch_rows.labels(name, version)
        infer_h = m.inference_duration.labels(name, version)
        depth_g = m.queue_depth.labels(name)

        def on_batch(rows: int, seconds: float) -> None:
            rows_h.observe(rows)
            infer_h.observe(seconds)

        def on_depth(depth: int) -> None:
            depth_g.set(depth)

        logger, deployment, v = self.logger, self.deployment, int(mv.version)
        perf_counter = time.perf_counter

        def on_result(items: list[Any], inputs: Any, out: dict[str, np.ndarray]) -> None:
            """Log what one model call served: one entry per call, not per request."""
            now = perf_counter()
            requests = [
                (m[0], m[1], 200, (now - m[2]) * 1000, i.rows, i.offset)
                for i in items
                if (m := i.meta) is not None
            ]
            if requests:
                assert logger is not None
                logger.submit_batch(name, v, deployment, requests, inputs, out)

        batcher = Batcher(
            self._predict_fn(predictor),
            self.executor,
            self.batch_config,
            on_batch,
            on_depth,
            on_result if self.logger is not None and self.logger.sink is not None else None,
        )
        return Loaded(mv, predictor, batcher)

    async def load(self, slot: Slot, ref: str | None = None) -> Loaded:
        """Load and warm *ref* in the background, then swap it in atomically."""
        loop = asyncio.get_running_loop()
        slot.loading = True
        try:
            mv, predictor, source_id = await loop.run_in_executor(
                self.load_executor, self._load_sync, ref or slot.ref
            )
        except Exception as exc:
            slot.error = f"{type(exc).__name__}: {exc}"
            log.exception("could not load %s", ref or slot.ref)
            raise
        finally:
            slot.loading = False
        new = self._make_loaded(mv, predictor)
        new.source_id = source_id
        new.batcher.start()
        new.ready = True
        old, slot.current = slot.current, new  # the swap: new requests see `new`
        slot.error = None
        if ref:
            slot.ref = ref
        if old is not None and old is not new:
            asyncio.get_running_loop().create_task(self._retire(old))
        await self._record(slot)
        return new

    async def _retire(self, old: Loaded) -> None:
        """Let in-flight requests finish on *old*, then release it."""
        old.ready = False
        while old.inflight:
            await asyncio.sleep(0.01)
        await old.batcher.close()
        old.predictor = None

    async def unload(self, slot: Slot) -> None:
        old, slot.current = slot.current, None
        self.slots.pop(slot.name, None)
        if old is not None:
            await self._retire(old)
        await self._record(slot, stopped=True)

    async def _record(self, slot: Slot, stopped: bool = False) -> None:
        if not self.record_deployments:
            return
        try:
            from ._deployments import record_slot

            await asyncio.get_running_loop().run_in_executor(
                self.load_executor, record_slot, self, slot, stopped
            )
        except Exception:
            log.exception("could not record the deployment of %s", slot.name)

    async def watch(self) -> None:
        """Poll the registry for alias moves and swap to the new version."""
        assert self.watch_interval_s
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.watch_interval_s)
            for slot in list(self.slots.values()):
                if not slot.follows_alias or slot.loading:
                    continue
                try:
                    mv = await loop.run_in_executor(
                        self.load_executor, self.ws.models.get, slot.ref
                    )
                except Exception:
                    continue
                cur = slot.current
                if cur is None or cur.source_id != mv.id:
                    log.info("%s moved to %s; loading it", slot.ref, mv.ref)
                    with contextlib.suppress(Exception):
                        await self.load(slot)

    # ------------------------------------------------------------------ online features
    def join_keys(self, service: str) -> list[str]:
        """The entity keys a request must carry to look up *service*'s features."""
        keys = self._join_keys.get(service)
        if keys is None:
            keys = []
            for ref in self.ws.features.get_service(service).features:
                try:
                    view = self.ws.features.get_view(ref.rsplit(":", 1)[0])
                except Exception:  # an on-demand view: computed, keyed by its inputs
                    continue
                keys.extend(k for k in getattr(view, "join_keys", None) or [] if k not in keys)
            self._join_keys[service] = keys
        return keys

    async def _with_features(
        self, lv: Loaded, service: str, records: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """*records* with the columns the model needs and they lack filled from the
        online store, looked up by the entity keys they carry (request values win)."""
        sig = lv.predictor.signature
        if sig is None or sig.is_tensor:
            return records
        wanted = [c for c in sig.column_names if any(c not in r for r in records)]
        if not wanted:
            return records
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.feature_executor, self._lookup, service, wanted, records
        )

    def _lookup(
        self, service: str, wanted: list[str], records: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        keys = self.join_keys(service)
        rows = []
        for i, r in enumerate(records):
            missing = [k for k in keys if r.get(k) is None]
            if missing:
                raise BadRequest(
                    f"record {i} lacks {missing[0]!r}, the key of the features of {service}; "
                    f"send it (or every feature the model takes)",
                    missing[0],
                )
            rows.append({k: r[k] for k in keys})
        online = self.ws.features.get_online_features(service, rows)
        out = []
        for r, values, status in zip(records, online.values, online.status, strict=True):
            merged = dict(r)
            for f in wanted:
                if f in merged or f not in values:
                    continue  # given, or not a feature of the service: the signature decides
                if status.get(f) != "present":
                    who = ", ".join(f"{k}={r[k]!r}" for k in keys)
                    raise BadRequest(
                        f"feature {f!r} of {who} is {status.get(f)} in the online store; "
                        f"materialize the features of {service} or send {f!r} in the record",
                        f,
                    )
                merged[f] = values[f]
            out.append(merged)
        return out

    # ------------------------------------------------------------------ lifecycle
    async def startup(self) -> None:
        if self.prediction_log:
            loop = asyncio.get_running_loop()
            sink = await loop.run_in_executor(None, open_sink, self.ws, self.deployment)
            if sink is not None:
                await loop.run_in_executor(None, warm_up)
        else:
            sink = None
        self.logger = PredictionLogger(
            sink, lambda n: self.metrics.log_dropped.inc(n), max_pending=self.log_queue
        )
        for service in set(self.features.values()):  # a wrong name fails the start
            await asyncio.get_running_loop().run_in_executor(
                self.feature_executor, self.join_keys, service
            )
        for slot in list(self.slots.values()):
            await self.load(slot)
        if self.watch_interval_s and any(s.follows_alias for s in self.slots.values()):
            self._watch_task = asyncio.get_running_loop().create_task(self.watch())
        if self.own_process:
            # What the process holds after start-up (modules, models) lives as long as it
            # does: move it out of the collector's reach, and collect young objects less
            # often (a request allocates a few dozen, nearly all freed by reference count).
            gc.collect()
            gc.freeze()
            gc.set_threshold(_GC_YOUNG, *gc.get_threshold()[1:])

    async def shutdown(self) -> None:
        if self._watch_task:
            self._watch_task.cancel()
        for slot in list(self.slots.values()):
            if slot.current is not None:
                await slot.current.batcher.close()
            await self._record(slot, stopped=True)
        if self.logger:
            await asyncio.get_running_loop().run_in_executor(None, self.logger.close)
        self.metrics.flush()
        self.executor.shutdown(wait=False)
        self.load_executor.shutdown(wait=False)
        self.feature_executor.shutdown(wait=False)

    # ------------------------------------------------------------------ lookup
    def find(self, name: str, version: str | None = None) -> Loaded:
        candidates = [
            s for s in self.slots.values() if s.name == name or s.ref.startswith(f"{name}@")
        ]
        if not candidates:
            raise NotFound(f"model {name!r} is not served here; served: {sorted(self.slots)}")
        for slot in candidates:
            cur = slot.current
            if cur is None:
                continue
            if version is None or str(cur.version) == str(version):
                return cur
        if version is not None:
            raise NotFound(f"version {version} of {name!r} is not served here")
        raise _NotReady(name)

    # ------------------------------------------------------------------ inference
    def submit(
        self, lv: Loaded, raw: Any, timeout_ms: float | None = None, meta: Any = None
    ) -> Awaitable[dict[str, np.ndarray]]:
        """Validate one request's inputs and queue them on *lv*'s batcher; the awaitable
        gives the outputs. Not a coroutine (one level less on every request's path),
        except when features are fetched online first. *meta* (request id, protocol,
        start time on ``perf_counter``) goes with the rows to the prediction log.
        Raises :class:`BadRequest` for inputs that do not fit the signature and
        :class:`Overloaded` when the queue refuses them."""
        service = self.features.get(lv.name)
        if service and isinstance(raw, list) and raw and isinstance(raw[0], dict):
            return self._submit_with_features(lv, service, raw, timeout_ms, meta)
        return lv.batcher.enqueue(self._prepare(lv, raw), timeout_ms, meta)

    async def _submit_with_features(
        self, lv: Loaded, service: str, raw: list[Any], timeout_ms: float | None, meta: Any
    ) -> dict[str, np.ndarray]:
        raw = await self._with_features(lv, service, raw)
        return await lv.batcher.enqueue(self._prepare(lv, raw), timeout_ms, meta)

    @staticmethod
    def _prepare(lv: Loaded, raw: Any) -> Any:
        try:
            prepared = lv.predictor.prepare(raw)
        except InvalidInput as exc:
            field = (getattr(exc, "details", None) or {}).get("field")
            raise BadRequest(str(exc), field) from None
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise BadRequest(
                f"the input does not fit the signature of {lv.mv.ref}: {exc}", "inputs"
            ) from None
        if isinstance(prepared, dict):
            for col, values in prepared.items():
                if np.ndim(values) != 1:
                    raise BadRequest(
                        f"column {col!r} must hold one scalar per row; got shape "
                        f"{list(np.shape(values))}",
                        col,
                    )
        if n_rows(prepared) == 0:
            raise BadRequest("the request holds no rows", None)
        return prepared


async def _empty() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator with nothing in it


class _NotReady(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


# ---------------------------------------------------------------------- payloads
def _oip_inputs(body: Any, lv: Loaded) -> Any:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise BadRequest("the body must be an object with an 'inputs' list", "inputs")
    sig = lv.predictor.signature
    arrays: dict[str, np.ndarray] = {}
    for i, t in enumerate(body["inputs"]):
        if not isinstance(t, dict) or "name" not in t:
            raise BadRequest(f"input {i} must be an object with a name", f"inputs[{i}]")
        name = str(t["name"])
        dt = str(t.get("datatype", "")).upper()
        if dt not in _DTYPES:
            raise BadRequest(
                f"input {name!r} has datatype {t.get('datatype')!r}; use one of {sorted(_DTYPES)}",
                name,
            )
        shape = t.get("shape")
        if not isinstance(shape, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape
        ):
            raise BadRequest(f"input {name!r} needs a shape: a list of sizes", name)
        data = t.get("data")
        if not isinstance(data, list):
            raise BadRequest(f"input {name!r} needs 'data': a list", name)
        try:
            with np.errstate(over="ignore"):  # overflow to inf is reported below
                arr = np.asarray(data, dtype=_DTYPES[dt] if dt != "BYTES" else None)
            if dt == "BYTES":
                arr = arr.astype(object)
            arr = arr.reshape(shape)
        except (ValueError, TypeError, OverflowError) as exc:
            raise BadRequest(
                f"input {name!r}: data does not fit datatype {dt} and shape {shape} ({exc})", name
            ) from None
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():  # JSON has no inf: overflow
            raise BadRequest(f"input {name!r} holds values beyond the range of {dt}", name)
        arrays[name] = arr
    if sig is None:
        if len(arrays) == 1:
            return next(iter(arrays.values()))
        return {k: v.reshape(len(v), -1)[:, 0] if v.ndim > 1 else v for k, v in arrays.items()}
    if sig.is_tensor:
        spec = sig.inputs[0]
        if len(arrays) != 1:
            raise BadRequest(
                f"the model takes one tensor {spec.name!r}; got inputs {sorted(arrays)}", spec.name
            )
        ((given, arr),) = arrays.items()
        if given != spec.name and spec.name != "input":
            raise BadRequest(f"unknown input {given!r}; the model takes {spec.name!r}", given)
        return arr
    known = set(sig.column_names)
    cols: dict[str, np.ndarray] = {}
    for k, v in arrays.items():
        if k not in known:
            if len(arrays) == 1 and v.ndim == 2 and v.shape[1] == len(known):
                return v  # one 2-D tensor holding every column in order
            raise BadRequest(
                f"unknown input {k!r}; the model takes {', '.join(sig.column_names)}", k
            )
        if v.ndim == 2 and v.shape[1] == 1:
            v = v[:, 0]
        if v.ndim != 1:
            raise BadRequest(
                f"input {k!r} has shape {list(v.shape)}; expected [rows] or [rows, 1]", k
            )
        cols[k] = v
    return cols


def _tf_inputs(body: Any, lv: Loaded) -> Any:
    if not isinstance(body, dict):
        raise BadRequest("the body must be an object with 'instances' or 'inputs'", "instances")
    if "instances" in body:
        inst = body["instances"]
        if not isinstance(inst, list):
            raise BadRequest("'instances' must be a list", "instances")
        return inst
    if "inputs" in body:
        inp = body["inputs"]
        if isinstance(inp, dict):
            return {k: (v if isinstance(v, list) else [v]) for k, v in inp.items()}
        if isinstance(inp, list):
            return inp
        raise BadRequest("'inputs' must be an object of columns or a list", "inputs")
    raise BadRequest("the body needs 'instances' or 'inputs'", "instances")


def _records_inputs(body: Any, lv: Loaded) -> Any:
    recs = body
    if isinstance(body, dict):
        recs = body.get("records", body.get("instances", body.get("dataframe_records")))
    if not isinstance(recs, list) or not recs:
        raise BadRequest("the body must be a non-empty list of records", "records")
    for i, r in enumerate(recs):
        if not isinstance(r, dict):
            raise BadRequest(f"record {i} is not an object", f"records[{i}]")
    return recs


def _timeout_ms(header: str | None) -> float | None:
    """The ``x-timeout-ms`` header as a positive number of milliseconds, or None."""
    if not header:
        return None
    try:
        value = float(header)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise BadRequest(
            f"header x-timeout-ms must be a positive number of milliseconds; got {header!r}",
            "x-timeout-ms",
        )
    return value


def _load_ref(body: Any) -> str | None:
    """The reference a repository load request names (``{"ref": "churn@3"}`` or the
    protocol's ``{"parameters": {"ref": …}}``); None reloads the served reference."""
    if body is None:
        return None
    if not isinstance(body, dict):
        raise BadRequest('the body must be an object like {"ref": "churn@3"}', "body")
    params = body.get("parameters")
    if params is not None and not isinstance(params, dict):
        raise BadRequest(
            f"'parameters' must be an object holding 'ref', not {type(params).__name__}",
            "parameters",
        )
    ref = body.get("ref")
    if ref is None or ref == "":
        ref = (params or {}).get("ref")
    if ref is None or ref == "":
        return None
    if not isinstance(ref, str):
        raise BadRequest(
            f"'ref' must be a model reference like 'churn@3', not {type(ref).__name__}", "ref"
        )
    return ref


def _np_safe(arr: np.ndarray) -> Any:
    if arr.dtype.kind in "OUS":
        return arr.astype(str).tolist()
    return arr


# ---------------------------------------------------------------------- the app
def create_server(
    ws: Any,
    refs: list[str] | str,
    **options: Any,
) -> Starlette:
    """A Starlette app serving *refs* (``["churn@champion", "digits@3"]``).

    Options: ``batching`` (a :class:`BatchConfig` or dict of its fields, or ``False``),
    ``threads``, ``max_body_bytes``, ``watch_interval_s`` (None: no alias watching),
    ``deployment``, ``prediction_log``, ``record_deployments``, ``url``, ``onnx`` (serve
    the ONNX export of each version, exporting it once if needed, when it exports
    cleanly; the native flavor otherwise), ``intra_op_threads`` (threads inside one
    model call for runtimes that have them, default 1 so that batches and workers
    share the cores without spin-waiting; 0 or None: the runtime's default),
    ``features`` (``{"churn": "churn_model"}``: records sent to a model may carry only
    the entity keys of that feature service and the request-time columns; the server
    fills the other columns the model takes from the online store), ``own_process``
    (the server has the process to itself, as under ``serve()``: after start-up it
    freezes what the process holds out of the garbage collector's reach and collects
    young objects less often; leave False when serving inside another program).
    """
    if isinstance(refs, str):
        refs = [refs]
    b = options.pop("batching", None)
    if b is False:
        options["batching"] = BatchConfig(enabled=False)
    elif isinstance(b, dict):
        options["batching"] = BatchConfig(**b)
    elif b is not None:
        options["batching"] = b
    server = ModelServer(ws, list(refs), **options)
    m = server.metrics

    def too_large(size: int | str) -> BadRequest:
        return BadRequest(
            f"body of {size} bytes exceeds the limit of {server.max_body_bytes}", "body", 413
        )

    def parse_json(body: bytes) -> Any:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"the body is not valid JSON: {exc}", "body") from None

    async def read_json(request: Request) -> Any:
        length = request.headers.get("content-length")
        if length and length.isdigit():
            if int(length) > server.max_body_bytes:
                raise too_large(length)
            body = await request.body()
        else:
            body = b""
        async for chunk in request.stream() if not body else _empty():
            body += chunk
            if len(body) > server.max_body_bytes:
                raise too_large(f"more than {server.max_body_bytes}")
        return parse_json(body)

    def failed(name: str, exc: BaseException) -> tuple[int, bytes]:
        """The status and JSON error body of an inference request that raised *exc*."""
        if isinstance(exc, BadRequest):
            kind = "InvalidInput" if exc.status == 400 else "TooLarge"
            return exc.status, _error_body(kind, exc.message, field=exc.field)
        if isinstance(exc, Overloaded):
            m.rejected.labels(name, exc.reason).inc()
            return 503, _error_body("Overloaded", exc.message, reason=exc.reason)
        if isinstance(exc, _NotReady):
            m.rejected.labels(name, "not_ready").inc()
            return 503, _error_body("NotReady", f"model {name!r} is loading", reason="not_ready")
        if isinstance(exc, NotFound):
            return 404, _error_body("NotFound", str(exc))
        # a model failure: report it, keep serving
        log.error("inference failed for %s", name, exc_info=exc)
        return 500, _error_body("InferenceError", f"{type(exc).__name__}: {exc}")

    def begin_inference(
        name: str,
        version: str | None,
        body: bytes | BadRequest,
        timeout_header: str | None,
        protocol: str,
        parse: Any,
    ) -> tuple[Any, tuple[int, bytes] | None]:
        """Start one inference request, up to its rows queued for the model: returns
        (pending, None) with the awaitable of the outputs last in *pending*, or (None,
        (status, body)) when it ends before. Never raises. The request's second half
        is :func:`end_inference`; together: :func:`run_inference`. (Two plain
        functions and the caller's await: a coroutine level less on every request.)"""
        t0 = time.perf_counter()
        try:
            if isinstance(body, BadRequest):
                raise body
            payload = parse_json(body)
            timeout = _timeout_ms(timeout_header)
            given = payload.get("id") if isinstance(payload, dict) else None
            rid = str(given) if given else next_request_id()
            lv = server.find(name, version)
            if not lv.ready:
                raise _NotReady(name)
            waiter = server.submit(lv, parse(payload, lv), timeout, (rid, protocol, t0))
        except Exception as exc:
            code, data = failed(name, exc)
            m.request_done(name, version or "", protocol, str(code), time.perf_counter() - t0)
            return None, (code, data)
        lv.inflight += 1  # a swap retires the old version once this is back to 0
        return (t0, lv, rid, waiter), None

    def end_inference(
        name: str,
        version: str | None,
        protocol: str,
        render: Any,
        pending: Any,
        out: dict[str, np.ndarray] | None,
        exc: BaseException | None,
    ) -> tuple[int, bytes]:
        """The second half of an inference request: its outputs (or the exception
        awaiting them raised) rendered as (status, JSON body). Never raises."""
        t0, lv, rid, _ = pending
        lv.inflight -= 1
        label_version = version or ""
        if exc is None:
            try:
                code, data = 200, _dumps(render(lv, out, rid))
                label_version = str(lv.version)
            except Exception as render_exc:
                code, data = failed(name, render_exc)
        else:
            code, data = failed(name, exc)
        m.request_done(name, label_version, protocol, str(code), time.perf_counter() - t0)
        return code, data

    async def run_inference(
        name: str,
        version: str | None,
        body: bytes | BadRequest,
        timeout_header: str | None,
        protocol: str,
        parse: Any,
        render: Any,
    ) -> tuple[int, bytes]:
        """One inference request, bytes in, (status, JSON bytes) out; never raises
        (except when cancelled)."""
        pending, done = begin_inference(name, version, body, timeout_header, protocol, parse)
        if done is not None:
            return done
        try:
            out = await pending[-1]
        except BaseException as exc:
            code_data = end_inference(name, version, protocol, render, pending, None, exc)
            if not isinstance(exc, Exception):
                raise
            return code_data
        return end_inference(name, version, protocol, render, pending, out, None)

    async def handle(request: Request, protocol: str, parse: Any, render: Any) -> Response:
        """The inference routes through the router, with the same behaviour: reached when
        ``_ServerApp`` does not recognize the path (a ``root_path`` prefix in it)."""
        body: bytes | BadRequest
        try:
            length = request.headers.get("content-length")
            if length and length.isdigit() and int(length) > server.max_body_bytes:
                raise too_large(length)
            body = await request.body()
            if len(body) > server.max_body_bytes:
                raise too_large(len(body))
        except BadRequest as exc:
            body = exc
        code, data = await run_inference(
            request.path_params["name"],
            request.path_params.get("version"),
            body,
            request.headers.get("x-timeout-ms"),
            protocol,
            parse,
            render,
        )
        return Response(data, status_code=code, media_type="application/json")

    def render_oip(lv: Loaded, out: dict[str, np.ndarray], rid: str) -> dict[str, Any]:
        return {
            "model_name": lv.name,
            "model_version": str(lv.version),
            "id": rid,
            "outputs": [
                {
                    "name": k,
                    "shape": list(v.shape),
                    "datatype": oip_datatype(v),
                    "data": _np_safe(v.reshape(-1)),
                }
                for k, v in out.items()
            ],
        }

    def render_predictions(lv: Loaded, out: dict[str, np.ndarray], rid: str) -> dict[str, Any]:
        return {
            "predictions": _np_safe(out["predict"]),
            "model": lv.name,
            "version": lv.version,
            "id": rid,
        }

    async def oip_infer(request: Request) -> Response:
        return await handle(request, "v2", _oip_inputs, render_oip)

    async def tf_predict(request: Request) -> Response:
        return await handle(request, "tfserving", _tf_inputs, render_predictions)

    async def records_predict(request: Request) -> Response:
        return await handle(request, "records", _records_inputs, render_predictions)

    # ---- health and metadata
    def all_ready() -> bool:
        return bool(server.slots) and all(
            s.current is not None and s.current.ready for s in server.slots.values()
        )

    async def live(request: Request) -> Response:
        return _json({"live": True})

    async def ready(request: Request) -> Response:
        ok = all_ready()
        return _json({"ready": ok}, 200 if ok else 503)

    async def server_meta(request: Request) -> Response:
        from .._version import __version__

        return _json(
            {"name": "shipyard", "version": __version__, "extensions": ["model_repository"]}
        )

    def _get(request: Request) -> Loaded:
        return server.find(request.path_params["name"], request.path_params.get("version"))

    async def model_meta(request: Request) -> Response:
        try:
            lv = _get(request)
        except NotFound as exc:
            return _error(404, "NotFound", str(exc))
        except _NotReady:
            return _error(503, "NotReady", "loading", reason="not_ready")
        sig = lv.predictor.signature
        inputs: list[dict[str, Any]] = []
        if sig is not None:
            for spec in sig.inputs:
                d = spec.to_dict()
                if "shape" in d:
                    inputs.append(
                        {
                            "name": d["name"],
                            "datatype": oip_datatype(np.empty(0, d["dtype"])),
                            "shape": d["shape"],
                        }
                    )
                else:
                    kind = d["kind"]
                    dt = {"float": "FP64", "integer": "INT64", "bool": "BOOL"}.get(kind, "BYTES")
                    inputs.append({"name": d["name"], "datatype": dt, "shape": [-1]})
        return _json(
            {
                "name": lv.name,
                "versions": [str(lv.version)],
                "platform": lv.mv.flavor,
                "inputs": inputs,
                "outputs": [{"name": "predict", "datatype": "BYTES", "shape": [-1]}],
            }
        )

    async def model_ready(request: Request) -> Response:
        try:
            lv = _get(request)
        except NotFound as exc:
            return _error(404, "NotFound", str(exc))
        except _NotReady:
            return _json({"name": request.path_params["name"], "ready": False}, 503)
        return _json({"name": lv.name, "ready": lv.ready}, 200 if lv.ready else 503)

    async def repo_index(request: Request) -> Response:
        return _json(
            [
                {
                    "name": s.name,
                    "ref": s.ref,
                    "version": str(s.current.version) if s.current else None,
                    "state": "READY"
                    if s.current and s.current.ready
                    else ("LOADING" if s.loading else "UNAVAILABLE"),
                    "reason": s.error or "",
                }
                for s in server.slots.values()
            ]
        )

    async def repo_load(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            ref = _load_ref(await read_json(request) if await request.body() else None)
        except BadRequest as exc:
            kind = "InvalidInput" if exc.status == 400 else "TooLarge"
            return _error(exc.status, kind, exc.message, field=exc.field)
        slot = server.slots.get(name)
        if slot is None:
            slot = Slot(name, ref or name)
            tail = slot.ref.split("@", 1)[1] if "@" in slot.ref else ""
            slot.follows_alias = bool(tail) and not tail.lstrip("v").isdigit()
            server.slots[name] = slot
        try:
            lv = await server.load(slot, ref)
        except NotFound as exc:
            if slot.current is None:
                server.slots.pop(name, None)
            return _error(404, "NotFound", str(exc))
        except Exception as exc:
            if slot.current is None:
                server.slots.pop(name, None)
            return _error(400, "LoadFailed", f"{type(exc).__name__}: {exc}")
        return _json({"name": name, "version": str(lv.version), "ready": True})

    async def repo_unload(request: Request) -> Response:
        name = request.path_params["name"]
        slot = server.slots.get(name)
        if slot is None:
            return _error(404, "NotFound", f"model {name!r} is not loaded")
        await server.unload(slot)
        return _json({"name": name, "unloaded": True})

    async def metrics(request: Request) -> Response:
        for slot in server.slots.values():
            if slot.current is not None:
                m.queue_depth.labels(slot.current.name).set(slot.current.batcher.depth)
        data, ctype = m.render()
        return Response(data, media_type=ctype)

    routes = [  # the inference routes first: they are matched on every request
        Route("/v1/models/{name}:predict", tf_predict, methods=["POST"]),
        Route("/v1/models/{name}/predict", records_predict, methods=["POST"]),
        Route("/v2/models/{name}/infer", oip_infer, methods=["POST"]),
        Route("/v2/models/{name}/versions/{version}/infer", oip_infer, methods=["POST"]),
        Route("/v2/health/live", live),
        Route("/v2/health/ready", ready),
        Route("/v2", server_meta),
        Route("/v2/models/{name}", model_meta),
        Route("/v2/models/{name}/ready", model_ready),
        Route("/v2/models/{name}/versions/{version}", model_meta),
        Route("/v2/models/{name}/versions/{version}/ready", model_ready),
        Route("/v2/repository/index", repo_index, methods=["GET", "POST"]),
        Route("/v2/repository/models/{name}/load", repo_load, methods=["POST"]),
        Route("/v2/repository/models/{name}/unload", repo_unload, methods=["POST"]),
        Route("/metrics", metrics),
        Route("/openapi.json", openapi_endpoint(server, _DTYPES)),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await server.startup()
        try:
            yield
        finally:
            await server.shutdown()

    parsers = {"tfserving": (_tf_inputs, render_predictions),
               "records": (_records_inputs, render_predictions),
               "v2": (_oip_inputs, render_oip)}  # fmt: skip

    async def http_error(request: Request, exc: Exception) -> Response:
        """Unknown paths and wrong methods answer in the same JSON shape as the rest."""
        status = int(getattr(exc, "status_code", 500))
        kind = {404: "NotFound", 405: "MethodNotAllowed"}.get(status, "HTTPError")
        detail = str(getattr(exc, "detail", "") or kind)
        message = (
            f"no route {request.method} {request.url.path}; see GET /openapi.json"
            if status in (404, 405)
            else detail
        )
        resp = _error(status, kind, message)
        if status == 405 and getattr(exc, "headers", None):
            resp.headers.update(exc.headers)  # type: ignore[attr-defined]
        return resp

    app = _ServerApp(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error}
    )
    app.begin_inference = begin_inference
    app.end_inference = end_inference
    app.parsers = parsers
    app.too_large = too_large
    app.max_body_bytes = server.max_body_bytes
    app.state.model_server = server
    return app


def _match_inference(path: str) -> tuple[str, str, str | None] | None:
    """(protocol, model, version) of an inference path, as the routes above match it."""
    if path.startswith("/v1/models/"):
        rest = path[11:]
        if rest.endswith(":predict"):
            protocol = "tfserving"
        elif rest.endswith("/predict"):
            protocol = "records"
        else:
            return None
        name = rest[:-8]
        return (protocol, name, None) if name and "/" not in name else None
    if path.startswith("/v2/models/") and path.endswith("/infer"):
        parts = path[11:-6].split("/")
        if len(parts) == 1 and parts[0]:
            return "v2", parts[0], None
        if len(parts) == 3 and parts[1] == "versions" and parts[0] and parts[2]:
            return "v2", parts[0], parts[2]
    return None


class _ServerApp(Starlette):
    """The server's app: POSTs to the inference routes go straight to the model server
    (see :func:`create_server`) without the router, the Request and the Response
    objects, a large share of a small model's request; everything else, and inference
    paths under a ``root_path`` prefix, is plain Starlette."""

    begin_inference: Any = None
    end_inference: Any = None
    parsers: dict[str, tuple[Any, Any]] = {}  # set per instance
    too_large: Any = None
    max_body_bytes = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        hit = (
            _match_inference(scope["path"])
            if scope["type"] == "http" and scope["method"] == "POST" and self.begin_inference
            else None
        )
        if hit is None:
            await super().__call__(scope, receive, send)
            return
        protocol, name, version = hit
        length = timeout = None
        for key, value in scope["headers"]:
            if key == b"content-length":
                length = value
            elif key == b"x-timeout-ms":
                timeout = value.decode("latin-1")
        limit = self.max_body_bytes
        body: bytes | BadRequest
        if length is not None and length.isdigit() and int(length) > limit:
            body = self.too_large(length.decode())
        else:
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return  # the client left; nothing to answer
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    break
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            body = (
                self.too_large(f"more than {limit}")
                if size > limit
                else chunks[0]
                if len(chunks) == 1
                else b"".join(chunks)
            )
        parse, render = self.parsers[protocol]
        # run_inference (see create_server) without its coroutine level
        pending, done = self.begin_inference(name, version, body, timeout, protocol, parse)
        if done is not None:
            code, data = done
        else:
            try:
                out = await pending[-1]
            except BaseException as exc:
                code, data = self.end_inference(name, version, protocol, render, pending, None, exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                code, data = self.end_inference(name, version, protocol, render, pending, out, None)
        await send(
            {
                "type": "http.response.start",
                "status": code,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})

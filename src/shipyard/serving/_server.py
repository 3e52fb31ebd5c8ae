"""The model server: Open Inference Protocol v2, TF-Serving style and records endpoints.

``create_server(ws, refs)`` returns a Starlette app serving the given model versions
(``name@alias`` follows the alias). Inputs are validated against each version's
signature (400 naming the input), batched per model (:mod:`._batcher`), run in a thread
pool off the event loop, counted in Prometheus metrics and logged to the monitoring sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core import InvalidInput, NotFound
from ._batcher import BatchConfig, Batcher, Overloaded, n_rows
from ._metrics import ServerMetrics
from ._openapi import openapi_endpoint
from ._predlog import PredictionLogger, open_sink

log = logging.getLogger("shipyard.serving")

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


class BadRequest(Exception):
    def __init__(self, message: str, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
    )


def _error(status: int, type_: str, message: str, **details: Any) -> Response:
    body: dict[str, Any] = {"error": {"type": type_, "message": message}}
    if details:
        body["error"]["details"] = details
    return _json(body, status)


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

    @property
    def name(self) -> str:
        return str(self.mv.name)

    @property
    def version(self) -> int:
        return int(self.mv.version)


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
    ) -> None:
        self.ws = ws
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
            return {"predict": np.asarray(predictor.predict(inputs))}

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
        predictor = self.ws.models.load(mv.ref)
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

        batcher = Batcher(
            self._predict_fn(predictor), self.executor, self.batch_config, on_batch, on_depth
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

    # ------------------------------------------------------------------ lifecycle
    async def startup(self) -> None:
        if self.prediction_log:
            sink = await asyncio.get_running_loop().run_in_executor(
                None, open_sink, self.ws, self.deployment
            )
        else:
            sink = None
        self.logger = PredictionLogger(
            sink, lambda n: self.metrics.log_dropped.inc(n), max_pending=self.log_queue
        )
        for slot in list(self.slots.values()):
            await self.load(slot)
        if self.watch_interval_s and any(s.follows_alias for s in self.slots.values()):
            self._watch_task = asyncio.get_running_loop().create_task(self.watch())

    async def shutdown(self) -> None:
        if self._watch_task:
            self._watch_task.cancel()
        for slot in list(self.slots.values()):
            if slot.current is not None:
                await slot.current.batcher.close()
            await self._record(slot, stopped=True)
        if self.logger:
            await asyncio.get_running_loop().run_in_executor(None, self.logger.close)
        self.executor.shutdown(wait=False)
        self.load_executor.shutdown(wait=False)

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
    async def infer(
        self, name: str, version: str | None, inputs_fn: Any, protocol: str, request: Request
    ) -> tuple[Loaded, Any, dict[str, np.ndarray], int]:
        lv = self.find(name, version)
        if not lv.ready:
            raise _NotReady(name)
        lv.inflight += 1
        try:
            raw = inputs_fn(lv)
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
            rows = n_rows(prepared)
            if rows == 0:
                raise BadRequest("the request holds no rows", None)
            timeout = _timeout_ms(request.headers.get("x-timeout-ms"))
            out = await lv.batcher.submit(prepared, timeout)
            return lv, prepared, out, rows
        finally:
            lv.inflight -= 1


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
    cleanly; the native flavor otherwise).
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

    async def read_json(request: Request) -> Any:
        length = request.headers.get("content-length")
        if length and length.isdigit():
            if int(length) > server.max_body_bytes:
                raise BadRequest(
                    f"body of {length} bytes exceeds the limit of {server.max_body_bytes}",
                    "body",
                    413,
                )
            body = await request.body()
        else:
            body = b""
        async for chunk in request.stream() if not body else _empty():
            body += chunk
            if len(body) > server.max_body_bytes:
                raise BadRequest(
                    f"body exceeds the limit of {server.max_body_bytes} bytes", "body", 413
                )
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"the body is not valid JSON: {exc}", "body") from None

    async def handle(request: Request, protocol: str, parse: Any, render: Any) -> Response:
        t0 = time.perf_counter()
        name = request.path_params["name"]
        version = request.path_params.get("version")
        code = 200
        label_version = version or ""
        try:
            body = await read_json(request)
            lv, prepared, out, rows = await server.infer(
                name, version, lambda lv: parse(body, lv), protocol, request
            )
            label_version = str(lv.version)
            rid = (
                str(body.get("id") or uuid.uuid4().hex)
                if isinstance(body, dict)
                else uuid.uuid4().hex
            )
            resp = _json(render(lv, out, rid))
            latency = (time.perf_counter() - t0) * 1000
            if server.logger is not None:
                server.logger.submit(
                    request_id=rid,
                    ts=datetime.now(UTC),
                    model=lv.name,
                    version=lv.version,
                    deployment=server.deployment,
                    protocol=protocol,
                    status=200,
                    latency_ms=latency,
                    rows=rows,
                    inputs=prepared,
                    outputs=out,
                )
            return resp
        except BadRequest as exc:
            code = exc.status
            return _error(
                code, "InvalidInput" if code == 400 else "TooLarge", exc.message, field=exc.field
            )
        except Overloaded as exc:
            code = 503
            m.rejected.labels(name, exc.reason).inc()
            return _error(503, "Overloaded", exc.message, reason=exc.reason)
        except _NotReady:
            code = 503
            m.rejected.labels(name, "not_ready").inc()
            return _error(503, "NotReady", f"model {name!r} is loading", reason="not_ready")
        except NotFound as exc:
            code = 404
            return _error(404, "NotFound", str(exc))
        except Exception as exc:  # a model failure: report it, keep serving
            code = 500
            log.exception("inference failed for %s", name)
            return _error(500, "InferenceError", f"{type(exc).__name__}: {exc}")
        finally:
            m.request_done(name, label_version, protocol, str(code), time.perf_counter() - t0)

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

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.model_server = server
    return app

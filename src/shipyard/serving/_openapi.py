"""The OpenAPI 3.1 document of a running model server (``GET /openapi.json``).

The generic routes carry the Open Inference Protocol v2 schemas; each served model
also gets concrete paths (``/v2/models/churn/infer``, ``/v1/models/churn:predict``,
``/v1/models/churn/predict``) whose request schemas and examples come from its
signature, so clients and API fuzzers send requests the model can answer. The
document is built per request: models loaded or unloaded since start show up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import numpy as np
import orjson
from starlette.requests import Request
from starlette.responses import Response

from ._openapi_schemas import (
    ANY_OBJECT,
    JSON,
    Schema,
    components,
    errors,
    json_content,
    ref,
    response,
)


def _path_param(name: str, description: str, examples: Sequence[str] = ()) -> dict[str, Any]:
    param: dict[str, Any] = {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": description,
    }
    if examples:
        param["examples"] = {e: {"value": e} for e in examples}
    return param


_TIMEOUT_PARAM = {
    "name": "x-timeout-ms",
    "in": "header",
    "required": False,
    "schema": {"type": "number", "exclusiveMinimum": 0},
    "description": "How long the request may wait for the model, in milliseconds",
}


# ---------------------------------------------------------------------- generic paths
def _infer_op(summary: str, op_id: str, params: list[Any], body: Schema, ex: Any = None) -> Schema:
    return {
        "post": {
            "summary": summary,
            "operationId": op_id,
            "tags": ["inference"],
            "parameters": [*params, _TIMEOUT_PARAM],
            "requestBody": {"required": True, "content": json_content(body, ex)},
            "responses": {
                "200": response("The model's outputs", ref("InferenceResponse")),
                **errors(400, 404, 413, 500, 503),
            },
        }
    }


def _predict_op(
    summary: str, op_id: str, params: list[Any], body: Schema, ex: Any = None
) -> Schema:
    op = _infer_op(summary, op_id, params, body, ex)
    op["post"]["responses"]["200"] = response("One prediction per row", ref("Predictions"))
    return op


def _get(summary: str, op_id: str, tag: str, params: list[Any], ok: Schema, *errs: int) -> Schema:
    return {
        "get": {
            "summary": summary,
            "operationId": op_id,
            "tags": [tag],
            "parameters": params,
            "responses": {"200": response(summary, ok), **errors(*errs)},
        }
    }


def _generic_paths(served: dict[str, str]) -> Schema:
    """The routes of every server; *served* (name → version) gives the examples."""
    name = _path_param("name", "Model name", list(served))
    version = _path_param("version", "Model version number", sorted(set(served.values())))
    ready_503 = {"503": response("Not ready", ref("ModelReady"))}
    model_ready = _get("Model readiness", "model_ready", "health", [name], ref("ModelReady"), 404)
    model_ready["get"]["responses"].update(ready_503)
    version_ready = _get(
        "Model version readiness",
        "model_version_ready",
        "health",
        [name, version],
        ref("ModelReady"),
        404,
    )
    version_ready["get"]["responses"].update(ready_503)
    server_ready = _get("Server readiness", "server_ready", "health", [], ref("Ready"))
    server_ready["get"]["responses"]["503"] = response("Some model is not ready", ref("Ready"))
    repo_index = _get(
        "Model repository index", "repository_index", "repository", [], ref("RepositoryIndex")
    )
    repo_index["post"] = {
        **repo_index["get"],
        "operationId": "repository_index_post",
        "requestBody": {
            "required": False,
            "content": json_content(ref("RepositoryIndexRequest")),
        },
    }
    return {
        "/v2/health/live": _get("Server liveness", "server_live", "health", [], ref("Live")),
        "/v2/health/ready": server_ready,
        "/v2": _get("Server metadata", "server_metadata", "metadata", [], ref("ServerMetadata")),
        "/v2/models/{name}": _get(
            "Model metadata", "model_metadata", "metadata", [name], ref("ModelMetadata"), 404, 503
        ),
        "/v2/models/{name}/ready": model_ready,
        "/v2/models/{name}/versions/{version}": _get(
            "Model version metadata",
            "model_version_metadata",
            "metadata",
            [name, version],
            ref("ModelMetadata"),
            404,
            503,
        ),
        "/v2/models/{name}/versions/{version}/ready": version_ready,
        "/v2/models/{name}/infer": _infer_op(
            "Inference (Open Inference Protocol v2)",
            "model_infer",
            [name],
            ref("InferenceRequest"),
        ),
        "/v2/models/{name}/versions/{version}/infer": _infer_op(
            "Inference on one version (Open Inference Protocol v2)",
            "model_version_infer",
            [name, version],
            ref("InferenceRequest"),
        ),
        "/v1/models/{name}:predict": _predict_op(
            "Predict (TF-Serving style)", "tf_predict", [name], ref("TFPredictRequest")
        ),
        "/v1/models/{name}/predict": _predict_op(
            "Predict on records", "records_predict", [name], ref("Records")
        ),
        "/v2/repository/index": repo_index,
        "/v2/repository/models/{name}/load": {
            "post": {
                "summary": "Load (or reload) a model under a name",
                "operationId": "repository_model_load",
                "tags": ["repository"],
                "parameters": [_path_param("name", "Name to serve the model under")],
                "requestBody": {"required": False, "content": json_content(ref("LoadRequest"))},
                "responses": {
                    "200": response("Loaded and ready", ref("LoadResponse")),
                    **errors(400, 404, 413),
                },
            }
        },
        "/v2/repository/models/{name}/unload": {
            "post": {
                "summary": "Stop serving a model",
                "operationId": "repository_model_unload",
                "tags": ["repository"],
                "parameters": [_path_param("name", "Model name")],
                "responses": {
                    "200": response("Unloaded", ref("UnloadResponse")),
                    **errors(404),
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "operationId": "metrics",
                "tags": ["health"],
                "responses": {
                    "200": {
                        "description": "Metrics in the Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "openapi",
                "tags": ["metadata"],
                "responses": {"200": response("The OpenAPI document", ANY_OBJECT)},
            }
        },
    }


# ---------------------------------------------------------------------- per-model paths
_KIND_SCHEMA: dict[str, Schema] = {
    "float": {"type": "number"},
    "integer": {"type": "integer"},
    "bool": {"type": "boolean"},
    "string": {"type": "string"},
    "datetime": {"type": "string", "format": "date-time"},
    "any": {},
}
_KIND_DATATYPE = {"float": "FP64", "integer": "INT64", "bool": "BOOL"}
_KIND_DEFAULT: dict[str, Any] = {
    "float": 0.0,
    "integer": 0,
    "bool": False,
    "string": "a",
    "datetime": "2024-01-01T00:00:00",
    "any": 0,
}


def _datatype(dtype: str, datatypes: Mapping[str, Any]) -> str:
    want = np.dtype(dtype)
    for name, np_type in datatypes.items():
        if name != "BYTES" and np.dtype(np_type) == want:
            return name
    return "BYTES"


def _value_schema(datatype: str) -> Schema:
    if datatype == "BOOL":
        return {"type": "boolean"}
    if datatype.startswith(("INT", "UINT")):
        return {"type": "integer"}
    if datatype.startswith("FP"):
        return {"type": "number"}
    return {"type": "string"}


def _nested(item: Schema, dims: list[int]) -> Schema:
    """An array schema nesting *item* per *dims* (-1: any length)."""
    for d in reversed(dims):
        arr: Schema = {"type": "array", "items": item}
        if d >= 0:
            arr |= {"minItems": d, "maxItems": d}
        item = arr
    return item


def _fill(value: Any, dims: list[int]) -> Any:
    for d in reversed(dims):
        value = [value] * (d if d >= 0 else 1)
    return value


def _first_row(example: Any, sig: Any) -> Any:
    """The first row of a stored input example, or None when it does not fit."""
    if sig.is_tensor:
        if isinstance(example, list) and example:
            return example[0]
        return None
    if isinstance(example, Mapping) and all(
        isinstance(example.get(c), list) and example[c] for c in sig.column_names
    ):
        return {c: example[c][0] for c in sig.column_names}
    return None


def _model_paths(name: str, lv: Any, datatypes: Mapping[str, Any]) -> Schema:
    sig = lv.predictor.signature
    if sig is None:
        return {}
    row_example = _first_row(getattr(lv.mv, "input_example", None), sig)
    if sig.is_tensor:
        spec = sig.inputs[0]
        dt = _datatype(spec.dtype, datatypes)
        dims = [int(s) for s in spec.shape]
        value = _value_schema(dt)
        row = row_example if row_example is not None else _fill(_KIND_DEFAULT["float"], dims[1:])
        flat = np.ravel(np.asarray(row)).tolist()
        oip_input = {
            "type": "object",
            "required": ["name", "shape", "datatype", "data"],
            "properties": {
                "name": {"type": "string", "const": spec.name},
                "shape": _nested({"type": "integer", "minimum": 0}, [len(dims)]),
                "datatype": {"type": "string", "const": dt},
                "parameters": ref("Parameters"),
                "data": {"type": "array", "items": value},
            },
        }
        oip_body: Schema = {
            "type": "object",
            "required": ["inputs"],
            "properties": {
                "id": {"type": "string"},
                "inputs": {"type": "array", "minItems": 1, "maxItems": 1, "items": oip_input},
            },
        }
        oip_example = {
            "inputs": [
                {"name": spec.name, "shape": [1, *np.shape(row)], "datatype": dt, "data": flat}
            ]
        }
        row_schema = _nested(value, dims[1:])
        tf_body: Schema = {
            "type": "object",
            "required": ["instances"],
            "properties": {"instances": {"type": "array", "minItems": 1, "items": row_schema}},
        }
        inputs = f"tensor {spec.name}: {spec.dtype} {list(spec.shape)}"
        return _infer_paths(name, inputs, oip_body, oip_example, tf_body, row)
    cols = [(c.name, c.kind) for c in sig.inputs]
    row = row_example or {c: _KIND_DEFAULT.get(k, 0) for c, k in cols}
    record: Schema = {
        "type": "object",
        "required": [c for c, _ in cols],
        "properties": {c: _KIND_SCHEMA.get(k, {}) for c, k in cols},
    }
    oip_inputs = [
        {
            "type": "object",
            "required": ["name", "shape", "datatype", "data"],
            "properties": {
                "name": {"type": "string", "const": c},
                "shape": _nested({"type": "integer", "minimum": 0}, [1]),
                "datatype": {"type": "string", "const": _KIND_DATATYPE.get(k, "BYTES")},
                "parameters": ref("Parameters"),
                "data": {"type": "array", "items": _KIND_SCHEMA.get(k, {})},
            },
        }
        for c, k in cols
    ]
    oip_body = {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "id": {"type": "string"},
            "inputs": {
                "type": "array",
                "minItems": len(cols),
                "maxItems": len(cols),
                "items": {"oneOf": oip_inputs},
            },
        },
    }
    oip_example = {
        "inputs": [
            {"name": c, "shape": [1], "datatype": _KIND_DATATYPE.get(k, "BYTES"), "data": [row[c]]}
            for c, k in cols
        ]
    }
    records: Schema = {"type": "array", "minItems": 1, "items": record}
    tf_body = {
        "type": "object",
        "required": ["instances"],
        "properties": {"instances": records},
    }
    paths = _infer_paths(
        name, f"columns {', '.join(c for c, _ in cols)}", oip_body, oip_example, tf_body, row
    )
    paths[f"/v1/models/{name}/predict"] = _predict_op(
        f"Predict with {name} on records", f"records_predict_{name}", [], records, [row]
    )
    return paths


def _infer_paths(
    name: str, inputs: str, oip_body: Schema, oip_example: Any, tf_body: Schema, row: Any
) -> Schema:
    """The OIP v2 and TF-Serving paths of one model, whatever its signature's shape."""
    return {
        f"/v2/models/{name}/infer": _infer_op(
            f"Inference on {name} ({inputs})", f"infer_{name}", [], oip_body, oip_example
        ),
        f"/v1/models/{name}:predict": _predict_op(
            f"Predict with {name} (TF-Serving style)",
            f"tf_predict_{name}",
            [],
            tf_body,
            {"instances": [row]},
        ),
    }


# ---------------------------------------------------------------------- the document
def openapi_document(server: Any, datatypes: Mapping[str, Any]) -> Schema:
    """The OpenAPI 3.1 document of *server* (a :class:`ModelServer`) as it serves now.

    *datatypes* maps the Open Inference Protocol datatype names to numpy types.
    """
    from .._version import __version__

    loaded: dict[str, Any] = {}
    for slot in list(server.slots.values()):
        if slot.current is not None:
            loaded.setdefault(slot.current.name, slot.current)
    served = list(loaded)
    paths = _generic_paths({n: str(lv.version) for n, lv in loaded.items()})
    for n, lv in loaded.items():
        paths.update(_model_paths(n, lv, datatypes))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Shipyard model server",
            "version": __version__,
            "description": "Serves "
            + (", ".join(served) or "no models")
            + ": Open Inference Protocol v2, TF-Serving style and records endpoints.",
        },
        "paths": paths,
        "components": {"schemas": components(sorted(datatypes))},
        "tags": [{"name": t} for t in ("inference", "metadata", "health", "repository")],
    }


def openapi_endpoint(
    server: Any, datatypes: Mapping[str, Any]
) -> Callable[[Request], Awaitable[Response]]:
    """The ``GET /openapi.json`` endpoint of *server*."""

    async def openapi(request: Request) -> Response:
        return Response(orjson.dumps(openapi_document(server, datatypes)), media_type=JSON)

    return openapi

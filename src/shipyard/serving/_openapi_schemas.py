"""The Open Inference Protocol v2 JSON schemas of the model server's OpenAPI document
(inference request and response, error, model metadata, readiness, repository)."""

from __future__ import annotations

from typing import Any

JSON = "application/json"
Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: Schema, example: Any = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {JSON: media}


def response(description: str, schema: Schema, example: Any = None) -> dict[str, Any]:
    return {"description": description, "content": json_content(schema, example)}


def errors(*codes: int) -> dict[str, Any]:
    why = {
        400: "Invalid input; the message names the offending field",
        404: "No such model or version here",
        413: "The body is larger than the server accepts",
        500: "The model failed on an input that passed validation",
        503: "The model is loading, the queue is full or the deadline passed",
    }
    return {str(c): response(why[c], ref("Error")) for c in codes}


# ---------------------------------------------------------------------- shared schemas
ANY_OBJECT: Schema = {"type": "object", "additionalProperties": True}
_SCALAR: Schema = {"type": ["number", "string", "boolean", "null"]}


def components(datatypes: list[str]) -> Schema:
    return {
        "Datatype": {"type": "string", "enum": datatypes},
        "Parameters": ANY_OBJECT,
        "TensorData": {
            "type": "array",
            "description": "The tensor's values, flat in row-major order or nested",
            "items": {"anyOf": [_SCALAR, {"type": "array"}]},
        },
        "RequestInput": {
            "type": "object",
            "required": ["name", "shape", "datatype", "data"],
            "properties": {
                "name": {"type": "string"},
                "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
                "datatype": ref("Datatype"),
                "parameters": ref("Parameters"),
                "data": ref("TensorData"),
            },
        },
        "RequestOutput": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}, "parameters": ref("Parameters")},
        },
        "InferenceRequest": {
            "type": "object",
            "required": ["inputs"],
            "properties": {
                "id": {"type": "string"},
                "parameters": ref("Parameters"),
                "inputs": {"type": "array", "minItems": 1, "items": ref("RequestInput")},
                "outputs": {"type": "array", "items": ref("RequestOutput")},
            },
        },
        "ResponseOutput": {
            "type": "object",
            "required": ["name", "shape", "datatype", "data"],
            "properties": {
                "name": {"type": "string"},
                "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
                "datatype": ref("Datatype"),
                "parameters": ref("Parameters"),
                "data": {"type": "array"},
            },
        },
        "InferenceResponse": {
            "type": "object",
            "required": ["model_name", "outputs"],
            "properties": {
                "model_name": {"type": "string"},
                "model_version": {"type": "string"},
                "id": {"type": "string"},
                "parameters": ref("Parameters"),
                "outputs": {"type": "array", "items": ref("ResponseOutput")},
            },
        },
        "Predictions": {
            "type": "object",
            "required": ["predictions", "model", "version", "id"],
            "properties": {
                "predictions": {"type": "array"},
                "model": {"type": "string"},
                "version": {"type": "integer"},
                "id": {"type": "string"},
            },
        },
        "TFPredictRequest": {
            "type": "object",
            "description": "Row format (`instances`) or columnar format (`inputs`)",
            "anyOf": [{"required": ["instances"]}, {"required": ["inputs"]}],
            "properties": {
                "instances": {"type": "array"},
                "inputs": {"type": ["object", "array"]},
            },
        },
        "Records": {
            "description": "One object per row, keyed by column name",
            "type": "array",
            "minItems": 1,
            "items": ANY_OBJECT,
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["type", "message"],
                    "properties": {
                        "type": {"type": "string"},
                        "message": {"type": "string"},
                        "details": ANY_OBJECT,
                    },
                }
            },
        },
        "TensorMetadata": {
            "type": "object",
            "required": ["name", "datatype", "shape"],
            "properties": {
                "name": {"type": "string"},
                "datatype": ref("Datatype"),
                "shape": {"type": "array", "items": {"type": "integer", "minimum": -1}},
            },
        },
        "ModelMetadata": {
            "type": "object",
            "required": ["name", "platform", "inputs", "outputs"],
            "properties": {
                "name": {"type": "string"},
                "versions": {"type": "array", "items": {"type": "string"}},
                "platform": {"type": "string"},
                "inputs": {"type": "array", "items": ref("TensorMetadata")},
                "outputs": {"type": "array", "items": ref("TensorMetadata")},
            },
        },
        "ModelReady": {
            "type": "object",
            "required": ["name", "ready"],
            "properties": {"name": {"type": "string"}, "ready": {"type": "boolean"}},
        },
        "ServerMetadata": {
            "type": "object",
            "required": ["name", "version", "extensions"],
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "extensions": {"type": "array", "items": {"type": "string"}},
            },
        },
        "Live": {
            "type": "object",
            "required": ["live"],
            "properties": {"live": {"type": "boolean"}},
        },
        "Ready": {
            "type": "object",
            "required": ["ready"],
            "properties": {"ready": {"type": "boolean"}},
        },
        "RepositoryIndex": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "state"],
                "properties": {
                    "name": {"type": "string"},
                    "ref": {"type": "string"},
                    "version": {"type": ["string", "null"]},
                    "state": {"type": "string", "enum": ["READY", "LOADING", "UNAVAILABLE"]},
                    "reason": {"type": "string"},
                },
            },
        },
        "RepositoryIndexRequest": {
            "type": "object",
            "properties": {"ready": {"type": "boolean"}},
        },
        "LoadRequest": {
            "type": "object",
            "description": "What to load under the name: a registry reference (`churn@3`)",
            "properties": {
                "ref": {"type": "string"},
                "parameters": {"type": "object", "properties": {"ref": {"type": "string"}}},
            },
        },
        "LoadResponse": {
            "type": "object",
            "required": ["name", "version", "ready"],
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "ready": {"type": "boolean"},
            },
        },
        "UnloadResponse": {
            "type": "object",
            "required": ["name", "unloaded"],
            "properties": {"name": {"type": "string"}, "unloaded": {"type": "boolean"}},
        },
    }

"""REST: datasets, versions, files, statistics, diffs, validation, uploads."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import StreamingResponse

from ...core import InvalidInput
from .._deps import get_ws

router = APIRouter(prefix="/api/v1", tags=["datasets"])


def _version_detail(v: Any) -> dict[str, Any]:
    data: dict[str, Any] = v.to_dict()
    data["profile"] = v.profile
    data["validation"] = v.validation
    return data


@router.get("/datasets")
def list_datasets(ws: Any = Depends(get_ws)) -> list[dict[str, Any]]:
    """Every dataset with its latest version number."""
    return [d.to_dict() for d in ws.datasets.list()]


@router.get("/datasets/diff")
def diff(
    a: str = Query(..., description="older version (name@1)"),
    b: str = Query(..., description="newer version (name@2)"),
    ws: Any = Depends(get_ws),
) -> dict[str, Any]:
    """Files added / removed / modified; for tables schema, rows and statistic shifts."""
    return ws.datasets.diff(a, b).to_dict()


@router.get("/datasets/{name}")
def get_dataset(name: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """A dataset and its schema (pandera JSON, or null)."""
    d = ws.datasets.dataset(name)
    data: dict[str, Any] = d.to_dict()
    schema = ws.datasets.get_schema(name)
    data["schema"] = json.loads(schema.to_json()) if schema is not None else None
    return data


@router.get("/datasets/{name}/versions")
def log(
    name: str, limit: int = Query(100, ge=1, le=10_000), ws: Any = Depends(get_ws)
) -> list[dict[str, Any]]:
    """The versions of a dataset, newest first."""
    return [v.to_dict() for v in ws.datasets.log(name, limit=limit)]


@router.post("/datasets/{name}/versions", status_code=201)
def upload(
    name: str,
    files: list[UploadFile] = File(..., description="files; their filenames become paths"),
    message: str = Form(""),
    tags: str = Form("{}", description="JSON object"),
    allow_invalid: bool = Form(False),
    ws: Any = Depends(get_ws),
) -> dict[str, Any]:
    """Commit uploaded files as the next version (a single .parquet/.csv is a table)."""
    try:
        tag_map = json.loads(tags or "{}")
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"tags must be a JSON object: {exc}") from None
    tmp = tempfile.mkdtemp(prefix="shipyard-upload-")
    try:
        for f in files:
            rel = os.path.normpath(f.filename or "").lstrip("/")
            if not rel or rel.startswith("..") or rel == ".":
                raise InvalidInput(f"invalid upload file name {f.filename!r}")
            dest = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "wb") as out:
                shutil.copyfileobj(f.file, out, 1 << 20)
        v = ws.datasets.commit(name, tmp, message, tag_map, allow_invalid=allow_invalid)
        return _version_detail(v)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@router.get("/dataset-versions/{ref}")
def get_version(ref: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """One version (``name@3``, ``name``, ``name@sha256:…`` or id) with its profile."""
    return _version_detail(ws.datasets.get(ref))


@router.get("/dataset-versions/{ref}/stats")
def stats(ref: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """The column statistics (the reference profile)."""
    return ws.datasets.get(ref).stats().to_dict()


@router.get("/dataset-versions/{ref}/files")
def files(
    ref: str,
    prefix: str = Query("", description="only paths starting with this"),
    offset: int = Query(0, ge=0),
    limit: int = Query(1000, ge=1, le=100_000),
    ws: Any = Depends(get_ws),
) -> dict[str, Any]:
    """The files of a version (paged)."""
    entries = [f for f in ws.datasets.get(ref).files() if f.path.startswith(prefix)]
    return {
        "total": len(entries),
        "offset": offset,
        "files": [f.to_dict() for f in entries[offset : offset + limit]],
    }


@router.get("/dataset-versions/{ref}/files/{path:path}")
def download(ref: str, path: str, ws: Any = Depends(get_ws)) -> StreamingResponse:
    """Download one file of a version."""
    v = ws.datasets.get(ref)
    entry = v.file(path)
    stream = v.open(path)

    def body() -> Iterator[bytes]:
        with stream:
            while chunk := stream.read(1 << 20):
                yield chunk

    name = entry.path.rsplit("/", 1)[-1].replace('"', "")
    return StreamingResponse(
        body(),
        media_type=entry.media_type,
        headers={
            "Content-Length": str(entry.size),
            "Content-Disposition": f'attachment; filename="{name}"',
            "ETag": f'"{entry.digest}"',
        },
    )


@router.post("/dataset-versions/{ref}/validate")
def validate(ref: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Validate a version against its dataset's current schema."""
    return ws.datasets.validate(ref).to_dict()

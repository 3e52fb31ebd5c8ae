"""``ws.datasets.augment``: commit a source version plus transformed copies."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from ..core import InvalidInput
from .augment import Transform, augment_image_file

if TYPE_CHECKING:
    from ._service import Datasets
    from ._version import DatasetVersion

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
TEXT_SUFFIXES = (".txt", ".md")


def augment_version(
    svc: Datasets,
    v: DatasetVersion,
    transform: Any,
    *,
    copies: int,
    name: str,
    column: str | None,
    image_shape: tuple[int, ...] | None,
    seed: int,
    message: str,
) -> DatasetVersion:
    if not isinstance(transform, Transform):
        raise InvalidInput(
            f"augment needs a shipyard.data.augment transform, got {type(transform).__name__}"
        )
    if not isinstance(copies, int) or copies < 1:
        raise InvalidInput(f"copies must be an integer >= 1, got {copies!r}")
    rng = np.random.default_rng(seed)
    tags = {"augmented_from": v.ref, "copies": str(copies), "transform": repr(transform)}
    msg = message or f"{copies} augmented copies of {v.ref}"
    if v.is_table:
        table = _augment_table(v, transform, copies, column, image_shape, rng)
        return svc.commit(name, table, msg, tags, derived_from=[(v, "augmented_from")])
    tmp = tempfile.mkdtemp(prefix="shipyard-augment-")
    try:
        v.checkout(tmp, link=False)
        changed = 0
        for f in v.files():
            src = os.path.join(tmp, f.path)
            stem, suffix = os.path.splitext(src)
            is_image = suffix.lower() in IMAGE_SUFFIXES
            is_text = suffix.lower() in TEXT_SUFFIXES
            if (is_image and transform.kind == "text") or (is_text and transform.kind == "image"):
                continue
            if not (is_image or is_text):
                continue
            for k in range(1, copies + 1):
                dest = f"{stem}.aug{k}{suffix}"
                if is_image:
                    augment_image_file(src, dest, transform, rng)
                else:
                    with open(src, encoding="utf-8") as fh:
                        text = fh.read()
                    with open(dest, "w", encoding="utf-8") as fh:
                        fh.write("\n".join(transform(line, rng) for line in text.split("\n")))
                changed += 1
        if not changed:
            raise InvalidInput(
                f"nothing to augment in {v.ref}: no image ({', '.join(IMAGE_SUFFIXES)}) "
                f"or text ({', '.join(TEXT_SUFFIXES)}) files match a {transform.kind} transform"
            )
        return svc.commit(name, tmp, msg, tags, derived_from=[(v, "augmented_from")])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _augment_table(
    v: DatasetVersion,
    transform: Transform,
    copies: int,
    column: str | None,
    image_shape: tuple[int, ...] | None,
    rng: np.random.Generator,
) -> pa.Table:
    table = v.to_arrow()
    if column is None:
        raise InvalidInput(
            f"{v.ref} is a table: pass column= (a text column, or with image_shape= the "
            "name of the pixel columns, e.g. 'X' for X_0, X_1, …)"
        )
    parts = [table.append_column("augmented", pa.array(np.zeros(table.num_rows, np.int64)))]
    if image_shape is not None:
        size = int(np.prod(image_shape))
        cols = [f"{column}_{i}" for i in range(size)]
        if all(c in table.column_names for c in cols):
            pixels = np.stack([table.column(c).to_numpy() for c in cols], axis=1)
        elif column in table.column_names:
            pixels = np.asarray(table.column(column).to_pylist())
        else:
            raise InvalidInput(
                f"no pixel columns {column}_0…{column}_{size - 1} or column {column!r} in "
                f"{v.ref}; columns: {', '.join(table.column_names[:12])}…"
            )
        if pixels.ndim != 2 or pixels.shape[1] != size:
            raise InvalidInput(
                f"image_shape {tuple(image_shape)} does not match {pixels.shape[1]} pixels "
                f"per row in {v.ref}"
            )
        images = pixels.reshape(len(pixels), *image_shape)
        for k in range(1, copies + 1):
            out = np.stack([transform(img, rng) for img in images]).reshape(len(images), size)
            part = table
            if all(c in table.column_names for c in cols):
                for i, c in enumerate(cols):
                    idx = part.column_names.index(c)
                    part = part.set_column(
                        idx, c, pa.array(out[:, i]).cast(table.schema.field(c).type)
                    )
            else:
                idx = part.column_names.index(column)
                part = part.set_column(idx, column, pa.array(list(out)))
            parts.append(part.append_column("augmented", pa.array(np.full(len(out), k))))
    else:
        if column not in table.column_names:
            raise InvalidInput(
                f"no column {column!r} in {v.ref}; columns: {', '.join(table.column_names)}"
            )
        texts = table.column(column).to_pylist()
        for k in range(1, copies + 1):
            new = [None if t is None else transform(t, rng) for t in texts]
            idx = table.column_names.index(column)
            part = table.set_column(
                idx, column, pa.array(new, type=table.schema.field(column).type)
            )
            parts.append(part.append_column("augmented", pa.array(np.full(len(new), k))))
    out_table = pa.concat_tables(parts)
    return out_table.replace_schema_metadata(table.schema.metadata)

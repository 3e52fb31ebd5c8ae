"""What ``commit`` accepts as a source, turned into files and (for tables) an Arrow table.

* a local file, a folder or a glob (``data/**/*.png``);
* an fsspec URL (``s3://bucket/prefix``, ``gcs://…``, ``memory://…``);
* a pandas or polars DataFrame, a pyarrow Table;
* numpy arrays: ``{"X": (n, d) array, "y": (n,) array}`` or one 2-D array. Arrays with
  more than one dimension per row are stored as columns ``X_0 … X_{k-1}`` and their
  shapes are kept in the Parquet schema metadata, so ``to_numpy()`` gives them back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..core import InvalidInput
from ._ingest import SourceFile, scan_local, scan_remote

ARRAYS_META = b"shipyard.arrays"
TABLE_FILE = "data.parquet"


@dataclass
class Resolved:
    """A source ready to store: local files, or remote files on ``fs``; maybe a table."""

    description: str
    files: list[SourceFile] = field(default_factory=list)
    fs: Any = None
    table: pa.Table | None = None


def is_tabular_object(source: Any) -> bool:
    if isinstance(source, pa.Table | np.ndarray):
        return True
    if isinstance(source, Mapping):
        return bool(source) and all(isinstance(v, np.ndarray) for v in source.values())
    mod = type(source).__module__
    return mod.startswith(("pandas", "polars")) and hasattr(source, "columns")


def to_arrow(source: Any, what: str) -> pa.Table:
    """Arrow table of an in-memory tabular source."""
    if isinstance(source, pa.Table):
        return source
    if isinstance(source, np.ndarray):
        return arrays_to_table({"X": source}, what)
    if isinstance(source, Mapping):
        return arrays_to_table(source, what)
    mod = type(source).__module__
    if mod.startswith("pandas"):
        return pa.Table.from_pandas(source, preserve_index=False)
    if mod.startswith("polars"):
        return source.to_arrow()
    raise InvalidInput(f"cannot commit a {type(source).__name__} as {what}")


def arrays_to_table(arrays: Mapping[str, np.ndarray], what: str) -> pa.Table:
    columns: dict[str, Any] = {}
    shapes: dict[str, list[int]] = {}
    n: int | None = None
    for key, arr in arrays.items():
        if not isinstance(key, str) or not key:
            raise InvalidInput(f"array names must be non-empty strings in {what}")
        arr = np.asarray(arr)
        if arr.ndim == 0:
            raise InvalidInput(
                f"array {key!r} in {what} is a scalar; pass one row per sample",
                details={"array": key},
            )
        if n is None:
            n = arr.shape[0]
        elif arr.shape[0] != n:
            raise InvalidInput(
                f"arrays in {what} have different lengths ({key!r} has {arr.shape[0]} rows, "
                f"expected {n}); pass one row per sample in every array",
                details={"array": key},
            )
        shapes[key] = list(arr.shape[1:])
        if arr.ndim == 1:
            columns[key] = arr
        else:
            flat = arr.reshape(arr.shape[0], -1)
            for i in range(flat.shape[1]):
                columns[f"{key}_{i}"] = flat[:, i]
    table = pa.table(columns)
    return table.replace_schema_metadata({ARRAYS_META: json.dumps(shapes).encode()})


def table_to_arrays(table: pa.Table) -> dict[str, np.ndarray] | None:
    meta = (table.schema.metadata or {}).get(ARRAYS_META)
    if meta is None:
        return None
    out: dict[str, np.ndarray] = {}
    for key, shape in json.loads(meta).items():
        if not shape:
            out[key] = table.column(key).to_numpy()
        else:
            k = int(np.prod(shape))
            cols = [table.column(f"{key}_{i}").to_numpy() for i in range(k)]
            out[key] = np.stack(cols, axis=1).reshape(table.num_rows, *shape)
    return out


def write_parquet(table: pa.Table, path: str) -> None:
    pq.write_table(table, path, compression="zstd", row_group_size=256 * 1024)


def resolve(source: Any, storage_options: dict[str, Any], tmpdir: str) -> Resolved:
    """Turn *source* into files to store (writing tables to Parquet under *tmpdir*)."""
    if is_tabular_object(source):
        table = to_arrow(source, "a dataset source")
        if table.num_columns == 0:
            raise InvalidInput("the table to commit has no columns")
        path = os.path.join(tmpdir, TABLE_FILE)
        write_parquet(table, path)
        st = os.stat(path)
        return Resolved(
            f"{type(source).__name__} ({table.num_rows} rows x {table.num_columns} columns)",
            [SourceFile(path, TABLE_FILE, st.st_size, st.st_mtime_ns, st.st_ino)],
            table=table,
        )
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str):
        raise InvalidInput(
            f"cannot commit a {type(source).__name__}: pass a path, a glob, an fsspec URL, "
            "a DataFrame, a pyarrow Table or numpy arrays ({'X': ..., 'y': ...})",
            details={"type": type(source).__name__},
        )
    if not source.strip():
        raise InvalidInput("empty source path: pass a file, a folder, a glob or a URL")
    if "://" in source and not source.startswith("file://"):
        fs, files = scan_remote(source, storage_options)
        return Resolved(source, files, fs=fs)
    if source.startswith("file://"):
        source = source[len("file://") :]
    files, description = scan_local(source)
    return Resolved(description, files)


def read_table_files(paths: list[str], opener: Any = None) -> pa.Table | None:
    """The table made of Parquet files (or one CSV file), or None if the files are not one."""
    if not paths:
        return None
    if all(p.endswith(".parquet") for p in paths):
        tables = [pq.read_table(opener(p) if opener else p) for p in paths]
        return pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
    if len(paths) == 1 and paths[0].endswith(".csv"):
        import pyarrow.csv as pacsv

        return pacsv.read_csv(opener(paths[0]) if opener else paths[0])
    return None


def tabular_paths(rel_paths: list[str]) -> list[str]:
    """Which of a version's files form its table (all ``.parquet``, or one ``.csv``)."""
    if rel_paths and all(p.endswith(".parquet") for p in rel_paths):
        return sorted(rel_paths)
    if len(rel_paths) == 1 and rel_paths[0].endswith(".csv"):
        return list(rel_paths)
    return []

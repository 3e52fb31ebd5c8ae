"""Bad input: clear errors, nothing half-written."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from shipyard.core import InvalidInput
from shipyard.data.tables import dataset_versions, datasets


def _counts(ws: Any) -> tuple[int, int]:
    with ws.db.read() as conn:
        return (
            conn.execute(sa.select(sa.func.count()).select_from(datasets)).scalar_one(),
            conn.execute(sa.select(sa.func.count()).select_from(dataset_versions)).scalar_one(),
        )


def test_nonexistent_path(sqlite_ws: Any, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"no file or folder at .*missing; check the path"):
        sqlite_ws.datasets.commit("d", tmp_path / "missing")
    assert _counts(sqlite_ws) == (0, 0)


def test_empty_folder_and_glob(sqlite_ws: Any, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput, match="contains no files"):
        sqlite_ws.datasets.commit("d", tmp_path / "empty")
    with pytest.raises(InvalidInput, match="matches no files"):
        sqlite_ws.datasets.commit("d", str(tmp_path / "*.csv"))
    with pytest.raises(InvalidInput, match="empty source path"):
        sqlite_ws.datasets.commit("d", " ")
    assert _counts(sqlite_ws) == (0, 0)


def test_symlink_loops(sqlite_ws: Any, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    (src / "a" / "f.txt").write_text("x")
    os.symlink(src, src / "a" / "back")
    with pytest.raises(InvalidInput, match="symbolic link loop"):
        sqlite_ws.datasets.commit("d", src)
    self_loop = tmp_path / "self"
    self_loop.mkdir()
    os.symlink(self_loop / "me", self_loop / "me")
    with pytest.raises(InvalidInput, match="symbolic link loop"):
        sqlite_ws.datasets.commit("d", self_loop)
    broken = tmp_path / "broken"
    broken.mkdir()
    os.symlink(tmp_path / "nowhere", broken / "link")
    with pytest.raises(InvalidInput, match="broken symbolic link"):
        sqlite_ws.datasets.commit("d", broken)
    assert _counts(sqlite_ws) == (0, 0)


def test_special_and_unreadable_files(sqlite_ws: Any, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.txt").write_text("x")
    os.mkfifo(src / "pipe")
    with pytest.raises(InvalidInput, match=r"pipe.*is not a regular file"):
        sqlite_ws.datasets.commit("d", src)
    os.unlink(src / "pipe")
    secret = src / "secret.txt"
    secret.write_text("s")
    secret.chmod(0)
    if os.geteuid() == 0:  # root reads anything: check the error path directly
        from shipyard.data._ingest import _os_error

        err = _os_error(PermissionError(13, "Permission denied"), str(secret))
        assert "cannot read" in str(err) and "permission denied" in str(err)
    else:
        with pytest.raises(InvalidInput, match=r"secret\.txt: permission denied"):
            sqlite_ws.datasets.commit("d", src)
        assert _counts(sqlite_ws) == (0, 0)


@pytest.mark.parametrize("name", ["", "-x", "a b", "x" * 129, "churn@1", "../etc"])
def test_invalid_dataset_names(sqlite_ws: Any, name: str) -> None:
    with pytest.raises(InvalidInput, match="invalid dataset name"):
        sqlite_ws.datasets.commit(name, pd.DataFrame({"a": [1]}))
    assert _counts(sqlite_ws) == (0, 0)


def test_bad_tags_split_and_arrays(sqlite_ws: Any) -> None:
    import numpy as np

    df = pd.DataFrame({"a": [1]})
    with pytest.raises(InvalidInput, match="tags must be a mapping"):
        sqlite_ws.datasets.commit("d", df, tags=["x"])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="invalid split name"):
        sqlite_ws.datasets.commit("d", df, split="no good")
    with pytest.raises(InvalidInput, match="different lengths"):
        sqlite_ws.datasets.commit("d", {"X": np.zeros((3, 2)), "y": np.zeros(4)})
    with pytest.raises(InvalidInput, match="no columns"):
        sqlite_ws.datasets.commit("d", pd.DataFrame())
    assert _counts(sqlite_ws) == (0, 0)

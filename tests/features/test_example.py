"""The demo step runs on a fresh workspace and reports sensible figures."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from rich.console import Console

STEP = Path(__file__).resolve().parents[2] / "examples" / "steps" / "features.py"


def test_demo_step(sqlite_ws: Any) -> None:
    spec = importlib.util.spec_from_file_location("features_step", STEP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.run(sqlite_ws, Console(quiet=True))
    assert out["training_rows"] == 2000
    assert out["features"] == 6
    assert out["materialized_entities"] == 2000
    assert out["not_found"] == 1
    labels = sqlite_ws.datasets.get(out["labels"]).to_arrow()
    assert labels.num_rows == 2000 and "churned" in labels.column_names

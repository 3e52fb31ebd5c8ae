"""On-demand functions are stored so that another process can run them."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd

import shipyard as sy
from tests.features._data import T0, write

CHILD = textwrap.dedent(
    """
    import sys
    import shipyard as sy
    from shipyard.core import ConfigurationError

    with sy.Workspace(sys.argv[1]) as ws:
        try:
            r = ws.features.get_online_features(["twice:f1x2"], [{"customer_id": 1}])
        except ConfigurationError as exc:
            print("ConfigurationError:", exc)
        else:
            print("value:", r.values[0]["f1x2"])
    """
)


def _workspace_with(tmp_path: Path, module: Any) -> Path:
    home = tmp_path / "ws"
    df = pd.DataFrame({"customer_id": [1], "event_time": [T0], "f1": [21.0]})
    with sy.Workspace(home) as ws:
        customer = sy.Entity("customer", join_keys=["customer_id"])
        view = sy.FeatureView(
            "base", entities=[customer], source=write(df, tmp_path / "b.parquet"), features=["f1"]
        )
        twice = sy.OnDemandFeatureView(
            "twice", inputs=["base:f1"], features=["f1x2"], function=module.twice
        )
        ws.features.apply([customer, view])
        ws.features.apply([twice])
        ws.features.materialize(None, T0 + pd.Timedelta(days=1))
    return home


def _child(home: Path, *, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(home)], capture_output=True, text=True, cwd=cwd
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _module(path: Path, name: str) -> Any:
    path.write_text("def twice(c):\n    return {'f1x2': c['f1'] * 2}\n")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_a_function_from_a_script_loaded_by_path_runs_in_a_fresh_process(tmp_path: Path) -> None:
    module = _module(tmp_path / "my_script.py", "not_importable_script_module")
    try:
        home = _workspace_with(tmp_path, module)
    finally:
        sys.modules.pop("not_importable_script_module", None)
    assert "value: 42.0" in _child(home)


def test_a_function_whose_module_is_missing_is_a_configuration_error(tmp_path: Path) -> None:
    pkg = tmp_path / "code"
    pkg.mkdir()
    sys.path.insert(0, str(pkg))
    try:
        module = _module(pkg / "importable_features_mod.py", "importable_features_mod")
        home = _workspace_with(tmp_path, module)  # importable here: stored by reference
    finally:
        sys.path.remove(str(pkg))
        sys.modules.pop("importable_features_mod", None)
    out = _child(home, cwd=tmp_path)
    assert "ConfigurationError:" in out and "importable_features_mod" in out
    assert "twice" in out and "cannot be loaded" in out

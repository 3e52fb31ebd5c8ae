"""`make demo` runs examples/quickstart.py: it must complete end to end on a fresh workspace."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quickstart_runs_end_to_end(quickstart_home: Any, tmp_path: Path) -> None:
    out = quickstart_home.stdout
    for stage in (
        "data",
        "labels",
        "features",
        "pipelines",
        "tracking",
        "tuning",
        "registry",
        "export",
        "serving",
        "monitoring",
    ):
        assert f"✓ {stage}" in out, stage
    assert "gate_refused=True" in out and "Quickstart summary" in out
    for page in ("dataset version", "run comparison", "study", "model with lineage"):
        assert page in out, page
    # Re-running with --reuse must not crash either: on a copy, the workspace is shared.
    home = tmp_path / "demo"
    shutil.copytree(quickstart_home.home, home)
    again = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "quickstart.py"),
            "--home",
            str(home),
            "--reuse",
            "--no-serve",
            "--only",
            "data,tracking",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "✓ data" in again.stdout and "✓ tracking" in again.stdout


def test_quickstart_rejects_unknown_stage(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "quickstart.py"),
            "--home",
            str(tmp_path / "d"),
            "--only",
            "nope",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "unknown stage(s): nope" in proc.stderr

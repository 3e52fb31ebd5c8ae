"""`make demo` runs examples/quickstart.py: it must complete end to end on a fresh workspace."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quickstart_runs_end_to_end(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "quickstart.py"),
            "--home",
            str(home),
            "--no-serve",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for stage in (
        "data",
        "labels",
        "features",
        "pipelines",
        "tracking",
        "tuning",
        "registry",
        "export",
    ):
        assert f"✓ {stage}" in out, stage
    assert "gate_refused=True" in out and "Quickstart summary" in out
    for page in ("dataset version", "run comparison", "study", "model with lineage"):
        assert page in out, page
    # Re-running on the same workspace with --reuse must not crash either.
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

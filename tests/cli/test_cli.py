from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from shipyard import __version__
from shipyard.cli import app
from shipyard.cli._common import reset_state

runner = CliRunner()


def invoke(*args: str) -> object:
    reset_state()
    return runner.invoke(app, list(args))


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"shipyard {__version__}"


def test_init_and_info_json(tmp_path: Path) -> None:
    home = str(tmp_path / "ws")
    result = invoke("--home", home, "init")
    assert result.exit_code == 0, result.output
    assert "workspace ready" in result.stdout
    result = invoke("--home", home, "info", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["home"] == home
    assert data["db"]["backend"] == "sqlite"
    assert data["counts"]["lineage objects"] == 0


def test_errors_print_message_without_traceback(tmp_path: Path) -> None:
    result = invoke("--home", str(tmp_path), "--db", "sqlite://", "info")
    assert result.exit_code == 1
    assert "ConfigurationError: invalid database URL 'sqlite://'" in result.output
    assert "Traceback" not in result.output


def test_debug_shows_the_exception(tmp_path: Path) -> None:
    result = invoke("--debug", "--home", str(tmp_path), "--db", "sqlite://", "info")
    assert result.exit_code != 0
    assert result.exception is not None
    assert type(result.exception).__name__ == "ConfigurationError"


def test_real_subprocess(tmp_path: Path) -> None:
    env = {**os.environ, "SHIPYARD_HOME": str(tmp_path / "sub")}
    proc = subprocess.run(
        [sys.executable, "-m", "shipyard", "info"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "schema revision" in proc.stdout
    assert str(tmp_path / "sub") in proc.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "shipyard", "--db", "mysql://x/y", "info"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1
    assert "unsupported database 'mysql'" in bad.stderr
    assert "Traceback" not in bad.stderr

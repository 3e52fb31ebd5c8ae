"""``shipyard experiments`` and ``shipyard runs``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

import shipyard as sy
from shipyard.cli import app
from shipyard.cli._common import reset_state

runner = CliRunner()


def invoke(*args: str) -> Any:
    reset_state()
    return runner.invoke(app, list(args), catch_exceptions=False)


def _seed(home: Path) -> list[str]:
    ids = []
    with sy.Workspace(home) as ws:
        for i, model in enumerate(["rf", "gbm"]):
            with ws.start_run(
                experiment="churn",
                name=f"m{i}",
                params={"model": model, "depth": 3},
                capture_env=False,
            ) as run:
                run.log_metrics({"auc": 0.8 + i / 10})
                run.log_text("x", "out/a.txt")
            ids.append(run.id)
    return ids


def test_experiments_and_runs_commands(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    ids = _seed(home)
    r = invoke("--home", str(home), "experiments", "ls")
    assert r.exit_code == 0 and "churn" in r.stdout and "2" in r.stdout
    r = invoke("--home", str(home), "experiments", "create", "other", "-d", "second")
    assert r.exit_code == 0 and "created" in r.stdout
    r = invoke("--home", str(home), "experiments", "ls", "--json")
    assert {e["name"] for e in json.loads(r.stdout)} == {"churn", "other"}

    r = invoke("--home", str(home), "runs", "ls")
    assert r.exit_code == 0 and "Runs (2)" in r.stdout and "m0" in r.stdout and "m1" in r.stdout
    r = invoke("--home", str(home), "runs", "ls", "--json")
    assert {x["id"] for x in json.loads(r.stdout)} == set(ids)
    r = invoke("--home", str(home), "runs", "ls", "--filter", "params.model = 'gbm'", "--json")
    assert [x["id"] for x in json.loads(r.stdout)] == [ids[1]]
    r = invoke("--home", str(home), "runs", "ls", "-o", "metrics.auc asc", "--json")
    assert [x["id"] for x in json.loads(r.stdout)] == ids
    r = invoke("--home", str(home), "runs", "show", ids[0])
    assert r.exit_code == 0 and "model" in r.stdout and "rf" in r.stdout and "auc" in r.stdout
    r = invoke("--home", str(home), "runs", "compare", ids[0], ids[1])
    assert r.exit_code == 0 and "params.model" in r.stdout and "depth=3" in r.stdout
    assert "params.depth" not in r.stdout
    r = invoke("--home", str(home), "runs", "artifacts", ids[0])
    assert r.exit_code == 0 and "out/a.txt" in r.stdout
    r = invoke("--home", str(home), "runs", "artifacts", ids[0], "-d", str(tmp_path / "dl"))
    assert r.exit_code == 0 and (tmp_path / "dl" / "out" / "a.txt").read_text() == "x"


def test_cli_errors_are_clean(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    _seed(home)
    r = invoke("--home", str(home), "runs", "ls", "--filter", "metrics.auc >")
    assert r.exit_code == 1
    assert "InvalidInput: invalid run filter at position 13" in r.stderr
    r = invoke("--home", str(home), "runs", "show", "nope")
    assert r.exit_code == 1 and "NotFound: no run 'nope'" in r.stderr

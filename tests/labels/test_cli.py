"""``shipyard labels`` commands on a real workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from shipyard import Workspace
from shipyard.cli import app
from shipyard.cli._common import reset_state
from shipyard.labels.simulate import Crowd

runner = CliRunner()


def invoke(*args: str) -> object:
    reset_state()
    return runner.invoke(app, list(args))


def test_labels_cli(tmp_path: Path) -> None:
    home = str(tmp_path / "ws")
    rows = pd.DataFrame({"text": [f"r{i}" for i in range(30)], "truth": ["a", "b", "c"] * 10})
    rows.to_csv(tmp_path / "tasks.csv", index=False)
    r = invoke(
        "--home",
        home,
        "labels",
        "create",
        "cli",
        "--file",
        str(tmp_path / "tasks.csv"),
        "--classes",
        "a,b,c",
        "--overlap",
        "3",
        "--gold-fraction",
        "0.2",
        "--gold-column",
        "truth",
    )
    assert r.exit_code == 0, r.output
    assert "30 tasks, 6 gold, overlap 3" in r.stdout
    with Workspace(home) as ws:
        crowd = Crowd.make(4, accuracy=[1.0, 1.0, 1.0, 0.0], seed=2)
        crowd.work(ws, "cli", rows["truth"].tolist())
    r = invoke("--home", home, "labels", "status", "cli")
    assert r.exit_code == 0, r.output
    assert "FLAGGED" in r.stdout and "100.0%" in r.stdout
    r = invoke("--home", home, "labels", "status", "--json")
    assert json.loads(r.stdout)[0]["n_complete"] == 24
    r = invoke("--home", home, "labels", "agreement", "cli", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["n_items"] == 24 and "fleiss_kappa" in data and len(data["pairs"]) == 6
    r = invoke("--home", home, "labels", "agreement", "cli")
    assert "krippendorff_alpha" in r.stdout
    r = invoke("--home", home, "labels", "export", "cli", "--method", "dawid_skene")
    assert r.exit_code == 0, r.output
    assert "exported 30/30 labeled rows (dawid_skene)" in r.stdout
    out = tmp_path / "ls.json"
    r = invoke("--home", home, "labels", "export", "cli", "--label-studio", str(out))
    assert r.exit_code == 0 and len(json.loads(out.read_text())) == 30


def test_labels_cli_errors(tmp_path: Path) -> None:
    home = str(tmp_path / "ws")
    r = invoke("--home", home, "labels", "create", "x", "--classes", "a,b")
    assert r.exit_code == 1
    assert "give exactly one of --dataset, --file or --label-studio" in r.stderr
    r = invoke("--home", home, "labels", "status", "nope")
    assert r.exit_code == 1 and "no labeling project 'nope'" in r.stderr
    r = invoke("--home", home, "labels", "create", "x", "--classes", "a,b", "--file", "missing.csv")
    assert r.exit_code == 1 and "no file 'missing.csv'" in r.stderr

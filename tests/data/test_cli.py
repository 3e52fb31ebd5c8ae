"""``shipyard data …`` and ``shipyard gc``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from shipyard.cli import app
from shipyard.cli._common import reset_state
from shipyard.data.synthetic import churn_schema, make_churn

runner = CliRunner()


def invoke(home: Path, *args: str) -> object:
    reset_state()
    return runner.invoke(app, ["--home", str(home), *args], env={"COLUMNS": "250"})


def test_data_commands(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    r = invoke(home, "data", "commit", "docs", str(src), "-m", "first", "--tag", "team=ml")
    assert r.exit_code == 0, r.output
    assert "committed docs@1" in r.output and "1 files" in r.output
    (src / "b.txt").write_text("bb")
    assert invoke(home, "data", "commit", "docs", str(src), "-m", "second").exit_code == 0
    r = invoke(home, "data", "ls", "--json")
    assert json.loads(r.stdout)[0]["latest_version"] == 2
    r = invoke(home, "data", "log", "docs", "--json")
    assert [v["version"] for v in json.loads(r.stdout)] == [2, 1]
    r = invoke(home, "data", "log", "docs")
    assert "second" in r.stdout and "first" in r.stdout
    r = invoke(home, "data", "diff", "docs@1", "docs@2", "--json")
    d = json.loads(r.stdout)
    assert [f["path"] for f in d["added"]] == ["b.txt"] and d["unchanged"] == 1
    r = invoke(home, "data", "show", "docs@1", "--files")
    assert r.exit_code == 0 and "a.txt" in r.stdout and "team=ml" in r.stdout
    r = invoke(home, "data", "checkout", "docs@2", str(tmp_path / "out"))
    assert r.exit_code == 0 and (tmp_path / "out" / "b.txt").read_text() == "bb"


def test_tables_schema_validate_and_errors(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    df = make_churn(100)
    df.to_parquet(tmp_path / "churn.parquet")
    bad = df.copy()
    bad.loc[:2, "tenure_months"] = -5
    bad.to_parquet(tmp_path / "bad.parquet")
    (tmp_path / "schema.json").write_text(churn_schema().to_json())
    assert (
        invoke(home, "data", "schema", "churn", "--set", str(tmp_path / "schema.json")).exit_code
        == 0
    )
    r = invoke(home, "data", "commit", "churn", str(tmp_path / "churn.parquet"))
    assert r.exit_code == 0 and "100 rows" in r.output
    r = invoke(home, "data", "show", "churn")
    assert "monthly_charges" in r.stdout and "month-to-month" in r.stdout
    r = invoke(home, "data", "commit", "churn", str(tmp_path / "bad.parquet"))
    assert r.exit_code == 1
    assert "SchemaViolation" in r.output and "tenure_months" in r.output
    r = invoke(home, "data", "commit", "churn", str(tmp_path / "bad.parquet"), "--allow-invalid")
    assert r.exit_code == 0 and "failed validation report" in r.output
    assert invoke(home, "data", "validate", "churn@1").exit_code == 0
    r = invoke(home, "data", "validate", "churn@2")
    assert r.exit_code == 1 and "in_range" in r.stdout
    r = invoke(home, "data", "show", "churn@9")
    assert r.exit_code == 1 and "has no version 9" in r.output
    r = invoke(home, "data", "commit", "churn", str(tmp_path / "missing"))
    assert r.exit_code == 1 and "no file or folder" in r.output
    r = invoke(home, "data", "commit", "x", str(tmp_path), "--tag", "novalue")
    assert r.exit_code == 1 and "KEY=VALUE" in r.output


def test_gc_command(tmp_path: Path) -> None:
    import shipyard as sy

    home = tmp_path / "ws"
    with sy.Workspace(home) as ws:
        ws.datasets.commit("d", make_churn(20))
        stray = ws.blobs.put_bytes(b"stray")
    r = invoke(home, "gc", "--grace", "0")
    assert r.exit_code == 0 and "1 unreferenced" in r.stdout and "dry run" in r.stdout
    with sy.Workspace(home) as ws:
        assert ws.blobs.exists(stray)
    r = invoke(home, "gc", "--yes", "--grace", "0", "--json")
    assert json.loads(r.stdout)["deleted"] == 1
    with sy.Workspace(home) as ws:
        assert not ws.blobs.exists(stray)
        assert len(ws.datasets.get("d").to_pandas()) == 20

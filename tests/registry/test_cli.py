"""``shipyard models``: register, ls, show, alias, evaluate, promote, card, criteria."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
from typer.testing import CliRunner

from shipyard.cli import app
from shipyard.cli._common import reset_state
from tests.registry._models import churn_frame, fit_pipeline

runner = CliRunner()


def invoke(home: Path, *args: str) -> Any:
    reset_state()
    return runner.invoke(app, ["--home", str(home), "models", *args])


def test_models_cli_end_to_end(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    df = churn_frame(600, seed=9)
    train, test = df.iloc[:400], df.iloc[400:]
    joblib.dump(fit_pipeline(train), tmp_path / "model.joblib")
    test.to_csv(tmp_path / "test.csv", index=False)

    r = invoke(home, "register", "churn", "--file", str(tmp_path / "model.joblib"), "-m", "auc=0.9")
    assert r.exit_code == 0, r.output
    assert "registered churn@1 (sklearn" in r.stdout
    r = invoke(home, "ls")
    assert r.exit_code == 0 and "churn" in r.stdout
    r = invoke(home, "show", "churn@1")
    assert r.exit_code == 0 and "sklearn" in r.stdout and "auc" in r.stdout

    csv = str(tmp_path / "test.csv")
    r = invoke(
        home,
        "evaluate",
        "churn@1",
        csv,
        "--target",
        "churned",
        "-c",
        "auc >= 0.7",
        "--slice",
        "plan",
    )
    assert r.exit_code == 0, r.output
    assert "PASSED" in r.stdout and "Slices" in r.stdout
    r = invoke(home, "evaluate", "churn@1", csv, "--target", "churned", "-c", "auc >= 0.999")
    assert r.exit_code == 1 and "FAILED" in r.stdout

    r = invoke(home, "promote", "churn@1", "--alias", "champion")  # the latest evaluation failed
    assert r.exit_code == 0, r.output  # no project criteria: the default gate has no checks

    suite = tmp_path / "suite.toml"
    suite.write_text('checks = ["auc >= 0.999"]\n')
    r = invoke(home, "promote", "churn@1", "--alias", "gold", "--suite", str(suite))
    assert r.exit_code == 1
    assert "GateFailed" in r.output and "auc >= 0.999" in r.output

    r = invoke(home, "alias", "churn", "staging", "1", "--reason", "smoke test")
    assert r.exit_code == 0 and "churn@staging: — → 1" in r.stdout
    r = invoke(home, "history", "churn")
    assert "smoke test" in r.stdout and "champion" in r.stdout
    r = invoke(home, "alias", "churn", "staging", "7")
    assert r.exit_code == 1 and "no such version" in r.output

    out = tmp_path / "card.html"
    r = invoke(home, "card", "churn@champion", "--html", "-o", str(out))
    assert r.exit_code == 0 and out.read_text().startswith("<!doctype html>")
    r = invoke(home, "criteria", "--set", "auc=>= 0.6", "--model", "churn")
    assert r.exit_code == 0, r.output
    assert "auc >= 0.6" in r.stdout and "churn@1" in r.stdout
    r = invoke(home, "delete", "churn@1", "--yes")
    assert r.exit_code == 1 and "aliases champion, staging point at it" in r.output

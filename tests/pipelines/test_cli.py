"""The pipelines, jobs and scheduler commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from shipyard.cli import app
from shipyard.cli._common import reset_state

runner = CliRunner()

FLOW = """
import shipyard as sy

@sy.step
def inc(x: int) -> int:
    print("inc", x)
    return x + 1

@sy.pipeline
def flow(n: int = 2):
    x = 0
    for _ in range(n):
        x = inc(x)
    return x
"""


def invoke(home: Path, *args: str) -> Any:
    reset_state()
    return runner.invoke(app, ["--home", str(home), *args])


def test_run_ls_show_resume_and_errors(tmp_path: Path) -> None:
    flow = tmp_path / "flow.py"
    flow.write_text(FLOW)
    home = tmp_path / "ws"
    r = invoke(home, "pipelines", "run", f"{flow}:flow", "--param", "n=3", "-e", "inline")
    assert r.exit_code == 0, r.output
    assert "succeeded" in r.output and "0 of 3 steps cached" in r.output
    r = invoke(home, "pipelines", "run", f"{flow}:flow", "-p", "n=3", "-e", "inline", "-q")
    assert "3 of 3 steps cached" in r.output
    runs = json.loads(invoke(home, "pipelines", "ls", "--json").output)
    assert [x["status"] for x in runs] == ["succeeded", "succeeded"]
    shown = json.loads(invoke(home, "pipelines", "show", runs[1]["id"], "--json").output)
    assert [s["name"] for s in shown["steps"]] == ["inc", "inc_2", "inc_3"]
    r = invoke(home, "pipelines", "resume", runs[0]["id"])
    assert r.exit_code == 1 and "already succeeded" in r.output
    r = invoke(home, "pipelines", "run", f"{flow}:nope")
    assert r.exit_code == 1 and "has no pipeline 'nope'" in r.output
    r = invoke(home, "pipelines", "run", f"{flow}:flow", "-p", "bad")
    assert r.exit_code == 1 and "write --param name=value" in r.output
    r = invoke(home, "pipelines", "run", f"{flow}:flow", "-e", "spark")
    assert r.exit_code == 1 and "unknown executor 'spark'" in r.output


def test_schedules_and_scheduler_once(tmp_path: Path) -> None:
    flow = tmp_path / "flow.py"
    flow.write_text(FLOW)
    home = tmp_path / "ws"
    r = invoke(
        home,
        "pipelines",
        "schedule",
        "add",
        f"{flow}:flow",
        "--cron",
        "* * * * *",
        "-p",
        "n=1",
        "-e",
        "inline",
        "--catchup",
        "none",
    )
    assert r.exit_code == 0, r.output
    listed = json.loads(invoke(home, "pipelines", "schedule", "ls", "--json").output)
    assert [s["name"] for s in listed] == ["flow"] and listed[0]["params"] == {"n": 1}
    r = invoke(home, "scheduler", "--once")
    assert r.exit_code == 0 and "run(s) started" in r.output
    assert invoke(home, "pipelines", "schedule", "rm", "flow").exit_code == 0
    r = invoke(home, "pipelines", "schedule", "rm", "flow")
    assert r.exit_code == 1 and "no schedule 'flow'" in r.output


def test_jobs_commands(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    r = invoke(home, "jobs", "submit", "-e", "inline", "--", "sh", "-c", "echo hello; exit 3")
    assert r.exit_code == 3 and "hello" in r.output
    jobs = json.loads(invoke(home, "jobs", "ls", "--json").output)
    assert jobs[0]["exit_code"] == 3 and jobs[0]["status"] == "failed"
    assert invoke(home, "jobs", "logs", jobs[0]["id"]).output == "hello\n"
    r = invoke(home, "jobs", "cancel", jobs[0]["id"])
    assert r.exit_code == 1 and "nothing to cancel" in r.output
    r = invoke(home, "jobs", "submit", "--memory", "lots", "--", "true")
    assert r.exit_code == 1 and "invalid memory 'lots'" in r.output

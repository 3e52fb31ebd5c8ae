"""Run lifecycle, params, tags, metrics, artifacts and lineage on every backend."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from shipyard.core import Conflict, InvalidInput, NotFound
from shipyard.store import Node


def test_run_lifecycle_params_tags_metrics(ws: Any) -> None:
    with ws.start_run(
        experiment="churn", name="rf-1", params={"model": "rf", "depth": 5}, tags={"team": "risk"}
    ) as run:
        assert run.status == "running" and run.is_live
        run.log_params({"lr": 0.1, "balanced": True, "layers": [64, 32]})
        run.log_param("model", "rf")  # same value again: fine
        for step in range(50):
            run.log_metrics({"loss": 1.0 / (step + 1), "acc": step / 50}, step=step)
        run.log_metric("auc", 0.8)
        run.log_metric("auc", 0.9)  # auto step 1
        run.set_tag("team", "growth")  # tags are mutable
    assert run.status == "finished" and run.end_time is not None

    got = ws.runs.get(run.id)
    assert got.status == "finished"
    assert got.experiment == "churn" and got.name == "rf-1"
    assert got.params == {
        "model": "rf",
        "depth": 5,
        "lr": 0.1,
        "balanced": True,
        "layers": [64, 32],
    }
    assert got.tags == {"team": "growth"}
    assert got.metrics == {"loss": pytest.approx(1 / 50), "acc": pytest.approx(49 / 50), "auc": 0.9}
    s = got.metric_summaries()["loss"]
    assert s["count"] == 50 and s["min"] == pytest.approx(0.02) and s["max"] == 1.0
    assert s["last_step"] == 49
    assert got.metric_summaries()["auc"]["last_step"] == 1
    hist = got.history("loss")
    assert list(hist.step) == list(range(50)) and hist.value[0] == 1.0
    assert got.lineage_node == Node("run", run.id, "churn/rf-1")
    assert ws.experiments.get("churn").run_count == 1


def test_failed_run_records_the_exception(ws: Any) -> None:
    with pytest.raises(ZeroDivisionError), ws.start_run(experiment="e") as run:
        run.log_metric("x", 1)
        1 / 0  # noqa: B018
    got = ws.runs.get(run.id)
    assert got.status == "failed"
    assert "ZeroDivisionError" in got.error
    assert got.metrics == {"x": 1.0}  # points logged before the failure are kept


def test_nan_and_inf_are_stored_as_such(ws: Any) -> None:
    run = ws.start_run(experiment="e", capture_env=False)
    run.log_metric("v", float("nan"))
    run.log_metric("v", float("inf"))
    run.log_metric("v", float("-inf"))
    run.log_metric("w", 1.0)
    run.log_metric("w", float("nan"))
    run.end()
    h = ws.runs.get(run.id).history("v")
    assert math.isnan(h.value[0]) and h.value[1] == math.inf and h.value[2] == -math.inf
    s = ws.runs.get(run.id).metric_summaries()
    assert s["v"]["last"] == -math.inf and s["v"]["min"] == -math.inf
    assert math.isnan(s["w"]["last"]) and s["w"]["max"] == 1.0 and s["w"]["count"] == 2
    d = ws.runs.get(run.id).history("v").to_dict()
    assert d["value"] == ["NaN", "Infinity", "-Infinity"]


def test_bad_input_errors_and_nothing_half_written(ws: Any) -> None:
    run = ws.start_run(experiment="e", params={"lr": 0.1}, capture_env=False)
    with pytest.raises(InvalidInput, match="metric 'acc' must be a number"):
        run.log_metrics({"ok": 1.0, "acc": "high"})
    with pytest.raises(InvalidInput, match="must be a number"):
        run.log_metric("x", None)
    with pytest.raises(InvalidInput, match="invalid metric key"):
        run.log_metric("bad\nkey", 1.0)
    with pytest.raises(InvalidInput, match="step must be an integer"):
        run.log_metric("x", 1.0, step=1.5)
    with pytest.raises(Conflict, match=r"param 'lr' of run .* is already '0.1'"):
        run.log_params({"new": 1, "lr": 0.2})
    run.end()
    got = ws.runs.get(run.id)
    assert got.metrics == {}  # "ok" was not written: the batch was rejected whole
    assert got.params == {"lr": 0.1}  # "new" was not written either
    with pytest.raises(Conflict, match="is finished"):
        got.log_metric("x", 1.0)
    with pytest.raises(Conflict, match="is finished"):
        run.log_param("z", 1)
    with pytest.raises(Conflict, match="is finished"):
        run.set_tag("z", 1)
    with pytest.raises(NotFound, match="no run 'nope'"):
        ws.runs.get("nope")
    with pytest.raises(NotFound, match="no run '01J"):
        ws.runs.get("01J0000000000000000000000Z")
    with pytest.raises(InvalidInput, match="invalid run status"):
        ws.start_run(experiment="e", capture_env=False).end("done")
    with pytest.raises(InvalidInput, match="invalid experiment name"):
        ws.start_run(experiment="bad name!")


def test_nested_runs(ws: Any) -> None:
    with ws.start_run(experiment="tune", name="parent", capture_env=False) as parent:
        for i in range(3):
            with ws.start_run(
                experiment="tune", name=f"trial-{i}", parent=parent, capture_env=False
            ) as child:
                child.log_metric("score", i)
    kids = ws.runs.children(parent)
    assert [k.name for k in kids] == ["trial-0", "trial-1", "trial-2"]
    assert all(k.parent_id == parent.id for k in kids)
    found = ws.runs.search(filter=f"attributes.parent_id = '{parent.id}'")
    assert len(found) == 3


def test_artifacts_files_dirs_text_dict_and_download(ws: Any, tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    (model_dir / "sub").mkdir(parents=True)
    (model_dir / "model.pkl").write_bytes(b"weights")
    (model_dir / "sub" / "meta.json").write_text('{"a": 1}')
    single = tmp_path / "notes.txt"
    single.write_text("hello")
    with ws.start_run(experiment="e", capture_env=False) as run:
        run.log_artifact(model_dir)
        run.log_artifact(single, name="docs/notes.txt")
        run.log_text("report", "report.md")
        run.log_dict({"x": [1, 2]}, "config.json")
        with pytest.raises(InvalidInput, match="invalid artifact path"):
            run.log_text("x", "../escape.txt")
        with pytest.raises(NotFound, match="no such file"):
            run.log_artifact(tmp_path / "missing")
    got = ws.runs.get(run.id)
    paths = {a.path: a for a in got.artifacts()}
    assert set(paths) == {
        "model/model.pkl",
        "model/sub/meta.json",
        "docs/notes.txt",
        "report.md",
        "config.json",
    }
    assert paths["model/model.pkl"].size == 7
    assert paths["model/model.pkl"].digest.startswith("sha256:")
    with got.open_artifact("docs/notes.txt") as f:
        assert f.read() == b"hello"
    local = got.download_artifacts("model", tmp_path / "dl")
    assert local == tmp_path / "dl" / "model"
    assert (local / "model.pkl").read_bytes() == b"weights"
    assert (local / "sub" / "meta.json").read_text() == '{"a": 1}'
    single_local = got.download_artifacts("config.json", tmp_path / "dl2")
    assert single_local.read_text().startswith("{")
    with pytest.raises(NotFound, match="has no artifact 'nope'"):
        got.download_artifacts("nope", tmp_path / "dl3")
    with pytest.raises(InvalidInput, match="is a directory"):
        got.open_artifact("model")


def test_log_figures(sqlite_ws: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    with sqlite_ws.start_run(experiment="e", capture_env=False) as run:
        png = run.log_figure(fig, "plots/curve.png")
        html = run.log_figure(go.Figure(go.Scatter(y=[1, 2])), "plots/curve.html")
        js = run.log_figure(go.Figure(go.Scatter(y=[1, 2])), "plots/curve.json")
        with pytest.raises(InvalidInput, match=r"\.html or \.json"):
            run.log_figure(go.Figure(), "plots/x.png")
    plt.close(fig)
    with run.open_artifact(png.path) as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert html.size > 1000 and js.size > 10


def test_lineage_inputs_and_outputs(ws: Any) -> None:
    data = Node("dataset_version", "D1", "churn@1")
    ws.lineage.add(data)

    class Obj:
        lineage_node = Node("model_version", "M1", "churn@1")

    with ws.start_run(experiment="e", capture_env=False) as run:
        run.log_input("dataset_version:D1")
        run.log_output(Obj())
    assert [n.key for n in run.inputs()] == ["dataset_version:D1"]
    assert [n.key for n in run.outputs()] == ["model_version:M1"]
    g = ws.lineage.upstream(Obj.lineage_node)
    assert "dataset_version:D1" in g.nodes


def test_dataset_reference_resolved_with_the_dataset_service(ws: Any) -> None:
    if not hasattr(type(ws), "datasets"):
        with (
            ws.start_run(experiment="e", capture_env=False) as run,
            pytest.raises(InvalidInput, match="no dataset service"),
        ):
            run.log_input("churn@3")
        return
    import pandas as pd

    version = ws.datasets.commit("churn", pd.DataFrame({"a": [1, 2, 3]}))
    with ws.start_run(experiment="e", capture_env=False) as run:
        run.log_input(f"churn@{version.version}")
    assert [n.key for n in run.inputs()] == [version.lineage_node.key]


def test_runs_created_inside_a_producer_are_linked(sqlite_ws: Any) -> None:
    from shipyard.store import producing

    step = Node("step_run", "S1", "pipe/train")
    with producing(step), sqlite_ws.start_run(experiment="e", capture_env=False) as run:
        pass
    g = sqlite_ws.lineage.upstream(run)
    assert step.key in g.nodes


def test_environment_capture(sqlite_ws: Any, tmp_path: Path) -> None:
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / "a.py").write_text("x = 1\n")
    subprocess.run(["git", "add", "a.py"], cwd=repo, check=True)
    subprocess.run(
        ["git", "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "init"],
        cwd=repo,
        check=True,
    )
    (repo / "a.py").write_text("x = 2\n")
    import os

    cwd = os.getcwd()
    os.chdir(repo)
    try:
        run = sqlite_ws.start_run(experiment="e")
        run.end()
    finally:
        os.chdir(cwd)
    env = sqlite_ws.runs.get(run.id).env
    assert env["git"]["dirty"] is True and len(env["git"]["commit"]) == 40
    assert env["python"] and env["host"] and "numpy" in env["packages"]
    with run.open_artifact("environment/git.diff") as f:
        assert b"+x = 2" in f.read()


def test_system_metrics_sampling(sqlite_ws: Any) -> None:
    import time

    run = sqlite_ws.start_run(experiment="e", capture_env=False, system_metrics=0.05)
    time.sleep(0.4)
    run.end()
    m = sqlite_ws.runs.get(run.id).metric_summaries()
    assert m["system/rss_mb"]["count"] >= 2 and m["system/rss_mb"]["last"] > 1
    assert "system/cpu_percent" in m

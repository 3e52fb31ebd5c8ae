"""A pipeline as the objective: the trial's params flow into ``pipe.run(params=...)``."""

from __future__ import annotations

from typing import Any

import shipyard as sy


@sy.step
def make_data(n: int) -> list[float]:
    return [i / n for i in range(n)]


@sy.step
def score(data: list[float], x: float, k: int) -> dict[str, float]:
    return {"score": 1.0 - (x - 0.3) ** 2 - 0.01 * k, "n_points": float(len(data))}


@sy.pipeline
def flow(x: float = 0.5, k: int = 1, n: int = 10) -> Any:
    return score(make_data(n), x, k)


def test_pipeline_objective(sqlite_ws: Any) -> None:
    study = sqlite_ws.studies.create(
        "pipe",
        flow,
        {"x": sy.uniform(0, 1), "k": sy.integer(1, 3), "n": 10},
        metric="score",
        sampler="random",
        n_trials=4,
        parallelism=1,
        executor="inline",
        seed=0,
    )
    assert study.objective_ref == "pipeline:flow"
    study.optimize()
    trials = study.trials()
    assert [t.state for t in trials] == ["complete"] * 4, [t.error for t in trials]
    best = study.best_trial
    assert best.value == max(t.value for t in trials)
    run = sqlite_ws.runs.get(best.run_id)
    assert run.metrics["n_points"] == 10.0
    # the pipeline run of each trial is linked from the trial's run
    down = sqlite_ws.lineage.downstream(run.lineage_node, depth=1)
    prun_keys = down.keys("pipeline_run")
    assert len(prun_keys) == 1
    prun = sqlite_ws.pipelines.get(prun_keys[0].split(":", 1)[1])
    assert prun.params["x"] == best.params["x"] and prun.params["k"] == best.params["k"]
    # best_params flow straight into another pipeline run
    again = flow.run(params=study.best_params, executor="inline", ws=sqlite_ws)
    assert again.result["score"] == best.value


def test_pipeline_space_must_match_its_parameters(sqlite_ws: Any) -> None:
    import pytest

    with pytest.raises(sy.InvalidInput, match="pipeline 'flow' has no parameter 'lr'"):
        sqlite_ws.studies.create(
            "pipe-bad", flow, {"lr": sy.uniform(0, 1)}, metric="score", executor="inline"
        )
    assert sqlite_ws.studies.list() == []

"""Studies end to end on real storage: trials as runs, grid, conditional spaces, pruning,
failures, warm start, multi-objective, lineage."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import shipyard as sy
from shipyard.tuning import StudyFailed, UnknownPruner, UnknownSampler

from . import _objectives as obj


def test_trials_are_tracked_runs_linked_to_the_study(ws: Any) -> None:
    study = ws.studies.create(
        "quad",
        obj.curve,
        {"x": sy.uniform(0.1, 1.0)},
        metric="score",
        sampler="tpe",
        pruner="none",
        n_trials=6,
        parallelism=1,
        executor="inline",
        seed=3,
    )
    study.optimize()
    assert study.status == "completed"
    trials = study.trials()
    assert [t.number for t in trials] == list(range(6))
    assert all(t.state == "complete" and t.last_step == 19 for t in trials)
    best = study.best_trial
    assert best.value == max(t.value for t in trials)
    assert study.best_params == best.params and set(best.params) == {"x"}
    run = ws.runs.get(best.run_id)
    assert run.status == "finished"
    assert run.experiment == "quad"
    assert run.params["x"] == pytest.approx(best.params["x"])
    history = run.history("score")
    assert list(history.step) == list(range(21))  # 20 reports + the final value
    assert run.metrics["score"] == pytest.approx(best.value)
    down = ws.lineage.downstream(study.lineage_node, depth=1)
    assert sorted(down.keys("run")) == sorted(f"run:{t.run_id}" for t in trials)
    assert {e.relation for e in down.edges} == {"trial"}
    again = ws.studies.get("quad")
    assert again.id == study.id and again.best_trial.number == best.number
    assert ws.studies.get(study.id).name == "quad"


def test_grid_runs_every_configuration_once(sqlite_ws: Any) -> None:
    space = {"x": sy.choice([0.1, 0.5, 0.9]), "k": sy.integer(1, 4), "fixed": "yes"}
    study = sqlite_ws.studies.create(
        "grid",
        obj.quadratic,
        space,
        metric="score",
        sampler="grid",
        n_trials=None,
        executor="inline",
        parallelism=1,
    )
    assert study.n_trials == 12
    study.optimize()
    seen = [(t.params["x"], t.params["k"]) for t in study.trials()]
    assert len(seen) == 12 and len(set(seen)) == 12
    assert set(seen) == {(x, k) for x in (0.1, 0.5, 0.9) for k in (1, 2, 3, 4)}
    assert all(t.params["fixed"] == "yes" for t in study.trials())
    # asking for more than the grid holds stops at the grid
    more = sqlite_ws.studies.create(
        "grid2",
        obj.quadratic,
        space,
        metric="score",
        sampler="grid",
        n_trials=100,
        executor="inline",
    )
    assert more.n_trials == 12


def test_conditional_space_gives_only_active_params(sqlite_ws: Any) -> None:
    space = {
        "model": sy.choice(
            {
                "linear": {"alpha": sy.loguniform(1e-3, 1.0)},
                "tree": {"depth": sy.integer(2, 8), "leaf": sy.uniform(0, 1)},
            }
        ),
        "epochs": 5,
    }
    study = sqlite_ws.studies.create(
        "branches",
        obj.branchy,
        space,
        metric="score",
        sampler="tpe",
        n_trials=14,
        executor="inline",
        parallelism=1,
        seed=0,
    )
    study.optimize()  # the objective asserts the exact key set of each trial
    trials = study.trials()
    assert all(t.state == "complete" for t in trials), [t.error for t in trials]
    models = {t.params["model"] for t in trials}
    assert models == {"linear", "tree"}
    for t in trials:
        expected = (
            {"model", "alpha"} if t.params["model"] == "linear" else {"model", "depth", "leaf"}
        )
        assert set(t.flat_params) == expected


def test_pruning_stops_bad_trials_early(sqlite_ws: Any) -> None:
    study = sqlite_ws.studies.create(
        "prune",
        obj.curve,
        {"x": sy.uniform(0.0, 1.0)},
        metric="score",
        sampler="random",
        pruner="median",
        pruner_options={"n_startup_trials": 3, "n_warmup_steps": 2},
        n_trials=16,
        executor="inline",
        parallelism=1,
        seed=1,
    )
    study.optimize()
    pruned = study.trials("pruned")
    complete = study.trials("complete")
    assert pruned, "the median pruner never pruned"
    assert all(t.last_step is not None and t.last_step < 19 for t in pruned)
    assert all(len(t.intermediate) == t.last_step + 1 for t in pruned)
    # a pruned trial was worse, at the step it stopped, than the median of earlier trials
    for t in pruned:
        assert t.params["x"] < max(c.params["x"] for c in complete)
    run = sqlite_ws.runs.get(pruned[0].run_id)
    assert run.status == "finished" and run.tags["shipyard.trial_state"] == "pruned"
    assert len(run.history("score").step) == pruned[0].last_step + 1


def test_pruning_decided_by_the_driver_stops_worker_processes(sqlite_ws: Any) -> None:
    study = sqlite_ws.studies.create(
        "prune-local",
        obj.slow_curve,
        {"x": sy.uniform(0.0, 1.0)},
        metric="score",
        sampler="random",
        pruner="asha",
        n_trials=8,
        executor="local",
        parallelism=2,
        seed=5,
    )
    study.optimize()
    pruned = study.trials("pruned")
    assert pruned
    assert all(t.last_step < 11 for t in pruned)
    assert len(study.trials()) == 8


def test_a_trial_that_ignores_pruning_is_stopped_by_force(sqlite_ws: Any) -> None:
    study = sqlite_ws.studies.create(
        "stubborn",
        obj.stubborn,
        {"x": sy.uniform(0.0, 1.0)},
        metric="score",
        sampler="random",
        pruner="median",
        pruner_options={"n_startup_trials": 1, "n_warmup_steps": 0},
        n_trials=4,
        executor="local",
        parallelism=1,
        seed=2,
    )
    study.enqueue({"x": 0.9}, {"x": 0.1})  # x = 0.1 runs after x = 0.9: the median prunes it
    study.optimize()
    low = next(t for t in study.trials() if t.params["x"] == 0.1)
    assert low.state == "pruned", low.error
    assert low.last_step < 39
    assert sqlite_ws.runs.get(low.run_id).status == "finished"


def test_failures_are_recorded_and_the_study_continues(sqlite_ws: Any) -> None:
    study = sqlite_ws.studies.create(
        "fails",
        obj.sometimes_fails,
        {"x": sy.uniform(0, 1), "mode": sy.choice(["ok", "raise", "nan", "missing"])},
        metric="score",
        sampler="grid" if False else "random",
        n_trials=1,
        executor="inline",
    )
    study.enqueue(
        {"x": 0.2, "mode": "raise"},
        {"x": 0.3, "mode": "nan"},
        {"x": 0.4, "mode": "missing"},
        {"x": 0.5, "mode": "ok"},
    )
    study.optimize()
    by_mode = {t.params["mode"]: t for t in study.trials()}
    assert len(study.trials()) == 4  # enqueued configurations run even beyond n_trials
    raised = by_mode["raise"]
    assert raised.state == "failed"
    assert "ValueError: bad configuration x=0.200" in raised.error
    assert "Traceback" in raised.traceback and "sometimes_fails" in raised.traceback
    assert sqlite_ws.runs.get(raised.run_id).status == "failed"
    nan = by_mode["nan"]
    assert nan.state == "failed"
    assert "returned nan for the metric 'score'" in nan.error and "study continues" in nan.error
    missing = by_mode["missing"]
    assert missing.state == "failed"
    assert "without the metric 'score'" in missing.error and "accuracy" in missing.error
    assert by_mode["ok"].state == "complete"
    assert study.best_trial.params == {"x": 0.5, "mode": "ok"}
    assert study.status == "completed"


def test_a_study_whose_trials_all_fail_stops_early(sqlite_ws: Any) -> None:
    study = sqlite_ws.studies.create(
        "doomed",
        obj.always_fails,
        {"x": sy.uniform(0, 1)},
        metric="score",
        n_trials=40,
        executor="inline",
    )
    with pytest.raises(StudyFailed) as err:
        study.optimize()
    msg = str(err.value)
    assert "all 5 trials of study 'doomed' failed, so it stopped early" in msg
    assert "RuntimeError: the data file is missing" in msg
    assert "study.resume()" in msg
    assert len(study.trials()) == 5
    assert study.status == "failed" and "stopped early" in study.error


def test_objective_that_never_reports_the_metric(sqlite_ws: Any) -> None:
    study = sqlite_ws.studies.create(
        "silent",
        lambda params, trial: None,
        {"x": sy.uniform(0, 1)},
        metric="val_auc",
        n_trials=2,
        executor="inline",
    )
    with pytest.raises(StudyFailed):
        study.optimize()
    t = study.trials()[0]
    assert t.state == "failed"
    assert "never reported the metric 'val_auc'" in t.error
    assert "trial.report(value, step)" in t.error


def test_trial_timeout_stops_a_hanging_trial(sqlite_ws: Any) -> None:
    study = sqlite_ws.studies.create(
        "hang",
        obj.sleeper,
        {"t": sy.choice([0.05, 120.0])},
        metric="score",
        sampler="grid",
        n_trials=None,
        executor="local",
        parallelism=2,
        trial_timeout=8.0,
    )
    study.optimize()
    by_t = {t.params["t"]: t for t in study.trials()}
    assert by_t[0.05].state == "complete"
    assert by_t[120.0].state == "failed"
    assert "ran past the trial timeout of 8s" in by_t[120.0].error
    assert by_t[120.0].duration_s < 60


def test_study_timeout_stops_starting_trials(sqlite_ws: Any) -> None:
    study = sqlite_ws.studies.create(
        "timed",
        obj.sleeper,
        {"t": sy.choice([0.2, 0.25])},
        metric="score",
        sampler="random",
        n_trials=100,
        executor="inline",
        timeout=1.0,
    )
    study.optimize()
    assert study.status == "stopped"
    assert study.error == "stopped after the study timeout of 1s"
    n = len(study.trials())
    assert 2 <= n < 20
    assert all(t.state == "complete" for t in study.trials())


def test_parallel_trials_on_local_processes(sqlite_ws: Any) -> None:
    study = sqlite_ws.studies.create(
        "parallel",
        obj.pid_and_time,
        {"x": sy.uniform(0, 1)},
        metric="score",
        sampler="random",
        n_trials=6,
        executor="local",
        parallelism=2,
        seed=0,
    )
    study.optimize()
    trials = study.trials()
    assert len(trials) == 6 and all(t.state == "complete" for t in trials)
    pids = {t.user_attrs["pid"] for t in trials}
    assert len(pids) == 2
    import os

    assert os.getpid() not in pids
    spans = sorted(t.user_attrs["span"] for t in trials)
    overlaps = sum(1 for a, b in itertools.pairwise(spans) if b[0] < a[1])
    assert overlaps >= 2  # trials ran two at a time
    assert len({t.run_id for t in trials}) == 6


def test_warm_start_runs_enqueued_configurations_first(sqlite_ws: Any) -> None:
    study = sqlite_ws.studies.create(
        "warm",
        obj.quadratic,
        {"x": sy.uniform(0, 1)},
        metric="score",
        n_trials=5,
        executor="inline",
        seed=0,
    )
    assert study.enqueue({"x": 0.3}, {"x": 0.9}) == [0, 1]
    study.optimize()
    trials = study.trials()
    assert [t.params["x"] for t in trials[:2]] == [0.3, 0.9]
    assert [t.source for t in trials] == ["enqueued", "enqueued", "sampler", "sampler", "sampler"]
    assert study.best_params == {"x": 0.3} and study.best_value == 1.0
    with pytest.raises(sy.InvalidInput, match="outside the range of 'x'"):
        study.enqueue({"x": 3})


def test_multi_objective_pareto_front(sqlite_ws: Any) -> None:
    study = sqlite_ws.studies.create(
        "mo",
        obj.two_metrics,
        {"x": sy.uniform(0, 1), "y": sy.uniform(0, 1)},
        metric=["loss", "cost"],
        direction="minimize",
        sampler="nsga2",
        n_trials=20,
        executor="inline",
        seed=0,
    )
    assert study.pruner == "none"
    study.optimize()
    front = study.pareto_front()
    assert front
    done = study.trials("complete")
    for p in front:
        assert not any(
            o.values[0] <= p.values[0] and o.values[1] <= p.values[1] and o.values != p.values
            for o in done
        )
    with pytest.raises(sy.InvalidInput, match="no single best trial"):
        _ = study.best_trial
    assert study.plot("pareto")["data"]


@pytest.mark.parametrize("sampler", ["gp", "cmaes"])
def test_model_based_samplers_run(sqlite_ws: Any, sampler: str) -> None:
    study = sqlite_ws.studies.create(
        f"s-{sampler}",
        obj.quadratic,
        {"x": sy.uniform(0, 1)},
        metric="score",
        sampler=sampler,
        n_trials=6,
        executor="inline",
        seed=0,
    )
    study.optimize()
    assert len(study.trials("complete")) == 6


def test_analysis_importances_history_and_plots(sqlite_ws: Any) -> None:
    def objective(params: dict[str, Any], trial: Any) -> float:
        return params["a"] * 10 + params["b"] * 0.01

    study = sqlite_ws.studies.create(
        "imp",
        objective,
        {"a": sy.uniform(0, 1), "b": sy.uniform(0, 1)},
        metric="score",
        sampler="random",
        n_trials=24,
        executor="inline",
        seed=0,
    )
    study.optimize()
    imp = study.importances()
    assert list(imp) == ["a", "b"] and imp["a"] > 0.8
    hist = study.history()
    assert len(hist) == 24
    assert all(h2["best"] >= h1["best"] for h1, h2 in itertools.pairwise(hist))
    for kind in ("history", "importances", "parallel", "slice", "contour"):
        fig = study.plot(kind)
        assert fig["data"], kind
    summary = study.summary()
    assert summary["best"]["number"] == study.best_trial.number
    assert summary["counts"] == {"complete": 24}
    with pytest.raises(sy.InvalidInput, match="unknown tuning plot 'pie'"):
        study.plot("pie")


# ---------------------------------------------------------------------- bad input
def _create(ws: Any, **kw: Any) -> Any:
    args = {
        "name": "bad",
        "objective": obj.quadratic,
        "space": {"x": sy.uniform(0, 1)},
        "metric": "score",
        "executor": "inline",
    }
    args.update(kw)
    return ws.studies.create(**args)


@pytest.mark.parametrize(
    ("kw", "error", "message"),
    [
        (
            {"sampler": "bayes"},
            UnknownSampler,
            "unknown sampler 'bayes': known: cmaes, gp, grid, nsga2, random, tpe",
        ),
        (
            {"pruner": "early"},
            UnknownPruner,
            "unknown pruner 'early': known: asha, hyperband, median, none, successive_halving",
        ),
        ({"direction": "up"}, sy.InvalidInput, "direction must be 'maximize' or 'minimize'"),
        ({"n_trials": 0}, sy.InvalidInput, "n_trials must be a whole number >= 1, got 0"),
        ({"parallelism": -1}, sy.InvalidInput, "parallelism must be a whole number >= 1"),
        ({"executor": "slurm"}, sy.InvalidInput, "unknown executor 'slurm'"),
        ({"timeout": 0}, sy.InvalidInput, "timeout must be seconds > 0"),
        ({"space": {"x": 1}}, sy.InvalidInput, "the search space has no searched parameter"),
        ({"space": [1, 2]}, sy.InvalidInput, "a search space is a dict"),
        ({"objective": 42}, sy.InvalidInput, "the objective must be a function"),
        (
            {"metric": ["a", "b"], "pruner": "asha"},
            sy.InvalidInput,
            "pruner 'asha' compares one metric",
        ),
        (
            {"metric": ["a", "b"], "sampler": "cmaes"},
            sy.InvalidInput,
            "the cmaes sampler optimizes one metric",
        ),
        ({"sampler": "grid"}, sy.InvalidInput, "'x' (uniform(0, 1)) is continuous"),
        ({"name": "bad name/"}, sy.InvalidInput, "study"),
    ],
)
def test_bad_study_settings_are_refused_and_nothing_is_written(
    sqlite_ws: Any, kw: dict[str, Any], error: type, message: str
) -> None:
    with pytest.raises(error) as err:
        _create(sqlite_ws, **kw)
    assert message in str(err.value)
    assert sqlite_ws.studies.list() == []
    assert sqlite_ws.lineage.counts().get("study", 0) == 0


def test_duplicate_and_unknown_names(sqlite_ws: Any) -> None:
    _create(sqlite_ws, name="dup")
    with pytest.raises(sy.AlreadyExists, match=r"a study named 'dup' exists already; continue it"):
        _create(sqlite_ws, name="dup")
    with pytest.raises(sy.NotFound, match=r"no study 'nope' in workspace .*; known: dup"):
        sqlite_ws.studies.get("nope")
    st = sqlite_ws.studies.get("dup")
    with pytest.raises(sy.NotFound, match="has no complete trial yet"):
        _ = st.best_trial

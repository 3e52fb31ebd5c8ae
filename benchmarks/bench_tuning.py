"""Tuning benchmarks: each figure is printed next to its baseline, measured in the same run.

1. Orchestration overhead: 300 trials of a trivial objective on SQLite (``inline``),
   per trial, against Optuna alone with in-memory storage and the same sampler; then
   300 trials on ``local`` with parallelism 2 (no locking error, every trial recorded).
2. Early stopping pays: ASHA vs full-budget random search on a real learning task
   (SGDClassifier, epochs as the resource, 40 trials, the same sampled configurations):
   best validation accuracy and total epochs.
3. TPE beats random: median best value after 60 trials over 10 seeds on Hartmann-6.

Run: ``python benchmarks/bench_tuning.py`` (about a minute or two on 2 cores).
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
import warnings
from typing import Any

import numpy as np
import optuna

import shipyard as sy

optuna.logging.set_verbosity(logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


# ---------------------------------------------------------------------- 1. overhead
def trivial(params: dict[str, Any], trial: Any) -> float:
    return (params["x"] - 0.3) ** 2 + params["y"]


def optuna_alone(n: int, sampler: optuna.samplers.BaseSampler) -> float:
    study = optuna.create_study(sampler=sampler, direction="minimize")
    t0 = time.perf_counter()
    for _ in range(n):
        t = study.ask()
        params = {"x": t.suggest_float("x", 0, 1), "y": t.suggest_float("y", 0, 1)}
        study.tell(t, trivial(params, None))
    return time.perf_counter() - t0


def shipyard_study(
    ws: Any, name: str, n: int, sampler: str, executor: str, parallelism: int
) -> tuple[float, Any]:
    study = ws.studies.create(
        name,
        trivial,
        {"x": sy.uniform(0, 1), "y": sy.uniform(0, 1)},
        metric="value",
        direction="minimize",
        sampler=sampler,
        pruner="none",
        n_trials=n,
        parallelism=parallelism,
        executor=executor,
        seed=0,
    )
    t0 = time.perf_counter()
    study.optimize()
    return time.perf_counter() - t0, study


def tracking_alone(ws: Any, n: int) -> float:
    """What one tracked run costs by itself (start, one metric, end): every trial is one."""
    t0 = time.perf_counter()
    for i in range(n):
        run = ws.start_run(
            "tracking-alone", name=f"r{i}", params={"x": 0.1, "y": 0.2}, capture_env=False
        )
        run.log_metrics({"value": 1.0}, step=0)
        run.end("finished")
    return time.perf_counter() - t0


def bench_overhead(ws: Any, n: int = 300) -> None:
    print(f"\n== 1. orchestration overhead, {n} trials of a trivial objective ==")
    track = tracking_alone(ws, n) / n * 1000
    for sampler in ("random", "tpe"):
        base = optuna_alone(
            n,
            optuna.samplers.RandomSampler(seed=0)
            if sampler == "random"
            else optuna.samplers.TPESampler(seed=0, multivariate=True, group=True),
        )
        took, study = shipyard_study(ws, f"overhead-{sampler}", n, sampler, "inline", 1)
        assert len(study.trials("complete")) == n
        per = took / n * 1000
        per_base = base / n * 1000
        print(
            f"sampler {sampler:6s}: shipyard (SQLite, inline, tracked runs) {per:6.2f} ms/trial"
            f" | baseline optuna in-memory {per_base:6.2f} ms/trial"
            f" | overhead {per - per_base:+6.2f} ms/trial (target <= 10), of which one tracked"
            f" run (start+metric+end, measured alone) {track:.2f} ms"
        )
    took, study = shipyard_study(ws, "overhead-local", n, "random", "local", 2)
    counts = study.counts()
    runs = ws.runs.count(experiments=["overhead-local"])
    print(
        f"local, parallelism 2: {n} trials in {took:.1f}s ({took / n * 1000:.1f} ms/trial), "
        f"trials recorded {counts.get('complete', 0)}/{n}, tracked runs {runs}, "
        f"failed {counts.get('failed', 0)} (no locking error)"
    )


# ---------------------------------------------------------------------- 2. ASHA
def _dataset() -> tuple[np.ndarray, ...]:
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = make_classification(
        n_samples=6000,
        n_features=30,
        n_informative=12,
        n_redundant=6,
        n_classes=3,
        class_sep=0.9,
        flip_y=0.03,
        random_state=0,
    )
    xtr, xva, ytr, yva = train_test_split(x, y, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(xtr)
    return scaler.transform(xtr), scaler.transform(xva), ytr, yva


EPOCHS = 27
_DATA: tuple[np.ndarray, ...] | None = None


def sgd_objective(params: dict[str, Any], trial: Any) -> dict[str, float]:
    global _DATA
    from sklearn.linear_model import SGDClassifier

    if _DATA is None:
        _DATA = _dataset()
    xtr, xva, ytr, yva = _DATA
    clf = SGDClassifier(
        loss=params["loss"],
        alpha=params["alpha"],
        learning_rate="invscaling",
        eta0=params["eta0"],
        power_t=params["power_t"],
        random_state=0,
    )
    classes = np.unique(ytr)
    rng = np.random.default_rng(0)
    acc = 0.0
    for epoch in range(EPOCHS):
        order = rng.permutation(len(xtr))
        clf.partial_fit(xtr[order], ytr[order], classes=classes)
        acc = float(clf.score(xva, yva))
        trial.report(acc, epoch)
        if trial.should_prune():
            raise sy.TrialPruned()
    return {"val_acc": acc}


SGD_SPACE = {
    "loss": sy.choice(["hinge", "log_loss", "modified_huber"]),
    "alpha": sy.loguniform(1e-6, 1e-1),
    "eta0": sy.loguniform(1e-4, 1.0),
    "power_t": sy.uniform(0.1, 0.9),
}


def bench_asha(ws: Any, n: int = 40) -> None:
    print(
        f"\n== 2. ASHA vs full-budget random search, SGDClassifier, {n} trials, {EPOCHS} epochs =="
    )
    out = {}
    for pruner in ("none", "asha"):
        study = ws.studies.create(
            f"sgd-{pruner}",
            sgd_objective,
            SGD_SPACE,
            metric="val_acc",
            sampler="random",
            pruner=pruner,
            n_trials=n,
            executor="inline",
            parallelism=1,
            seed=7,
        )
        t0 = time.perf_counter()
        study.optimize()
        took = time.perf_counter() - t0
        epochs = sum((t.last_step or 0) + 1 for t in study.trials())
        out[pruner] = (study.best_value, epochs, took, len(study.trials("pruned")))
    full, asha = out["none"], out["asha"]
    print(
        f"ASHA: best val_acc {asha[0]:.4f} with {asha[1]} epochs ({asha[3]} of {n} trials pruned,"
        f" {asha[2]:.1f}s) | baseline full-budget random: best {full[0]:.4f} with {full[1]} "
        f"epochs ({full[2]:.1f}s)"
    )
    gap = (full[0] - asha[0]) / full[0] * 100
    print(
        f"ASHA gap to full budget {gap:+.2f}% (target within 0.5%), epochs used "
        f"{asha[1] / full[1]:.2f} of full (target <= 0.33)"
    )


# ---------------------------------------------------------------------- 3. TPE
_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
HARTMANN6_MIN = -3.32237


def hartmann6(params: dict[str, Any], trial: Any) -> float:
    x = np.array([params[f"x{i}"] for i in range(6)])
    return float(-np.sum(_ALPHA * np.exp(-np.sum(_A * (x - _P) ** 2, axis=1))))


def bench_tpe(ws: Any, seeds: int = 10, n: int = 60) -> None:
    print(
        f"\n== 3. TPE vs random on Hartmann-6 (min {HARTMANN6_MIN}), {n} trials x {seeds} seeds =="
    )
    space = {f"x{i}": sy.uniform(0, 1) for i in range(6)}
    best: dict[str, list[float]] = {"tpe": [], "random": []}
    for sampler in ("tpe", "random"):
        t0 = time.perf_counter()
        for seed in range(seeds):
            study = ws.studies.create(
                f"h6-{sampler}-{seed}",
                hartmann6,
                space,
                metric="value",
                direction="minimize",
                sampler=sampler,
                pruner="none",
                n_trials=n,
                executor="inline",
                seed=seed,
            )
            best[sampler].append(study.optimize().best_value)
        print(f"  {sampler}: {time.perf_counter() - t0:.1f}s")
    med_tpe, med_rand = statistics.median(best["tpe"]), statistics.median(best["random"])
    wins = sum(a < b for a, b in zip(best["tpe"], best["random"], strict=True))
    print(
        f"TPE median best {med_tpe:.4f} | baseline random median best {med_rand:.4f} "
        f"(lower is better; TPE better on {wins}/{seeds} seeds)"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as home, sy.Workspace(home) as ws:
        t0 = time.perf_counter()
        bench_overhead(ws)
        bench_asha(ws)
        bench_tpe(ws)
        print(f"\ntotal {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()

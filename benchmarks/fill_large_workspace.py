"""Fill a workspace with many objects, through the public services, for UI load checks.

    python benchmarks/fill_large_workspace.py --home /tmp/large-ws
    python benchmarks/fill_large_workspace.py --home /tmp/small-ws \\
        --runs 20 --dataset-versions 5 --prediction-rows 1000

Defaults give the "large workspace" of the UI performance target: 10,000 tracked runs
over ten experiments (half of them in one), 1,000 dataset versions (half of them in
one dataset), 1,000,000 prediction-log rows over the last 24 hours, plus what the
model, deployment, monitoring and tuning pages show: a registered model with three
versions (one evaluated with a suite, one promoted to ``champion``), two deployment
records, a monitor with one stored check per hour of logs, and a small study.

Every object goes through the services a user calls: ``ws.datasets.commit``,
``ws.start_run`` (metrics through the run's batched background writer),
``ws.models.register``, ``ws.evaluations.evaluate``, ``ws.deployments.start``, the
serving prediction-log sink (``shipyard.monitoring.open_prediction_log``, fed in
batches of 50,000 rows, as the model server's background logger does),
``ws.monitors.create`` / ``ws.monitors.run`` and ``ws.studies.create(...).optimize()``.
Nothing is inserted with SQL directly. Runs are started one at a time (tracking has no
bulk way to create runs; their metric points are batched by the writer), which makes the
runs the longest part of the fill: about 35 ms a run on a busy two-core machine, some six
minutes for 10,000.

The script writes ``fill.json`` in the workspace home: the sizes and the ids of the
objects the benchmark opens (``benchmarks/bench_ui.py`` reads it). A home that is not
a new or empty folder is refused.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shipyard.data.synthetic import CHURN_FEATURES

FEATURES = list(CHURN_FEATURES)
CATEGORICAL = ["contract", "payment_method", "internet_service", "region"]
MARKER = "fill.json"
LOG_BATCH = 50_000
LONG_SERIES = 100_000


def objective(params: dict[str, Any], trial: Any) -> float:
    """The study's objective: a smooth bowl with a little noise-free curvature."""
    return 1.0 - (params["x"] - 0.3) ** 2 - 0.01 * (params["depth"] - 3) ** 2


def split(total: int, parts: int) -> list[int]:
    """*total* items over *parts* buckets: the first gets half, the rest share the rest."""
    if parts <= 1 or total < parts * 2:
        return [total] + [0] * (parts - 1)
    first = total // 2
    rest = total - first
    return [first] + [
        rest // (parts - 1) + (1 if i < rest % (parts - 1) else 0) for i in range(parts - 1)
    ]


def _model(n_estimators: int) -> Any:
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), CATEGORICAL), remainder="passthrough"
    )
    return make_pipeline(
        encode, GradientBoostingClassifier(n_estimators=n_estimators, random_state=7)
    )


class Filler:
    def __init__(self, ws: Any, progress: Any, seed: int = 0) -> None:
        self.ws = ws
        self.progress = progress
        self.rng = np.random.default_rng(seed)
        self.out: dict[str, Any] = {}

    # ------------------------------------------------------------------ datasets
    def datasets(self, versions: int) -> None:
        from shipyard.data.synthetic import make_churn

        ws = self.ws
        task = self.progress.add_task("dataset versions", total=versions)
        # the churn data the model and the monitor use: two versions (periods 1 and 2)
        churn = min(2, versions)
        for period in range(1, churn + 1):
            ws.datasets.commit(
                "churn", make_churn(2000, period=period, seed=0), message=f"period {period}"
            )
            self.progress.advance(task)
        rest = versions - churn
        n_datasets = max(1, min(50, rest // 20))
        counts = split(rest, n_datasets)
        names = ["events"] + [f"table-{i:02d}" for i in range(1, n_datasets)]
        first_version = None
        for name, count in zip(names, counts, strict=True):
            for k in range(count):
                n = 200
                df = pd.DataFrame(
                    {
                        "id": np.arange(n) + k * n,
                        "amount": self.rng.gamma(2.0, 10.0 + k % 7, n),
                        "score": self.rng.normal(k % 11, 1.0, n),
                        "kind": self.rng.choice(["a", "b", "c", "d"], n),
                        "flag": self.rng.random(n) < 0.1,
                    }
                )
                v = ws.datasets.commit(name, df, message=f"batch {k + 1}")
                if first_version is None:
                    first_version = v
                self.progress.advance(task)
        big = ws.datasets.get(names[0]) if counts[0] else ws.datasets.get("churn")
        self.out["dataset"] = big.name
        self.out["dataset_version"] = big.id
        self.out["churn_version"] = ws.datasets.get("churn@1").id if churn else None

    # ------------------------------------------------------------------ runs
    def runs(self, total: int) -> None:
        ws = self.ws
        task = self.progress.add_task("runs", total=total)
        experiments = [f"exp-{i:02d}" for i in range(10)]
        counts = split(total, len(experiments))
        inputs = [v for v in ws.datasets.log(self.out["dataset"], limit=20)]
        compare: list[str] = []
        long_id = None
        i = 0
        for exp, count in zip(experiments, counts, strict=True):
            for k in range(count):
                params = {
                    "lr": float(10 ** self.rng.uniform(-4, -1)),
                    "depth": int(self.rng.integers(2, 12)),
                    "optimizer": str(self.rng.choice(["adam", "sgd", "rmsprop"])),
                    "batch_size": int(self.rng.choice([32, 64, 128, 256])),
                    "dropout": round(float(self.rng.uniform(0, 0.5)), 3),
                }
                long = i == 0
                with ws.start_run(
                    exp,
                    name="long-series" if long else f"{exp}-run-{k:05d}",
                    params=params,
                    tags={"team": "ml", "stage": "sweep"},
                    capture_env=False,
                ) as run:
                    steps = LONG_SERIES if long else 10
                    quality = float(self.rng.uniform(0.6, 0.95))
                    for s in range(steps):
                        frac = (s + 1) / steps
                        run.log_metrics(
                            {
                                "loss": 1.0 / (1.0 + 5 * frac) + 0.01 * float(np.sin(s)),
                                "val_auc": quality * frac,
                            },
                            step=s,
                        )
                    run.log_metrics({"accuracy": quality, "auc": quality + 0.02})
                    if inputs and i % 20 == 0:
                        run.log_input(inputs[(i // 20) % len(inputs)])
                if long:
                    long_id = run.id
                elif exp == experiments[0] and len(compare) < 4:
                    compare.append(run.id)
                i += 1
                self.progress.advance(task)
        self.out["experiment"] = ws.experiments.get(experiments[0]).id
        self.out["long_run"] = long_id
        self.out["compare_runs"] = ([long_id] if long_id else []) + compare

    # ------------------------------------------------------------------ models
    def models(self) -> None:
        import shipyard as sy
        from shipyard.data.synthetic import make_churn

        ws = self.ws
        task = self.progress.add_task("models and deployments", total=5)
        data = make_churn(3000, period=1, seed=11)[[*FEATURES, "churned"]]
        train, test = data.iloc[:2400], data.iloc[2400:].reset_index(drop=True)
        versions = []
        for n in (20, 40, 60):
            model = _model(n).fit(train[FEATURES], train["churned"])
            v = ws.models.register(
                "churn",
                model,
                datasets=["churn@1"] if self.out.get("churn_version") else [train],
                input_example=train[FEATURES].head(5),
                description="Churn risk for retention offers.",
                tags={"n_estimators": n},
            )
            versions.append(v)
            self.progress.advance(task)
        champion = versions[-1]
        suite = sy.Suite(["auc >= 0.6"], slices=["region"], latency_samples=20)
        ws.evaluations.evaluate(champion.ref, test, target="churned", suite=suite)
        ws.models.set_alias("churn", "champion", version=champion.version, reason="best auc")
        self.progress.advance(task)
        staging = ws.deployments.start(
            f"churn@{versions[0].version}", versions[0], name="churn-staging"
        )
        ws.deployments.stop(staging.id)
        prod = ws.deployments.start("churn@champion", champion, name="churn-prod")
        self.progress.advance(task)
        self.out.update(
            model=champion.model_id,
            model_version=champion.id,
            model_version_number=champion.version,
            deployment=prod.id,
            deployment_name=prod.name,
        )
        self.champion = champion
        self.test = test

    # ------------------------------------------------------------------ prediction logs
    def prediction_logs(self, total: int, end: datetime) -> None:
        from shipyard.data.synthetic import make_churn
        from shipyard.monitoring import open_prediction_log

        ws = self.ws
        task = self.progress.add_task("prediction-log rows", total=total)
        pool = min(LOG_BATCH, max(total, 1))
        predictor = ws.models.load(self.champion.ref)
        pools = {}
        for period in (1, 2):
            df = make_churn(pool, period=period, seed=40 + period)[FEATURES]
            preds = np.asarray(predictor.predict(df)).tolist()
            pools[period] = (df.to_dict("records"), preds)
        start = end - timedelta(hours=24)
        span_us = 24 * 3600 * 1_000_000
        step_us = span_us / max(total, 1)
        version = self.champion.version
        written = 0
        sink = open_prediction_log(
            ws, deployment=self.out["deployment_name"], max_rows=LOG_BATCH, background=False
        )
        with sink:
            while written < total:
                n = min(LOG_BATCH, total - written)
                period = 1 if written < total * 0.75 else 2  # the last quarter drifts
                records, preds = pools[period]
                latency = self.rng.gamma(2.0, 3.0, n).tolist()
                status = np.where(self.rng.random(n) < 0.005, 500, 200).tolist()
                rows = []
                for j in range(n):
                    idx = written + j
                    rows.append(
                        {
                            "request_id": f"req-{idx}",
                            "row": 0,
                            "ts": start + timedelta(microseconds=int(idx * step_us)),
                            "model": "churn",
                            "version": version,
                            "protocol": "v2",
                            "status": status[j],
                            "latency_ms": latency[j],
                            "inputs": records[j % pool],
                            "outputs": {"predict": preds[j % pool]},
                        }
                    )
                sink.write(rows)
                written += n
                self.progress.advance(task, n)
        self.logs_start = start

    # ------------------------------------------------------------------ monitor
    def monitor(self, end: datetime, hours: int = 24) -> None:
        ws = self.ws
        task = self.progress.add_task("monitor checks", total=hours)
        m = ws.monitors.create(
            "churn-monitor",
            model="churn",
            version=self.champion.version,
            reference="churn@1" if self.out.get("churn_version") else self.test,
            columns=FEATURES,
            window="1h",
            schedule=None,
            target="churned",
            rules=["drift_share > 0.3", "error_rate > 0.01", "p95_latency_ms > 50"],
        )
        for h in range(hours, 0, -1):
            ws.monitors.run(m.name, end=end - timedelta(hours=h - 1))
            self.progress.advance(task)
        self.out["monitor"] = m.id

    # ------------------------------------------------------------------ study
    def study(self, trials: int = 30) -> None:
        import shipyard as sy

        task = self.progress.add_task("study trials", total=1)
        study = self.ws.studies.create(
            "fill-study",
            objective,
            {"x": sy.uniform(0, 1), "depth": sy.integer(1, 8)},
            metric="score",
            sampler="random",
            n_trials=trials,
            executor="inline",
            seed=0,
        )
        study.optimize()
        self.progress.advance(task)
        self.out["study"] = study.id


def fill(
    home: str | Path,
    runs: int = 10_000,
    dataset_versions: int = 1_000,
    prediction_rows: int = 1_000_000,
    *,
    quiet: bool = False,
) -> dict[str, Any]:
    """Fill a new workspace at *home*; returns what ``fill.json`` holds."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    import shipyard as sy

    for name, value, least in (
        ("--runs", runs, 2),
        ("--dataset-versions", dataset_versions, 2),
        ("--prediction-rows", prediction_rows, 1),
    ):
        if value < least:
            raise SystemExit(f"{name} must be at least {least}, got {value}")
    home = Path(home)
    if (home / MARKER).exists():
        raise SystemExit(
            f"{home} already holds a filled workspace ({home / MARKER}); reuse it, or pass "
            "another --home"
        )
    if home.exists() and (not home.is_dir() or any(home.iterdir())):
        raise SystemExit(
            f"{home} is not an empty folder; the fill needs a new or empty one (the counts "
            "the benchmark reports assume nothing else is in the workspace)"
        )
    timings: dict[str, float] = {}
    started = time.perf_counter()
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    console = Console(stderr=True, quiet=quiet)
    with (
        sy.Workspace(home) as ws,
        Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress,
    ):
        f = Filler(ws, progress)
        for phase, call in (
            ("datasets", lambda: f.datasets(dataset_versions)),
            ("runs", lambda: f.runs(runs)),
            ("models", f.models),
            ("prediction_logs", lambda: f.prediction_logs(prediction_rows, end)),
            ("monitor", lambda: f.monitor(end)),
            ("study", f.study),
        ):
            t = time.perf_counter()
            call()
            timings[phase] = round(time.perf_counter() - t, 2)
        out = {
            "sizes": {
                "runs": runs,
                "dataset_versions": dataset_versions,
                "prediction_rows": prediction_rows,
            },
            "ids": f.out,
            "seconds": {**timings, "total": round(time.perf_counter() - started, 2)},
            "counts": ws.info()["counts"],
        }
    (home / MARKER).write_text(json.dumps(out, indent=2, default=str))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--home", required=True, help="workspace folder (created)")
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--dataset-versions", type=int, default=1_000)
    p.add_argument("--prediction-rows", type=int, default=1_000_000)
    args = p.parse_args(argv)
    out = fill(args.home, args.runs, args.dataset_versions, args.prediction_rows)
    secs = out["seconds"]
    print(
        f"filled {args.home} in {secs['total']:.1f} s ("
        + ", ".join(f"{k} {v:.1f} s" for k, v in secs.items() if k != "total")
        + ")"
    )
    print("counts: " + ", ".join(f"{k} {v}" for k, v in out["counts"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``shipyard tune``: list studies and show one (settings, best trial, importances, trials)."""

from __future__ import annotations

import math
from typing import Any

import typer

from ._common import console, print_json, print_table, workspace

app = typer.Typer(help="Hyperparameter studies.", no_args_is_help=True)


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "NaN" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def _params(flat: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(flat.items()))


@app.command("ls")
def ls(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every study: status, trials finished of n_trials, best value."""
    rows = workspace().studies.overview()
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no studies yet: create one with ws.studies.create(...) and optimize it")
        return
    print_table(
        "Studies",
        ["name", "status", "metric", "search", "trials", "best"],
        [
            (
                r["name"],
                r["status"],
                " & ".join(
                    f"{m} ({d[:3]})" for m, d in zip(r["metrics"], r["directions"], strict=True)
                ),
                f"{r['sampler']}+{r['pruner']}",
                f"{r['finished']}/{r['n_trials']}",
                f"{_fmt(r['best_value'])} (#{r['best_number']})"
                if r["best_number"] is not None
                else "",
            )
            for r in rows
        ],
    )


@app.command("show")
def show(
    study: str = typer.Argument(..., help="Study name or id."),
    trials: int = typer.Option(20, "--trials", "-n", help="How many of the best trials to list."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Settings, trial counts, the best trial and its params, importances, top trials."""
    st = workspace().studies.get(study)
    data = st.summary()
    if as_json:
        data["trials"] = [t.to_dict() for t in st.trials()]
        print_json(data)
        return
    goals = zip(st.metrics, st.directions, strict=True)
    counts = ", ".join(f"{n} {s}" for s, n in sorted(data["counts"].items())) or "none"
    print_table(
        f"Study {st.name}",
        ["setting", "value"],
        [
            ("id", st.id),
            ("status", st.status + (f" — {st.error}" if st.error else "")),
            ("objective", st.objective_ref),
            ("metric", ", ".join(f"{m} ({d})" for m, d in goals)),
            ("sampler / pruner", f"{st.sampler} / {st.pruner}"),
            ("executor", f"{st.executor}, parallelism {st.parallelism}"),
            ("trials", f"{counts} (target {st.n_trials})"),
            ("experiment", st.experiment),
        ],
    )
    best = data.get("best")
    if best:
        print_table(
            f"Best trial #{best['number']}: {st.metric} = {_fmt(best['value'])}",
            ["param", "value"],
            sorted((k, _fmt(v)) for k, v in best["flat_params"].items()),
        )
        console.print(f"run: {best['run_id']}")
    for t in data.get("pareto_front") or []:
        console.print(f"pareto #{t['number']}: {t['values']} {t['flat_params']}")
    if data["importances"]:
        print_table(
            "Parameter importances (fANOVA)",
            ["param", "importance"],
            [(k, f"{v:.3f}") for k, v in data["importances"].items()],
        )
    done = [t for t in st.trials() if t.state == "complete" and t.values]
    sign = -1.0 if st.direction == "maximize" else 1.0
    done.sort(key=lambda t: sign * (t.value if t.value is not None else math.inf))
    if done and not st.multi_objective:
        print_table(
            f"Top {min(trials, len(done))} trials",
            ["#", st.metric, "params", "duration s"],
            [
                (t.number, _fmt(t.value), _params(t.flat_params), _fmt(t.duration_s))
                for t in done[:trials]
            ],
        )

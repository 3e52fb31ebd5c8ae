"""Analysis of stored trials: importances (fANOVA) and Plotly figures.

Both work on a fresh in-memory Optuna study rebuilt from the stored trials, so they
read the metadata DB only (never the running driver's state) and use Optuna's own
evaluators and plots.
"""

from __future__ import annotations

import json
import math
import warnings
from typing import TYPE_CHECKING, Any

import optuna

from ..core import InvalidInput, did_you_mean
from ._records import optuna_study

if TYPE_CHECKING:
    from ._study import Study

FIGURES = ("history", "importances", "parallel", "slice", "contour", "pareto")
_cache: dict[tuple[str, str, int, int], dict[str, float]] = {}


def _finished_study(study: Study) -> optuna.Study:
    records = [t for t in study.trials() if t.state in ("complete", "pruned", "failed")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return optuna_study(records, study.space, study.directions)


def _metric_index(study: Study, metric: str | None) -> int:
    if metric is None:
        return 0
    if metric not in study.metrics:
        raise InvalidInput(
            f"study {study.name!r} has no metric {metric!r}; {did_you_mean(study.metrics)}"
        )
    return study.metrics.index(metric)


def importances(study: Study, metric: str | None = None) -> dict[str, float]:
    idx = _metric_index(study, metric)
    ost = _finished_study(study)
    complete = [
        t
        for t in ost.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if t.values and math.isfinite(t.values[idx])
    ]
    if len(complete) < 2:
        return {}
    key = (study.id, study.metrics[idx], len(complete), hash(tuple(t.number for t in complete)))
    if key in _cache:
        return dict(_cache[key])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = optuna.importance.get_param_importances(
                ost,
                evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0),
                target=lambda t: t.values[idx],
            )
        except (RuntimeError, ValueError):
            return {}  # e.g. no parameter shared by every trial
    out = {k: float(v) for k, v in result.items()}
    if len(_cache) > 256:
        _cache.clear()
    _cache[key] = out
    return dict(out)


def figure(study: Study, kind: str) -> dict[str, Any]:
    """A Plotly figure as a JSON-ready dict (``{"data": [...], "layout": {...}}``)."""
    if kind not in FIGURES:
        raise InvalidInput(f"unknown tuning plot {kind!r}: {did_you_mean(list(FIGURES))}")
    import optuna.visualization as vis

    ost = _finished_study(study)
    n_complete = len(ost.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    target: Any = None
    target_name = study.metric
    if study.multi_objective and kind != "pareto":

        def target(t: optuna.trial.FrozenTrial) -> float:
            return float(t.values[0])

    if n_complete == 0:
        return _empty(f"no complete trial yet: the {kind} plot appears after the first one")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if kind == "history":
                fig = vis.plot_optimization_history(ost, target=target, target_name=target_name)
            elif kind == "importances":
                imp = importances(study)
                if not imp:
                    return _empty("importances need at least two complete trials")
                names = list(imp)[::-1]
                return {
                    "data": [
                        {
                            "type": "bar",
                            "orientation": "h",
                            "x": [imp[n] for n in names],
                            "y": names,
                            "marker": {"color": "#3b6fd4"},
                        }
                    ],
                    "layout": {
                        "title": {"text": f"Parameter importances for {study.metric} (fANOVA)"},
                        "xaxis": {"title": {"text": "importance"}},
                        "margin": {"l": 160},
                    },
                }
            elif kind == "parallel":
                fig = vis.plot_parallel_coordinate(ost, target=target, target_name=target_name)
            elif kind == "slice":
                fig = vis.plot_slice(ost, target=target, target_name=target_name)
            elif kind == "contour":
                params = list(importances(study))[:2] or None
                if params is not None and len(params) < 2:
                    return _empty("a contour plot needs two numeric parameters")
                fig = vis.plot_contour(ost, params=params, target=target, target_name=target_name)
            else:
                if not study.multi_objective:
                    return _empty("the Pareto front needs a study with two metrics")
                fig = vis.plot_pareto_front(ost, target_names=study.metrics)
        except (ValueError, RuntimeError) as exc:
            return _empty(f"cannot draw the {kind} plot: {exc}")
    out: dict[str, Any] = json.loads(fig.to_json())
    # plotly.py's default template (automargin, title standoff) makes Plotly.js log
    # 'attribute y: Expected length, "-Infinity"' in fixed-height charts; the UI styles
    # its charts itself, so the figure goes without it (and ~8 KB lighter).
    out.get("layout", {}).pop("template", None)
    return out


def _empty(message: str) -> dict[str, Any]:
    return {
        "data": [],
        "layout": {
            "annotations": [
                {"text": message, "showarrow": False, "xref": "paper", "yref": "paper"}
            ],
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
        },
    }

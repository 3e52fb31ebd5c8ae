"""The trial as the objective sees it, and the function that runs one on an executor.

The objective is ``objective(params, trial)`` (or ``objective(params)``). It runs
wherever the executor puts it (this thread, a worker process, a Ray worker) and never
touches the metadata DB: ``trial.report`` and ``trial.log_metric`` send messages to
the driver through the executor's channel, the driver decides pruning and writes
everything. ``trial.should_prune()`` turns True once the driver asked the trial to stop.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

from ..compute import report as _send
from ..compute import should_stop as _stop_requested


class TrialPruned(Exception):
    """Raise inside an objective to end the trial as pruned (``trial.should_prune()``).

    ``optuna.TrialPruned`` is accepted as well.
    """


class Trial:
    """Handed to the objective: the trial's number and params, reporting, pruning."""

    def __init__(
        self,
        number: int,
        params: dict[str, Any],
        study: str,
        metrics: list[str],
        sink: Callable[[tuple[Any, ...]], bool] | None = None,
    ) -> None:
        self.number = number
        self.params = params
        self.study = study
        self.metric = metrics[0]
        self._metrics = metrics
        self._sink = sink
        self._pruned = False
        self.last_step: int | None = None
        self.last_value: float | None = None

    def _send(self, message: tuple[Any, ...]) -> bool:
        if self._sink is not None:
            return self._sink(message)
        _send(message)
        return False

    def report(self, value: float, step: int) -> None:
        """Report the metric at *step* (an epoch, an iteration): the pruner sees it."""
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise TypeError(f"trial.report: step must be an integer >= 0, got {step!r}")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"trial.report: the value of {self.metric!r} must be a number, got {value!r}"
            )
        self.last_step, self.last_value = int(step), float(value)
        if self._send(("report", int(step), float(value))):
            self._pruned = True

    def should_prune(self) -> bool:
        """True when the pruner decided to stop this trial; then ``raise TrialPruned()``."""
        if self._sink is None and _stop_requested():
            self._pruned = True
        return self._pruned

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Record another metric on the trial's run (not used for pruning)."""
        self._send(("metric", str(key), float(value), step))

    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach a JSON value to the trial (shown in ``tune show`` and the UI)."""
        self._send(("attr", str(key), value))

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, study={self.study!r}, params={self.params!r})"


def metric_values(
    result: Any, trial: Trial, metrics: list[str]
) -> tuple[list[float] | None, dict[str, float], str | None]:
    """Turn what the objective returned into the metric values.

    Returns ``(values, other_metrics, error)``: a float is the (single) metric; a dict
    must hold every metric; None falls back to the last reported value.
    """
    extra: dict[str, float] = {}
    if isinstance(result, Mapping):
        values = []
        for m in metrics:
            if m not in result:
                got = ", ".join(map(str, result)) or "nothing"
                return (
                    None,
                    {},
                    f"the objective returned a dict without the metric {m!r} (it returned "
                    f"{got}); return {{{m!r}: value}} or change the study's metric",
                )
            values.append(result[m])
        for k, v in result.items():
            if k not in metrics and isinstance(v, numbers.Real) and not isinstance(v, bool):
                extra[str(k)] = float(v)
    elif result is None:
        if len(metrics) == 1 and trial.last_value is not None:
            values = [trial.last_value]
        else:
            what = " and ".join(repr(m) for m in metrics)
            return (
                None,
                {},
                f"the objective returned None and never reported the metric {what}; "
                f"return it (return {{{metrics[0]!r}: value}}) or call "
                "trial.report(value, step)",
            )
    elif isinstance(result, list | tuple) and len(metrics) > 1:
        if len(result) != len(metrics):
            return None, {}, f"the objective returned {len(result)} values for metrics {metrics}"
        values = list(result)
    else:
        if len(metrics) > 1:
            return (
                None,
                {},
                f"the study optimizes {metrics}; return a dict with both metrics",
            )
        values = [result]
    out: list[float] = []
    for m, v in zip(metrics, values, strict=True):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            try:
                v = float(v)  # numpy scalars, 0-d tensors
            except (TypeError, ValueError):
                return None, {}, f"the metric {m!r} must be a number, got {v!r}"
        out.append(float(v))
    return out, extra, None


def execute_trial(
    objective: Callable[..., Any],
    params: dict[str, Any],
    info: dict[str, Any],
    sink: Callable[[tuple[Any, ...]], bool] | None = None,
) -> dict[str, Any]:
    """Run one trial (on the executor); return its outcome for the driver."""
    from optuna import TrialPruned as OptunaPruned

    trial = Trial(info["number"], params, info["study"], info["metrics"], sink)
    try:
        result = objective(params, trial) if info.get("pass_trial", True) else objective(params)
    except (TrialPruned, OptunaPruned):
        return {"state": "pruned", "step": trial.last_step}
    values, extra, error = metric_values(result, trial, info["metrics"])
    if error is not None:
        return {"state": "failed", "error": error}
    assert values is not None
    bad = [m for m, v in zip(info["metrics"], values, strict=True) if not math.isfinite(v)]
    if bad:
        return {
            "state": "failed",
            "error": f"the objective returned {values[info['metrics'].index(bad[0])]} for the "
            f"metric {bad[0]!r}; a trial needs a finite value, so it is marked failed and "
            "the study continues",
        }
    return {"state": "complete", "values": values, "metrics": extra}

"""Model tests: metrics, slices, behavioral tests, data and operational checks, gates.

>>> report = sy.evaluate("churn@3", test_df, target="churned",
...                      suite=sy.Suite(["auc >= 0.85", "min slice f1 >= 0.7"], slices=["plan"]))
>>> report.passed, report.metrics["auc"], report.flagged_slices
"""

from __future__ import annotations

from typing import Any

from ._behavioral import (
    BehavioralTest,
    Directional,
    Invariance,
    MinimumFunctionality,
    apply_perturbation,
)
from ._metrics import expected_calibration_error
from ._report import EvaluationReport
from ._service import Evaluations, GateResult
from ._suite import Check, Suite


def evaluate(
    model: Any,
    dataset: Any,
    target: str | None = None,
    task: str | None = None,
    suite: Any = None,
    *,
    ws: Any = None,
    **options: Any,
) -> EvaluationReport:
    """Evaluate a model version on a dataset and store the report with the version.

    *ws* defaults to the workspace the settings name (``./.shipyard``).
    """
    if ws is None:
        from .._workspace import Workspace

        ws = Workspace()
    return ws.evaluations.evaluate(model, dataset, target, task, suite, **options)


__all__ = [
    "BehavioralTest",
    "Check",
    "Directional",
    "EvaluationReport",
    "Evaluations",
    "GateResult",
    "Invariance",
    "MinimumFunctionality",
    "Suite",
    "apply_perturbation",
    "evaluate",
    "expected_calibration_error",
]

"""The evaluation report: what :func:`shipyard.evaluate` found, stored with the version."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class EvaluationReport:
    id: str
    model: str
    model_version_id: str
    dataset: dict[str, Any]
    target: str
    task: str
    metrics: dict[str, Any]
    slices: list[dict[str, Any]]
    behavioral: list[dict[str, Any]]
    data_checks: list[dict[str, Any]]
    operational: dict[str, Any]
    checks: list[dict[str, Any]]
    suite: dict[str, Any]
    created_at: datetime
    baselines: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c["passed"] for c in self.all_checks)

    @property
    def all_checks(self) -> list[dict[str, Any]]:
        """Every pass/fail item: declared checks, data checks and behavioral tests."""
        items = list(self.checks)
        items += [
            {
                "name": f"data: {d['name']}",
                "kind": "data",
                "passed": d["passed"],
                "value": d.get("value"),
                "message": d["message"],
            }
            for d in self.data_checks
        ]
        items += [
            {
                "name": f"{b['kind']}: {b['name']}",
                "kind": "behavioral",
                "passed": b["passed"],
                "value": b["failure_rate"],
                "message": f"{b['failures']} of {b['n']} cases failed",
            }
            for b in self.behavioral
        ]
        return items

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [c for c in self.all_checks if not c["passed"]]

    @property
    def flagged_slices(self) -> list[dict[str, Any]]:
        return [s for s in self.slices if s["flagged"]]

    def metric(self, name: str) -> Any:
        if name in self.metrics:
            return self.metrics[name]
        return self.operational.get(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "model_version_id": self.model_version_id,
            "dataset": self.dataset,
            "target": self.target,
            "task": self.task,
            "metrics": self.metrics,
            "slices": self.slices,
            "behavioral": self.behavioral,
            "data_checks": self.data_checks,
            "operational": self.operational,
            "checks": self.checks,
            "suite": self.suite,
            "baselines": self.baselines,
            "passed": self.passed,
            "created_at": self.created_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvaluationReport:
        return cls(
            id=d["id"],
            model=d["model"],
            model_version_id=d["model_version_id"],
            dataset=d["dataset"],
            target=d["target"],
            task=d["task"],
            metrics=d["metrics"],
            slices=d["slices"],
            behavioral=d["behavioral"],
            data_checks=d["data_checks"],
            operational=d["operational"],
            checks=d["checks"],
            suite=d["suite"],
            created_at=datetime.fromisoformat(d["created_at"]),
            baselines=d.get("baselines", {}),
        )

    def summary(self) -> str:
        lines = [
            f"Evaluation of {self.model} on {self.dataset['label']} ({self.task}, "
            f"{self.dataset['rows']} rows): {'PASSED' if self.passed else 'FAILED'}"
        ]
        shown = {k: v for k, v in self.metrics.items() if isinstance(v, (int, float))}
        lines.append("  metrics: " + ", ".join(f"{k}={v:.4g}" for k, v in shown.items()))
        for c in self.all_checks:
            lines.append(
                f"  {'✔' if c['passed'] else '✘ FAIL'} {c['name']}: {c.get('message', '')}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

"""Demo step: the churn data, validated and versioned; a drift report; a training split.

Generates the churn table for two periods (the second drifted), attaches a pandera
schema to the dataset, commits both periods as versions 1 and 2 of ``churn`` (each
validated, with column statistics), shows what drifted between them, splits version 1
into train / validation / test by customer id, and trains a quick baseline model on
the training split.

Run standalone with ``python examples/steps/data.py`` (a temporary workspace).
"""

from __future__ import annotations

import tempfile
from typing import Any


def run(ws: Any, console: Any) -> dict[str, Any]:
    from rich.table import Table
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from shipyard.data.synthetic import churn_schema, make_churn

    ws.datasets.set_schema("churn", churn_schema())
    v1 = ws.datasets.commit("churn", make_churn(5000, period=1, seed=0), message="period 1")
    v2 = ws.datasets.commit("churn", make_churn(5000, period=2, seed=0), message="period 2")
    console.print(f"committed {v1.ref} and {v2.ref} ({v2.row_count} rows, validated)")

    diff = ws.datasets.diff(v1, v2)
    table = Table(title=f"What moved between {v1.ref} and {v2.ref}")
    for column in ("column", "PSI", "mean"):
        table.add_column(column)
    drifted = sorted(
        (s for s in diff.shifts if s.psi is not None), key=lambda s: s.psi or 0, reverse=True
    )
    for s in drifted[:6]:
        mean = s.stats.get("mean")
        table.add_row(s.column, f"{s.psi:.3f}", f"{mean[0]:.3g} → {mean[1]:.3g}" if mean else "")
    console.print(table)

    parts = v1.split({"train": 0.8, "val": 0.1, "test": 0.1}, key="customer_id", seed=0)
    features = ["tenure_months", "monthly_charges", "support_tickets", "last_login_days"]
    train, test = parts["train"].to_pandas(), parts["test"].to_pandas()
    model = LogisticRegression(max_iter=1000).fit(train[features], train["churned"])
    auc = roc_auc_score(test["churned"], model.predict_proba(test[features])[:, 1])
    result = {
        "dataset": v2.ref,
        "rows_per_version": v1.row_count,
        "churn_rate_v1": round(float(v1.stats()["churned"].mean or 0), 3),
        "churn_rate_v2": round(float(v2.stats()["churned"].mean or 0), 3),
        "most_drifted": drifted[0].column if drifted else None,
        "psi_monthly_charges": next(
            (s.psi for s in diff.shifts if s.column == "monthly_charges"), None
        ),
        "splits": {k: v.row_count for k, v in parts.items()},
        "train_version": parts["train"].ref,
        "baseline_test_auc": round(float(auc), 3),
    }
    console.print(result)
    return result


if __name__ == "__main__":
    from rich.console import Console

    import shipyard as sy

    with tempfile.TemporaryDirectory() as home, sy.Workspace(home) as workspace:
        run(workspace, Console())

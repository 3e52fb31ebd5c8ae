"""Demo step: a churn training set through a feature service, then online lookups.

Commits customer activity (two quarterly snapshots) as a dataset version, defines the
feature view, an on-demand feature and the model's feature service, commits the labels
(outcomes observed one day after the first-quarter snapshot), times a point-in-time
correct join of them through the service (the training pipeline commits that training
set), materializes the latest values and fetches them online by customer id.

Run standalone with ``python examples/steps/features.py`` (a temporary workspace).
"""

from __future__ import annotations

import tempfile
import time
from datetime import timedelta
from typing import Any


def run(ws: Any, console: Any) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    import shipyard as sy
    from shipyard.data.synthetic import make_churn

    q1 = make_churn(2000, period=1, seed=7)
    q2 = make_churn(2000, period=2, seed=7)
    activity_cols = [
        "customer_id",
        "event_time",
        "tenure_months",
        "monthly_charges",
        "total_charges",
        "support_tickets",
        "last_login_days",
    ]
    activity = pd.concat([q1[activity_cols], q2[activity_cols]], ignore_index=True)
    ws.datasets.commit("customer-activity", activity, message="quarterly activity snapshots")

    customer = sy.Entity("customer", join_keys=["customer_id"], description="A subscriber")
    view = sy.FeatureView(
        "customer_activity",
        entities=[customer],
        source="customer-activity",
        features=[
            sy.Feature("tenure_months", "int64"),
            sy.Feature("monthly_charges", "float64"),
            sy.Feature("total_charges", "float64"),
            sy.Feature("support_tickets", "int64"),
            sy.Feature("last_login_days", "int64"),
        ],
        ttl=timedelta(days=365),
        description="Billing and engagement per customer",
    )
    ws.features.apply([customer, view])
    ratio = sy.OnDemandFeatureView(
        "billing_ratio",
        inputs=[
            "customer_activity:total_charges",
            "customer_activity:monthly_charges",
            "customer_activity:tenure_months",
        ],
        features=[sy.Feature("charges_per_month_ratio", "float64")],
        function=_charges_ratio,
    )
    service = sy.FeatureService(
        "churn_model",
        features=[view, ratio],
        description="Features of the churn classifier",
    )
    ws.features.apply([ratio, service])

    # Labels observed one day after each first-quarter snapshot, with what was known of
    # the customer at that time (their contract and payment method); the join adds the
    # service's features as of that moment.
    labels = pd.DataFrame(
        {
            "customer_id": q1["customer_id"],
            "event_timestamp": q1["event_time"] + pd.Timedelta(days=1),
            "contract": q1["contract"],
            "payment_method": q1["payment_method"],
            "churned": q1["churned"],
        }
    )
    labels_v = ws.datasets.commit("churn-labels", labels, message="churn outcomes, Q1")
    # The training pipeline (next step) joins these labels through the service and
    # commits the training set; here the join is only timed.
    t0 = time.perf_counter()
    training = ws.features.get_historical_features(labels, "churn_model")
    pit_s = time.perf_counter() - t0

    end = pd.Timestamp.now(tz="UTC").to_pydatetime()
    (mat,) = ws.features.materialize_incremental(end)
    some = [{"customer_id": c} for c in q2["customer_id"][:3]] + [{"customer_id": "C999999"}]
    online = ws.features.get_online_features("churn_model", some)
    samples = []
    for _ in range(500):
        t = time.perf_counter()
        ws.features.get_online_features("churn_model", some[:1])
        samples.append(time.perf_counter() - t)

    from rich.table import Table

    table = Table(title="online features of churn_model", header_style="bold")
    table.add_column("customer")
    for f in online.features:
        table.add_column(f)
    for ent, values, status in zip(online.entities, online.values, online.status, strict=True):
        table.add_row(
            str(ent["customer_id"]),
            *[
                f"{values[f]:.4g}"
                if isinstance(values[f], float)
                else str(values[f])
                if status[f] == "present"
                else f"[dim]{status[f]}[/]"
                for f in online.features
            ],
        )
    console.print(table)
    result = {
        "training_rows": training.num_rows,
        "labels": labels_v.ref,
        "features": len(online.features),
        "point_in_time_s": round(pit_s, 3),
        "materialized_entities": mat.entities,
        "online_p50_ms": round(float(np.percentile(samples, 50)) * 1000, 3),
        "online_store": ws.features.online_store_info()["backend"],
        "not_found": sum(1 for s in online.status if set(s.values()) == {"not_found"}),
    }
    console.print(result)
    return result


def _charges_ratio(c: dict[str, Any]) -> dict[str, Any]:
    """Billed total against monthly charges x tenure (1.0 = billed as expected)."""
    import numpy as np

    expected = c["monthly_charges"] * np.maximum(c["tenure_months"], 1)
    return {"charges_per_month_ratio": c["total_charges"] / expected}


if __name__ == "__main__":
    from rich.console import Console

    import shipyard as sy

    with tempfile.TemporaryDirectory() as home, sy.Workspace(home) as workspace:
        run(workspace, Console())

"""Synthetic tables, deterministic under a seed: for tests, demos and benchmarks.

* :func:`make_classification_table` / :func:`make_regression_table`: mixed numeric
  and categorical features, missing values, label noise and a controllable drift
  between two periods (``period=2`` shifts the columns named in ``drift``).
* :func:`make_churn`: a realistic customer-churn table with entity ids and event
  timestamps, reused by the feature store, monitoring and the end-to-end demo. Its
  columns (:data:`CHURN_COLUMNS`) are a stable interface.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..core import InvalidInput

__all__ = [
    "CHURN_COLUMNS",
    "CHURN_DRIFTED_COLUMNS",
    "CHURN_FEATURES",
    "churn_schema",
    "make_churn",
    "make_classification_table",
    "make_regression_table",
]


def _check_period(period: int) -> None:
    if period not in (1, 2):
        raise InvalidInput(f"period must be 1 or 2, got {period!r}")


def _features(
    n: int,
    n_numeric: int,
    n_categorical: int,
    n_levels: int,
    period: int,
    drift: Mapping[str, float] | None,
    missing_rate: float,
    seed: int,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Features and a latent linear score, drawn with fixed per-column parameters."""
    if n < 1:
        raise InvalidInput(f"n_samples must be >= 1, got {n}")
    if not 0 <= missing_rate < 1:
        raise InvalidInput(f"missing_rate must be in [0, 1), got {missing_rate}")
    params = np.random.default_rng(seed)  # the "world": same in both periods
    rng = np.random.default_rng([seed, period])  # the sample of this period
    numeric = [f"num_{i}" for i in range(n_numeric)]
    categorical = [f"cat_{i}" for i in range(n_categorical)]
    if drift is None:
        drift = {numeric[0]: 1.0} if numeric else {}
        if categorical:
            drift = {**drift, categorical[0]: 0.5}
    unknown = set(drift) - set(numeric) - set(categorical)
    if unknown:
        raise InvalidInput(
            f"cannot drift unknown column(s) {sorted(unknown)}; columns: "
            + ", ".join(numeric + categorical)
        )
    cols: dict[str, Any] = {}
    score = np.zeros(n)
    for c in numeric:
        mu, sigma, w = params.normal(0, 2), params.uniform(0.5, 3), params.normal(0, 1)
        shift = drift.get(c, 0.0) * sigma if period == 2 else 0.0
        x = rng.normal(mu + shift, sigma, n)
        score += w * (x - mu) / sigma
        cols[c] = x
    for c in categorical:
        levels = [f"{c}_{chr(97 + j)}" for j in range(n_levels)]
        p = params.dirichlet(np.full(n_levels, 2.0))
        effects = params.normal(0, 1, n_levels)
        if period == 2 and drift.get(c, 0.0):
            # move the given share of probability mass onto the rarest level
            s = min(max(drift[c], 0.0), 1.0)
            target = np.zeros(n_levels)
            target[int(np.argmin(p))] = 1.0
            p = (1 - s) * p + s * target
        idx = rng.choice(n_levels, n, p=p)
        score += effects[idx]
        cols[c] = np.asarray(levels, dtype=object)[idx]
    df = pd.DataFrame(cols)
    if missing_rate > 0:
        for c in df.columns:
            mask = rng.random(n) < missing_rate
            df.loc[mask, c] = np.nan if c in numeric else None
    return df, score


def make_classification_table(
    n_samples: int = 1000,
    *,
    n_numeric: int = 6,
    n_categorical: int = 3,
    n_levels: int = 4,
    n_classes: int = 2,
    missing_rate: float = 0.02,
    label_noise: float = 0.05,
    period: int = 1,
    drift: Mapping[str, float] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """A classification table: ``num_*`` (float), ``cat_*`` (string), target ``label`` (int).

    The label comes from a fixed linear score of the features (the same "world" in both
    periods) plus noise; a share *label_noise* of labels is then replaced at random.
    With ``period=2`` the columns in *drift* shift: numeric ones by ``drift[c]``
    standard deviations, categorical ones by moving that share of probability mass to
    their rarest level. Default drift: ``num_0`` by 1 sd and ``cat_0`` by 0.5.
    """
    _check_period(period)
    if n_classes < 2:
        raise InvalidInput(f"n_classes must be >= 2, got {n_classes}")
    df, score = _features(
        n_samples, n_numeric, n_categorical, n_levels, period, drift, missing_rate, seed
    )
    rng = np.random.default_rng([seed, period, 7])
    noisy = score + rng.normal(0, 0.5, n_samples)
    cuts = np.quantile(
        _features(4000, n_numeric, n_categorical, n_levels, 1, drift, 0.0, seed)[1],
        np.linspace(0, 1, n_classes + 1)[1:-1],
    )
    label = np.searchsorted(cuts, noisy)
    flip = rng.random(n_samples) < label_noise
    label[flip] = rng.integers(0, n_classes, int(flip.sum()))
    df["label"] = label.astype(np.int64)
    return df


def make_regression_table(
    n_samples: int = 1000,
    *,
    n_numeric: int = 6,
    n_categorical: int = 3,
    n_levels: int = 4,
    missing_rate: float = 0.02,
    noise: float = 0.1,
    period: int = 1,
    drift: Mapping[str, float] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """A regression table: ``num_*``, ``cat_*`` and target ``target`` (float).

    ``target = score + noise * N(0, 1)`` where the score is a fixed linear function of
    the features; *period* and *drift* work as in :func:`make_classification_table`.
    """
    _check_period(period)
    df, score = _features(
        n_samples, n_numeric, n_categorical, n_levels, period, drift, missing_rate, seed
    )
    rng = np.random.default_rng([seed, period, 11])
    df["target"] = score + noise * rng.normal(0, 1, n_samples)
    return df


# ------------------------------------------------------------------------------ churn
CHURN_COLUMNS: dict[str, str] = {
    "customer_id": "string, entity id 'C000000'…; the same customers appear in both periods",
    "event_time": "timestamp[us, UTC], when the row was observed (period 1: Jan-Mar 2026, "
    "period 2: Apr-Jun 2026)",
    "tenure_months": "int64, months since signup (0-72)",
    "monthly_charges": "float64, current monthly bill",
    "total_charges": "float64, billed so far (about 2% missing)",
    "support_tickets": "int64, tickets in the last 90 days",
    "last_login_days": "int64, days since the last login",
    "contract": "string: month-to-month | one-year | two-year",
    "payment_method": "string: electronic-check | credit-card | bank-transfer | mailed-check",
    "internet_service": "string: fiber | dsl | none",
    "region": "string: north | south | east | west",
    "is_senior": "bool",
    "churned": "int64 target: 1 if the customer left within 30 days after event_time",
}
"""The churn table's columns and their meaning (a stable interface)."""

CHURN_DRIFTED_COLUMNS = ("monthly_charges", "support_tickets", "contract", "payment_method")
"""Columns whose distribution shifts in period 2."""

CHURN_FEATURES = (
    "tenure_months",
    "monthly_charges",
    "support_tickets",
    "last_login_days",
    "contract",
    "payment_method",
    "internet_service",
    "region",
)
"""The columns a churn model takes: four numbers and four categories, known per customer."""

_CONTRACTS = ["month-to-month", "one-year", "two-year"]
_PAYMENTS = ["electronic-check", "credit-card", "bank-transfer", "mailed-check"]
_INTERNET = ["fiber", "dsl", "none"]
_REGIONS = ["north", "south", "east", "west"]


def make_churn(
    n_customers: int = 5000,
    period: int = 1,
    seed: int = 0,
    *,
    drift: float = 1.0,
) -> pd.DataFrame:
    """A customer-churn table, one row per customer per period.

    Period 2 observes the same customers three months later; with ``drift > 0`` (1.0
    by default) it shifts :data:`CHURN_DRIFTED_COLUMNS`: prices rise about 15%,
    support tickets rise, more customers are on month-to-month contracts and pay by
    electronic check, so the churn rate rises too. Columns: :data:`CHURN_COLUMNS`.
    """
    _check_period(period)
    if n_customers < 1:
        raise InvalidInput(f"n_customers must be >= 1, got {n_customers}")
    if drift < 0:
        raise InvalidInput(f"drift must be >= 0, got {drift}")
    n = n_customers
    base = np.random.default_rng(seed)  # customers' stable traits
    rng = np.random.default_rng([seed, period])
    d = drift if period == 2 else 0.0

    ids = np.array([f"C{i:06d}" for i in range(n)], dtype=object)
    tenure0 = base.integers(0, 70, n)
    tenure = np.minimum(tenure0 + (3 if period == 2 else 0), 72)
    senior = base.random(n) < 0.16
    region = np.asarray(_REGIONS, dtype=object)[base.choice(4, n, p=[0.3, 0.25, 0.25, 0.2])]
    internet = np.asarray(_INTERNET, dtype=object)[base.choice(3, n, p=[0.45, 0.35, 0.2])]

    p_contract = np.array([0.5, 0.27, 0.23])
    p_contract = (1 - 0.4 * d) * p_contract + 0.4 * d * np.array([1.0, 0.0, 0.0])
    contract_idx = rng.choice(3, n, p=p_contract / p_contract.sum())
    p_pay = np.array([0.33, 0.22, 0.22, 0.23])
    p_pay = (1 - 0.3 * d) * p_pay + 0.3 * d * np.array([1.0, 0.0, 0.0, 0.0])
    pay_idx = rng.choice(4, n, p=p_pay / p_pay.sum())

    service_base = np.select([internet == "fiber", internet == "dsl"], [80.0, 55.0], 25.0)
    monthly = service_base * (1 + 0.15 * d) + rng.normal(0, 8, n) + 5 * senior
    monthly = np.round(np.maximum(monthly, 10.0), 2)
    total = np.round(monthly * np.maximum(tenure, 1) * rng.uniform(0.9, 1.05, n), 2)
    tickets = rng.poisson(0.8 + 0.6 * d + 0.8 * (internet == "fiber"), n)
    last_login = np.minimum(rng.exponential(6 + 4 * d, n).astype(np.int64), 365)

    start = pd.Timestamp("2026-01-01", tz="UTC") + pd.DateOffset(months=3 * (period - 1))
    seconds = rng.integers(0, 90 * 86400, n)
    event_time = start + pd.to_timedelta(seconds, unit="s")

    logit = (
        -1.6
        + 1.3 * (contract_idx == 0)
        - 0.9 * (contract_idx == 2)
        + 0.5 * (pay_idx == 0)
        + 0.022 * (monthly - 60)
        - 0.035 * tenure
        + 0.35 * tickets
        + 0.03 * last_login
        + 0.3 * senior
        + 0.25 * (internet == "fiber")
    )
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    total_missing = rng.random(n) < 0.02

    df = pd.DataFrame(
        {
            "customer_id": pd.array(ids, dtype="str"),
            "event_time": pd.DatetimeIndex(event_time).as_unit("us"),
            "tenure_months": tenure.astype(np.int64),
            "monthly_charges": monthly,
            "total_charges": np.where(total_missing, np.nan, total),
            "support_tickets": tickets.astype(np.int64),
            "last_login_days": last_login,
            "contract": pd.array(np.asarray(_CONTRACTS, dtype=object)[contract_idx], dtype="str"),
            "payment_method": pd.array(np.asarray(_PAYMENTS, dtype=object)[pay_idx], dtype="str"),
            "internet_service": pd.array(internet, dtype="str"),
            "region": pd.array(region, dtype="str"),
            "is_senior": senior,
            "churned": churned,
        }
    )
    return df.sort_values("event_time", kind="stable").reset_index(drop=True)


def churn_schema() -> Any:
    """A pandera schema for :func:`make_churn` tables (types, ranges, allowed values)."""
    import pandera.pandas as pa

    return pa.DataFrameSchema(
        {
            "customer_id": pa.Column(str, pa.Check.str_matches(r"^C\d{6}$"), unique=True),
            "event_time": pa.Column("datetime64[us, UTC]"),
            "tenure_months": pa.Column("int64", pa.Check.in_range(0, 72)),
            "monthly_charges": pa.Column("float64", pa.Check.gt(0)),
            "total_charges": pa.Column("float64", pa.Check.ge(0), nullable=True),
            "support_tickets": pa.Column("int64", pa.Check.ge(0)),
            "last_login_days": pa.Column("int64", pa.Check.in_range(0, 365)),
            "contract": pa.Column(str, pa.Check.isin(_CONTRACTS)),
            "payment_method": pa.Column(str, pa.Check.isin(_PAYMENTS)),
            "internet_service": pa.Column(str, pa.Check.isin(_INTERNET)),
            "region": pa.Column(str, pa.Check.isin(_REGIONS)),
            "is_senior": pa.Column(bool),
            "churned": pa.Column("int64", pa.Check.isin([0, 1])),
        },
        strict=True,
    )

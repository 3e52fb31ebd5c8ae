"""The feature store: definitions, point-in-time training sets, materialization, online lookup.

>>> import shipyard as sy
>>> customer = sy.Entity("customer", join_keys=["customer_id"])
>>> stats = sy.FeatureView("customer_stats", entities=[customer], source="stats.parquet",
...                        features=[sy.Feature("tenure_days", "int64")])
>>> ws.features.apply([customer, stats])                                # doctest: +SKIP
"""

from ._definitions import (
    DTYPES,
    Entity,
    Feature,
    FeatureService,
    FeatureView,
    OnDemandFeatureView,
    load_definitions,
    on_demand,
)
from ._online import BACKENDS, OnlineStore, open_online_store
from ._registry import Applied, ServiceVersion, ViewVersion
from ._retrieval import NOT_FOUND, OUTSIDE_TTL, PRESENT, OnlineFeatures, TrainingSet
from ._service import FeatureStore, Materialization

__all__ = [
    "BACKENDS",
    "DTYPES",
    "NOT_FOUND",
    "OUTSIDE_TTL",
    "PRESENT",
    "Applied",
    "Entity",
    "Feature",
    "FeatureService",
    "FeatureStore",
    "FeatureView",
    "Materialization",
    "OnDemandFeatureView",
    "OnlineFeatures",
    "OnlineStore",
    "ServiceVersion",
    "TrainingSet",
    "ViewVersion",
    "load_definitions",
    "on_demand",
    "open_online_store",
]

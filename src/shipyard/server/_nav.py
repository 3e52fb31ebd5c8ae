"""The navigation of the web UI: every area of the product, in lifecycle order."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Area:
    key: str
    title: str
    path: str
    blurb: str


AREAS: tuple[Area, ...] = (
    Area("datasets", "Datasets", "/datasets", "Versioned data with statistics and lineage."),
    Area("labeling", "Labeling", "/labeling", "Labeling projects with quality control."),
    Area("features", "Features", "/features", "Feature views, offline and online."),
    Area("pipelines", "Pipelines", "/pipelines", "DAG workflows with caching and resume."),
    Area("experiments", "Experiments", "/experiments", "Tracked runs, metrics, artifacts."),
    Area("tuning", "Tuning", "/tuning", "Hyperparameter studies."),
    Area("models", "Models", "/models", "Registry, evaluations, promotion gates."),
    Area("deployments", "Deployments", "/deployments", "Model servers and traffic."),
    Area("monitoring", "Monitoring", "/monitoring", "Drift, health, alerts."),
)

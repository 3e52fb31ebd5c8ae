"""Where each kind of object lives in the UI, so lineage nodes become links."""

from __future__ import annotations

LINKS: dict[str, str] = {
    "dataset": "/datasets/{id}",
    "dataset_version": "/datasets/versions/{id}",
    "run": "/experiments/runs/{id}",
    "experiment": "/experiments/{id}",
    "pipeline_run": "/pipelines/runs/{id}",
    "step_run": "/pipelines/steps/{id}",
    "study": "/tuning/{id}",
    "model_version": "/models/versions/{id}",
    "model": "/models/{id}",
    "deployment": "/deployments/{id}",
    "monitor": "/monitoring/{id}",
    "feature_view": "/features/{id}",
    "feature_service": "/features/services/{id}",
    "labeling_project": "/labeling/{id}",
}


def object_url(kind: str, object_id: str) -> str:
    pattern = LINKS.get(kind)
    return pattern.format(id=object_id) if pattern else f"/lineage/{kind}:{object_id}"

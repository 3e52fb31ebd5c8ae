"""Where each kind of object lives in the UI, so lineage nodes become links."""

from __future__ import annotations

from typing import Any

from ..core import NotFound
from ..store import Node

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

RELATED_LIMIT = 30


def object_url(kind: str, object_id: str) -> str:
    pattern = LINKS.get(kind)
    return pattern.format(id=object_id) if pattern else f"/lineage/{kind}:{object_id}"


def related(ws: Any, kind: str, object_id: str, limit: int = RELATED_LIMIT) -> list[dict[str, Any]]:
    """The objects one lineage hop from ``kind:object_id``, as links for a page.

    Each row: direction (``from`` = upstream, ``to`` = downstream), relation, kind, label,
    url. A pipeline step in the list brings its pipeline run along, so a dataset version
    made by a step links to the run that made it. At most *limit* rows per direction.
    """
    me = Node(kind, object_id).key
    try:
        graph = ws.lineage.graph(me, depth=1)
    except NotFound:
        return []
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    counts = {"from": 0, "to": 0}

    def add(direction: str, relation: str, node: Node) -> None:
        if (direction, node.key) in seen or counts[direction] >= limit:
            return
        seen.add((direction, node.key))
        counts[direction] += 1
        rows.append(
            {
                "direction": direction,
                "relation": relation,
                "kind": node.kind,
                "label": node.label or node.id,
                "url": object_url(node.kind, node.id),
            }
        )

    for e in graph.edges:
        if me not in (e.src, e.dst) or e.src == e.dst:
            continue
        direction, other = ("from", e.src) if e.dst == me else ("to", e.dst)
        node = graph.nodes.get(other)
        if node is None:
            continue
        add(direction, e.relation, node)
        if node.kind == "step_run" and kind != "pipeline_run":
            run = _pipeline_run_of(ws, node.id)
            if run is not None:
                add(direction, "run of that step", run)
    return rows


def _pipeline_run_of(ws: Any, step_run_id: str) -> Node | None:
    try:
        run_id = ws.pipelines.step_run(step_run_id).run_id
        return ws.lineage.node(f"pipeline_run:{run_id}")
    except NotFound:
        return None

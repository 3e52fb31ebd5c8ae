"""Deployments: which server serves which model version, recorded in the metadata DB.

``ws.deployments`` lists them; each is a lineage node ``deployment`` linked from the
model version it serves (``deployed_as``). Deleting one forgets its lineage node, so
that the registry may delete the version afterwards.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..core import NotFound, new_id, utcnow
from ..store import Node
from .tables import serving_deployments as T


@dataclass(frozen=True)
class Deployment:
    id: str
    name: str
    ref: str
    model_name: str
    version: int | None
    version_id: str | None
    url: str | None
    host: str
    pid: int
    status: str
    options: dict[str, Any]
    started_at: datetime
    updated_at: datetime
    stopped_at: datetime | None

    @property
    def lineage_node(self) -> Node:
        return Node("deployment", self.id, self.name)

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k in ("started_at", "updated_at", "stopped_at"):
            if d[k] is not None:
                d[k] = d[k].isoformat()
        return d


def _row(r: Any) -> Deployment:
    return Deployment(**{c.name: r._mapping[c.name] for c in T.columns})


class Deployments:
    """``ws.deployments``: the model servers recorded in this workspace."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    def list(self, status: str | None = None) -> list[Deployment]:
        q = sa.select(T).order_by(T.c.started_at.desc())
        if status:
            q = q.where(T.c.status == status)
        with self.ws.db.read() as conn:
            return [_row(r) for r in conn.execute(q)]

    def get(self, id: str) -> Deployment:
        with self.ws.db.read() as conn:
            r = conn.execute(sa.select(T).where(T.c.id == id)).first()
        if r is None:
            raise NotFound(f"deployment {id!r} not found")
        return _row(r)

    def start(
        self,
        ref: str,
        mv: Any,
        url: str | None = None,
        name: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> Deployment:
        now = utcnow()
        dep_id = new_id()
        row = {
            "id": dep_id,
            "name": name or ref,
            "ref": ref,
            "model_name": mv.name,
            "version": mv.version,
            "version_id": mv.id,
            "url": url,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "status": "running",
            "options": options or {},
            "started_at": now,
            "updated_at": now,
            "stopped_at": None,
        }
        with self.ws.db.write() as conn:
            conn.execute(T.insert().values(**row))
        dep = self.get(dep_id)
        self.ws.lineage.created(dep.lineage_node)
        self.ws.lineage.record(mv.lineage_node, dep.lineage_node, "deployed_as")
        return dep

    def update_version(self, id: str, mv: Any) -> Deployment:
        with self.ws.db.write() as conn:
            conn.execute(
                T.update()
                .where(T.c.id == id)
                .values(version=mv.version, version_id=mv.id, updated_at=utcnow())
            )
        dep = self.get(id)
        self.ws.lineage.record(mv.lineage_node, dep.lineage_node, "deployed_as")
        return dep

    def stop(self, id: str) -> None:
        now = utcnow()
        with self.ws.db.write() as conn:
            conn.execute(
                T.update()
                .where(T.c.id == id)
                .values(status="stopped", stopped_at=now, updated_at=now)
            )

    def delete(self, id: str) -> None:
        dep = self.get(id)
        with self.ws.db.write() as conn:
            conn.execute(T.delete().where(T.c.id == id))
        self.ws.lineage.remove(dep.lineage_node)


def record_slot(server: Any, slot: Any, stopped: bool) -> None:
    """Keep the deployment row of one served model up to date (runs in a thread)."""
    deps = Deployments(server.ws)
    if stopped:
        if slot.deployment_id:
            deps.stop(slot.deployment_id)
        return
    cur = slot.current
    if cur is None:
        return
    if slot.deployment_id is None:
        name = f"{server.deployment}/{slot.name}" if server.deployment else slot.ref
        dep = deps.start(slot.ref, cur.mv, url=server.url, name=name)
        slot.deployment_id = dep.id
    else:
        deps.update_version(slot.deployment_id, cur.mv)

"""The lineage graph: one graph of every object Shipyard knows, from raw data to deployment.

Nodes are keyed ``"<kind>:<id>"`` (``dataset_version:01J…``, ``run:01J…``). Services
record an edge whenever one object is made from another; ``upstream`` answers "where
did this come from", ``downstream`` "what depends on this".
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..core import InvalidInput, NotFound, utcnow
from ._db import Database
from .tables import lineage_edges, lineage_nodes


@dataclass(frozen=True)
class Node:
    kind: str
    id: str
    label: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


@runtime_checkable
class HasLineage(Protocol):
    @property
    def lineage_node(self) -> Node: ...


NodeLike = Node | HasLineage | str


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    relation: str


@dataclass
class Graph:
    """Nodes and edges of a lineage query; ``to_dict`` is what the UI draws."""

    root: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    depth: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "nodes": [
                {
                    "key": n.key,
                    "kind": n.kind,
                    "id": n.id,
                    "label": n.label,
                    "depth": self.depth.get(n.key, 0),
                }
                for n in self.nodes.values()
            ],
            "edges": [{"src": e.src, "dst": e.dst, "relation": e.relation} for e in self.edges],
        }

    def keys(self, kind: str | None = None) -> list[str]:
        return [k for k, n in self.nodes.items() if kind is None or n.kind == kind]


Resolver = Callable[[str], Node]

_producer: contextvars.ContextVar[Node | None] = contextvars.ContextVar(
    "shipyard_lineage_producer", default=None
)


@contextlib.contextmanager
def producing(node: Node) -> Iterator[Node]:
    """While active, objects that services create are linked from *node*.

    A pipeline step runs its function inside ``producing(step_node)``; a run started or
    a dataset version committed inside it then gets the edge ``step → object``
    (relation ``created``) through :meth:`Lineage.created`.
    """
    token = _producer.set(node)
    try:
        yield node
    finally:
        _producer.reset(token)


def current_producer() -> Node | None:
    return _producer.get()


class Lineage:
    """Record and query lineage edges. Thread-safe; every call is one short transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._resolvers: dict[str, Resolver] = {}

    def register_resolver(self, kind: str, resolver: Resolver) -> None:
        """Let ``'<kind>:<ref>'`` strings (e.g. ``'model:churn@3'``) name nodes."""
        self._resolvers[kind] = resolver

    # ----------------------------------------------------------------- writing
    def node(self, obj: NodeLike) -> Node:
        if isinstance(obj, Node):
            return obj
        if isinstance(obj, HasLineage):
            return obj.lineage_node
        if isinstance(obj, str):
            kind, sep, rest = obj.partition(":")
            if not sep or not rest:
                raise InvalidInput(
                    f"cannot name a lineage object with {obj!r}: use '<kind>:<id>' "
                    "(e.g. 'run:01J…') or pass the object itself",
                    details={"ref": obj},
                )
            if kind in self._resolvers:
                try:
                    return self._resolvers[kind](rest)
                except NotFound:
                    pass  # maybe it is an id: fall through to the stored node
            with self._db.read() as conn:
                row = conn.execute(
                    sa.select(lineage_nodes).where(lineage_nodes.c.key == obj)
                ).first()
            if row is None:
                raise NotFound(
                    f"no object {obj!r} in the lineage graph; lineage keys look like '<kind>:<id>'",
                    details={"ref": obj},
                )
            return Node(row.kind, row.object_id, row.label)
        raise InvalidInput(f"cannot use {type(obj).__name__} as a lineage object")

    def add(self, *nodes: NodeLike, conn: sa.Connection | None = None) -> None:
        """Register nodes (idempotent; a later call may update the label)."""
        resolved = [self.node(n) for n in nodes]
        if not resolved:
            return
        now = utcnow()
        rows = [
            {
                "key": n.key,
                "kind": n.kind,
                "object_id": n.id,
                "label": n.label or n.id,
                "created_at": now,
            }
            for n in resolved
        ]
        if conn is not None:
            self._upsert_nodes(conn, rows)
        else:
            with self._db.write() as c:
                self._upsert_nodes(c, rows)

    def record(
        self, src: NodeLike, dst: NodeLike, relation: str, *, conn: sa.Connection | None = None
    ) -> Edge:
        """Record that *dst* was made from *src* (idempotent)."""
        return self.record_many([(src, dst, relation)], conn=conn)[0]

    def record_many(
        self, edges: Iterable[tuple[NodeLike, NodeLike, str]], *, conn: sa.Connection | None = None
    ) -> list[Edge]:
        triples = [(self.node(s), self.node(d), r) for s, d, r in edges]
        if not triples:
            return []
        for _, _, rel in triples:
            if not rel or len(rel) > 48:
                raise InvalidInput(f"invalid lineage relation {rel!r}: 1-48 characters")
        now = utcnow()
        node_rows = {
            n.key: {
                "key": n.key,
                "kind": n.kind,
                "object_id": n.id,
                "label": n.label or n.id,
                "created_at": now,
            }
            for s, d, _ in triples
            for n in (s, d)
        }
        edge_rows = [
            {"src": s.key, "dst": d.key, "relation": r, "created_at": now} for s, d, r in triples
        ]

        def _write(c: sa.Connection) -> None:
            self._upsert_nodes(c, list(node_rows.values()))
            ins = self._insert(lineage_edges).on_conflict_do_nothing(
                index_elements=["src", "dst", "relation"]
            )
            c.execute(ins, edge_rows)

        if conn is not None:
            _write(conn)
        else:
            with self._db.write() as c:
                _write(c)
        return [Edge(s.key, d.key, r) for s, d, r in triples]

    def _insert(self, table: sa.Table) -> Any:
        if self._db.backend == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def _upsert_nodes(self, conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
        # A node named only by its id (a bare reference) keeps the label it already has.
        ins = self._insert(lineage_nodes)
        label = sa.case(
            (ins.excluded.label == ins.excluded.object_id, lineage_nodes.c.label),
            else_=ins.excluded.label,
        )
        conn.execute(ins.on_conflict_do_update(index_elements=["key"], set_={"label": label}), rows)

    def created(self, obj: NodeLike, *, conn: sa.Connection | None = None) -> None:
        """Register a newly created object; link it from the active producer, if any.

        Services call this once for every object they create (run, dataset version,
        model version…), so that lineage knows the node and, inside a pipeline step,
        which step made it.
        """
        producer = current_producer()
        if producer is None:
            self.add(obj, conn=conn)
        else:
            self.record(producer, obj, "created", conn=conn)

    def remove(self, obj: NodeLike) -> None:
        """Forget a node and its edges (used when an object is deleted)."""
        key = self.node(obj).key
        with self._db.write() as conn:
            conn.execute(
                lineage_edges.delete().where(
                    sa.or_(lineage_edges.c.src == key, lineage_edges.c.dst == key)
                )
            )
            conn.execute(lineage_nodes.delete().where(lineage_nodes.c.key == key))

    # ----------------------------------------------------------------- reading
    def upstream(self, obj: NodeLike, depth: int | None = None) -> Graph:
        """Everything *obj* came from, up to *depth* hops (None: all)."""
        return self._walk(obj, depth, up=True, down=False)

    def downstream(self, obj: NodeLike, depth: int | None = None) -> Graph:
        """Everything made from *obj*, up to *depth* hops (None: all)."""
        return self._walk(obj, depth, up=False, down=True)

    def graph(self, obj: NodeLike, depth: int | None = 3) -> Graph:
        """Both directions around *obj* (the UI's lineage view)."""
        return self._walk(obj, depth, up=True, down=True)

    def _walk(self, obj: NodeLike, depth: int | None, *, up: bool, down: bool) -> Graph:
        if depth is not None and depth < 0:
            raise InvalidInput(f"lineage depth must be >= 0, got {depth}")
        root = self.node(obj)
        g = Graph(root=root.key)
        seen_edges: set[tuple[str, str, str]] = set()
        with self._db.read() as conn:
            stored = conn.execute(
                sa.select(lineage_nodes).where(lineage_nodes.c.key == root.key)
            ).first()
            if stored is not None:
                root = Node(stored.kind, stored.object_id, stored.label)
            g.nodes[root.key] = root
            g.depth[root.key] = 0
            for direction_up in [d for d, on in ((True, up), (False, down)) if on]:
                frontier = {root.key}
                level = 0
                visited = {root.key}
                while frontier and (depth is None or level < depth):
                    level += 1
                    near = lineage_edges.c.dst if direction_up else lineage_edges.c.src
                    nxt: set[str] = set()
                    for chunk in _chunks(sorted(frontier), 500):
                        rows = conn.execute(
                            sa.select(
                                lineage_edges.c.src, lineage_edges.c.dst, lineage_edges.c.relation
                            ).where(near.in_(chunk))
                        ).all()
                        for r in rows:
                            edge_key = (r.src, r.dst, r.relation)
                            if edge_key not in seen_edges:
                                seen_edges.add(edge_key)
                                g.edges.append(Edge(r.src, r.dst, r.relation))
                            other = r.src if direction_up else r.dst
                            if other not in visited:
                                visited.add(other)
                                nxt.add(other)
                                g.depth[other] = -level if direction_up else level
                    frontier = nxt
            missing = [k for k in g.depth if k not in g.nodes]
            for chunk in _chunks(missing, 500):
                for r in conn.execute(
                    sa.select(lineage_nodes).where(lineage_nodes.c.key.in_(chunk))
                ):
                    g.nodes[r.key] = Node(r.kind, r.object_id, r.label)
        return g

    def search(self, text: str, limit: int = 50) -> list[Node]:
        """Objects whose label contains *text* or whose id starts with it (case-insensitive)."""
        text = text.strip()
        if not text:
            return []
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        id_prefix = text.upper().replace("%", "").replace("_", "") + "%"
        with self._db.read() as conn:
            rows = conn.execute(
                sa.select(lineage_nodes)
                .where(
                    sa.or_(
                        sa.func.lower(lineage_nodes.c.label).like(pattern.lower(), escape="\\"),
                        lineage_nodes.c.object_id.like(id_prefix),
                    )
                )
                .order_by(lineage_nodes.c.created_at.desc())
                .limit(limit)
            ).all()
        return [Node(r.kind, r.object_id, r.label) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._db.read() as conn:
            rows = conn.execute(
                sa.select(lineage_nodes.c.kind, sa.func.count()).group_by(lineage_nodes.c.kind)
            ).all()
        return {k: int(n) for k, n in rows}


def _chunks(items: list[str], n: int) -> Iterable[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]

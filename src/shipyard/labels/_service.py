"""The labeling service ``ws.labels``: projects, annotators, assignment and submission.

Concurrency contract
--------------------
``next_task`` and ``submit`` are each one short write transaction. On SQLite the
transaction begins ``IMMEDIATE`` (writers queue); on PostgreSQL the candidate task is
locked with ``SELECT … FOR UPDATE SKIP LOCKED`` and claimed with a guarded ``UPDATE …
WHERE n_assigned < overlap``. Either way a regular task never has more than
``overlap`` annotators and an annotator never gets the same task twice (the
``(project, row, annotator)`` primary key of ``label_annotations`` enforces it too).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ..core import AlreadyExists, InvalidInput, new_id, utcnow, validate_name
from ..core import is_id as _is_id
from ..store import JSONType, UTCDateTime
from ._errors import (
    AnnotatorExcluded,
    AnnotatorNotFound,
    DuplicateAnnotation,
    ProjectNotFound,
    TaskNotAssigned,
    TaskNotFound,
)
from ._models import KINDS, ROLES, Annotator, Project, Task
from ._payloads import PayloadCache, guess_columns, jsonable_payload, to_arrow, write_payloads
from ._validate import normalize
from .tables import label_annotations, label_annotators, label_members, label_projects, label_tasks

T, A, M, P = label_tasks, label_annotations, label_members, label_projects
_BATCH = 20_000


class LabelsCore:
    """Projects, annotators, tasks and the annotate loop (see :class:`Labels`)."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self._db = ws.db
        self._payloads = PayloadCache(ws.blobs)
        self._lock = threading.Lock()
        self._project_ids: dict[str, str] = {}
        self._annotator_ids: dict[str, str] = {}
        self._static: dict[str, Project] = {}

    # ------------------------------------------------------------------ annotators
    def add_annotator(self, name: str, role: str = "annotator") -> Annotator:
        """Create an annotator account (roles: annotator, reviewer, manager)."""
        validate_name(name, "annotator")
        if role not in ROLES:
            raise InvalidInput(
                f"unknown role {role!r} for annotator {name!r}: use one of {', '.join(ROLES)}"
            )
        made = Annotator(new_id(), name, role, utcnow())
        row = made.to_dict() | {"created_at": made.created_at}
        with self._db.write() as conn:
            if conn.execute(
                sa.select(label_annotators.c.id).where(label_annotators.c.name == name)
            ).first():
                raise AlreadyExists(
                    f"annotator {name!r} exists already; pick another name or use it as is",
                    details={"annotator": name},
                )
            conn.execute(label_annotators.insert(), row)
        return made

    def ensure_annotator(self, name: str, role: str = "annotator") -> Annotator:
        try:
            return self.annotator(name)
        except AnnotatorNotFound:
            try:
                return self.add_annotator(name, role)
            except AlreadyExists:
                return self.annotator(name)

    def annotator(self, ref: str | Annotator) -> Annotator:
        if isinstance(ref, Annotator):
            return ref
        with self._db.read() as conn:
            row = conn.execute(
                sa.select(label_annotators).where(
                    sa.or_(label_annotators.c.name == ref, label_annotators.c.id == ref)
                )
            ).first()
        if row is None:
            raise AnnotatorNotFound(
                f"no annotator {ref!r}; add one with ws.labels.add_annotator({ref!r}) "
                f"({_known([a.name for a in self.annotators()])})",
                details={"annotator": ref},
            )
        return Annotator(row.id, row.name, row.role, row.created_at)

    def annotators(self) -> list[Annotator]:
        with self._db.read() as conn:
            rows = conn.execute(sa.select(label_annotators).order_by(label_annotators.c.name))
            return [Annotator(r.id, r.name, r.role, r.created_at) for r in rows]

    def _annotator_id(self, ref: str | Annotator) -> str:
        if isinstance(ref, Annotator):
            return ref.id
        aid = self._annotator_ids.get(ref)
        if aid is None:
            aid = self.annotator(ref).id
            self._annotator_ids[ref] = aid
        return aid

    # ------------------------------------------------------------------ projects
    def create_project(
        self,
        name: str,
        dataset: Any,
        *,
        kind: str = "classification",
        classes: list[str],
        instructions: str = "",
        overlap: int = 3,
        gold_fraction: float = 0.0,
        gold: Mapping[int, Any] | None = None,
        gold_column: str | None = None,
        text_column: str | None = None,
        image_column: str | None = None,
        min_gold_accuracy: float = 0.7,
        seed: int = 0,
    ) -> Project:
        """Create a project with one task per row of *dataset*.

        *dataset* is a dataset reference (``"reviews@2"``), a dataset version, or a
        DataFrame. Gold (honeypot) tasks come from *gold* (row → answer) or from the
        non-empty values of *gold_column*; ``gold_fraction`` of the tasks are drawn from
        them and mixed into every annotator's queue unannounced. Without known answers,
        ``gold_fraction`` reserves tasks as gold that go live once :meth:`set_gold`
        gives their answers.
        """
        validate_name(name, "labeling project")
        if kind not in KINDS:
            raise InvalidInput(
                f"unknown project kind {kind!r} for {name!r}: use one of {', '.join(KINDS)}",
                details={"kind": kind},
            )
        classes = _check_classes(classes, kind, name)
        if not isinstance(overlap, int) or isinstance(overlap, bool) or not 1 <= overlap <= 50:
            raise InvalidInput(
                f"overlap of project {name!r} must be an integer in 1..50, got {overlap!r}"
            )
        if not 0.0 <= float(gold_fraction) < 1.0:
            raise InvalidInput(
                f"gold_fraction of project {name!r} must be in [0, 1), got {gold_fraction!r}"
            )
        table, source, dataset_node = self._source_table(dataset)
        n = table.num_rows
        cols = guess_columns(table, kind)
        if text_column is not None:
            cols["text_column"] = text_column
        if image_column is not None:
            cols["image_column"] = image_column
        for key in ("text_column", "image_column"):
            col = cols[key]
            if col is not None and col not in table.column_names:
                raise InvalidInput(
                    f"{key} {col!r} is not a column of the tasks of {name!r}; "
                    f"columns: {', '.join(table.column_names)}"
                )
        if kind == "text_spans" and cols["text_column"] is None:
            raise InvalidInput(f"a text_spans project needs a text column; {name!r} has none")
        # gold answers
        answers: dict[int, Any] = {}
        if gold_column is not None:
            if gold_column not in table.column_names:
                raise InvalidInput(
                    f"gold_column {gold_column!r} is not a column of the tasks of {name!r}; "
                    f"columns: {', '.join(table.column_names)}"
                )
            for i, v in enumerate(table.column(gold_column).to_pylist()):
                if v is not None and not (isinstance(v, float) and np.isnan(v)):
                    answers[i] = v
        for r, v in (gold or {}).items():
            answers[int(r)] = v
        text_col = cols["text_column"]
        texts = table.column(text_col).to_pylist() if text_col else None
        rng = np.random.default_rng(seed)
        n_gold = round(gold_fraction * n)
        if gold is not None:
            gold_rows = sorted(answers)
        elif answers:
            pool = np.array(sorted(answers))
            gold_rows = sorted(
                rng.choice(pool, size=min(n_gold, len(pool)), replace=False).tolist()
            )
        else:
            gold_rows = sorted(rng.choice(n, size=n_gold, replace=False).tolist()) if n_gold else []
        gold_json: dict[int, Any] = {}
        for r in gold_rows:
            if not 0 <= r < n:
                raise InvalidInput(f"gold row {r} is outside the {n} tasks of project {name!r}")
            if r in answers:
                label, value = normalize(
                    kind, answers[r], classes, name, texts[r] if texts else None
                )
                gold_json[r] = label if value is None else value
        digest = write_payloads(self._ws.blobs, table)
        now = utcnow()
        pid = new_id()
        is_gold = np.zeros(n, dtype=bool)
        is_gold[gold_rows] = True
        order_key = np.arange(n, dtype=float)
        order_key[is_gold] = rng.uniform(0, n, size=int(is_gold.sum()))
        position = np.empty(n, dtype=np.int64)
        position[np.argsort(order_key, kind="stable")] = np.arange(n)
        proj = {
            "id": pid,
            "name": name,
            "kind": kind,
            "classes": classes,
            "instructions": instructions,
            "overlap": overlap,
            "gold_fraction": float(gold_fraction),
            "source": source,
            "payload_digest": digest,
            "config": {
                **cols,
                "min_gold_accuracy": float(min_gold_accuracy),
                "pre_annotate": False,
            },
            "n_tasks": n,
            "n_gold": len(gold_rows),
            "n_complete": 0,
            "n_annotations": 0,
            "queue_version": 0,
            "created_at": now,
        }
        with self._db.write() as conn:
            if conn.execute(sa.select(P.c.id).where(P.c.name == name)).first():
                raise AlreadyExists(
                    f"labeling project {name!r} exists already; choose another name",
                    details={"project": name},
                )
            conn.execute(P.insert(), proj)
            self._insert_tasks(conn, pid, n, position, is_gold, gold_json)
            node = Project(**proj).lineage_node
            self._ws.lineage.created(node, conn=conn)
            if dataset_node is not None:
                self._ws.lineage.record(dataset_node, node, "labeled_in", conn=conn)
        return Project(**proj)

    def _insert_tasks(
        self,
        conn: sa.Connection,
        pid: str,
        n: int,
        position: Any,
        is_gold: Any,
        gold_json: dict[int, Any],
    ) -> None:
        pos = position.tolist()
        gold_flags = is_gold.tolist()
        rows = [
            {
                "project_id": pid,
                "row": i,
                "position": pos[i],
                "is_open": (not gold_flags[i]) or (i in gold_json),
                "is_gold": gold_flags[i],
                "gold": gold_json.get(i),
                "n_assigned": 0,
                "n_done": 0,
                "prediction": None,
                "review_status": None,
                "review_note": None,
                "reviewed": None,
                "reviewer_id": None,
            }
            for i in range(n)
        ]
        if self._db.backend == "postgresql":
            _copy_tasks(conn, rows)
            return
        # SQLite: driver-level executemany of plain tuples (no per-row type processing)
        conn.exec_driver_sql(
            'INSERT INTO label_tasks (project_id, "row", position, is_open, is_gold, gold, '
            "n_assigned, n_done) VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
            [
                (
                    pid,
                    r["row"],
                    r["position"],
                    int(r["is_open"]),
                    int(r["is_gold"]),
                    None if r["gold"] is None else json.dumps(r["gold"]),
                )
                for r in rows
            ],
        )

    def _source_table(self, dataset: Any) -> tuple[Any, dict[str, Any], Any]:
        if isinstance(dataset, str):
            datasets = _service(self._ws, "datasets")
            if datasets is None:
                raise InvalidInput(
                    f"cannot resolve dataset reference {dataset!r}: this installation has no "
                    "dataset service; pass a pandas DataFrame instead"
                )
            dataset = datasets.get(dataset)
        if hasattr(dataset, "to_pandas") and hasattr(dataset, "lineage_node"):
            frame = dataset.to_pandas()
            source = {
                "type": "dataset",
                "dataset": getattr(dataset, "name", None),
                "version": getattr(dataset, "version", None),
                "version_id": getattr(dataset, "id", None),
            }
            return to_arrow(frame), source, dataset.lineage_node
        table = to_arrow(dataset)
        return table, {"type": "dataframe", "rows": table.num_rows}, None

    def project(self, ref: str | Project) -> Project:
        """A project by name or id (with fresh counters)."""
        if isinstance(ref, Project):
            ref = ref.id
        with self._db.read() as conn:
            row = conn.execute(
                sa.select(P).where(P.c.id == ref if _is_id(ref) else P.c.name == ref)
            ).first()
            if row is None and _is_id(ref):
                row = conn.execute(sa.select(P).where(P.c.name == ref)).first()
        if row is None:
            raise ProjectNotFound(
                f"no labeling project {ref!r} ({_known([p.name for p in self.projects()])}); "
                "create one with ws.labels.create_project(...)",
                details={"project": ref},
            )
        return Project(**row._asdict())

    def projects(self) -> list[Project]:
        with self._db.read() as conn:
            rows = conn.execute(sa.select(P).order_by(P.c.created_at.desc())).all()
        return [Project(**r._asdict()) for r in rows]

    def _static_project(self, ref: str | Project) -> Project:
        """The project's immutable fields, cached (counters may be stale)."""
        key = ref.id if isinstance(ref, Project) else ref
        pid = self._project_ids.get(key)
        if pid is not None:
            return self._static[pid]
        p = self.project(ref)
        with self._lock:
            self._static[p.id] = p
            self._project_ids[p.id] = p.id
            self._project_ids[p.name] = p.id
        return p

    def _forget(self, pid: str) -> None:
        with self._lock:
            self._static.pop(pid, None)
            for k in [k for k, v in self._project_ids.items() if v == pid]:
                del self._project_ids[k]

    # ------------------------------------------------------------------ tasks
    def payloads(self, project: str | Project) -> pd.DataFrame:
        """All task payloads as a DataFrame (row i is task i)."""
        p = self._static_project(project)
        return self._payloads.frame(p.payload_digest)

    def task(self, project: str | Project, row: int) -> Task:
        p = self._static_project(project)
        if not 0 <= row < p.n_tasks:
            raise TaskNotFound(
                f"labeling project {p.name!r} has no task {row}; rows are 0..{p.n_tasks - 1}",
                details={"project": p.name, "row": row},
            )
        payload, media = jsonable_payload(self._payloads.row(p.payload_digest, row))
        with self._db.read() as conn:
            pred = conn.execute(
                sa.select(T.c.prediction).where(T.c.project_id == p.id, T.c.row == row)
            ).scalar()
        return Task(p.id, row, payload, media, pred if p.config.get("pre_annotate") else None)

    def media(self, project: str | Project, row: int, column: str | None = None) -> bytes:
        """The binary payload (e.g. image bytes) of one task."""
        p = self._static_project(project)
        col = column or p.config.get("image_column")
        payload = self._payloads.row(p.payload_digest, self.task(p, row).row)
        value = payload.get(col) if col else None
        if not isinstance(value, bytes | bytearray):
            raise TaskNotFound(
                f"task {row} of project {p.name!r} has no binary column {col!r}",
                details={"project": p.name, "row": row, "column": col},
            )
        return bytes(value)

    def tasks(
        self, project: str | Project, *, offset: int = 0, limit: int = 50, status: str | None = None
    ) -> pd.DataFrame:
        """One page of tasks in queue order (for managers: shows gold and counts)."""
        p = self._static_project(project)
        q = sa.select(
            T.c.row, T.c.position, T.c.is_gold, T.c.n_assigned, T.c.n_done, T.c.review_status
        ).where(T.c.project_id == p.id)
        if status == "open":
            q = q.where(T.c.is_open == sa.true())
        elif status == "review":
            q = q.where(T.c.review_status == "pending")
        elif status is not None:
            raise InvalidInput(f"unknown task status filter {status!r}: use 'open' or 'review'")
        q = q.order_by(T.c.position).offset(max(0, offset)).limit(max(1, min(limit, 1000)))
        with self._db.read() as conn:
            rows = conn.execute(q).all()
        return pd.DataFrame(
            rows, columns=["row", "position", "is_gold", "n_assigned", "n_done", "review_status"]
        )

    def status(self, project: str | Project) -> dict[str, Any]:
        """Counters plus a breakdown of regular tasks: complete, in progress, not started."""
        p = self.project(project)
        regular = sa.and_(T.c.project_id == p.id, T.c.is_gold == sa.false())
        with self._db.read() as conn:
            started = conn.execute(
                sa.select(sa.func.count()).select_from(T).where(regular, T.c.n_done > 0)
            ).scalar_one()
            review = conn.execute(
                sa.select(sa.func.count())
                .select_from(T)
                .where(T.c.project_id == p.id, T.c.review_status == "pending")
            ).scalar_one()
            members = conn.execute(
                sa.select(sa.func.count()).select_from(M).where(M.c.project_id == p.id)
            ).scalar_one()
        return {
            **p.to_dict(),
            "complete": p.n_complete,
            "in_progress": int(started) - p.n_complete,
            "not_started": p.n_regular - int(started),
            "review_pending": int(review),
            "annotators": int(members),
        }

    def set_gold(self, project: str | Project, answers: Mapping[int, Any]) -> int:
        """Give (or change) known answers: those tasks become live gold tasks."""
        p = self._static_project(project)
        texts = self._texts(p)
        rows = []
        for r, v in answers.items():
            r = int(r)
            if not 0 <= r < p.n_tasks:
                raise TaskNotFound(f"labeling project {p.name!r} has no task {r}")
            label, value = normalize(p.kind, v, p.classes, p.name, texts[r] if texts else None)
            rows.append({"r": r, "g": label if value is None else value})
        with self._db.write() as conn:
            newly = conn.execute(
                sa.select(sa.func.count())
                .select_from(T)
                .where(
                    T.c.project_id == p.id,
                    T.c.row.in_([x["r"] for x in rows]),
                    T.c.is_gold == sa.false(),
                )
            ).scalar_one()
            for x in rows:
                conn.execute(
                    T.update()
                    .where(T.c.project_id == p.id, T.c.row == x["r"])
                    .values(is_gold=True, gold=x["g"], is_open=True)
                )
            conn.execute(P.update().where(P.c.id == p.id).values(n_gold=P.c.n_gold + newly))
        return len(rows)

    def _texts(self, p: Project) -> list[Any] | None:
        col = p.config.get("text_column")
        return self._payloads.columns(p.payload_digest).get(col) if col else None

    # ------------------------------------------------------------------ the annotate loop
    def next_task(self, project: str | Project, annotator: str | Annotator) -> Task | None:
        """The task this annotator should do next (None when nothing is left for them).

        Returns the annotator's unfinished task if there is one; otherwise claims the
        first open task in queue order that this annotator has not seen.
        """
        p = self._static_project(project)
        aid = self._annotator_id(annotator)
        now = utcnow()
        pg = self._db.backend == "postgresql"
        with self._db.write() as conn:
            # one round trip: project counters, the member row, an unfinished task
            pending_q = (
                sa.select(A.c.row)
                .where(A.c.project_id == p.id, A.c.annotator_id == aid, A.c.status == "assigned")
                .limit(1)
                .scalar_subquery()
            )
            head = conn.execute(
                sa.select(
                    P.c.queue_version,
                    P.c.n_tasks,
                    P.c.n_gold,
                    P.c.n_complete,
                    M.c.cursor,
                    M.c.queue_version.label("member_qv"),
                    M.c.excluded,
                    M.c.n_done,
                    pending_q.label("pending"),
                )
                .select_from(
                    P.outerjoin(M, sa.and_(M.c.project_id == P.c.id, M.c.annotator_id == aid))
                )
                .where(P.c.id == p.id)
            ).one()
            qv = head.queue_version
            regular = head.n_tasks - head.n_gold
            progress = {
                "n_tasks": regular,
                "n_complete": head.n_complete,
                "progress": round(head.n_complete / regular, 6) if regular else 1.0,
            }
            member = None if head.excluded is None else head
            if member is None:
                conn.execute(
                    M.insert(),
                    {
                        "project_id": p.id,
                        "annotator_id": aid,
                        "cursor": -1,
                        "queue_version": qv,
                        "n_done": 0,
                        "n_skipped": 0,
                        "gold_seen": 0,
                        "gold_correct": 0,
                        "excluded": False,
                        "joined_at": now,
                        "last_active_at": now,
                    },
                )
                cursor, done = -1, 0
            else:
                if member.excluded:
                    raise AnnotatorExcluded(
                        f"annotator {annotator!s} was excluded from labeling project {p.name!r} "
                        "and gets no more tasks; a manager can re-include them",
                        details={"project": p.name, "annotator": str(annotator)},
                    )
                cursor = member.cursor if member.member_qv == qv else -1
                done = member.n_done
            pending = head.pending
            if pending is not None:
                return self._served(p, int(pending), done, conn, progress)
            seen = sa.exists().where(
                A.c.project_id == T.c.project_id, A.c.row == T.c.row, A.c.annotator_id == aid
            )
            # After the cursor first, then from the start (tasks given back by skips or
            # exclusions). On PostgreSQL locked rows are skipped, so a last pass waits
            # for them: nobody is told "nothing left" while a task is only locked.
            attempts = [(cursor, True)] if cursor >= 0 else []
            attempts.append((-1, True))
            if pg:
                attempts.append((-1, False))
            if pg:
                for start, skip_locked in attempts:
                    got = conn.execute(
                        _PG_CLAIM_SKIP if skip_locked else _PG_CLAIM_WAIT,
                        {
                            "pid": p.id,
                            "aid": aid,
                            "start": start,
                            "overlap": p.overlap,
                            "qv": qv,
                            "now": now,
                        },
                    ).first()
                    if got is not None:
                        return self._served(p, int(got.row), done, conn, progress)
                    # none claimable, or the candidate filled up meanwhile: try the next pass
                return None
            for start, skip_locked in attempts:
                q = (
                    sa.select(T.c.row, T.c.position)
                    .where(
                        T.c.project_id == p.id,
                        T.c.is_open == sa.true(),
                        T.c.position > start,
                        ~seen,
                    )
                    .order_by(T.c.position)
                    .limit(1)
                )
                if pg:
                    q = q.with_for_update(skip_locked=skip_locked, of=T)
                while True:
                    cand = conn.execute(q).first()
                    if cand is None:
                        break
                    claimed = conn.execute(
                        T.update()
                        .where(
                            T.c.project_id == p.id,
                            T.c.row == cand.row,
                            sa.or_(T.c.is_gold == sa.true(), T.c.n_assigned < p.overlap),
                        )
                        .values(
                            n_assigned=T.c.n_assigned + 1,
                            is_open=sa.or_(
                                T.c.is_gold == sa.true(), T.c.n_assigned + 1 < p.overlap
                            ),
                        )
                    ).rowcount
                    if claimed:
                        break
                if cand is not None:
                    conn.execute(
                        A.insert(),
                        {
                            "project_id": p.id,
                            "row": cand.row,
                            "annotator_id": aid,
                            "status": "assigned",
                            "is_gold": False,
                            "label": None,
                            "value": None,
                            "assigned_at": now,
                            "submitted_at": None,
                            "duration_ms": None,
                        },
                    )
                    conn.execute(
                        M.update()
                        .where(M.c.project_id == p.id, M.c.annotator_id == aid)
                        .values(cursor=cand.position, queue_version=qv, last_active_at=now)
                    )
                    return self._served(p, int(cand.row), done, conn, progress)
        return None

    def _served(
        self, p: Project, row: int, done: int, conn: sa.Connection, progress: dict[str, Any]
    ) -> Task:
        payload, media = jsonable_payload(self._payloads.row(p.payload_digest, row))
        pred = None
        if p.config.get("pre_annotate"):
            pred = conn.execute(
                sa.select(T.c.prediction).where(T.c.project_id == p.id, T.c.row == row)
            ).scalar()
        return Task(p.id, row, payload, media, pred, done_by_me=done, progress=progress)

    def submit(
        self,
        project: str | Project,
        row: int,
        annotator: str | Annotator,
        label: Any = None,
        *,
        value: Any = None,
        duration_ms: int | None = None,
    ) -> dict[str, Any]:
        """Record the annotator's answer for an assigned task.

        *label* is a class name (or index) for classification, a list of class names
        for multilabel, a list of regions for spans and boxes (``value=`` works too).
        """
        p = self._static_project(project)
        aid = self._annotator_id(annotator)
        answer = value if value is not None else label
        texts = self._texts(p) if p.kind == "text_spans" else None
        if not 0 <= int(row) < p.n_tasks:
            raise TaskNotFound(f"labeling project {p.name!r} has no task {row}")
        label_idx, value_json = normalize(
            p.kind, answer, p.classes, p.name, texts[row] if texts else None
        )
        now = utcnow()
        pg = self._db.backend == "postgresql"
        with self._db.write() as conn:
            if pg:
                # one round trip: mark the assignment submitted and count it on the task
                task = conn.execute(
                    _PG_SUBMIT,
                    {
                        "pid": p.id,
                        "row": row,
                        "aid": aid,
                        "label": label_idx,
                        "value": value_json,
                        "now": now,
                        "dur": duration_ms,
                    },
                ).first()
                if task is None:
                    status = conn.execute(
                        sa.select(A.c.status).where(
                            A.c.project_id == p.id, A.c.row == row, A.c.annotator_id == aid
                        )
                    ).scalar()
                    self._check_assigned(p, row, annotator, status)
                    raise AssertionError("unreachable: the assignment was not updated")
            else:
                status = conn.execute(
                    sa.select(A.c.status).where(
                        A.c.project_id == p.id, A.c.row == row, A.c.annotator_id == aid
                    )
                ).scalar()
                self._check_assigned(p, row, annotator, status)
                task = conn.execute(
                    T.update()
                    .where(T.c.project_id == p.id, T.c.row == row)
                    .values(n_done=T.c.n_done + 1)
                    .returning(T.c.n_done, T.c.is_gold, T.c.gold)
                ).one()
                conn.execute(
                    A.update()
                    .where(A.c.project_id == p.id, A.c.row == row, A.c.annotator_id == aid)
                    .values(
                        status="submitted",
                        label=label_idx,
                        value=value_json,
                        submitted_at=now,
                        duration_ms=duration_ms,
                        is_gold=task.is_gold,
                    )
                )
            gold_seen = gold_correct = 0
            if task.is_gold and task.gold is not None:
                gold_seen = 1
                gold_correct = int(_gold_correct(p.kind, label_idx, value_json, task.gold))
            completes = (not task.is_gold) and task.n_done == p.overlap
            counters = {
                "pid": p.id,
                "aid": aid,
                "now": now,
                "gs": gold_seen,
                "gc": gold_correct,
                "c": int(completes),
            }
            if pg:
                conn.execute(_PG_COUNT, counters)
            else:
                conn.execute(
                    M.update()
                    .where(M.c.project_id == p.id, M.c.annotator_id == aid)
                    .values(
                        n_done=M.c.n_done + 1,
                        last_active_at=now,
                        gold_seen=M.c.gold_seen + gold_seen,
                        gold_correct=M.c.gold_correct + gold_correct,
                    )
                )
                conn.execute(
                    P.update()
                    .where(P.c.id == p.id)
                    .values(
                        n_annotations=P.c.n_annotations + 1,
                        n_complete=P.c.n_complete + int(completes),
                    )
                )
        return {"project_id": p.id, "row": row, "status": "submitted", "task_complete": completes}

    def _check_assigned(self, p: Project, row: int, annotator: Any, status: str | None) -> None:
        if status is None:
            raise TaskNotAssigned(
                f"task {row} of labeling project {p.name!r} is not assigned to annotator "
                f"{annotator!s}; get a task with next_task() and submit that one",
                details={"project": p.name, "row": row, "annotator": str(annotator)},
            )
        if status != "assigned":
            raise DuplicateAnnotation(
                f"annotator {annotator!s} already {status} task {row} of labeling project "
                f"{p.name!r}; each annotator answers a task once",
                details={"project": p.name, "row": row, "annotator": str(annotator)},
            )

    def skip(self, project: str | Project, row: int, annotator: str | Annotator) -> None:
        """Give the task back: another annotator gets it, this one never sees it again."""
        p = self._static_project(project)
        aid = self._annotator_id(annotator)
        with self._db.write() as conn:
            status = conn.execute(
                sa.select(A.c.status).where(
                    A.c.project_id == p.id, A.c.row == row, A.c.annotator_id == aid
                )
            ).scalar()
            self._check_assigned(p, row, annotator, status)
            conn.execute(
                A.update()
                .where(A.c.project_id == p.id, A.c.row == row, A.c.annotator_id == aid)
                .values(status="skipped", submitted_at=utcnow())
            )
            conn.execute(
                T.update()
                .where(T.c.project_id == p.id, T.c.row == row)
                .values(n_assigned=T.c.n_assigned - 1, is_open=True)
            )
            conn.execute(
                M.update()
                .where(M.c.project_id == p.id, M.c.annotator_id == aid)
                .values(n_skipped=M.c.n_skipped + 1)
            )


_PG_CLAIM = """
WITH cand AS (
    SELECT t."row", t."position" FROM label_tasks AS t
    WHERE t.project_id = :pid AND t.is_open AND t."position" > :start
      AND NOT EXISTS (
        SELECT 1 FROM label_annotations AS a
        WHERE a.project_id = t.project_id AND a."row" = t."row" AND a.annotator_id = :aid)
    ORDER BY t."position" LIMIT 1
    FOR UPDATE OF t {lock}
), upd AS (
    UPDATE label_tasks AS t
    SET n_assigned = t.n_assigned + 1, is_open = (t.is_gold OR t.n_assigned + 1 < :overlap)
    FROM cand
    WHERE t.project_id = :pid AND t."row" = cand."row"
      AND (t.is_gold OR t.n_assigned < :overlap)
    RETURNING t."row", cand."position"
), ins AS (
    INSERT INTO label_annotations (project_id, "row", annotator_id, status, is_gold, assigned_at)
    SELECT :pid, upd."row", :aid, 'assigned', false, :now FROM upd
    RETURNING "row"
), mem AS (
    UPDATE label_members
    SET "cursor" = upd."position", queue_version = :qv, last_active_at = :now
    FROM upd
    WHERE label_members.project_id = :pid AND label_members.annotator_id = :aid
    RETURNING 1
)
SELECT ins."row" FROM ins, (SELECT count(*) FROM mem) AS m
"""
# PostgreSQL claims a task in one round trip: lock a candidate (skipping rows other
# annotators hold, or waiting for them on the last pass), bump its count only while it
# is under the overlap, record the assignment and move the member's cursor.
_PG_CLAIM_SKIP = sa.text(_PG_CLAIM.format(lock="SKIP LOCKED")).bindparams(
    sa.bindparam("now", type_=UTCDateTime)
)
_PG_CLAIM_WAIT = sa.text(_PG_CLAIM.format(lock="")).bindparams(
    sa.bindparam("now", type_=UTCDateTime)
)


_PG_SUBMIT = sa.text("""
WITH a AS (
    UPDATE label_annotations
    SET status = 'submitted', label = :label, value = :value, submitted_at = :now,
        duration_ms = :dur,
        is_gold = (SELECT is_gold FROM label_tasks WHERE project_id = :pid AND "row" = :row)
    WHERE project_id = :pid AND "row" = :row AND annotator_id = :aid AND status = 'assigned'
    RETURNING "row"
)
UPDATE label_tasks AS t SET n_done = t.n_done + 1
FROM a
WHERE t.project_id = :pid AND t."row" = a."row"
RETURNING t.n_done, t.is_gold, t.gold
""").bindparams(
    sa.bindparam("now", type_=UTCDateTime),
    sa.bindparam("value", type_=JSONType),
)

_PG_COUNT = sa.text("""
WITH m AS (
    UPDATE label_members
    SET n_done = n_done + 1, last_active_at = :now, gold_seen = gold_seen + :gs,
        gold_correct = gold_correct + :gc
    WHERE project_id = :pid AND annotator_id = :aid
    RETURNING 1
)
UPDATE label_projects
SET n_annotations = n_annotations + 1, n_complete = n_complete + :c
WHERE id = :pid
""").bindparams(sa.bindparam("now", type_=UTCDateTime))


def _gold_correct(kind: str, label: int | None, value: Any, gold: Any) -> bool:
    if kind == "classification":
        return label == gold
    if kind == "multilabel":
        return sorted(value or []) == sorted(gold or [])
    from ._matching import IOU, match_score

    return match_score(value or [], gold or [], IOU[kind]) >= 0.5


def _check_classes(classes: Any, kind: str, name: str) -> list[str]:
    if isinstance(classes, str) or not isinstance(classes, list | tuple) or not classes:
        raise InvalidInput(
            f"classes of project {name!r} must be a non-empty list of names, got {classes!r}"
        )
    out = [str(c) for c in classes]
    if len(set(out)) != len(out) or any(not c.strip() for c in out):
        raise InvalidInput(f"classes of project {name!r} must be distinct, non-blank names: {out}")
    if kind in ("classification",) and len(out) < 2:
        raise InvalidInput(f"a classification project needs at least 2 classes; {name!r} has {out}")
    return out


def _known(names: list[str]) -> str:
    from ..core import did_you_mean

    return did_you_mean(names)


def _service(ws: Any, name: str) -> Any:
    """Another service of the workspace, or None where it is not installed."""
    try:
        return getattr(ws, name)
    except (AttributeError, ImportError):
        return None


def _copy_tasks(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL bulk load with COPY (an order of magnitude faster than INSERTs)."""
    raw = conn.connection.driver_connection
    cols_sql = 'project_id, "row", position, is_open, is_gold, gold, n_assigned, n_done'
    with (
        raw.cursor() as cur,  # type: ignore[union-attr]
        cur.copy(f"COPY label_tasks ({cols_sql}) FROM STDIN") as copy,
    ):
        for r in rows:
            copy.write_row(
                (
                    r["project_id"],
                    r["row"],
                    r["position"],
                    r["is_open"],
                    r["is_gold"],
                    None if r["gold"] is None else json.dumps(r["gold"]),
                    0,
                    0,
                )
            )

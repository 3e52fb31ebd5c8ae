"""Getting labels out (a new dataset version) and moving projects to/from Label Studio.

Label Studio's task JSON is a list of ``{"id", "data", "annotations", "predictions"}``;
each annotation has a ``result`` list of regions whose ``type`` is ``choices``
(classification, multi-label), ``labels`` (text spans, character offsets) or
``rectanglelabels`` (boxes, in percent of the image). Boxes are fractions of the image
in Shipyard, so coordinates are scaled by 100 on the way out and back.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import UTC
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from ..core import InvalidInput, utcnow
from ._assist import LabelsAssist
from ._models import LabelExport, Project
from ._service import _service
from ._validate import normalize
from .tables import label_annotations, label_members, label_projects, label_tasks

T, A, M, P = label_tasks, label_annotations, label_members, label_projects

_LS_TYPE = {
    "classification": "choices",
    "multilabel": "choices",
    "text_spans": "labels",
    "bounding_boxes": "rectanglelabels",
}


class Labels(LabelsAssist):
    """The labeling service (``ws.labels``).

    Projects and tasks (``create_project``, ``tasks``, ``set_gold``), annotators
    (``add_annotator``), the annotate loop (``next_task``, ``submit``, ``skip``),
    quality (``agreement``, ``quality``, ``flagged``, ``exclude``, ``timeline``), truth
    inference (``infer``, ``aggregate``), model assistance (``find_label_errors``,
    ``prioritize``), review (``send_to_review``, ``review_queue``, ``review``) and
    exchange (``export``, ``to_label_studio``, ``from_label_studio``).
    """

    # ------------------------------------------------------------------ export
    def export(
        self,
        project: str | Project,
        method: str | None = None,
        *,
        name: str | None = None,
        message: str | None = None,
        label_column: str = "label",
    ) -> LabelExport:
        """The payloads plus aggregated labels, committed as a new dataset version.

        Adds ``label`` (or *label_column*), ``label_confidence``, ``n_annotations`` and
        ``label_source``. With the dataset service the table is committed as a version
        of *name* (default: the source dataset's name, else the project's) with lineage
        ``project → version``; otherwise it is stored as a Parquet blob.
        """
        p = self._static_project(project)
        agg = self.aggregate(p, method)
        frame = self.payloads(p)
        labels = agg["label"]
        if p.kind in ("text_spans", "bounding_boxes"):
            labels = labels.map(lambda v: None if v is None else json.dumps(v))
        frame[label_column] = labels.to_numpy()
        frame["label_confidence"] = agg["confidence"].to_numpy()
        frame["n_annotations"] = agg["n_annotations"].to_numpy()
        frame["label_source"] = agg["label_source"].astype(str).to_numpy()
        used = method or ("medoid" if p.kind in ("text_spans", "bounding_boxes") else "dawid_skene")
        table = pa.Table.from_pandas(frame, preserve_index=False)
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd")
        digest = self._ws.blobs.put_bytes(buf.getvalue())
        version = None
        datasets = _service(self._ws, "datasets")
        if datasets is not None:
            target = name or p.source.get("dataset") or p.name
            version = datasets.commit(
                target, frame, message=message or f"labels from project {p.name} ({used})"
            )
            self._ws.lineage.record(p.lineage_node, version.lineage_node, "exported")
        return LabelExport(p.name, used, frame, digest, version)

    # ------------------------------------------------------------------ Label Studio
    def to_label_studio(self, project: str | Project) -> list[dict[str, Any]]:
        """The project as Label Studio task JSON (payloads, annotations, predictions)."""
        p = self._static_project(project)
        frame = self.payloads(p)
        ann = self.annotations(p, include_gold=True)
        with self._db.read() as conn:
            preds = dict(
                conn.execute(
                    sa.select(T.c.row, T.c.prediction).where(
                        T.c.project_id == p.id, T.c.prediction.is_not(None)
                    )
                ).all()
            )
        users = {n: i + 1 for i, n in enumerate(sorted(ann["annotator"].unique()))}
        to_name = "image" if p.kind == "bounding_boxes" else "text"
        by_row: dict[int, list[dict[str, Any]]] = {}
        for rec in ann.itertuples(index=False):
            by_row.setdefault(int(rec.row), []).append(
                {
                    "id": len(by_row.get(int(rec.row), [])) + 1,
                    "completed_by": users[rec.annotator],
                    "created_username": rec.annotator,
                    "created_at": rec.submitted_at.isoformat() if rec.submitted_at else None,
                    "lead_time": (rec.duration_ms or 0) / 1000.0,
                    "was_cancelled": False,
                    "result": _ls_result(p.kind, rec.label, to_name),
                }
            )
        records = frame.to_dict(orient="records")
        tasks = []
        for i, data in enumerate(records):
            clean = {k: v for k, v in data.items() if not isinstance(v, bytes | bytearray)}
            task: dict[str, Any] = {
                "id": i + 1,
                "data": _jsonable(clean),
                "annotations": by_row.get(i, []),
            }
            if preds.get(i):
                task["predictions"] = [
                    {
                        "model_version": "shipyard",
                        "score": preds[i].get("confidence"),
                        "result": _ls_result(p.kind, preds[i].get("label"), to_name),
                    }
                ]
            tasks.append(task)
        return tasks

    def from_label_studio(
        self,
        name: str,
        tasks: Sequence[dict[str, Any]] | str | bytes,
        *,
        kind: str | None = None,
        classes: list[str] | None = None,
        overlap: int | None = None,
        instructions: str = "",
    ) -> Project:
        """Create a project from Label Studio task JSON, annotations included."""
        if isinstance(tasks, str | bytes):
            try:
                tasks = json.loads(tasks)
            except ValueError as exc:
                raise InvalidInput(f"not valid Label Studio JSON: {exc}") from None
        if not isinstance(tasks, list) or not tasks:
            raise InvalidInput("Label Studio JSON must be a non-empty list of tasks")
        parsed: list[list[tuple[str, Any]]] = []
        seen_types: set[str] = set()
        seen_labels: list[str] = []
        data_rows = []
        for t in tasks:
            if not isinstance(t, dict) or not isinstance(t.get("data"), dict):
                raise InvalidInput(
                    f"every Label Studio task needs a 'data' object; got {str(t)[:80]!r}"
                )
            data_rows.append(t["data"])
            mine = []
            for a in t.get("annotations") or []:
                if a.get("was_cancelled"):
                    continue
                who = a.get("created_username") or f"ls-user-{a.get('completed_by', 'unknown')}"
                who = _safe_name(str(who).split(",")[0].strip())
                regions, types = _from_ls_result(a.get("result") or [])
                seen_types |= types
                for v in regions:
                    for lab in v["labels"]:
                        if lab not in seen_labels:
                            seen_labels.append(lab)
                mine.append((who, regions))
            parsed.append(mine)
        if kind is None:
            if "labels" in seen_types:
                kind = "text_spans"
            elif "rectanglelabels" in seen_types:
                kind = "bounding_boxes"
            elif any(len(r) == 1 and len(r[0]["labels"]) > 1 for m in parsed for _, r in m):
                kind = "multilabel"
            else:
                kind = "classification"
        classes = classes or sorted(seen_labels)
        if overlap is None:
            overlap = max([len(m) for m in parsed] + [1])
        frame = pd.DataFrame(data_rows)
        project = self.create_project(
            name, frame, kind=kind, classes=classes, instructions=instructions, overlap=overlap
        )
        records = []
        for row, mine in enumerate(parsed):
            for who, regions in mine:
                records.append({"row": row, "annotator": who, "label": _to_value(kind, regions)})
        if records:
            self.import_annotations(project, pd.DataFrame(records))
        return self.project(project.id)

    def import_annotations(self, project: str | Project, records: pd.DataFrame) -> int:
        """Bulk-load finished annotations (``row, annotator, label``), e.g. from another
        tool; annotators are created as needed. All rows are validated first."""
        p = self._static_project(project)
        need = {"row", "annotator", "label"}
        if not need <= set(records.columns):
            raise InvalidInput(
                f"annotations need columns {sorted(need)}, got {list(records.columns)}"
            )
        texts = self._texts(p)
        gold = self._gold(p)
        now = utcnow()
        row_arr = pd.to_numeric(records["row"], errors="coerce")
        bad = row_arr.isna() | (row_arr < 0) | (row_arr >= p.n_tasks)
        if bad.any():
            r = records["row"][bad].iloc[0]
            raise InvalidInput(f"row {r!r} is not a task of labeling project {p.name!r}")
        dup = records.duplicated(["row", "annotator"])
        if dup.any():
            first = records[dup].iloc[0]
            raise InvalidInput(
                f"annotator {first['annotator']!r} labels task {first['row']} twice; "
                "each annotator answers a task once"
            )
        rows_int = row_arr.astype(np.int64).tolist()
        if p.kind == "classification":
            index = {c: i for i, c in enumerate(p.classes)}
            mapped = records["label"].map(index)
            if mapped.isna().any():
                normalize(p.kind, records["label"][mapped.isna()].iloc[0], p.classes, p.name)
            labels: list[Any] = mapped.astype(np.int64).tolist()
            values: list[Any] = [None] * len(records)
        else:
            labels, values = [], []
            for r, v in zip(rows_int, records["label"].tolist(), strict=True):
                _, val = normalize(p.kind, v, p.classes, p.name, texts[r] if texts else None)
                labels.append(None)
                values.append(val)
        ids = {n: self.ensure_annotator(n).id for n in records["annotator"].unique()}
        who = records["annotator"].map(ids).tolist()
        rows = [
            {
                "project_id": p.id,
                "row": r,
                "annotator_id": a,
                "status": "submitted",
                "is_gold": r in gold,
                "label": lab,
                "value": val,
                "assigned_at": now,
                "submitted_at": now,
                "duration_ms": None,
            }
            for r, a, lab, val in zip(rows_int, who, labels, values, strict=True)
        ]
        per_annotator = pd.Series(who).value_counts().to_dict()
        with self._db.write() as conn:
            _insert_annotations(conn, rows)
            for aid in ids.values():
                n = int(per_annotator.get(aid, 0))
                exists = conn.execute(
                    sa.select(M.c.n_done).where(M.c.project_id == p.id, M.c.annotator_id == aid)
                ).first()
                if exists is None:
                    conn.execute(
                        M.insert(),
                        {
                            "project_id": p.id,
                            "annotator_id": aid,
                            "cursor": -1,
                            "queue_version": -1,
                            "n_done": n,
                            "n_skipped": 0,
                            "gold_seen": 0,
                            "gold_correct": 0,
                            "excluded": False,
                            "joined_at": now,
                            "last_active_at": now,
                        },
                    )
                else:
                    conn.execute(
                        M.update()
                        .where(M.c.project_id == p.id, M.c.annotator_id == aid)
                        .values(n_done=M.c.n_done + n)
                    )
            _add_task_counts(conn, p.id, pd.Series(rows_int).value_counts().to_dict())
            conn.execute(
                T.update()
                .where(
                    T.c.project_id == p.id, T.c.is_gold == sa.false(), T.c.n_assigned >= p.overlap
                )
                .values(is_open=False)
            )
            complete = conn.execute(
                sa.select(sa.func.count())
                .select_from(T)
                .where(T.c.project_id == p.id, T.c.is_gold == sa.false(), T.c.n_done >= p.overlap)
            ).scalar_one()
            conn.execute(
                P.update()
                .where(P.c.id == p.id)
                .values(n_annotations=P.c.n_annotations + len(rows), n_complete=complete)
            )
        return len(rows)


def _insert_annotations(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Insert many annotation rows fast: driver-level executemany / COPY."""
    cols = [
        "project_id",
        "row",
        "annotator_id",
        "status",
        "is_gold",
        "label",
        "value",
        "assigned_at",
        "submitted_at",
        "duration_ms",
    ]
    dialect = conn.dialect.name
    if dialect == "postgresql":
        raw = conn.connection.driver_connection
        names = ", ".join(f'"{c}"' for c in cols)
        with (
            raw.cursor() as cur,  # type: ignore[union-attr]
            cur.copy(f"COPY label_annotations ({names}) FROM STDIN") as copy,
        ):
            for r in rows:
                v = r["value"]
                copy.write_row(
                    [(None if v is None else json.dumps(v)) if c == "value" else r[c] for c in cols]
                )
        return

    stamps: dict[Any, str] = {}

    def stamp(v: Any) -> str | None:
        if v is None:
            return None
        if v not in stamps:
            naive = v.astimezone(UTC).replace(tzinfo=None)
            stamps[v] = naive.isoformat(sep=" ", timespec="microseconds")
        return stamps[v]

    def conv(r: dict[str, Any]) -> tuple[Any, ...]:
        v = r["value"]
        return (
            r["project_id"],
            r["row"],
            r["annotator_id"],
            r["status"],
            int(bool(r["is_gold"])),
            r["label"],
            None if v is None else json.dumps(v),
            stamp(r["assigned_at"]),
            stamp(r["submitted_at"]),
            r["duration_ms"],
        )

    sql = f"INSERT INTO label_annotations ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    conn.exec_driver_sql(sql, [conv(r) for r in rows])


def _add_task_counts(conn: sa.Connection, pid: str, per_row: dict[int, int]) -> None:
    """Add annotation counts to many tasks in one driver-level statement."""
    if not per_row:
        return
    rows = [int(r) for r in per_row]
    ks = [int(k) for k in per_row.values()]
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "UPDATE label_tasks AS t SET n_assigned = t.n_assigned + v.k, n_done = t.n_done + v.k "
            "FROM (SELECT unnest(%(r)s::int[]) AS r, unnest(%(k)s::int[]) AS k) AS v "
            'WHERE t.project_id = %(pid)s AND t."row" = v.r',
            {"r": rows, "k": ks, "pid": pid},
        )
        return
    conn.exec_driver_sql(
        "UPDATE label_tasks SET n_assigned = n_assigned + ?, n_done = n_done + ? "
        'WHERE project_id = ? AND "row" = ?',
        [(k, k, pid, r) for r, k in zip(rows, ks, strict=True)],
    )


def _safe_name(text: str) -> str:
    import re

    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "annotator"
    return name[:128] if name[0].isalnum() else f"u{name}"[:128]


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not np.isfinite(v):
            v = None
        out[k] = v if isinstance(v, str | int | float | bool | list | dict) or v is None else str(v)
    return out


def _ls_result(kind: str, label: Any, to_name: str) -> list[dict[str, Any]]:
    t = _LS_TYPE[kind]
    base = {"from_name": "label", "to_name": to_name, "type": t}
    if label is None:
        return []
    if kind == "classification":
        return [{**base, "value": {"choices": [label]}}]
    if kind == "multilabel":
        return [{**base, "value": {"choices": list(label)}}]
    out = []
    for i, reg in enumerate(label):
        if kind == "text_spans":
            value = {
                "start": reg["start"],
                "end": reg["end"],
                "text": reg.get("text", ""),
                "labels": [reg["label"]],
            }
        else:
            value = {
                "x": reg["x"] * 100,
                "y": reg["y"] * 100,
                "width": reg["w"] * 100,
                "height": reg["h"] * 100,
                "rotation": 0,
                "rectanglelabels": [reg["label"]],
            }
        out.append({**base, "id": f"r{i}", "value": value})
    return out


def _from_ls_result(result: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], set[str]]:
    regions = []
    types = set()
    for r in result:
        t = r.get("type")
        v = r.get("value") or {}
        types.add(str(t))
        if t == "choices":
            regions.append({"type": t, "labels": list(v.get("choices") or [])})
        elif t == "labels":
            regions.append(
                {
                    "type": t,
                    "labels": list(v.get("labels") or []),
                    "start": v.get("start"),
                    "end": v.get("end"),
                }
            )
        elif t == "rectanglelabels":
            regions.append(
                {
                    "type": t,
                    "labels": list(v.get("rectanglelabels") or []),
                    "x": v.get("x", 0) / 100,
                    "y": v.get("y", 0) / 100,
                    "w": v.get("width", 0) / 100,
                    "h": v.get("height", 0) / 100,
                }
            )
        else:
            raise InvalidInput(
                f"unsupported Label Studio result type {t!r}: Shipyard imports choices, "
                "labels (text spans) and rectanglelabels (boxes)"
            )
    return regions, types


def _to_value(kind: str, regions: list[dict[str, Any]]) -> Any:
    if kind == "classification":
        labels = [lab for r in regions for lab in r["labels"]]
        return labels[0] if labels else None
    if kind == "multilabel":
        return [lab for r in regions for lab in r["labels"]]
    if kind == "text_spans":
        return [{"start": r["start"], "end": r["end"], "label": r["labels"][0]} for r in regions]
    return [
        {"x": r["x"], "y": r["y"], "w": r["w"], "h": r["h"], "label": r["labels"][0]}
        for r in regions
    ]

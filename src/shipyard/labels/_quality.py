"""Quality control and truth inference over a project's stored annotations."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ..core import InvalidInput, utcnow
from ._agreement import AgreementReport, agreement_report, count_matrix, krippendorff_alpha
from ._errors import NotAllowed
from ._inference import Aggregate, aggregate, majority_vote
from ._matching import match_agreement, medoid
from ._models import Annotator, Project
from ._service import LabelsCore
from .tables import label_annotations, label_annotators, label_members, label_projects, label_tasks

T, A, M, P, N = label_tasks, label_annotations, label_members, label_projects, label_annotators
CLASS_METHODS = ("majority", "weighted_majority", "dawid_skene")
REGION_METHODS = ("medoid",)


@dataclass
class Ratings:
    """A project's submitted classification ratings as aligned arrays."""

    row: np.ndarray[Any, Any]
    rater: np.ndarray[Any, Any]
    label: np.ndarray[Any, Any]
    is_gold: np.ndarray[Any, Any]
    rater_ids: list[str]
    rater_names: list[str]
    values: list[Any] | None = None


class LabelsQuality(LabelsCore):
    # ------------------------------------------------------------------ reading
    def _excluded(self, p: Project) -> set[str]:
        with self._db.read() as conn:
            return set(
                conn.execute(
                    sa.select(M.c.annotator_id).where(
                        M.c.project_id == p.id, M.c.excluded == sa.true()
                    )
                ).scalars()
            )

    def _names(self) -> dict[str, str]:
        with self._db.read() as conn:
            return dict(conn.execute(sa.select(N.c.id, N.c.name)).all())

    def _ratings(
        self, p: Project, *, include_gold: bool = True, include_excluded: bool = False
    ) -> Ratings:
        """Submitted ratings as arrays.

        Classification ratings are read per annotator through the
        ``(project, annotator, status)`` index as bare integers on the driver cursor,
        so 300,000 ratings load in a fraction of a second (no per-row objects).
        """
        names = self._names()
        with self._db.read() as conn:
            members = conn.execute(
                sa.select(M.c.annotator_id, M.c.excluded).where(M.c.project_id == p.id)
            ).all()
            ids = sorted(
                (a for a, ex in members if include_excluded or not ex),
                key=lambda i: names.get(i, i),
            )
            if p.kind == "classification":
                parts = [_int_rows(conn, p.id, a) for a in ids]
            else:
                q = sa.select(A.c.row, A.c.annotator_id, A.c.is_gold, A.c.value).where(
                    A.c.project_id == p.id, A.c.status == "submitted"
                )
                rows = conn.execute(q).all()
        if p.kind == "classification":
            sizes = [len(x) for x in parts]
            flat = np.concatenate(parts) if parts else np.zeros((0, 3), dtype=np.int64)
            row, label, gold = flat[:, 0], flat[:, 1], flat[:, 2].astype(bool)
            rater = np.repeat(np.arange(len(ids), dtype=np.int64), sizes)
            values = None
        else:
            index = {a: i for i, a in enumerate(ids)}
            rows = [r for r in rows if r[1] in index]
            n = len(rows)
            row = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
            rater = np.fromiter((index[r[1]] for r in rows), dtype=np.int64, count=n)
            gold = np.fromiter((bool(r[2]) for r in rows), dtype=bool, count=n)
            label = np.zeros(n, dtype=np.int64)
            values = [r[3] for r in rows]
        if not include_gold:
            keep = ~gold
            row, rater, label, gold = row[keep], rater[keep], label[keep], gold[keep]
            values = None if values is None else [v for v, k in zip(values, keep, strict=True) if k]
        # annotators with no rating left after filtering keep their index (harmless)
        return Ratings(row, rater, label, gold, ids, [names.get(i, i) for i in ids], values)

    def annotations(
        self, project: str | Project, *, include_gold: bool = True, include_excluded: bool = True
    ) -> pd.DataFrame:
        """Every submitted annotation: row, annotator, label (or value), time, gold flag."""
        p = self._static_project(project)
        q = (
            sa.select(
                A.c.row,
                N.c.name.label("annotator"),
                A.c.label,
                A.c.value,
                A.c.submitted_at,
                A.c.duration_ms,
                A.c.is_gold,
            )
            .join(N, N.c.id == A.c.annotator_id)
            .where(A.c.project_id == p.id, A.c.status == "submitted")
        )
        if not include_gold:
            q = q.where(A.c.is_gold == sa.false())
        with self._db.read() as conn:
            df = pd.DataFrame(
                conn.execute(q.order_by(A.c.submitted_at)).all(),
                columns=[
                    "row",
                    "annotator",
                    "label",
                    "value",
                    "submitted_at",
                    "duration_ms",
                    "is_gold",
                ],
            )
        if not include_excluded:
            names = self._names()
            ex = {names[i] for i in self._excluded(p)}
            df = df[~df["annotator"].isin(ex)]
        if p.kind == "classification":
            df["label"] = [p.classes[int(i)] for i in df["label"]]
            df = df.drop(columns=["value"])
        else:
            df["label"] = df["value"]
            df = df.drop(columns=["value"])
        return df.reset_index(drop=True)

    # ------------------------------------------------------------------ agreement
    def agreement(self, project: str | Project, *, threshold: float = 0.5) -> Any:
        """Agreement of the project's annotators on regular (non-gold) tasks.

        Classification: an :class:`AgreementReport` (Fleiss' kappa, Krippendorff's alpha,
        Gwet's AC1, per class, per pair, per annotator, pooled confusion). Multilabel:
        the same over (item, class) presence decisions, with per-class alpha. Spans and
        boxes: IoU match agreement (a dict).
        """
        p = self._static_project(project)
        r = self._ratings(p, include_gold=False)
        if p.kind == "classification":
            return agreement_report(
                r.row,
                r.rater,
                r.label,
                classes=p.classes,
                raters=r.rater_names,
                n_items=p.n_tasks,
            )
        if p.kind == "multilabel":
            return self._multilabel_agreement(p, r)
        by_item: dict[int, dict[str, Any]] = {}
        for row, rater, value in zip(r.row.tolist(), r.rater.tolist(), r.values or [], strict=True):
            by_item.setdefault(row, {})[r.rater_names[rater]] = value or []
        return match_agreement(by_item, p.kind, threshold)

    def _multilabel_agreement(self, p: Project, r: Ratings) -> AgreementReport:
        k = len(p.classes)
        present = np.zeros((len(r.row), k), dtype=np.int64)
        idx = {c: i for i, c in enumerate(p.classes)}
        for n, v in enumerate(r.values or []):
            for c in v or []:
                present[n, idx[c]] = 1
        item = (r.row[:, None] * k + np.arange(k)[None, :]).ravel()
        rater = np.repeat(r.rater, k)
        rep = agreement_report(
            item,
            rater,
            present.ravel(),
            classes=["absent", "present"],
            raters=r.rater_names,
            n_items=p.n_tasks * k,
        )
        alphas = []
        for c in range(k):
            sel = (item % k) == c
            alphas.append(
                krippendorff_alpha(count_matrix(item[sel] // k, present.ravel()[sel], p.n_tasks, 2))
            )
        rep.per_class = pd.DataFrame(
            {"class": p.classes, "ratings": present.sum(axis=0), "krippendorff_alpha": alphas}
        )
        return rep

    def timeline(self, project: str | Project, buckets: int = 24) -> pd.DataFrame:
        """Annotations per time bucket and the cumulative agreement at each bucket end."""
        p = self._static_project(project)
        label_col = "label" if p.kind == "classification" else "0"
        mark = "%s" if self._db.backend == "postgresql" else "?"
        sql = (
            f'SELECT "row", {label_col}, submitted_at FROM label_annotations '
            f"WHERE project_id = {mark} AND status = {mark} AND is_gold = {mark}"
        )
        with self._db.read() as conn:
            cur = conn.connection.driver_connection.cursor()
            try:
                cur.execute(sql, (p.id, "submitted", False))
                rows = cur.fetchall()
            finally:
                cur.close()
        out_cols = ["end", "annotations", "cumulative", "krippendorff_alpha"]
        if not rows:
            return pd.DataFrame(columns=out_cols)
        df = pd.DataFrame(rows, columns=["row", "label", "submitted_at"])
        t = pd.to_datetime(df["submitted_at"], utc=True)
        lo, hi = t.min(), t.max()
        edges = pd.date_range(lo, hi + pd.Timedelta(microseconds=1), periods=max(2, buckets + 1))
        out = []
        cum = 0
        for start, end in itertools.pairwise(edges):
            upto = (t < end).to_numpy()
            n_here = int(((t >= start) & (t < end)).sum())
            cum += n_here
            alpha = float("nan")
            if p.kind == "classification" and upto.any():
                sub = df[upto]
                alpha = krippendorff_alpha(
                    count_matrix(
                        sub["row"].to_numpy(), sub["label"].to_numpy(), p.n_tasks, len(p.classes)
                    )
                )
            out.append(
                {
                    "end": end.isoformat(),
                    "annotations": n_here,
                    "cumulative": cum,
                    "krippendorff_alpha": alpha,
                }
            )
        return pd.DataFrame(out, columns=out_cols)

    # ------------------------------------------------------------------ annotators
    def quality(
        self,
        project: str | Project,
        *,
        min_gold_accuracy: float | None = None,
        min_gold: int = 3,
        report: Any = None,
    ) -> pd.DataFrame:
        """Per-annotator table: work done, gold accuracy, agreement, flagged, excluded.

        An annotator is *flagged* when they answered at least *min_gold* gold tasks with
        accuracy below *min_gold_accuracy* (the project's setting by default). Pass an
        agreement *report* already computed to avoid computing it again.
        """
        p = self._static_project(project)
        threshold = (
            p.config.get("min_gold_accuracy", 0.7)
            if min_gold_accuracy is None
            else min_gold_accuracy
        )
        with self._db.read() as conn:
            members = conn.execute(
                sa.select(
                    N.c.name,
                    M.c.annotator_id,
                    M.c.n_done,
                    M.c.n_skipped,
                    M.c.gold_seen,
                    M.c.gold_correct,
                    M.c.excluded,
                    M.c.last_active_at,
                )
                .join(N, N.c.id == M.c.annotator_id)
                .where(M.c.project_id == p.id)
                .order_by(N.c.name)
            ).all()
        df = pd.DataFrame(
            members,
            columns=[
                "annotator",
                "annotator_id",
                "done",
                "skipped",
                "gold_seen",
                "gold_correct",
                "excluded",
                "last_active_at",
            ],
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            df["gold_accuracy"] = np.where(
                df["gold_seen"] > 0, df["gold_correct"] / df["gold_seen"].clip(lower=1), np.nan
            )
        agree = self._per_annotator_agreement(p, report)
        df["agreement"] = df["annotator"].map(agree).astype(float)
        df["flagged"] = (df["gold_seen"] >= min_gold) & (df["gold_accuracy"] < threshold)
        return df.drop(columns=["annotator_id"])

    def _per_annotator_agreement(self, p: Project, rep: Any = None) -> dict[str, float]:
        rep = self.agreement(p) if rep is None else rep
        if isinstance(rep, AgreementReport):
            per = rep.per_annotator
            return dict(zip(per["annotator"], per["mean_cohen_kappa"], strict=True))
        per = rep["per_annotator"]
        return dict(zip(per["annotator"], per["match_agreement"], strict=True))

    def flagged(self, project: str | Project, **kwargs: Any) -> list[str]:
        """Names of annotators whose gold accuracy is below the threshold."""
        q = self.quality(project, **kwargs)
        return q.loc[q["flagged"], "annotator"].tolist()

    def exclude(
        self, project: str | Project, annotator: str | Annotator, *, reopen: bool = True
    ) -> int:
        """Stop giving the annotator tasks and ignore their labels.

        Their unfinished tasks go back to the queue; with *reopen*, every regular task
        they annotated reopens for one more annotator. Returns the tasks reopened.
        """
        p = self._static_project(project)
        aid = self._annotator_id(annotator)
        with self._db.write() as conn:
            found = conn.execute(
                M.update()
                .where(M.c.project_id == p.id, M.c.annotator_id == aid)
                .values(excluded=True)
            ).rowcount
            if not found:
                raise InvalidInput(
                    f"annotator {annotator!s} has not worked on labeling project {p.name!r}; "
                    "nothing to exclude"
                )
            mine = sa.select(A.c.row).where(
                A.c.project_id == p.id, A.c.annotator_id == aid, A.c.is_gold == sa.false()
            )
            pending = mine.where(A.c.status == "assigned")
            conn.execute(
                T.update()
                .where(T.c.project_id == p.id, T.c.row.in_(pending))
                .values(n_assigned=T.c.n_assigned - 1, is_open=True)
            )
            conn.execute(
                A.delete().where(
                    A.c.project_id == p.id, A.c.annotator_id == aid, A.c.status == "assigned"
                )
            )
            reopened = 0
            if reopen:
                done = mine.where(A.c.status == "submitted")
                was_complete = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(T)
                    .where(
                        T.c.project_id == p.id,
                        T.c.row.in_(done),
                        T.c.is_gold == sa.false(),
                        T.c.n_done >= p.overlap,
                    )
                ).scalar_one()
                reopened = conn.execute(
                    T.update()
                    .where(T.c.project_id == p.id, T.c.row.in_(done), T.c.is_gold == sa.false())
                    .values(n_assigned=T.c.n_assigned - 1, n_done=T.c.n_done - 1, is_open=True)
                ).rowcount
                conn.execute(
                    P.update()
                    .where(P.c.id == p.id)
                    .values(
                        n_complete=P.c.n_complete - was_complete,
                        queue_version=P.c.queue_version + 1,
                    )
                )
        return int(reopened)

    def include(self, project: str | Project, annotator: str | Annotator) -> None:
        """Undo :meth:`exclude` for future work (reopened tasks stay open)."""
        p = self._static_project(project)
        aid = self._annotator_id(annotator)
        with self._db.write() as conn:
            conn.execute(
                M.update()
                .where(M.c.project_id == p.id, M.c.annotator_id == aid)
                .values(excluded=False)
            )

    # ------------------------------------------------------------------ truth inference
    def _gold(self, p: Project) -> dict[int, Any]:
        with self._db.read() as conn:
            rows = conn.execute(
                sa.select(T.c.row, T.c.gold).where(
                    T.c.project_id == p.id, T.c.is_gold == sa.true(), T.c.gold.is_not(None)
                )
            ).all()
        return {int(r): g for r, g in rows if g is not None}

    def _reviewed(self, p: Project) -> dict[int, Any]:
        with self._db.read() as conn:
            rows = conn.execute(
                sa.select(T.c.row, T.c.reviewed).where(
                    T.c.project_id == p.id, T.c.review_status.in_(["accepted", "corrected"])
                )
            ).all()
        return {int(r): v for r, v in rows}

    def infer(self, project: str | Project, method: str = "dawid_skene") -> Aggregate:
        """Truth inference over the classification ratings (gold tasks anchor EM)."""
        p = self._static_project(project)
        if p.kind != "classification":
            raise InvalidInput(
                f"infer() works on classification projects; {p.name!r} is {p.kind}: "
                "use aggregate(), which handles every kind"
            )
        if method not in CLASS_METHODS:
            raise InvalidInput(
                f"unknown aggregation method {method!r}: use one of {', '.join(CLASS_METHODS)}"
            )
        r = self._ratings(p)
        k = len(p.classes)
        kwargs: dict[str, Any] = {}
        if method == "dawid_skene":
            kwargs = {"known": self._gold(p), "n_raters": len(r.rater_ids)}
        elif method == "weighted_majority":
            kwargs = {"accuracy": self._rater_accuracy(p, r)}
        return aggregate(method, r.row, r.rater, r.label, p.n_tasks, k, **kwargs)

    def _rater_accuracy(self, p: Project, r: Ratings) -> np.ndarray[Any, Any]:
        """Gold accuracy per rater (Laplace-smoothed); agreement with majority if no gold."""
        with self._db.read() as conn:
            stats = {
                a: (s, c)
                for a, s, c in conn.execute(
                    sa.select(M.c.annotator_id, M.c.gold_seen, M.c.gold_correct).where(
                        M.c.project_id == p.id
                    )
                )
            }
        mv = majority_vote(r.row, r.rater, r.label, p.n_tasks, len(p.classes))
        agree = np.bincount(
            r.rater, weights=(mv.labels[r.row] == r.label), minlength=len(r.rater_ids)
        )
        total = np.maximum(np.bincount(r.rater, minlength=len(r.rater_ids)), 1)
        acc = np.empty(len(r.rater_ids))
        for i, a in enumerate(r.rater_ids):
            seen, correct = stats.get(a, (0, 0))
            acc[i] = (correct + 1) / (seen + 2) if seen else agree[i] / total[i]
        return acc

    def aggregate(self, project: str | Project, method: str | None = None) -> pd.DataFrame:
        """One label per task: ``row, label, confidence, n_annotations, label_source``.

        Gold tasks take their known answer and reviewed tasks the reviewer's label
        (confidence 1). Classification uses *method* (``dawid_skene`` by default,
        ``majority``, ``weighted_majority``); multilabel runs it per class; spans and boxes
        use the ``medoid`` (the annotation agreeing most with the others).
        """
        p = self._static_project(project)
        regions = p.kind in ("text_spans", "bounding_boxes")
        method = method or ("medoid" if regions else "dawid_skene")
        allowed = REGION_METHODS if regions else CLASS_METHODS
        if method not in allowed:
            raise InvalidInput(
                f"aggregation method {method!r} does not apply to {p.kind} project {p.name!r}; "
                f"use one of {', '.join(allowed)}"
            )
        n = p.n_tasks
        labels: list[Any] = [None] * n
        conf = np.zeros(n)
        if p.kind == "classification":
            agg = self.infer(p, method)
            counts = agg.n_ratings
            labels = [p.classes[i] if i >= 0 else None for i in agg.labels.tolist()]
            conf = agg.confidence.copy()
        elif p.kind == "multilabel":
            counts, labels, conf = self._aggregate_multilabel(p, method)
        else:
            counts, labels, conf = self._aggregate_regions(p)
        source = np.where(np.asarray(counts) > 0, method, "none").astype(object)
        for row, g in self._gold(p).items():
            labels[row] = p.classes[g] if p.kind == "classification" else g
            conf[row], source[row] = 1.0, "gold"
        for row, v in self._reviewed(p).items():
            labels[row] = p.classes[v] if p.kind == "classification" else v
            conf[row], source[row] = 1.0, "review"
        return pd.DataFrame(
            {
                "row": np.arange(n),
                "label": labels,
                "confidence": conf,
                "n_annotations": np.asarray(counts, dtype=np.int64),
                "label_source": source,
            }
        )

    def _aggregate_multilabel(self, p: Project, method: str) -> tuple[Any, list[Any], Any]:
        r = self._ratings(p)
        k = len(p.classes)
        idx = {c: i for i, c in enumerate(p.classes)}
        present = np.zeros((len(r.row), k), dtype=np.int64)
        for j, v in enumerate(r.values or []):
            for c in v or []:
                present[j, idx[c]] = 1
        post = np.zeros((p.n_tasks, k))
        counts = np.bincount(r.row, minlength=p.n_tasks)
        for c in range(k):
            kw: dict[str, Any] = {}
            if method == "weighted_majority":
                kw = {"accuracy": np.full(len(r.rater_ids), 0.8)}
            agg = aggregate(method, r.row, r.rater, present[:, c], p.n_tasks, 2, **kw)
            post[:, c] = agg.posteriors[:, 1]
        chosen = post > 0.5
        labels = [
            [p.classes[c] for c in np.flatnonzero(chosen[i])] if counts[i] else None
            for i in range(p.n_tasks)
        ]
        conf = np.where(counts > 0, np.where(chosen, post, 1 - post).min(axis=1), 0.0)
        return counts, labels, conf

    def _aggregate_regions(self, p: Project) -> tuple[Any, list[Any], Any]:
        r = self._ratings(p)
        by_item: dict[int, dict[str, Any]] = {}
        for row, rater, value in zip(r.row.tolist(), r.rater.tolist(), r.values or [], strict=True):
            by_item.setdefault(row, {})[r.rater_names[rater]] = value or []
        counts = np.zeros(p.n_tasks, dtype=np.int64)
        labels: list[Any] = [None] * p.n_tasks
        conf = np.zeros(p.n_tasks)
        for row, per in by_item.items():
            best, score = medoid(per, p.kind)
            counts[row] = len(per)
            labels[row] = per[best]
            conf[row] = 1.0 if np.isnan(score) else score
        return counts, labels, conf

    # ------------------------------------------------------------------ review
    def _consensus(self, p: Project, row: int) -> Any:
        """The majority answer of one task's annotators (the medoid for regions)."""
        excluded = self._excluded(p)
        with self._db.read() as conn:
            rows = conn.execute(
                sa.select(A.c.annotator_id, A.c.label, A.c.value).where(
                    A.c.project_id == p.id, A.c.row == row, A.c.status == "submitted"
                )
            ).all()
        rows = [r for r in rows if r.annotator_id not in excluded]
        if not rows:
            return None
        if p.kind in ("text_spans", "bounding_boxes"):
            per = {r.annotator_id: r.value or [] for r in rows}
            best, _ = medoid(per, p.kind)
            return per[best]
        if p.kind == "classification":
            votes = np.bincount([r.label for r in rows], minlength=len(p.classes))
            return p.classes[int(np.argmax(votes))]
        counts = pd.Series([c for r in rows for c in (r.value or [])]).value_counts()
        return sorted(c for c, k in counts.items() if k * 2 > len(rows))

    def send_to_review(self, project: str | Project, rows: Any, note: str | None = None) -> int:
        """Put tasks in the reviewer queue; returns how many were added."""
        p = self._static_project(project)
        rows = [int(r) for r in rows]
        bad = [r for r in rows if not 0 <= r < p.n_tasks]
        if bad:
            raise InvalidInput(f"rows {bad[:5]} are not tasks of labeling project {p.name!r}")
        n = 0
        with self._db.write() as conn:
            for start in range(0, len(rows), 1000):
                n += conn.execute(
                    T.update()
                    .where(T.c.project_id == p.id, T.c.row.in_(rows[start : start + 1000]))
                    .values(review_status="pending", review_note=note)
                ).rowcount
        return int(n)

    def review_queue(
        self, project: str | Project, *, limit: int = 20, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Tasks waiting for review, with every annotation and the note that sent them."""
        p = self._static_project(project)
        with self._db.read() as conn:
            tasks = conn.execute(
                sa.select(T.c.row, T.c.review_note, T.c.prediction)
                .where(T.c.project_id == p.id, T.c.review_status == "pending")
                .order_by(T.c.position)
                .offset(offset)
                .limit(limit)
            ).all()
            rows = [t.row for t in tasks]
            ann = (
                conn.execute(
                    sa.select(A.c.row, N.c.name, A.c.label, A.c.value)
                    .join(N, N.c.id == A.c.annotator_id)
                    .where(A.c.project_id == p.id, A.c.row.in_(rows), A.c.status == "submitted")
                ).all()
                if rows
                else []
            )
        by_row: dict[int, list[dict[str, Any]]] = {}
        for a in ann:
            label = p.classes[a.label] if p.kind == "classification" else a.value
            by_row.setdefault(a.row, []).append({"annotator": a.name, "label": label})
        out = []
        for t in tasks:
            task = self.task(p, t.row)
            out.append(
                {
                    "row": t.row,
                    "payload": task.payload,
                    "media": task.media,
                    "note": t.review_note,
                    "prediction": t.prediction,
                    "annotations": by_row.get(t.row, []),
                }
            )
        return out

    def review(
        self,
        project: str | Project,
        row: int,
        reviewer: str | Annotator,
        label: Any = None,
        *,
        value: Any = None,
        note: str | None = None,
    ) -> dict[str, Any]:
        """Accept the annotators' majority (no label) or correct it (give the label)."""
        from ._validate import normalize

        p = self._static_project(project)
        who = self.annotator(reviewer)
        if who.role not in ("reviewer", "manager"):
            raise NotAllowed(
                f"{who.name!r} is an {who.role}; reviews need the reviewer or manager role "
                f"(add_annotator(name, role='reviewer'))",
                details={"annotator": who.name, "role": who.role},
            )
        task = self.task(p, row)
        answer = value if value is not None else label
        if answer is None:
            current = self._consensus(p, row)
            if current is None:
                raise InvalidInput(
                    f"task {row} of {p.name!r} has no annotations to accept; give the label"
                )
            answer, status = current, "accepted"
        else:
            status = "corrected"
        text = (
            task.payload.get(p.config.get("text_column") or "") if p.kind == "text_spans" else None
        )
        idx, val = normalize(p.kind, answer, p.classes, p.name, text)
        with self._db.write() as conn:
            conn.execute(
                T.update()
                .where(T.c.project_id == p.id, T.c.row == row)
                .values(
                    review_status=status,
                    reviewed=idx if val is None else val,
                    reviewer_id=who.id,
                    review_note=note if note is not None else T.c.review_note,
                )
            )
        return {
            "row": row,
            "status": status,
            "label": answer,
            "reviewer": who.name,
            "at": utcnow().isoformat(),
        }


def _int_rows(conn: sa.Connection, project_id: str, annotator_id: str) -> np.ndarray[Any, Any]:
    """``(row, label, is_gold)`` of one annotator's submitted ratings, on the raw cursor."""
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    sql = (
        f'SELECT "row", label, CASE WHEN is_gold THEN 1 ELSE 0 END FROM label_annotations '
        f"WHERE project_id = {mark} AND annotator_id = {mark} AND status = {mark}"
    )
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql, (project_id, annotator_id, "submitted"))
        data = cur.fetchall()
    finally:
        cur.close()
    if not data:
        return np.zeros((0, 3), dtype=np.int64)
    return np.asarray(data, dtype=np.int64).reshape(-1, 3)


def dumps_regions(value: Any) -> str | None:
    return None if value is None else json.dumps(value)

"""Model-assisted labeling: label-error detection and active-learning queue order."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ..core import InvalidInput
from ._active import uncertainty
from ._cleaning import find_label_issues
from ._models import Project
from ._quality import LabelsQuality
from ._service import _service
from .tables import label_projects, label_tasks

T, P = label_tasks, label_projects


class LabelsAssist(LabelsQuality):
    def _predictions(self, p: Project, predictions: Any) -> np.ndarray[Any, Any]:
        """Class probabilities for every task, from an array, a callable or a model ref."""
        if isinstance(predictions, str):
            models = _service(self._ws, "models")
            if models is None:
                raise InvalidInput(
                    f"cannot load model {predictions!r}: this installation has no model "
                    "registry; pass predicted probabilities (an array) or a callable"
                )
            model = models.load(predictions)
            predictions = model.predict_proba
        if callable(predictions):
            predictions = predictions(self.payloads(p))
        probs = np.asarray(predictions, dtype=float)
        k = len(p.classes)
        if probs.shape != (p.n_tasks, k):
            raise InvalidInput(
                f"predictions for labeling project {p.name!r} must have shape (tasks, classes) "
                f"= ({p.n_tasks}, {k}), one row per task in row order; got {probs.shape}",
                details={"expected": [p.n_tasks, k], "got": list(probs.shape)},
            )
        if not np.all(np.isfinite(probs)):
            raise InvalidInput(f"predictions for {p.name!r} contain NaN or infinite values")
        return probs

    def find_label_errors(
        self,
        project: str | Project,
        pred_probs: Any,
        *,
        method: str = "dawid_skene",
        filter_by: str = "both",
        send_to_review: bool = True,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Rank labeled tasks whose aggregated label is likely wrong (confident learning).

        *pred_probs* are out-of-sample probabilities (cross-validated), one row per task.
        Flagged tasks go to the reviewer queue unless ``send_to_review=False``.
        Returns ``row, given, suggested, label_quality, margin``, worst first.
        """
        p = self._static_project(project)
        if p.kind != "classification":
            raise InvalidInput(
                f"label-error detection needs a classification project; {p.name!r} is {p.kind}"
            )
        probs = self._predictions(p, pred_probs)
        agg = self.aggregate(p, method)
        labeled = agg["label"].notna().to_numpy()
        rows = np.flatnonzero(labeled)
        given = np.array([p.classes.index(v) for v in agg.loc[labeled, "label"]], dtype=np.int64)
        issues = find_label_issues(given, probs[rows], filter_by=filter_by)
        if limit is not None:
            issues = issues.head(limit)
        out = pd.DataFrame(
            {
                "row": rows[issues["index"].to_numpy()],
                "given": [p.classes[i] for i in issues["given"]],
                "suggested": [p.classes[i] for i in issues["suggested"]],
                "label_quality": issues["label_quality"].to_numpy(),
                "margin": issues["margin"].to_numpy(),
            }
        )
        if send_to_review and len(out):
            self.send_to_review(p, out["row"].tolist(), note="possible label error")
        return out

    def prioritize(
        self,
        project: str | Project,
        predictions: Any,
        *,
        strategy: str = "entropy",
        pre_annotate: bool = True,
    ) -> pd.DataFrame:
        """Reorder the queue so the most uncertain tasks come first (active learning).

        *predictions*: class probabilities per task (array), a callable taking the
        payload DataFrame, or a registered model reference. With *pre_annotate* the
        labeling view shows the model's suggestion. Gold tasks keep their place.
        Returns ``row, score, suggestion`` sorted by queue order.
        """
        p = self._static_project(project)
        if p.kind not in ("classification", "multilabel"):
            raise InvalidInput(
                f"active learning needs class probabilities; project {p.name!r} is {p.kind}"
            )
        probs = self._predictions(p, predictions)
        score = uncertainty(probs, strategy)
        with self._db.read() as conn:
            cur = conn.execute(
                sa.select(T.c.row, T.c.position, T.c.is_gold).where(T.c.project_id == p.id)
            ).all()
        gold = np.zeros(p.n_tasks, dtype=bool)
        old_pos = np.zeros(p.n_tasks)
        for r, pos, g in cur:
            gold[r], old_pos[r] = bool(g), pos
        # regular tasks by decreasing uncertainty; gold tasks keep their relative slot
        key = np.where(gold, old_pos / max(p.n_tasks, 1), 0.0)
        order_regular = np.argsort(-score[~gold], kind="stable")
        regular_rows = np.flatnonzero(~gold)[order_regular]
        key[regular_rows] = np.arange(len(regular_rows)) / max(len(regular_rows), 1)
        position = np.empty(p.n_tasks, dtype=np.int64)
        position[np.argsort(key, kind="stable")] = np.arange(p.n_tasks)
        top = probs.argmax(axis=1)
        conf = probs.max(axis=1)
        params = [
            {
                "pid": p.id,
                "r": i,
                "pos": int(position[i]),
                "pred": {"label": p.classes[int(top[i])], "confidence": round(float(conf[i]), 4)},
            }
            for i in range(p.n_tasks)
        ]
        stmt = (
            T.update()
            .where(T.c.project_id == sa.bindparam("pid"), T.c.row == sa.bindparam("r"))
            .values(position=sa.bindparam("pos"), prediction=sa.bindparam("pred"))
        )
        with self._db.write() as conn:
            for start in range(0, len(params), 20_000):
                conn.execute(stmt, params[start : start + 20_000])
            cfg = dict(p.config, pre_annotate=bool(pre_annotate), strategy=strategy)
            conn.execute(
                P.update()
                .where(P.c.id == p.id)
                .values(queue_version=P.c.queue_version + 1, config=cfg)
            )
        self._forget(p.id)
        out = pd.DataFrame(
            {
                "row": np.arange(p.n_tasks),
                "position": position,
                "score": score,
                "suggestion": [p.classes[int(i)] for i in top],
            }
        )
        return out.sort_values("position").reset_index(drop=True)

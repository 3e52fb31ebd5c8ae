"""Aliases with history and gated promotion, mixed into :class:`ModelRegistry`.

An alias move reads the current target and writes the new one in one transaction that
holds the model row's lock (``BEGIN IMMEDIATE`` on SQLite, ``SELECT … FOR UPDATE`` on
PostgreSQL): moves from many processes are serialized and the history stays an
unbroken chain.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..core import Conflict, InvalidInput, NotFound, did_you_mean, is_id, new_id, utcnow
from ..core._refs import _ALIAS_RE
from ._model import AliasMove, GateFailed, ModelVersion, Promotion, RegisteredModel
from .tables import (
    model_alias_history,
    model_aliases,
    model_promotions,
    model_versions,
    registered_models,
)


class AliasesAndPromotions:
    """Alias and promotion methods; the registry supplies ``ws``, ``gate``, ``get`` and
    ``get_model``."""

    ws: Any
    gate: Any

    def get(self, ref: Any) -> ModelVersion:
        raise NotImplementedError

    def get_model(self, name: str) -> RegisteredModel:
        raise NotImplementedError

    # ================================================================== aliases
    def set_alias(
        self, name: str, alias: str, version: int | str | ModelVersion, reason: str = ""
    ) -> AliasMove:
        """Point *alias* of model *name* at *version*; the move is kept in the history.

        Moves are serialized per model (the model row is locked for the transaction),
        so concurrent moves from many processes never lose an update.
        """
        if not isinstance(alias, str) or not _ALIAS_RE.match(alias) or alias == "latest":
            raise InvalidInput(
                f"invalid alias {alias!r}: start with a letter, then letters, digits, '.', "
                "'_' or '-' (at most 64); 'latest' is reserved",
                details={"alias": alias},
            )
        number = self._version_number(name, version)
        now = utcnow()
        with self.ws.db.write() as conn:
            m = self._locked_model(conn, name)
            row = conn.execute(
                sa.select(model_versions).where(
                    model_versions.c.model_id == m.id, model_versions.c.version == number
                )
            ).first()
            if row is None:
                known = [
                    str(v)
                    for (v,) in conn.execute(
                        sa.select(model_versions.c.version)
                        .where(model_versions.c.model_id == m.id)
                        .order_by(model_versions.c.version)
                    )
                ]
                raise NotFound(
                    f"cannot point alias {alias!r} at {name}@{number}: no such version; "
                    f"versions of {name!r}: {', '.join(known) or 'none'}",
                    details={"model": name, "version": number},
                )
            if row.status != "active":
                raise Conflict(
                    f"cannot point alias {alias!r} at {name}@{number}: the version is "
                    f"{row.status}; pick an active version",
                    details={"model": name, "version": number},
                )
            return self._move(conn, m, alias, row, reason, now)

    def _move(
        self, conn: sa.Connection, m: Any, alias: str, row: Any, reason: str, now: Any
    ) -> AliasMove:
        current = conn.execute(
            sa.select(model_aliases.c.version_id, model_versions.c.version)
            .join(model_versions, model_versions.c.id == model_aliases.c.version_id)
            .where(model_aliases.c.model_id == m.id, model_aliases.c.alias == alias)
        ).first()
        seq = (
            conn.execute(
                sa.select(sa.func.max(model_alias_history.c.seq)).where(
                    model_alias_history.c.model_id == m.id, model_alias_history.c.alias == alias
                )
            ).scalar()
            or 0
        ) + 1
        if row is None:
            conn.execute(
                model_aliases.delete().where(
                    model_aliases.c.model_id == m.id, model_aliases.c.alias == alias
                )
            )
        elif current is None:
            conn.execute(
                model_aliases.insert().values(
                    model_id=m.id, alias=alias, version_id=row.id, updated_at=now
                )
            )
        else:
            conn.execute(
                model_aliases.update()
                .where(model_aliases.c.model_id == m.id, model_aliases.c.alias == alias)
                .values(version_id=row.id, updated_at=now)
            )
        move = AliasMove(
            m.name,
            alias,
            seq,
            current.version if current else None,
            row.version if row is not None else None,
            reason or "",
            now,
        )
        conn.execute(
            model_alias_history.insert().values(
                model_id=m.id,
                alias=alias,
                seq=seq,
                from_version=move.from_version,
                to_version=move.to_version,
                reason=move.reason,
                moved_at=now,
            )
        )
        return move

    def delete_alias(self, name: str, alias: str, reason: str = "") -> AliasMove:
        with self.ws.db.write() as conn:
            m = self._locked_model(conn, name)
            exists = conn.execute(
                sa.select(model_aliases.c.alias).where(
                    model_aliases.c.model_id == m.id, model_aliases.c.alias == alias
                )
            ).first()
            if exists is None:
                raise NotFound(
                    f"model {name!r} has no alias {alias!r}",
                    details={"model": name, "alias": alias},
                )
            return self._move(conn, m, alias, None, reason, utcnow())

    def aliases(self, name: str) -> dict[str, int]:
        return dict(self.get_model(name).aliases)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        m = self.get_model(name)
        q = sa.select(model_alias_history).where(model_alias_history.c.model_id == m.id)
        if alias is not None:
            q = q.where(model_alias_history.c.alias == alias)
        with self.ws.db.read() as conn:
            rows = conn.execute(
                q.order_by(model_alias_history.c.alias, model_alias_history.c.seq)
            ).all()
        return [
            AliasMove(m.name, r.alias, r.seq, r.from_version, r.to_version, r.reason, r.moved_at)
            for r in rows
        ]

    def _locked_model(self, conn: sa.Connection, name: str) -> Any:
        row = conn.execute(
            sa.select(registered_models).where(registered_models.c.name == name).with_for_update()
        ).first()
        if row is None:
            known = [x[0] for x in conn.execute(sa.select(registered_models.c.name))]
            raise NotFound(
                f"no model {name!r} in workspace {self.ws.home}; {did_you_mean(known)}",
                details={"model": name},
            )
        return row

    def _version_number(self, name: str, version: int | str | ModelVersion) -> int:
        if isinstance(version, ModelVersion):
            if version.name != name:
                raise InvalidInput(f"{version.ref} is not a version of {name!r}")
            return version.version
        if isinstance(version, bool):
            raise InvalidInput(f"version must be a positive integer, not {version!r}")
        if isinstance(version, int):
            if version < 1:
                raise InvalidInput(f"version must be a positive integer, not {version}")
            return version
        if isinstance(version, str):
            text = version.strip()
            if text.isdigit() and int(text) >= 1:
                return int(text)
            v = self.get(text if "@" in text else f"{name}@{text}")
            if v.name != name:
                raise InvalidInput(f"{v.ref} is not a version of {name!r}")
            return v.version
        raise InvalidInput(f"version must be a number or a reference, not {type(version).__name__}")

    # ================================================================== promotion
    def promote(
        self,
        ref: Any,
        alias: str = "champion",
        *,
        suite: Any = None,
        dataset: Any = None,
        target: str | None = None,
        force: bool = False,
        reason: str = "",
    ) -> Promotion:
        """Move *alias* to the version *ref* if it passes the gate; else raise GateFailed.

        The gate evaluates *suite* (default: the project's success criteria) on
        *dataset* (default: the data of the version's latest evaluation). With
        ``force=True`` a failing gate is overridden; a *reason* is then required and
        recorded. Every attempt, refused or applied, is stored (:meth:`promotions`).
        """
        v = self.get(ref)
        if v.status != "active":
            raise Conflict(f"cannot promote {v.ref}: it is {v.status}", details={"ref": v.ref})
        if force and not reason.strip():
            raise InvalidInput(
                f"promote({v.ref!r}, force=True) needs reason='…' saying why the gate "
                "is overridden",
                details={"ref": v.ref},
            )
        if not isinstance(alias, str) or not _ALIAS_RE.match(alias):
            raise InvalidInput(f"invalid alias {alias!r}", details={"alias": alias})
        if self.gate is None:
            checks: list[dict[str, Any]] = []
            passed, evaluation_id = True, None
        else:
            outcome = self.gate.check_promotion(
                v, alias, suite=suite, dataset=dataset, target=target
            )
            checks, passed, evaluation_id = (
                list(outcome.checks),
                bool(outcome.passed),
                outcome.evaluation_id,
            )
        applied = passed or force
        promo_id = new_id()
        now = utcnow()
        note = reason.strip()
        move_reason = (
            f"promoted: gate passed ({sum(1 for c in checks if c.get('passed'))}/"
            f"{len(checks)} checks)" + (f"; {note}" if note else "")
            if passed
            else f"forced past a failing gate: {note}"
        )
        with self.ws.db.write() as conn:
            m = self._locked_model(conn, v.name)
            if applied:
                row = conn.execute(
                    sa.select(model_versions).where(model_versions.c.id == v.id)
                ).one()
                self._move(conn, m, alias, row, move_reason, now)
            conn.execute(
                model_promotions.insert().values(
                    id=promo_id,
                    version_id=v.id,
                    alias=alias,
                    passed=passed,
                    applied=applied,
                    forced=bool(force and not passed),
                    reason=note,
                    checks=checks,
                    evaluation_id=evaluation_id,
                    created_at=now,
                )
            )
        promotion = Promotion(
            promo_id,
            v.ref,
            alias,
            passed,
            applied,
            bool(force and not passed),
            note,
            checks,
            evaluation_id,
            now,
        )
        if not applied:
            failed = promotion.failed_checks
            lines = "\n".join(f"  - {c['name']}: {c.get('message', '')}" for c in failed)
            raise GateFailed(
                f"promotion of {v.ref} to {alias!r} refused: {len(failed)} of {len(checks)} "
                f"checks failed:\n{lines}\nimprove the model, or override with force=True and "
                "a reason",
                details={
                    "ref": v.ref,
                    "alias": alias,
                    "checks": checks,
                    "promotion_id": promo_id,
                    "evaluation_id": evaluation_id,
                },
            )
        return promotion

    def promotions(self, ref: Any) -> list[Promotion]:
        """Promotion attempts of a version (``"churn@3"``) or of every version (``"churn"``)."""
        if isinstance(ref, str) and "@" not in ref and not is_id(ref):
            m = self.get_model(ref)
            cond = model_versions.c.model_id == m.id
        else:
            v = self.get(ref)
            cond = model_versions.c.id == v.id
        with self.ws.db.read() as conn:
            rows = conn.execute(
                sa.select(model_promotions, model_versions.c.version, registered_models.c.name)
                .join(model_versions, model_versions.c.id == model_promotions.c.version_id)
                .join(registered_models, registered_models.c.id == model_versions.c.model_id)
                .where(cond)
                .order_by(model_promotions.c.id)
            ).all()
        return [
            Promotion(
                r.id,
                f"{r.name}@{r.version}",
                r.alias,
                r.passed,
                r.applied,
                r.forced,
                r.reason,
                list(r.checks),
                r.evaluation_id,
                r.created_at,
            )
            for r in rows
        ]

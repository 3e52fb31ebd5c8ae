"""The Workspace: the composition root that opens storage once and hands it to services."""

from __future__ import annotations

import os
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .core import ConfigurationError, Settings, new_id, utcnow
from .store import (
    BlobStore,
    Database,
    Lineage,
    current_revision,
    load_metadata,
    migrate,
)
from .store.tables import workspace_meta

if TYPE_CHECKING:
    from .tracking import Experiments, Run, Runs


class Workspace:
    """One workspace: a metadata DB, a blob store and the services built on them.

    ``Workspace()`` opens ``./.shipyard`` (SQLite ``shipyard.db`` + ``blobs/``);
    ``Workspace(db="postgresql://…", blobs="s3://bucket/prefix")`` scales out. Arguments
    win over ``SHIPYARD_*`` environment variables, which win over defaults.

    Opening is cheap: migrations are checked once per database per process. A
    Workspace is thread-safe and a context manager (``close()`` releases connections).
    """

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        db: str | None = None,
        blobs: str | None = None,
        settings: Settings | None = None,
        **options: Any,
    ) -> None:
        self.settings = settings or Settings.load(home, db, blobs, **options)
        s = self.settings
        if s.db_backend == "sqlite" or s.blob_backend == "file":
            try:
                s.home.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot create the workspace home {s.home}: {exc.strerror or exc}; "
                    "choose a writable folder with SHIPYARD_HOME or Workspace(home=...)",
                    details={"home": str(s.home)},
                ) from None
        self.db = Database(s.db_url)
        blob_options = dict(s.blob_options)
        if s.s3_endpoint_url and s.blob_backend == "s3":
            ck = dict(blob_options.get("client_kwargs") or {})
            ck.setdefault("endpoint_url", s.s3_endpoint_url)
            blob_options["client_kwargs"] = ck
        self.blobs = BlobStore(s.blob_url, storage_options=blob_options)
        self.schema_revision = migrate(self.db)
        self._lock = threading.RLock()
        self._ensure_identity()

    # --------------------------------------------------------------- identity
    def _ensure_identity(self) -> None:
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(workspace_meta.c.value).where(workspace_meta.c.key == "id")
            ).first()
        if row is not None:
            self.id = row[0]
            return
        with self.db.write() as conn:
            row = conn.execute(
                sa.select(workspace_meta.c.value).where(workspace_meta.c.key == "id")
            ).first()
            if row is None:
                self.id = new_id()
                conn.execute(
                    workspace_meta.insert(),
                    [
                        {"key": "id", "value": self.id},
                        {"key": "created_at", "value": utcnow().isoformat()},
                    ],
                )
            else:
                self.id = row[0]

    @property
    def home(self) -> Path:
        return self.settings.home

    # --------------------------------------------------------------- services
    @cached_property
    def lineage(self) -> Lineage:
        return Lineage(self.db)

    @cached_property
    def pipelines(self) -> Any:
        """Pipeline runs and schedules (:class:`shipyard.pipelines.Pipelines`)."""
        from .pipelines import Pipelines

        return Pipelines(self)

    @cached_property
    def jobs(self) -> Any:
        """Commands run under an executor (:class:`shipyard.compute.Jobs`)."""
        from .compute import Jobs

        return Jobs(self)

    @cached_property
    def datasets(self) -> Any:
        """Dataset versions: commit, read, diff, validate (:class:`shipyard.data.Datasets`)."""
        from .data import Datasets

        return Datasets(self)

    @cached_property
    def labels(self) -> Any:
        """Labeling projects with quality control (:class:`shipyard.labels.Labels`)."""
        from .labels import Labels

        return Labels(self)

    @cached_property
    def runs(self) -> Runs:
        from .tracking import Runs

        return Runs(self)

    @cached_property
    def experiments(self) -> Experiments:
        from .tracking import Experiments

        return Experiments(self)

    def start_run(
        self,
        experiment: str = "default",
        name: str | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        parent: Any = None,
        **options: Any,
    ) -> Run:
        """Start a tracked run (a context manager: finished, or failed if the block raises)."""
        return self.runs.start(experiment, name, params, tags, parent, **options)

    @cached_property
    def studies(self) -> Any:
        """Hyperparameter studies (:class:`shipyard.tuning.Studies`)."""
        from .tuning import Studies

        return Studies(self)

    @cached_property
    def models(self) -> Any:
        """The model registry (:class:`shipyard.registry.ModelRegistry`)."""
        from .registry import ModelRegistry

        return ModelRegistry(self, gate=self.evaluations)

    @cached_property
    def evaluations(self) -> Any:
        """Model evaluations and success criteria (:class:`shipyard.evaluation.Evaluations`)."""
        from .evaluation import Evaluations

        return Evaluations(self)

    @cached_property
    def features(self) -> Any:
        """The feature store (:class:`shipyard.features.FeatureStore`)."""
        from .features import FeatureStore

        return FeatureStore(self)

    @cached_property
    def monitors(self) -> Any:
        """Drift, live performance, health and alerts (:class:`shipyard.monitoring.Monitors`)."""
        from .monitoring import Monitors

        return Monitors(self)

    @cached_property
    def deployments(self) -> Any:
        """Model servers and what they serve (:class:`shipyard.serving.Deployments`)."""
        from .serving import Deployments

        return Deployments(self)

    # --------------------------------------------------------------- info
    def info(self) -> dict[str, Any]:
        """Where the workspace is, which backends, the schema version and object counts."""
        md = load_metadata()
        counts: dict[str, int] = {}
        with self.db.read() as conn:
            for table in md.sorted_tables:
                label = table.info.get("count_label")
                if label:
                    counts[label] = int(
                        conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                    )
        return {
            "id": self.id,
            "home": str(self.home),
            "db": {"backend": self.db.backend, "url": self.db.display_url},
            "blobs": {"backend": self.settings.blob_backend, "url": self.blobs.url},
            "online_store": self.features.online_store_info(),
            "schema_revision": current_revision(self.db),
            "counts": counts,
        }

    # --------------------------------------------------------------- lifecycle
    def close(self) -> None:
        if "features" in self.__dict__:
            self.features.close()
        self.db.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace(db={self.db.display_url!r}, blobs={self.blobs.url!r})"

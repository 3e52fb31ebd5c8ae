"""Settings: arguments, then ``SHIPYARD_*`` environment variables, then defaults.

This module is the only place that reads ``os.environ`` for Shipyard's own settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "SHIPYARD_"
DEFAULT_HOME = ".shipyard"


@dataclass(frozen=True)
class Settings:
    """Where a workspace keeps its metadata and bytes, and how to reach them.

    ``home``        the workspace folder (default ``./.shipyard``)
    ``db_url``      SQLAlchemy URL of the metadata DB (default ``sqlite:///<home>/shipyard.db``)
    ``blob_url``    fsspec URL of the blob store (default ``<home>/blobs``)
    ``s3_endpoint_url``  endpoint for S3-compatible stores (MinIO, moto, …)
    ``blob_options``  extra fsspec storage options
    ``project_file``  the project file with success criteria (default ``./shipyard.toml``)
    """

    home: Path
    db_url: str
    blob_url: str
    s3_endpoint_url: str | None = None
    blob_options: dict[str, Any] = field(default_factory=dict)
    online_store: str = "sqlite"
    online_store_url: str | None = None
    redis_url: str = "redis://127.0.0.1:6379/0"
    server_url: str = "http://127.0.0.1:8000"
    project_file: Path = Path("shipyard.toml")

    @classmethod
    def load(
        cls,
        home: str | os.PathLike[str] | None = None,
        db: str | None = None,
        blobs: str | None = None,
        *,
        environ: dict[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        env = dict(os.environ if environ is None else environ)

        def pick(arg: Any, name: str, default: Any = None) -> Any:
            if arg is not None:
                return arg
            value = env.get(ENV_PREFIX + name.upper())
            return value if value not in (None, "") else default

        home_path = Path(pick(home, "home", DEFAULT_HOME)).expanduser()
        home_path = home_path if home_path.is_absolute() else Path.cwd() / home_path
        db_url = pick(db, "db_url", f"sqlite:///{home_path / 'shipyard.db'}")
        blob_url = pick(blobs, "blob_url", str(home_path / "blobs"))
        kwargs: dict[str, Any] = {}
        for name in (
            "s3_endpoint_url",
            "online_store",
            "online_store_url",
            "redis_url",
            "server_url",
        ):
            value = pick(overrides.pop(name, None), name)
            if value is not None:
                kwargs[name] = value
        project_file = Path(
            pick(overrides.pop("project_file", None), "project_file", "shipyard.toml")
        )
        project_file = project_file.expanduser()
        kwargs["project_file"] = (
            project_file if project_file.is_absolute() else Path.cwd() / project_file
        )
        blob_options = dict(overrides.pop("blob_options", None) or {})
        if overrides:
            raise TypeError(f"unknown settings: {', '.join(sorted(overrides))}")
        return cls(
            home=home_path, db_url=db_url, blob_url=blob_url, blob_options=blob_options, **kwargs
        )

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def db_backend(self) -> str:
        return self.db_url.split(":", 1)[0].split("+", 1)[0]

    @property
    def blob_backend(self) -> str:
        return self.blob_url.split("://", 1)[0] if "://" in self.blob_url else "file"

"""Running a model server: ``serve(refs, host, port, workers)``.

With ``workers > 1`` uvicorn starts that many processes; each builds its own server
from a JSON configuration in the environment, and Prometheus metrics use multiprocess
mode (``PROMETHEUS_MULTIPROC_DIR``) so that ``/metrics`` on any worker sums them all.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from ._batcher import BatchConfig

_ENV = "SHIPYARD_SERVING_CONFIG"
# A model server neither logs each request (its metrics count them) nor uses client
# addresses, so uvicorn's access log and X-Forwarded-* rewriting are work for nothing
# on every request; nor does it announce its software in a Server header.
_UVICORN: dict[str, Any] = {"access_log": False, "proxy_headers": False, "server_header": False}


def _options_jsonable(options: dict[str, Any]) -> dict[str, Any]:
    out = dict(options)
    b = out.get("batching")
    if isinstance(b, BatchConfig):
        out["batching"] = dict(b.__dict__)
    return out


def worker_app() -> Any:
    """The app of one worker process (uvicorn factory), configured from the environment."""
    from .._workspace import Workspace
    from ._server import create_server

    cfg = json.loads(os.environ[_ENV])
    ws = Workspace(cfg["home"], db=cfg["db"], blobs=cfg["blobs"])
    return create_server(ws, cfg["refs"], own_process=True, **cfg["options"])


def serve(
    refs: list[str] | str,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    *,
    ws: Any = None,
    log_level: str = "warning",
    **options: Any,
) -> None:
    """Serve *refs* with uvicorn until interrupted (blocks).

    Options are those of :func:`create_server` (``batching``, ``threads``,
    ``watch_interval_s``, ``deployment``…).
    """
    import uvicorn

    if isinstance(refs, str):
        refs = [refs]
    if ws is None:
        from .._workspace import Workspace

        ws = Workspace()
    options.setdefault("url", f"http://{host}:{port}")
    if workers <= 1:
        from ._server import create_server

        uvicorn.run(
            create_server(ws, list(refs), own_process=True, **options),
            host=host,
            port=port,
            log_level=log_level,
            **_UVICORN,
        )
        return
    mp_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(
        prefix="shipyard-metrics-"
    )
    for f in os.listdir(mp_dir):  # stale values of an earlier run
        if f.endswith(".db"):
            os.unlink(os.path.join(mp_dir, f))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = mp_dir
    s = ws.settings
    os.environ[_ENV] = json.dumps(
        {
            "home": str(s.home),
            "db": s.db_url,
            "blobs": s.blob_url,
            "refs": list(refs),
            "options": _options_jsonable(options),
        }
    )
    uvicorn.run(
        "shipyard.serving._run:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        **_UVICORN,
    )

"""The FastAPI app factory: REST API under /api/v1, the web UI, static files.

Each service adds ``shipyard/server/api/<area>.py`` (JSON routes) and
``shipyard/server/ui/<area>.py`` (pages); both define ``router``, and a UI module sets
``AREA`` to the navigation key it provides. They are listed in ``ROUTE_MODULES``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import plotly
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from .._version import __version__
from ..core import NotFound
from ._deps import render
from ._errors import install_error_handlers
from ._nav import AREAS

ROUTE_MODULES: list[str] = [
    "shipyard.server.api.pipelines",
    "shipyard.server.ui.pipelines",
    "shipyard.server.api.labels",
    "shipyard.server.ui.labeling",
    "shipyard.server.api.features",
    "shipyard.server.ui.features",
    "shipyard.server.api.core",
    "shipyard.server.ui.home",
    "shipyard.server.api.data",
    "shipyard.server.ui.datasets",
    "shipyard.server.api.tracking",
    "shipyard.server.ui.experiments",
    "shipyard.server.api.tuning",
    "shipyard.server.ui.tuning",
    "shipyard.server.api.models",
    "shipyard.server.ui.models",
    "shipyard.server.api.export",
    "shipyard.server.ui.export",
    "shipyard.server.ui.deployments",
    "shipyard.server.api.monitoring",
    "shipyard.server.ui.monitoring",
]

_PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_app(workspace: Any = None, **workspace_options: Any) -> FastAPI:
    """Build the app over *workspace* (or a Workspace opened from settings)."""
    if workspace is None:
        from .._workspace import Workspace

        workspace = Workspace(**workspace_options)
    app = FastAPI(
        title="Shipyard",
        version=__version__,
        description="REST API of a Shipyard workspace.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.workspace = workspace
    app.state.ui_areas = set()
    install_error_handlers(app)

    static_dir = Path(__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=static_dir), name="static")

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(
            _PLOTLY_JS,
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    for name in ROUTE_MODULES:
        module = importlib.import_module(name)
        app.include_router(module.router)
        if getattr(module, "AREA", None):
            app.state.ui_areas.add(module.AREA)

    for area in AREAS:
        if area.key not in app.state.ui_areas:
            _add_unavailable(app, area.key, area.title, area.path)

    @app.get("/{path:path}", include_in_schema=False)
    def not_found(request: Request, path: str) -> HTMLResponse:
        raise NotFound(f"no page at /{path}; start from the home page /")

    return app


def _add_unavailable(app: FastAPI, key: str, title: str, path: str) -> None:
    def page(request: Request) -> HTMLResponse:
        return render(request, "unavailable.html", area=key, title=title)

    app.add_api_route(
        path,
        page,
        methods=["GET"],
        include_in_schema=False,
        response_class=HTMLResponse,
        name=f"unavailable_{key}",
    )

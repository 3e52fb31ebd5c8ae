"""Request-scoped helpers for routes: the workspace and the template renderer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from .._version import __version__
from ._links import related
from ._nav import AREAS

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.globals["version"] = __version__


@jinja2.pass_context
def _related(context: Any, kind: str, object_id: str) -> list[dict[str, Any]]:
    """``related(kind, id)`` in templates: the object's lineage neighbours as links."""
    return related(context["request"].app.state.workspace, kind, object_id)


templates.env.globals["related"] = _related


def get_ws(request: Request) -> Any:
    """The app's Workspace (a FastAPI dependency)."""
    return request.app.state.workspace


def render(
    request: Request,
    template: str,
    *,
    area: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a page inside the shared layout (navigation, breadcrumbs)."""
    available = request.app.state.ui_areas
    nav = [
        {
            "key": a.key,
            "title": a.title,
            "path": a.path,
            "available": a.key in available,
            "active": a.key == area,
        }
        for a in AREAS
    ]
    return templates.TemplateResponse(
        request, template, {"nav": nav, "area": area, **context}, status_code=status_code
    )

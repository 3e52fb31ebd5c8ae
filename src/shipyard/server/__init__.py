"""The REST API and the web UI (``shipyard server``)."""

from ._app import ROUTE_MODULES, create_app
from ._deps import get_ws, render

__all__ = ["ROUTE_MODULES", "create_app", "get_ws", "render"]

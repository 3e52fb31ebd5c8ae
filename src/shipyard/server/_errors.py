"""ShipyardError → JSON ``{"error": {"type", "message", "details"}}`` with its status code."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ..core import ShipyardError


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/v1/", "/v2/")) and "text/html" in (
        request.headers.get("accept", "")
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ShipyardError)
    async def _shipyard_error(request: Request, exc: ShipyardError) -> Response:
        if _wants_html(request):
            from ._deps import render

            return render(request, "error.html", status_code=exc.http_status, error=exc.to_dict())
        return JSONResponse({"error": exc.to_dict()}, status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"]) or "request"
        body = {
            "error": {
                "type": "InvalidInput",
                "message": f"invalid request: {where}: {first['msg']}",
                "details": {"errors": errors},
            }
        }
        if _wants_html(request):
            return HTMLResponse(body["error"]["message"], status_code=422)
        return JSONResponse(body, status_code=422)

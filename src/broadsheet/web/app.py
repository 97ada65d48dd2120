"""The FastAPI application: server-rendered pages and the JSON API over the same services."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from broadsheet import __version__
from broadsheet.config import Settings
from broadsheet.errors import NotFound, StorageError
from broadsheet.services.ingest import utcnow
from broadsheet.services.runtime import Database
from broadsheet.web import api, pages
from broadsheet.web.format import absolute_time, iso, relative_time

_HERE = Path(str(resources.files("broadsheet.web")))


def create_app(
    settings: Settings, db: Database, *, clock: Callable[[], datetime] = utcnow
) -> FastAPI:
    app = FastAPI(
        title="Broadsheet",
        version=__version__,
        docs_url="/api/v1/docs",
        openapi_url="/api/v1/openapi.json",
        redoc_url=None,
    )
    templates = Jinja2Templates(directory=_HERE / "templates")  # autoescape on for .html
    zone = settings.zone
    templates.env.globals.update(
        ago=lambda when: relative_time(when, clock()),
        absolute=lambda when: absolute_time(when, zone),
        iso=iso,
        version=__version__,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.templates = templates
    app.state.clock = clock

    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return _error(request, 404, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        # one error shape for the whole API, the message naming the bad parameters
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg', '')}"
            for e in exc.errors()
        )
        return _error(request, 422, problems or "invalid request")

    @app.exception_handler(StorageError)
    async def unavailable(request: Request, exc: StorageError) -> Response:
        # the database is down or locked: say so, and let the client retry
        return _error(request, 503, "the database is unavailable; try again shortly")

    def _error(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": {"status": status, "message": message}}, status)
        page = templates.TemplateResponse(
            request, "error.html", {"status": status, "message": message}, status_code=status
        )
        assert isinstance(page, HTMLResponse)
        return page

    return app

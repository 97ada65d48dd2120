"""What a route needs from the application, read from ``app.state`` (set by ``create_app``)."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request
from fastapi.templating import Jinja2Templates

from broadsheet.services.runtime import Database


def db(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def templates(request: Request) -> Jinja2Templates:
    t: Jinja2Templates = request.app.state.templates
    return t


def now(request: Request) -> datetime:
    when: datetime = request.app.state.clock()
    return when

"""HTML pages. Each route is thin: call one service, render one template."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from broadsheet.services import reading
from broadsheet.services.runtime import Database
from broadsheet.web import deps

router = APIRouter(default_response_class=HTMLResponse)

DB = Annotated[Database, Depends(deps.db)]
Templates = Annotated[Jinja2Templates, Depends(deps.templates)]
PAGE_SIZE = 30


@router.get("/", name="home")
async def home(request: Request, db: DB, templates: Templates) -> HTMLResponse:
    page = await run_in_threadpool(reading.home, db, now=deps.now(request))
    return templates.TemplateResponse(request, "home.html", {"page": page})


@router.get("/articles/{article_id}", name="article")
async def article(request: Request, article_id: str, db: DB, templates: Templates) -> HTMLResponse:
    page = await run_in_threadpool(reading.article, db, article_id)
    return templates.TemplateResponse(request, "article.html", {"page": page})


@router.get("/stories/{story_id}", name="story")
async def story(request: Request, story_id: int, db: DB, templates: Templates) -> HTMLResponse:
    page = await run_in_threadpool(reading.story, db, story_id)
    return templates.TemplateResponse(request, "story.html", {"page": page})


@router.get("/sources/{slug}", name="source")
async def source(
    request: Request,
    slug: str,
    db: DB,
    templates: Templates,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    src, page = await run_in_threadpool(reading.source, db, slug, limit=PAGE_SIZE, offset=offset)
    return templates.TemplateResponse(request, "list.html", {"page": page, "source": src})


@router.get("/tags/{slug}", name="tag")
async def tag(
    request: Request,
    slug: str,
    db: DB,
    templates: Templates,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    _, page = await run_in_threadpool(reading.tag, db, slug, limit=PAGE_SIZE, offset=offset)
    return templates.TemplateResponse(request, "list.html", {"page": page, "source": None})


@router.get("/feeds", name="feeds")
async def feeds(request: Request, db: DB, templates: Templates) -> HTMLResponse:
    status = await run_in_threadpool(reading.status, db)
    return templates.TemplateResponse(request, "feeds.html", {"status": status})

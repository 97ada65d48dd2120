"""The JSON API under /api/v1: the same service results as the pages, as JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from broadsheet.models import ArticleRow, StoryRow
from broadsheet.services import reading
from broadsheet.services.runtime import Database
from broadsheet.web import deps

router = APIRouter(prefix="/api/v1", tags=["api"])
DB = Annotated[Database, Depends(deps.db)]


def article_summary(a: ArticleRow, request: Request) -> dict[str, Any]:
    return {
        "id": a.id,
        "title": a.title,
        "url": a.url,
        "source": {"slug": a.source_slug, "name": a.source_name},
        "published_at": a.published_at.isoformat() if a.published_at else None,
        "first_seen_at": a.first_seen.isoformat(),
        "story_id": a.story_id,
        "page": str(request.url_for("article", article_id=a.id)),
    }


def story_json(s: StoryRow) -> dict[str, Any]:
    return {
        "id": s.id,
        "title": s.title,
        "first_seen_at": s.first_seen_at.isoformat(),
        "last_seen_at": s.last_seen_at.isoformat(),
        "article_count": s.article_count,
        "source_count": s.source_count,
        "version": s.version,
    }


@router.get("/articles")
async def list_articles(
    request: Request,
    db: DB,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    page = await run_in_threadpool(reading.latest, db, limit=limit, offset=offset)
    return {
        "items": [article_summary(a, request) for a in page.articles],
        "total": page.total,
        "limit": limit,
        "offset": offset,
    }


@router.get("/articles/{article_id}")
async def get_article(request: Request, article_id: str, db: DB) -> dict[str, Any]:
    page = await run_in_threadpool(reading.article, db, article_id)
    a = page.article
    return {
        **article_summary(a, request),
        "authors": list(a.authors),
        "updated_at": a.updated_at.isoformat() if a.updated_at else None,
        "description": a.description,
        "section": a.section,
        "language": a.language,
        "image_url": a.image_url,
        "text": a.text,
        "paragraphs": a.text.split("\n\n") if a.text else [],
        "html": a.html,
        "version": a.version,
        "tags": [{"slug": t.slug, "name": t.name, "kind": t.kind} for t in page.tags],
        "story": story_json(page.story) if page.story else None,
        "related": [article_summary(r, request) for r in page.related],
    }


@router.get("/stories/{story_id}")
async def get_story(request: Request, story_id: int, db: DB) -> dict[str, Any]:
    page = await run_in_threadpool(reading.story, db, story_id)
    return {
        **story_json(page.story),
        "articles": [article_summary(a, request) for a in page.articles],
    }


@router.get("/status")
async def status(db: DB) -> dict[str, Any]:
    st = await run_in_threadpool(reading.status, db)
    return {
        "articles_by_stage": st.stages,
        "stories": st.stories,
        "feeds": [
            {
                "url": f.url,
                "source": f.source_name,
                "healthy": f.healthy,
                "error_kind": f.error_kind,
                "error_message": f.error_message,
                "error_count": f.error_count,
                "last_success_at": f.last_success_at.isoformat() if f.last_success_at else None,
                "next_check_at": f.next_check_at.isoformat(),
            }
            for f in st.feeds
        ],
    }

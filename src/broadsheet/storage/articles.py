"""Articles: the stage machine's rows, and the queries the pages read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from broadsheet.models import ArticleRow, Stage
from broadsheet.storage import leases
from broadsheet.storage.schema import articles, sources
from broadsheet.storage.upsert import insert_ignoring_conflicts


@dataclass(frozen=True, slots=True)
class ArticleClaim:
    id: str
    token: str
    attempts: int


@dataclass(frozen=True, slots=True)
class NewArticle:
    """An article as a feed announces it, before its page is fetched."""

    id: str
    url: str
    link: str
    source_id: int
    feed_id: int | None
    guid: str | None
    title: str
    authors: tuple[str, ...]
    summary: str
    feed_content: str
    published_at: datetime | None
    image_url: str | None
    keywords: tuple[str, ...]


def _select() -> sa.Select[Any]:
    return sa.select(
        articles, sources.c.slug.label("source_slug"), sources.c.name.label("source_name")
    ).join(sources, sources.c.id == articles.c.source_id)


def _row(r: Any) -> ArticleRow:
    return ArticleRow(
        id=r.id,
        url=r.url,
        link=r.link,
        source_id=r.source_id,
        source_slug=r.source_slug,
        source_name=r.source_name,
        title=r.title,
        authors=tuple(r.authors or ()),
        summary=r.summary,
        text=r.text,
        html=r.html,
        image_url=r.image_url,
        description=r.description,
        section=r.section,
        language=r.language,
        keywords=tuple(r.keywords or ()),
        published_at=r.published_at,
        published_offset=r.published_offset,
        updated_at=r.updated_at,
        discovered_at=r.discovered_at,
        story_id=r.story_id,
        stage=r.stage,
        version=r.version,
    )


def insert_discovered(conn: Connection, new: Sequence[NewArticle], *, now: datetime) -> int:
    """Queue articles a feed announced; ones already known (same canonical URL) are skipped.
    Returns how many were new."""
    rows = [
        {
            "id": a.id,
            "url": a.url,
            "link": a.link,
            "source_id": a.source_id,
            "feed_id": a.feed_id,
            "guid": a.guid,
            "title": a.title,
            "authors": list(a.authors),
            "summary": a.summary,
            "feed_content": a.feed_content,
            "text": "",
            "html": "",
            "published_at": a.published_at,
            "image_url": a.image_url,
            "keywords": list(a.keywords),
            "discovered_at": now,
            "stage": Stage.DISCOVERED.value,
            "attempts": 0,
            "next_attempt_at": now,
            "version": 1,
        }
        for a in new
    ]
    return insert_ignoring_conflicts(conn, articles, rows, ["id"])


def claim(
    conn: Connection, stage: Stage, *, now: datetime, limit: int, lease_seconds: int
) -> list[ArticleClaim]:
    """Lease up to ``limit`` articles waiting in ``stage``; each claim counts as an attempt, so
    that an article whose processing kills the worker still reaches the attempt cap."""
    candidates = (
        sa.select(articles.c.id)
        .where(
            articles.c.stage == stage.value,
            sa.or_(articles.c.next_attempt_at.is_(None), articles.c.next_attempt_at <= now),
            leases.free(articles, now),
        )
        .order_by(articles.c.discovered_at, articles.c.id)
        .limit(limit)
    )
    won = dict(
        leases.claim(
            conn,
            articles,
            candidates,
            now=now,
            lease_seconds=lease_seconds,
            extra={"attempts": articles.c.attempts + 1},
        )
    )
    if not won:
        return []
    rows = conn.execute(
        sa.select(articles.c.id, articles.c.attempts).where(articles.c.id.in_(won))
    ).all()
    return [ArticleClaim(id=r.id, token=won[r.id], attempts=r.attempts) for r in rows]


def waiting(conn: Connection, stage: Stage, *, now: datetime) -> bool:
    """Whether any article waits in ``stage`` (a cheap read before taking a lock)."""
    query = sa.select(articles.c.id).where(
        articles.c.stage == stage.value,
        sa.or_(articles.c.next_attempt_at.is_(None), articles.c.next_attempt_at <= now),
        leases.free(articles, now),
    )
    return conn.execute(query.limit(1)).first() is not None


def bury_exhausted(conn: Connection, stage: Stage, *, now: datetime, max_attempts: int) -> int:
    """Mark dead the articles of ``stage`` that used up their attempts without ever recording
    a failure: their worker died mid-way (a crash, an out-of-memory kill) on every attempt."""
    result = conn.execute(
        sa.update(articles)
        .where(
            articles.c.stage == stage.value,
            articles.c.attempts >= max_attempts,
            leases.free(articles, now),
        )
        .values(
            stage=Stage.DEAD.value,
            lease_until=None,
            lease_token=None,
            last_error=sa.func.coalesce(
                articles.c.last_error, f"gave up after {max_attempts} attempts: the worker died"
            ),
        )
    )
    return result.rowcount


def get(conn: Connection, article_id: str) -> ArticleRow | None:
    row = conn.execute(_select().where(articles.c.id == article_id)).first()
    return _row(row) if row else None


def feed_content(conn: Connection, article_id: str) -> tuple[str, str, str]:
    """(link, title, the feed's own content) of an article, for the extract stage."""
    row = conn.execute(
        sa.select(articles.c.link, articles.c.title, articles.c.feed_content).where(
            articles.c.id == article_id
        )
    ).one()
    return row.link, row.title, row.feed_content


def save_extracted(
    conn: Connection, claim: ArticleClaim, values: dict[str, Any], *, now: datetime
) -> bool:
    """Store the extracted article and move it on to clustering, if the lease is still ours.
    A re-extraction whose text differs bumps the version, so that results computed from the old
    text (AI summaries) are known to be stale."""
    changed = sa.and_(
        articles.c.content_hash.is_not(None),
        articles.c.content_hash != values.get("content_hash"),
    )
    result = conn.execute(
        sa.update(articles)
        .where(leases.held(articles, claim.id, claim.token))
        .values(
            **values,
            version=sa.case((changed, articles.c.version + 1), else_=articles.c.version),
            extracted_at=now,
            stage=Stage.EXTRACTED.value,
            lease_until=None,
            lease_token=None,
            attempts=0,
            next_attempt_at=now,
            last_error=None,
        )
    )
    return result.rowcount == 1


def record_failure(
    conn: Connection,
    claim: ArticleClaim,
    *,
    error: str,
    now: datetime,
    retry_in: timedelta,
    max_attempts: int,
) -> bool:
    """Release the lease after a failed attempt: retry later, or give up once at the cap."""
    dead = claim.attempts >= max_attempts
    values: dict[str, Any] = {
        "lease_until": None,
        "lease_token": None,
        "last_error": error[:2000],
        "next_attempt_at": now + retry_in,
    }
    if dead:
        values["stage"] = Stage.DEAD.value
    result = conn.execute(
        sa.update(articles).where(leases.held(articles, claim.id, claim.token)).values(**values)
    )
    return dead and result.rowcount == 1


def story_of(conn: Connection, article_id: str) -> int | None:
    query = sa.select(articles.c.story_id).where(articles.c.id == article_id)
    story_id: int | None = conn.execute(query).scalar_one_or_none()
    return story_id


def holds(conn: Connection, claim: ArticleClaim) -> bool:
    """Whether the claim's lease is still the article's (checked before work that would be
    left orphaned if it were not)."""
    query = sa.select(articles.c.id).where(leases.held(articles, claim.id, claim.token))
    return conn.execute(query).first() is not None


def set_story(
    conn: Connection, claim: ArticleClaim, story_id: int, *, duplicate_of: str | None = None
) -> bool:
    result = conn.execute(
        sa.update(articles)
        .where(leases.held(articles, claim.id, claim.token))
        .values(
            story_id=story_id,
            duplicate_of=duplicate_of,
            stage=Stage.CLUSTERED.value,
            lease_until=None,
            lease_token=None,
            attempts=0,
            last_error=None,
        )
    )
    return result.rowcount == 1


def cluster_inputs(conn: Connection, ids: Sequence[str]) -> list[Any]:
    """What story grouping reads of each article: title, lead, time, source."""
    return list(
        conn.execute(
            sa.select(
                articles.c.id,
                articles.c.title,
                articles.c.description,
                articles.c.text,
                articles.c.published_at,
                articles.c.discovered_at,
                articles.c.source_id,
                articles.c.content_hash,
                articles.c.minhash,
            ).where(articles.c.id.in_(list(ids)))
        )
    )


_SHOWN = articles.c.stage.in_([Stage.EXTRACTED.value, Stage.CLUSTERED.value])
_NEWEST = sa.func.coalesce(articles.c.published_at, articles.c.discovered_at).desc()


def latest(
    conn: Connection, *, limit: int, offset: int = 0, source_id: int | None = None
) -> list[ArticleRow]:
    query = _select().where(_SHOWN)
    if source_id is not None:
        query = query.where(articles.c.source_id == source_id)
    query = query.order_by(_NEWEST, articles.c.id).limit(limit).offset(offset)
    return [_row(r) for r in conn.execute(query)]


def count_shown(conn: Connection, *, source_id: int | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(articles).where(_SHOWN)
    if source_id is not None:
        query = query.where(articles.c.source_id == source_id)
    return int(conn.execute(query).scalar_one())


def in_story(conn: Connection, story_id: int) -> list[ArticleRow]:
    query = (
        _select()
        .where(_SHOWN, articles.c.story_id == story_id)
        .order_by(
            sa.func.coalesce(articles.c.published_at, articles.c.discovered_at), articles.c.id
        )
    )
    return [_row(r) for r in conn.execute(query)]


def in_stories(conn: Connection, story_ids: Sequence[int]) -> list[ArticleRow]:
    if not story_ids:
        return []
    query = _select().where(_SHOWN, articles.c.story_id.in_(list(story_ids))).order_by(_NEWEST)
    return [_row(r) for r in conn.execute(query)]


def count_by_stage(conn: Connection) -> dict[str, int]:
    query = sa.select(articles.c.stage, sa.func.count()).group_by(articles.c.stage)
    return {stage: int(n) for stage, n in conn.execute(query)}


def many(conn: Connection, ids: Sequence[str]) -> list[ArticleRow]:
    """The shown articles among ``ids``, in the order given."""
    if not ids:
        return []
    rows = {r.id: _row(r) for r in conn.execute(_select().where(_SHOWN, articles.c.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]

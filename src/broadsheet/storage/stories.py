"""Stories: the coverage of one event across publishers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection

from broadsheet.models import Stage, StoryRow
from broadsheet.storage.schema import UTCDateTime, articles, stories


@dataclass(frozen=True, slots=True)
class WindowMember:
    """A clustered article inside the open window, as story grouping sees it."""

    article_id: str
    story_id: int
    title: str
    lead: str
    published_at: datetime
    source_id: int
    content_hash: str | None
    minhash: bytes | None
    duplicate_of: str | None


def _row(r: Any) -> StoryRow:
    return StoryRow(
        id=r.id,
        title=r.title,
        first_seen_at=r.first_seen_at,
        last_seen_at=r.last_seen_at,
        article_count=r.article_count,
        source_count=r.source_count,
        version=r.version,
    )


_WHEN = sa.func.coalesce(articles.c.published_at, articles.c.discovered_at)


def create(conn: Connection, *, title: str, seen_at: datetime, now: datetime) -> int:
    result = conn.execute(
        sa.insert(stories)
        .values(
            title=title,
            first_seen_at=seen_at,
            last_seen_at=seen_at,
            article_count=0,
            source_count=0,
            version=0,
            created_at=now,
        )
        .returning(stories.c.id)
    )
    return int(result.scalar_one())


def refresh(conn: Connection, story_id: int, *, title: str | None = None) -> None:
    """Recompute a story's counts and times from its articles and bump its version, so that
    anything cached for the old membership (AI summaries) is known to be stale. Duplicates
    (wire copies) are members but not separate coverage: they are not counted."""
    member = sa.and_(articles.c.story_id == story_id, articles.c.duplicate_of.is_(None))
    counts = conn.execute(
        sa.select(
            sa.func.count(articles.c.id),
            sa.func.count(sa.distinct(articles.c.source_id)),
            sa.func.min(_WHEN),
            sa.func.max(_WHEN),
        ).where(member)
    ).one()
    n, sources_n, first, last = counts
    values: dict[str, Any] = {
        "article_count": n,
        "source_count": sources_n,
        "version": stories.c.version + 1,
    }
    if title is not None:  # None: keep the story's headline
        values["title"] = title
    if first is not None:
        values["first_seen_at"] = _as_aware(first)
        values["last_seen_at"] = _as_aware(last)
    conn.execute(sa.update(stories).where(stories.c.id == story_id).values(**values))


def _as_aware(value: Any) -> datetime:
    """Aggregates and COALESCE bypass the column type on SQLite: convert their values here."""
    result = _UTC.process_result_value(value, _SQLITE)
    if result is None:
        raise ValueError("expected a time")
    return result


_UTC = UTCDateTime()
_SQLITE = sqlite.dialect()


def window(conn: Connection, *, since: datetime) -> list[WindowMember]:
    """Every clustered article seen since ``since``: the only part of the archive that new
    articles are compared with, so the cost of adding one does not grow with the archive."""
    query = sa.select(
        articles.c.id,
        articles.c.story_id,
        articles.c.title,
        articles.c.description,
        sa.func.substr(articles.c.text, 1, 700).label("text"),  # the lead is all it needs
        _WHEN.label("at"),
        articles.c.source_id,
        articles.c.content_hash,
        articles.c.minhash,
        articles.c.duplicate_of,
    ).where(
        articles.c.stage == Stage.CLUSTERED.value,
        articles.c.story_id.is_not(None),
        since <= _WHEN,
    )
    return [
        WindowMember(
            article_id=r.id,
            story_id=r.story_id,
            title=r.title,
            lead=lead_of(r.description, r.text),
            published_at=_as_aware(r.at),
            source_id=r.source_id,
            content_hash=r.content_hash,
            minhash=r.minhash,
            duplicate_of=r.duplicate_of,
        )
        for r in conn.execute(query)
    ]


def lead_of(description: str | None, text: str | None) -> str:
    """The article's first paragraph (or its description): what clustering reads beyond the
    headline."""
    if text:
        return text.split("\n\n", 1)[0][:600]
    return (description or "")[:600]


def get(conn: Connection, story_id: int) -> StoryRow | None:
    row = conn.execute(sa.select(stories).where(stories.c.id == story_id)).first()
    return _row(row) if row else None


def top(conn: Connection, *, since: datetime, limit: int) -> list[StoryRow]:
    """Stories ranked by breadth of coverage, then freshness."""
    query = (
        sa.select(stories)
        .where(stories.c.last_seen_at >= since, stories.c.article_count > 0)
        .order_by(stories.c.source_count.desc(), stories.c.last_seen_at.desc(), stories.c.id)
        .limit(limit)
    )
    return [_row(r) for r in conn.execute(query)]


def count(conn: Connection) -> int:
    query = sa.select(sa.func.count()).select_from(stories).where(stories.c.article_count > 0)
    return int(conn.execute(query).scalar_one())

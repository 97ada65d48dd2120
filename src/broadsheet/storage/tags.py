"""Tags (hashtags, and later entities) and which articles carry them."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from broadsheet.models import TagRow
from broadsheet.storage.schema import article_tags, articles, tags
from broadsheet.storage.upsert import insert_ignoring_conflicts


def tag_article(conn: Connection, article_id: str, named: Sequence[tuple[str, str, str]]) -> None:
    """Attach tags given as (slug, name, kind); tags are created on first use."""
    if not named:
        return
    insert_ignoring_conflicts(
        conn, tags, [{"slug": s, "name": n, "kind": k} for s, n, k in named], ["slug"]
    )
    ids = conn.execute(
        sa.select(tags.c.id).where(tags.c.slug.in_([s for s, _, _ in named]))
    ).scalars()
    insert_ignoring_conflicts(
        conn,
        article_tags,
        [{"article_id": article_id, "tag_id": tag_id} for tag_id in ids],
        ["article_id", "tag_id"],
    )


def for_article(conn: Connection, article_id: str) -> list[TagRow]:
    query = (
        sa.select(tags)
        .join(article_tags, article_tags.c.tag_id == tags.c.id)
        .where(article_tags.c.article_id == article_id)
        .order_by(tags.c.name)
    )
    return [TagRow(r.id, r.slug, r.name, r.kind) for r in conn.execute(query)]


def get_by_slug(conn: Connection, slug: str) -> TagRow | None:
    row = conn.execute(sa.select(tags).where(tags.c.slug == slug)).first()
    return TagRow(row.id, row.slug, row.name, row.kind) if row else None


def article_ids(conn: Connection, tag_id: int, *, limit: int, offset: int = 0) -> list[str]:
    """The articles carrying a tag, newest first."""
    when = sa.func.coalesce(articles.c.published_at, articles.c.discovered_at)
    query = (
        sa.select(article_tags.c.article_id)
        .join(articles, articles.c.id == article_tags.c.article_id)
        .where(article_tags.c.tag_id == tag_id)
        .order_by(when.desc(), articles.c.id)
        .limit(limit)
        .offset(offset)
    )
    return list(conn.execute(query).scalars())


def count_articles(conn: Connection, tag_id: int) -> int:
    query = sa.select(sa.func.count()).where(article_tags.c.tag_id == tag_id)
    return int(conn.execute(query).scalar_one())


def sharing(conn: Connection, article_id: str, *, limit: int) -> list[str]:
    """Other articles ranked by how many tags they share with this one."""
    mine = sa.select(article_tags.c.tag_id).where(article_tags.c.article_id == article_id)
    shared = sa.func.count().label("shared")
    query = (
        sa.select(article_tags.c.article_id, shared)
        .where(article_tags.c.tag_id.in_(mine), article_tags.c.article_id != article_id)
        .group_by(article_tags.c.article_id)
        .order_by(shared.desc(), article_tags.c.article_id)
        .limit(limit)
    )
    return [r.article_id for r in conn.execute(query)]

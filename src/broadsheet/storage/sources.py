"""Publishers: one row per site, shared by its feeds and articles."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from broadsheet.models import SourceRow
from broadsheet.storage.schema import articles, sources
from broadsheet.storage.upsert import insert_ignoring_conflicts


def ensure(conn: Connection, *, slug: str, name: str, site_url: str | None, now: datetime) -> int:
    """The id of the source with this slug, created if new (the first name given wins)."""
    insert_ignoring_conflicts(
        conn,
        sources,
        [{"slug": slug, "name": name, "site_url": site_url, "created_at": now}],
        ["slug"],
    )
    source_id = conn.execute(sa.select(sources.c.id).where(sources.c.slug == slug)).scalar_one()
    return int(source_id)


def get_by_slug(conn: Connection, slug: str) -> SourceRow | None:
    row = conn.execute(sa.select(sources).where(sources.c.slug == slug)).first()
    return SourceRow(row.id, row.slug, row.name, row.site_url) if row else None


def all_with_counts(conn: Connection) -> list[tuple[SourceRow, int]]:
    count = sa.func.count(articles.c.id)
    query = (
        sa.select(sources, count.label("n"))
        .outerjoin(articles, articles.c.source_id == sources.c.id)
        .group_by(sources.c.id)
        .order_by(sources.c.name)
    )
    return [(SourceRow(r.id, r.slug, r.name, r.site_url), int(r.n)) for r in conn.execute(query)]

"""Feeds and their schedule: the database is the queue of feeds to poll."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from broadsheet.models import FeedRow
from broadsheet.storage import leases
from broadsheet.storage.schema import feeds, sources
from broadsheet.storage.upsert import insert_ignoring_conflicts


@dataclass(frozen=True, slots=True)
class FeedClaim:
    """A leased feed: what a worker needs to poll it, and the token that proves the lease."""

    id: int
    url: str
    source_id: int
    token: str
    etag: str | None
    last_modified: str | None
    error_count: int
    interval_seconds: int


def _select() -> sa.Select[Any]:
    return sa.select(feeds, sources.c.name.label("source_name")).join(
        sources, sources.c.id == feeds.c.source_id
    )


def _row(r: Any) -> FeedRow:
    return FeedRow(
        id=r.id,
        url=r.url,
        source_id=r.source_id,
        source_name=r.source_name,
        title=r.title,
        category=r.category,
        enabled=r.enabled,
        etag=r.etag,
        last_modified=r.last_modified,
        interval_seconds=r.interval_seconds,
        next_check_at=r.next_check_at,
        last_checked_at=r.last_checked_at,
        last_success_at=r.last_success_at,
        error_kind=r.error_kind,
        error_message=r.error_message,
        error_at=r.error_at,
        error_count=r.error_count,
    )


def add(
    conn: Connection,
    *,
    url: str,
    source_id: int,
    interval_seconds: int,
    now: datetime,
    title: str | None = None,
    category: str | None = None,
) -> tuple[int, bool]:
    """Subscribe to a feed, due at once; returns (feed id, whether it was new)."""
    created = insert_ignoring_conflicts(
        conn,
        feeds,
        [
            {
                "url": url,
                "source_id": source_id,
                "title": title,
                "category": category,
                "enabled": True,
                "interval_seconds": interval_seconds,
                "next_check_at": now,
                "error_count": 0,
                "created_at": now,
            }
        ],
        ["url"],
    )
    feed_id = conn.execute(sa.select(feeds.c.id).where(feeds.c.url == url)).scalar_one()
    return int(feed_id), bool(created)


def get(conn: Connection, feed_id: int) -> FeedRow | None:
    row = conn.execute(_select().where(feeds.c.id == feed_id)).first()
    return _row(row) if row else None


def all_feeds(conn: Connection) -> list[FeedRow]:
    return [_row(r) for r in conn.execute(_select().order_by(sources.c.name, feeds.c.url))]


def claim_due(
    conn: Connection, *, now: datetime, limit: int, lease_seconds: int
) -> list[FeedClaim]:
    candidates = (
        sa.select(feeds.c.id)
        .where(feeds.c.enabled.is_(True), feeds.c.next_check_at <= now, leases.free(feeds, now))
        .order_by(feeds.c.next_check_at)
        .limit(limit)
    )
    won = dict(leases.claim(conn, feeds, candidates, now=now, lease_seconds=lease_seconds))
    if not won:
        return []
    rows = conn.execute(sa.select(feeds).where(feeds.c.id.in_(won))).all()
    return [
        FeedClaim(
            id=r.id,
            url=r.url,
            source_id=r.source_id,
            token=won[r.id],
            etag=r.etag,
            last_modified=r.last_modified,
            error_count=r.error_count,
            interval_seconds=r.interval_seconds,
        )
        for r in rows
    ]


def record_success(
    conn: Connection,
    claim: FeedClaim,
    *,
    now: datetime,
    next_check_at: datetime,
    etag: str | None,
    last_modified: str | None,
    title: str | None = None,
    websub_hub: str | None = None,
    interval_seconds: int | None = None,
) -> bool:
    """Store a successful poll and release the lease. Call it in the same transaction as the
    articles the poll found: saving the validators alone would make the next poll a 304 that
    skips those articles for ever (KNOWN-FAULTS)."""
    values: dict[str, Any] = {
        "etag": etag,
        "last_modified": last_modified,
        "last_checked_at": now,
        "last_success_at": now,
        "next_check_at": next_check_at,
        "lease_until": None,
        "lease_token": None,
        "error_kind": None,
        "error_message": None,
        "error_count": 0,
    }
    if title:
        values["title"] = title
    if websub_hub:
        values["websub_hub"] = websub_hub
    if interval_seconds:
        values["interval_seconds"] = interval_seconds
    result = conn.execute(
        sa.update(feeds).where(leases.held(feeds, claim.id, claim.token)).values(**values)
    )
    return result.rowcount == 1


def record_failure(
    conn: Connection,
    claim: FeedClaim,
    *,
    now: datetime,
    next_check_at: datetime,
    kind: str,
    message: str,
) -> bool:
    result = conn.execute(
        sa.update(feeds)
        .where(leases.held(feeds, claim.id, claim.token))
        .values(
            last_checked_at=now,
            next_check_at=next_check_at,
            lease_until=None,
            lease_token=None,
            error_kind=kind,
            error_message=message[:2000],
            error_at=now,
            error_count=feeds.c.error_count + 1,
        )
    )
    return result.rowcount == 1


def make_due(conn: Connection, *, now: datetime) -> int:
    """Make every feed due now ("refresh all")."""
    return conn.execute(sa.update(feeds).values(next_check_at=now)).rowcount

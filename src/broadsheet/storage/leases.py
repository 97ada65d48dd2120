"""Leases: how a row of work (a feed to poll, an article to process) is claimed by one worker.

A claim is a conditional UPDATE that sets a fresh random token and an expiry only where no live
lease exists; the UPDATE re-checks its WHERE clause under the row lock on PostgreSQL and under the
single write lock on SQLite, so two claimers never both win a row. A worker finishes by writing
its results WHERE the token is still its own: a worker that lost its lease (it was too slow, or
another took over after a crash) writes nothing. A crashed worker's lease simply expires.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def new_token() -> str:
    return secrets.token_hex(16)


def free(table: sa.Table, now: datetime) -> sa.ColumnElement[bool]:
    """Rows with no live lease."""
    return sa.or_(table.c.lease_until.is_(None), table.c.lease_until < now)


def claim(
    conn: Connection,
    table: sa.Table,
    candidates: sa.Select[Any],
    *,
    now: datetime,
    lease_seconds: int,
    extra: dict[str, Any] | None = None,
) -> list[tuple[Any, str]]:
    """Lease the rows whose keys ``candidates`` selects; returns (key, token) for each one won.

    ``candidates`` selects primary keys, already filtered to due rows and limited; each is then
    taken with its own conditional UPDATE so that losing one race costs one row, not the batch.
    """
    key = next(iter(table.primary_key.columns))
    won: list[tuple[Any, str]] = []
    until = now + timedelta(seconds=lease_seconds)
    for (row_key,) in conn.execute(candidates).all():
        token = new_token()
        result = conn.execute(
            sa.update(table)
            .where(key == row_key, free(table, now))
            .values(lease_until=until, lease_token=token, **(extra or {}))
        )
        if result.rowcount == 1:
            won.append((row_key, token))
    return won


def held(table: sa.Table, row_key: Any, token: str) -> sa.ColumnElement[bool]:
    """WHERE clause of a write that must only land while the writer still holds its lease."""
    key = next(iter(table.primary_key.columns))
    return sa.and_(key == row_key, table.c.lease_token == token)

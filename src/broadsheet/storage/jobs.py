"""Periodic maintenance jobs, scheduled in the database like feeds.

Any number of runners may try a job; the conditional UPDATE of ``claim_due`` lets exactly one of
them run it in each period."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from broadsheet.storage import leases
from broadsheet.storage.schema import periodic_runs
from broadsheet.storage.upsert import insert_ignoring_conflicts


def claim_due(conn: Connection, name: str, *, now: datetime, lease_seconds: int) -> str | None:
    """The lease token if job ``name`` is due and now ours to run, else None."""
    insert_ignoring_conflicts(conn, periodic_runs, [{"name": name, "next_run_at": now}], ["name"])
    candidates = sa.select(periodic_runs.c.name).where(
        periodic_runs.c.name == name,
        periodic_runs.c.next_run_at <= now,
        leases.free(periodic_runs, now),
    )
    won = leases.claim(conn, periodic_runs, candidates, now=now, lease_seconds=lease_seconds)
    return won[0][1] if won else None


def finish(
    conn: Connection,
    name: str,
    token: str,
    *,
    now: datetime,
    every: timedelta,
    error: str | None = None,
) -> bool:
    result = conn.execute(
        sa.update(periodic_runs)
        .where(leases.held(periodic_runs, name, token))
        .values(
            last_run_at=now,
            next_run_at=now + every,
            lease_until=None,
            lease_token=None,
            last_error=error,
        )
    )
    return result.rowcount == 1


def last_run(conn: Connection, name: str) -> datetime | None:
    query = sa.select(periodic_runs.c.last_run_at).where(periodic_runs.c.name == name)
    value: datetime | None = conn.execute(query).scalar_one_or_none()
    return value


def optimize(conn: Connection) -> None:
    """Refresh the query planner's statistics: SQLite's recommended periodic PRAGMA optimize,
    ANALYZE on PostgreSQL (autovacuum does it too, but not right after a bulk ingest)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA optimize")
    else:
        conn.exec_driver_sql("ANALYZE")

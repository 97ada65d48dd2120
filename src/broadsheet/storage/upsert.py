"""INSERT ... ON CONFLICT DO NOTHING, the one write that makes ingestion idempotent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def insert_ignoring_conflicts(
    conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], conflict: Sequence[str]
) -> int:
    """Insert the rows that do not clash on ``conflict``; returns how many were new."""
    if not rows:
        return 0
    name = conn.dialect.name
    if name == "postgresql":
        stmt: Any = postgresql.insert(table).on_conflict_do_nothing(index_elements=list(conflict))
    elif name == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(conflict))
    else:  # pragma: no cover - only the two engines above are supported
        raise NotImplementedError(name)
    # RETURNING tells which rows were really inserted; rowcount does not on every driver
    # (psycopg reports the implicit RETURNING of the primary key even when nothing was inserted).
    stmt = stmt.returning(*table.primary_key.columns)
    return sum(len(conn.execute(stmt, row).all()) for row in rows)

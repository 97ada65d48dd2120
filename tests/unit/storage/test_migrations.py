"""The Alembic migrations build exactly the schema the queries are written against."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from broadsheet.storage import Database
from broadsheet.storage.schema import metadata


def test_migrations_match_the_schema(db: Database) -> None:
    with db.begin() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []

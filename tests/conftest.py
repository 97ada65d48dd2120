"""Shared fixtures: settings in a temporary folder, and a migrated database on each engine.

The PostgreSQL variant runs against the server on 127.0.0.1:5432 (trust auth), in a database
created for the test and dropped after it. Where no server answers, those tests are skipped
with the reason, unless BROADSHEET_REQUIRE_POSTGRES=1 (CI sets it), where they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadsheet.config import Settings
from broadsheet.storage import Database

PG_DSN = os.environ.get("BROADSHEET_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres")


def _postgres_unavailable() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[dev]')"
    try:
        with psycopg.connect(f"{PG_DSN} dbname=postgres", connect_timeout=2):
            return None
    except psycopg.OperationalError as exc:
        return f"no PostgreSQL server at {PG_DSN}: {str(exc).strip()}"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(
        env={},
        data_dir=str(tmp_path),
        allow_hosts=("127.0.0.1",),
        request_deadline=10.0,
        per_host_delay=0.0,  # the loopback publishers are ours; politeness has its own tests
        fetch_workers=4,
    )


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'test.db'}")
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    reason = _postgres_unavailable()
    if reason:
        if os.environ.get("BROADSHEET_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"BROADSHEET_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    import psycopg

    name = f"broadsheet_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{PG_DSN} dbname=postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = dict(part.split("=", 1) for part in PG_DSN.split())
    yield (
        f"postgresql+psycopg://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}"
        f":{params.get('port', '5432')}/{name}"
    )
    with psycopg.connect(f"{PG_DSN} dbname=postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database on each supported engine."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    database = Database(url)
    database.migrate()
    yield database
    database.dispose()

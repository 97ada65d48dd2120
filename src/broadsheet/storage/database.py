"""The engine, its per-connection settings, and schema migrations.

SQLite is the zero-configuration default: WAL so that readers (``Database.read``) never wait for
the writer, foreign keys on, ``synchronous=FULL`` because NORMAL may drop the last transactions
on power loss (KNOWN-FAULTS), and a busy timeout so that the runner's threads queue for the
write lock instead of failing. PostgreSQL needs nothing special here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from broadsheet.errors import StorageError

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is turned off so that SQLAlchemy's BEGIN is the only
    # one; "BEGIN IMMEDIATE" below takes the write lock up front, which avoids the
    # SQLITE_BUSY deadlock of two readers upgrading to writers at once.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


_READ = "broadsheet_read"  # execution option marking a read-only unit of work


def _on_sqlite_begin(conn: Connection) -> None:
    # A read-only unit takes a deferred transaction: in WAL mode it reads a snapshot and never
    # waits for the writer. A unit that writes takes the write lock up front.
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(_READ) else "BEGIN IMMEDIATE")


class Database:
    """One engine per process; connections come from its pool, one transaction at a time."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = sa.make_url(url)
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            database = self.url.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = sa.create_engine(self.url, **kwargs)
        if self.is_sqlite:
            sa.event.listen(self.engine, "connect", _on_sqlite_connect)
            sa.event.listen(self.engine, "begin", _on_sqlite_begin)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """A unit of work that writes: one transaction, committed on exit, rolled back on error."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {exc}") from exc

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A unit of work that only reads (pages, listings): one consistent snapshot that, on
        SQLite, never waits behind the writer."""
        try:
            with self.engine.connect() as conn:
                conn.execution_options(**{_READ: True})
                with conn.begin():
                    yield conn
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {exc}") from exc

    def migrate(self) -> None:
        """Bring the schema to the newest revision (idempotent)."""
        with self.engine.begin() as conn:
            cfg = alembic_config(conn)
            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    location = resources.files("broadsheet.storage") / "migrations"
    cfg.set_main_option("script_location", str(location))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg

"""What every entry point opens first: settings, the migrated database, the HTTP client."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import TracebackType

from broadsheet.config import Settings
from broadsheet.pipeline.fetch import Fetcher
from broadsheet.pipeline.isolate import Isolation
from broadsheet.services.ingest import Ingestor
from broadsheet.storage import Database

__all__ = ["Database", "Runtime"]  # the web layer names the handle through services


@dataclass(slots=True)
class Runtime:
    settings: Settings
    db: Database
    fetcher: Fetcher
    isolation: Isolation | None = None

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Runtime:
        logging.basicConfig(
            level=settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        # one line per HTTP request drowns the progress display; our own logs say what failed
        # (nor do Alembic's "Context impl SQLiteImpl" lines on every command)
        for noisy in ("httpx", "alembic", "sentence_transformers"):
            logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.root.level))
        db = Database(settings.database_url)
        if migrate:
            db.migrate()
        return cls(settings, db, Fetcher.from_settings(settings))

    def ingestor(self) -> Ingestor:
        """The orchestrator; feed parsing and extraction run in a pool of worker processes
        with time and memory limits, started on first use and shared by the runner's threads."""
        if self.isolation is None:
            s = self.settings
            self.isolation = Isolation(
                s.parse_workers or None,
                timeout=s.parse_timeout,
                memory_bytes=s.parse_memory_mb * 2**20,
            )
        return Ingestor(self.db, self.fetcher, self.settings, isolation=self.isolation)

    def close(self) -> None:
        if self.isolation is not None:
            self.isolation.close()
        self.fetcher.close()
        self.db.dispose()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

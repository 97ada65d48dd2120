"""The in-process runner: the scheduler and a thread pool in one process, over the database queue.

Each pass claims due feeds and polls them, claims discovered articles and extracts them, then
places extracted articles into stories (from this thread only: one clusterer). All state lives
in the database, so stopping the process at any moment loses nothing but leases, which expire.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from broadsheet.models import Progress, Stage
from broadsheet.services.ingest import Ingestor

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PassResult:
    feeds: int
    articles: int
    placed: int

    @property
    def idle(self) -> bool:
        return not (self.feeds or self.articles or self.placed)


class Runner:
    def __init__(
        self,
        ingestor: Ingestor,
        *,
        workers: int,
        batch: int | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        cluster_every: float = 30.0,
    ) -> None:
        self.ingestor = ingestor
        self.workers = workers
        self.batch = batch or workers * 4
        self.progress = Progress()
        self.cluster_every = cluster_every
        self._clustered_at = time.monotonic()
        self._on_progress = on_progress
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="broadsheet")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run_pass(self) -> PassResult:
        feeds = self.ingestor.claim_feeds(self.batch)
        for poll in self._pool.map(self.ingestor.poll, feeds):
            with self._lock:
                self.progress.feeds_polled += 1
                self.progress.articles_discovered += poll.new_articles
                if poll.error:
                    self.progress.feeds_failed += 1
                    self.progress.errors.append(poll.error)
            self._report()

        claims = self.ingestor.claim_articles(Stage.DISCOVERED, self.batch)
        for outcome in self._pool.map(self.ingestor.extract, claims):
            with self._lock:
                if outcome.ok:
                    self.progress.articles_extracted += 1
                else:
                    self.progress.articles_failed += 1
            self._report()

        self.ingestor.run_maintenance()
        # Online grouping depends on arrival order: place articles in larger, time-ordered
        # batches once extraction has caught up, but never hold stories back for long.
        placed = 0
        drained = len(claims) < self.batch
        if drained or time.monotonic() - self._clustered_at > self.cluster_every:
            placed = self.ingestor.cluster_pending()
            self._clustered_at = time.monotonic()
        if placed:
            self.progress.stories = self.ingestor.story_count()
            self._report()
        return PassResult(len(feeds), len(claims), placed)

    def run_until_idle(self, *, max_passes: int = 10_000) -> Progress:
        """Work until nothing is due: what `broadsheet ingest` and the tests use."""
        for _ in range(max_passes):
            if self.run_pass().idle:
                break
        return self.progress

    def run_forever(self, stop: threading.Event, *, idle_sleep: float = 1.0) -> None:
        """Work until ``stop`` is set, sleeping between passes when there is nothing to do."""
        while not stop.is_set():
            try:
                result = self.run_pass()
            except Exception:  # keep the site up; the failing step is retried next pass
                log.exception("runner pass failed")
                stop.wait(5 * idle_sleep)
                continue
            if result.idle:
                stop.wait(idle_sleep)

    def _report(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.progress)

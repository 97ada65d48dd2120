"""The in-process runner: the scheduler and a thread pool in one process, over the database queue.

Each round tops the pool up with work claimed from the database (due feeds, then discovered
articles), up to twice the number of threads, so that a lease is taken only when a thread is
about to be free and a slow page delays nothing but itself. Extracted articles are placed into
stories from the runner's own thread (one clusterer), in larger time-ordered batches once
extraction has caught up, but at least every ``cluster_every`` seconds. All state lives in the
database: stopping the process at any moment loses nothing but leases, which expire.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from broadsheet.models import Progress, Stage
from broadsheet.services.ingest import ExtractOutcome, Ingestor, PollOutcome

log = logging.getLogger(__name__)

MAINTENANCE_EVERY = 60.0  # seconds between two looks at the periodic jobs table


class Runner:
    def __init__(
        self,
        ingestor: Ingestor,
        *,
        workers: int,
        on_progress: Callable[[Progress], None] | None = None,
        cluster_every: float = 30.0,
    ) -> None:
        self.ingestor = ingestor
        self.capacity = workers * 2
        self.cluster_every = cluster_every
        self.progress = Progress()
        self._on_progress = on_progress
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="broadsheet")
        self._polls: set[Future[PollOutcome]] = set()
        self._extracts: set[Future[ExtractOutcome]] = set()
        self._clustered_at = time.monotonic()
        self._maintained_at = 0.0

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def step(self, *, wait_seconds: float = 0.2) -> bool:
        """One scheduling round; True when it claimed, finished or placed anything."""
        busy = self._top_up()
        inflight: set[Future[Any]] = {*self._polls, *self._extracts}
        if inflight:
            done, _ = wait(inflight, wait_seconds, FIRST_COMPLETED)
            busy |= bool(done)
            self._finish(done)
        busy |= self._cluster() > 0
        self._maintain()
        return busy or bool(self._polls or self._extracts)

    def run_until_idle(self) -> Progress:
        """Work until nothing is due or in flight: what `broadsheet ingest` and tests use."""
        while self.step():
            pass
        return self.progress

    def run_forever(self, stop: threading.Event, *, idle_sleep: float = 1.0) -> None:
        """Work until ``stop`` is set, sleeping between rounds when there is nothing to do."""
        while not stop.is_set():
            try:
                busy = self.step()
            except Exception:  # the database is down, say: keep the site up and try again
                log.exception("runner round failed")
                stop.wait(5 * idle_sleep)
                continue
            if not busy:
                stop.wait(idle_sleep)

    def _top_up(self) -> bool:
        free = self.capacity - len(self._polls) - len(self._extracts)
        if free <= 0:
            return False
        feeds = self.ingestor.claim_feeds(free)
        self._polls |= {self._pool.submit(self.ingestor.poll, claim) for claim in feeds}
        free -= len(feeds)
        claims = self.ingestor.claim_articles(Stage.DISCOVERED, free) if free > 0 else []
        self._extracts |= {self._pool.submit(self.ingestor.extract, c) for c in claims}
        return bool(feeds or claims)

    def _finish(self, done: set[Future[Any]]) -> None:
        # the ingestor records its own failures on the rows: result() never raises here
        p = self.progress
        for poll in done & self._polls:
            self._polls.discard(poll)
            outcome = poll.result()
            p.feeds_polled += 1
            p.articles_discovered += outcome.new_articles
            if outcome.error:
                p.feeds_failed += 1
                p.last_error = outcome.error
        for extract in done & self._extracts:
            self._extracts.discard(extract)
            result = extract.result()
            if result.ok:
                p.articles_extracted += 1
            else:
                p.articles_failed += 1
                p.last_error = result.error
        if done:
            self._report()

    def _cluster(self) -> int:
        caught_up = not self._extracts
        if not caught_up and time.monotonic() - self._clustered_at < self.cluster_every:
            return 0
        placed = self.ingestor.cluster_pending()
        self._clustered_at = time.monotonic()
        if placed:
            self.progress.stories = self.ingestor.story_count()
            self._report()
        return placed

    def _maintain(self) -> None:
        if time.monotonic() - self._maintained_at >= MAINTENANCE_EVERY:
            self._maintained_at = time.monotonic()
            self.ingestor.run_maintenance()

    def _report(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.progress)

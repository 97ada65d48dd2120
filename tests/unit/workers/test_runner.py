"""The in-process runner against a real loopback publisher: a slow page holds up nothing but
itself, and a runner told to stop, stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

import pytest

from broadsheet.config import Settings
from broadsheet.models import Stage
from broadsheet.pipeline.fetch import Fetcher
from broadsheet.services import subscriptions
from broadsheet.services.ingest import Ingestor
from broadsheet.storage import Database
from broadsheet.storage import articles as article_store
from broadsheet.workers.runner import Runner
from tests.unit.services.loopback import HTML_TYPE, RSS_TYPE, Reply, ScriptedServer, rss
from tests.unit.services.test_ingest import article_page, paragraphs_html

SLOW_SECONDS = 3.0


@pytest.fixture
def fetcher(settings: Settings) -> Iterator[Fetcher]:
    with Fetcher.from_settings(settings) as f:
        yield f


def _site(srv: ScriptedServer, n: int) -> None:
    items = [{"title": f"Story {i}", "link": srv.url(f"/s/{i}"), "guid": str(i)} for i in range(n)]
    srv.routes["/feed.xml"] = Reply(200, rss("Gazette", items), RSS_TYPE)
    page = article_page("Sea wall repairs", paragraphs_html())
    for i in range(1, n):
        srv.routes[f"/s/{i}"] = Reply(200, page, HTML_TYPE)

    def slow(headers: Mapping[str, str]) -> Reply:
        time.sleep(SLOW_SECONDS)
        return Reply(200, page, HTML_TYPE)

    srv.routes["/s/0"] = slow


def _extracted(db: Database) -> int:
    with db.read() as conn:
        counts = article_store.count_by_stage(conn)
    return counts.get(Stage.EXTRACTED, 0) + counts.get(Stage.CLUSTERED, 0)


def test_a_slow_page_holds_up_nothing_but_itself(
    sqlite_db: Database, settings: Settings, fetcher: Fetcher
) -> None:
    with ScriptedServer() as srv, ScriptedServer() as other:
        _site(srv, 9)
        _site(other, 2)
        other.routes["/s/0"] = other.routes["/s/1"]
        subscriptions.subscribe(
            sqlite_db, settings, url=srv.url("/feed.xml"), now=datetime.now(UTC)
        )
        with Runner(Ingestor(sqlite_db, fetcher, settings), workers=2) as runner:
            started = time.monotonic()
            while _extracted(sqlite_db) < 8 and time.monotonic() - started < SLOW_SECONDS:
                runner.step()
            # the slow page still holds a thread; a feed that falls due now is read meanwhile
            subscriptions.subscribe(
                sqlite_db, settings, url=other.url("/feed.xml"), now=datetime.now(UTC)
            )
            while _extracted(sqlite_db) < 10 and time.monotonic() - started < SLOW_SECONDS:
                runner.step()
            others_done = time.monotonic() - started
            progress = runner.run_until_idle()
    assert others_done < SLOW_SECONDS
    assert (progress.feeds_polled, progress.articles_extracted) == (2, 11)


def test_run_forever_stops_when_told(
    sqlite_db: Database, settings: Settings, fetcher: Fetcher
) -> None:
    with ScriptedServer() as srv:
        _site(srv, 3)
        srv.routes["/s/0"] = srv.routes["/s/1"]
        subscriptions.subscribe(
            sqlite_db, settings, url=srv.url("/feed.xml"), now=datetime.now(UTC)
        )
        stop = threading.Event()
        with Runner(Ingestor(sqlite_db, fetcher, settings), workers=2) as runner:
            thread = threading.Thread(
                target=runner.run_forever, args=(stop,), kwargs={"idle_sleep": 0.05}
            )
            thread.start()
            deadline = time.monotonic() + 20
            while runner.progress.stories < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            stop.set()
            thread.join(timeout=5)
        assert not thread.is_alive()
    assert _extracted(sqlite_db) == 3
    assert runner.progress.stories >= 1

"""Hostile and broken feeds on real loopback servers, through the real ingest path (Ingestor and
Runner over a real SQLite database). Each test asserts the outcome: the error kind recorded on
the feed, what is stored and what is capped, nothing stored twice, and bounded time and memory;
and that the well-behaved feed polled beside the hostile one is unaffected."""

from __future__ import annotations

import gzip
import resource
import threading
import time
import tracemalloc
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa

from broadsheet.config import Settings
from broadsheet.models import FeedRow, Progress
from broadsheet.pipeline.feeds import MAX_ENTRIES
from broadsheet.pipeline.fetch import Fetcher
from broadsheet.services import subscriptions
from broadsheet.services.ingest import Ingestor
from broadsheet.storage import Database
from broadsheet.storage.schema import articles as articles_table
from broadsheet.workers.runner import Runner
from tests.unit.services.loopback import HTML_TYPE, RSS_TYPE, Reply, ScriptedServer, rss

pytestmark = pytest.mark.timeout(60)

PAGE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head>"
    "<body><article><h1>{title}</h1>"
    + "".join(
        f"<p>The harbour board met on Tuesday to hear report number {i} on the sea wall, "
        "which the winter storms damaged. Repairs will take eleven weeks, the board said.</p>"
        for i in range(4)
    )
    + "</article></body></html>"
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def fetcher(settings: Settings) -> Iterator[Fetcher]:
    with Fetcher.from_settings(settings) as f:
        yield f


def run(db: Database, fetcher: Fetcher, settings: Settings, clock: Clock | None = None) -> Progress:
    ingestor = Ingestor(db, fetcher, settings, **({"clock": clock} if clock else {}))
    with Runner(ingestor, workers=4) as runner:
        return runner.run_until_idle()


def feeds(db: Database) -> dict[str, FeedRow]:
    return {f.url: f for f in subscriptions.list_feeds(db)}


def stored(db: Database) -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(sa.select(articles_table)).all())


def subscribe(db: Database, settings: Settings, *urls: str) -> None:
    for url in urls:
        subscriptions.subscribe(db, settings, url=url, now=datetime.now(UTC))


def good_feed(srv: ScriptedServer, n: int = 2) -> None:
    """A well-behaved feed at /good.xml with ``n`` articles, to prove the others unaffected."""
    items = [
        {"title": f"Good story {i}", "link": srv.url(f"/good/{i}"), "guid": f"good-{i}"}
        for i in range(n)
    ]
    srv.routes["/good.xml"] = Reply(200, rss("Good", items), RSS_TYPE)
    for i in range(n):
        srv.routes[f"/good/{i}"] = Reply(
            200, PAGE.format(title=f"Good story {i}").encode(), HTML_TYPE
        )


def assert_good(db: Database, srv: ScriptedServer, n: int = 2) -> None:
    row = feeds(db)[srv.url("/good.xml")]
    assert row.healthy and row.error_count == 0 and row.last_success_at is not None
    texts = {r.url: r.text for r in stored(db) if "/good/" in r.url}
    assert len(texts) == n and all("eleven weeks" in (t or "") for t in texts.values())


# -- size -----------------------------------------------------------------------------------------


def test_a_feed_of_ten_thousand_entries_is_capped_in_bounded_time_and_memory(
    sqlite_db: Database, settings: Settings, fetcher: Fetcher
) -> None:
    """10,000 entries (1 MB): the first MAX_ENTRIES (5,000) in document order are stored, as
    discovered, in one poll; the rest are not. The poll is measured on its own (the 5,000 page
    fetches that follow are the runner's ordinary work)."""
    items = [
        {"title": f"Entry {i}", "link": f"http://127.0.0.1:1/entry/{i}", "guid": f"g{i}"}
        for i in range(10_000)
    ]
    body = rss("Huge", items)
    assert len(body) > 900_000
    with ScriptedServer({"/huge.xml": Reply(200, body, RSS_TYPE)}) as srv:
        subscribe(sqlite_db, settings, srv.url("/huge.xml"))
        ingestor = Ingestor(sqlite_db, fetcher, settings)
        (claim,) = ingestor.claim_feeds(5)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.monotonic()
        outcome = ingestor.poll(claim)
        elapsed = time.monotonic() - start
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before  # KiB
    assert outcome.error is None and outcome.new_articles == MAX_ENTRIES == 5_000
    assert elapsed < 15.0
    assert grown < 300_000  # the peak resident size grew by less than 300 MB
    rows = stored(sqlite_db)
    assert len(rows) == MAX_ENTRIES
    kept = {int(r.url.rsplit("/", 1)[1]) for r in rows}
    assert kept == set(range(MAX_ENTRIES))  # the first 5,000, none of the rest
    assert {r.stage for r in rows} == {"discovered"}
    assert feeds(sqlite_db)[srv.url("/huge.xml")].healthy


# -- identity -------------------------------------------------------------------------------------


def test_a_feed_that_changes_every_guid_stores_nothing_twice(
    sqlite_db: Database, settings: Settings, fetcher: Fetcher
) -> None:
    polls = 0

    def feed(headers: Mapping[str, str]) -> Reply:
        nonlocal polls
        polls += 1
        items = [
            {
                "title": f"Story {i}",
                # the same stories, with tracking parameters that change too
                "link": srv.url(f"/story/{i}") + f"?utm_source=rss&amp;utm_campaign=p{polls}",
                "guid": f"poll-{polls}-item-{i}",
            }
            for i in range(3)
        ]
        return Reply(200, rss("Shifty", items), RSS_TYPE)

    with ScriptedServer({"/shifty.xml": feed}) as srv:
        for i in range(3):
            srv.routes[f"/story/{i}"] = Reply(
                200, PAGE.format(title=f"Story {i}").encode(), HTML_TYPE
            )
        subscribe(sqlite_db, settings, srv.url("/shifty.xml"))
        clock = Clock()
        first = run(sqlite_db, fetcher, settings, clock)
        for _ in range(2):
            clock.now += timedelta(seconds=settings.poll_interval_max + 1)
            later = run(sqlite_db, fetcher, settings, clock)
            assert (later.feeds_polled, later.articles_discovered) == (1, 0)
            assert later.articles_extracted == 0
        page_hits = [len(srv.hits(f"/story/{i}")) for i in range(3)]

    assert polls == 3
    assert first.articles_discovered == first.articles_extracted == 3
    rows = stored(sqlite_db)
    assert sorted(r.url for r in rows) == [srv.url(f"/story/{i}") for i in range(3)]
    # the GUIDs first seen are kept (feedparser resolves a bare GUID against the feed URL)
    assert sorted(r.guid.rsplit("/", 1)[-1] for r in rows) == [f"poll-1-item-{i}" for i in range(3)]
    assert page_hits == [1, 1, 1]  # each page fetched once


# -- encoding and structure ------------------------------------------------------------------------


def _charset_feed(declared: str, encoding: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="{declared}"?><rss version="2.0"><channel>'
        "<title>Café Gazette</title>"
        f"<item><title>Élection à Noël: «résultats»</title><link>LINK</link>"
        "<guid>1</guid></item></channel></rss>"
    ).encode(encoding)


@pytest.mark.parametrize(
    ("declared", "encoding"),
    [("utf-8", "latin-1"), ("iso-8859-1", "utf-8"), ("windows-1252", "utf-8")],
)
def test_wrong_charset_titles_come_out_right(
    sqlite_db: Database, settings: Settings, fetcher: Fetcher, declared: str, encoding: str
) -> None:
    with ScriptedServer() as srv:
        body = _charset_feed(declared, encoding).replace(b"LINK", srv.url("/story").encode())
        content_type = {"Content-Type": f"application/rss+xml; charset={declared}"}
        srv.routes["/feed.xml"] = Reply(200, body, content_type)
        srv.routes["/story"] = Reply(503, b"down")
        subscribe(sqlite_db, settings, srv.url("/feed.xml"))
        run(sqlite_db, fetcher, settings)
    row = feeds(sqlite_db)[srv.url("/feed.xml")]
    assert row.healthy and row.title == "Café Gazette"
    (article,) = stored(sqlite_db)
    assert article.title == "Élection à Noël: «résultats»"


def test_truncated_xml_stores_the_complete_entries_or_records_a_parse_error(
    sqlite_db: Database, settings: Settings, fetcher: Fetcher
) -> None:
    with ScriptedServer() as srv:
        good_feed(srv)
        items = [
            {"title": f"Whole {i}", "link": srv.url(f"/whole/{i}"), "guid": f"w{i}"}
            for i in range(3)
        ]
        full = rss("Cut", items)
        cut_mid_entry = full[: full.index(b"<title>Whole 2")]
        cut_in_header = full[: full.index(b"<title>Cut") + 8]
        srv.routes["/cut-entry.xml"] = Reply(200, cut_mid_entry, RSS_TYPE)
        srv.routes["/cut-header.xml"] = Reply(200, cut_in_header, RSS_TYPE)
        for i in range(3):
            srv.routes[f"/whole/{i}"] = Reply(
                200, PAGE.format(title=f"Whole {i}").encode(), HTML_TYPE
            )
        subscribe(
            sqlite_db,
            settings,
            srv.url("/good.xml"),
            srv.url("/cut-entry.xml"),
            srv.url("/cut-header.xml"),
        )
        progress = run(sqlite_db, fetcher, settings)
    rows = feeds(sqlite_db)
    # the two entries before the cut are whole: both stored, and the feed counts as read
    whole = sorted(r.url for r in stored(sqlite_db) if "/whole/" in r.url)
    assert whole == [srv.url("/whole/0"), srv.url("/whole/1")]
    assert rows[srv.url("/cut-entry.xml")].healthy
    # nothing but a cut header: an error of the parse family, recorded, never a crash
    header = rows[srv.url("/cut-header.xml")]
    assert header.error_kind in {"parse", "not_a_feed"} and header.error_count == 1
    assert progress.feeds_failed == 1
    assert_good(sqlite_db, srv)


def test_billion_laughs_through_the_whole_path(
    sqlite_db: Database, settings: Settings, fetcher: Fetcher
) -> None:
    entities = b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10) for i in range(1, 10)
    )
    with ScriptedServer() as srv:
        good_feed(srv)
        bomb = (
            b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">' + entities + b"]>"
            b'<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>'
            b"<link>" + srv.url("/laugh").encode() + b"</link></item></channel></rss>"
        )
        srv.routes["/bomb.xml"] = Reply(200, bomb, RSS_TYPE)
        srv.routes["/laugh"] = Reply(404, b"gone")
        subscribe(sqlite_db, settings, srv.url("/good.xml"), srv.url("/bomb.xml"))
        start = time.monotonic()
        run(sqlite_db, fetcher, settings)
        elapsed = time.monotonic() - start
    assert elapsed < 10.0
    row = feeds(sqlite_db)[srv.url("/bomb.xml")]
    # entities are never expanded: either the entry is stored with a short title or the feed
    # carries a parse error
    assert row.healthy or row.error_kind in {"parse", "not_a_feed"}
    assert len(row.title or "") < 100
    assert all(len(r.title) < 100 for r in stored(sqlite_db))
    assert_good(sqlite_db, srv)


# -- hostile servers ------------------------------------------------------------------------------


class _DripHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(1000):  # 2 bytes every 0.1 s: no read ever times out
                self.wfile.write(b"<!")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            return

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def drip() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DripHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/drip.xml"
    server.shutdown()
    server.server_close()


def test_gzip_bomb_and_slow_drip_are_recorded_and_others_unaffected(
    sqlite_db: Database, settings: Settings, drip: str
) -> None:
    settings = settings.replace(request_deadline=2.0, max_body_bytes=5_000_000)
    bomb = gzip.compress(b"\0" * 200_000_000, compresslevel=9)  # 200 MB in ~200 kB
    assert len(bomb) < 300_000
    with Fetcher.from_settings(settings) as fetcher, ScriptedServer() as srv:
        good_feed(srv)
        srv.routes["/bomb.xml"] = Reply(200, bomb, {**RSS_TYPE, "Content-Encoding": "gzip"})
        subscribe(sqlite_db, settings, drip, srv.url("/bomb.xml"), srv.url("/good.xml"))
        tracemalloc.start()
        start = time.monotonic()
        progress = run(sqlite_db, fetcher, settings)
        elapsed = time.monotonic() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    rows = feeds(sqlite_db)
    assert (rows[drip].error_kind, rows[drip].error_count) == ("timeout", 1)
    bombed = rows[srv.url("/bomb.xml")]
    assert (bombed.error_kind, bombed.error_count) == ("too_large", 1)
    assert "decompressed" in (bombed.error_message or "")
    assert progress.feeds_failed == 2 and progress.feeds_polled == 3
    assert_good(sqlite_db, srv)
    assert elapsed < 2.0 + 8.0  # the drip's deadline, plus the good feed's ordinary work
    assert peak < 60_000_000  # never the 200 MB the bomb inflates to

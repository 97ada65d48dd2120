"""The ingest service over real HTTP on loopback and a real database (SQLite and PostgreSQL):
broken feeds carry their error, pages fall back to feed content or die after the attempt cap,
hostile markup is sanitized, and unchanged feeds cost a 304."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from broadsheet.config import Settings
from broadsheet.demo.server import SamplePublishers
from broadsheet.models import FeedRow, Stage
from broadsheet.pipeline.fetch import Fetcher
from broadsheet.pipeline.urls import article_id, canonicalize_url
from broadsheet.services import reading, subscriptions
from broadsheet.services.ingest import Ingestor
from broadsheet.storage import Database
from broadsheet.storage.schema import articles as articles_table
from broadsheet.workers.runner import Runner
from tests.unit.services.loopback import HTML_TYPE, RSS_TYPE, Reply, ScriptedServer, rss

PARAGRAPHS = (
    "The harbour board met on Tuesday evening to hear the engineers' report on the sea wall, "
    "which was damaged in the winter storms and has been closed to walkers since January.",
    "Repairs will take eleven weeks and cost 2.4 million, the board said. Work starts in May, "
    "and the promenade will reopen in stages as each section of the wall is finished.",
    "Residents who spoke at the meeting asked for the works to pause during the summer "
    "festival. The chair promised a decision at the next meeting, on the fourteenth of April.",
)


class Clock:
    """A clock the test moves by hand; starts at the real time so sample dates look fresh."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def article_page(title: str, body_html: str) -> bytes:
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><nav><a href='/'>Home</a></nav><article><h1>{title}</h1>{body_html}</article>"
        "<footer>Copyright The Test Gazette</footer></body></html>"
    ).encode()


def paragraphs_html() -> str:
    return "".join(f"<p>{p}</p>" for p in PARAGRAPHS)


@pytest.fixture
def publishers() -> Iterator[SamplePublishers]:
    with SamplePublishers() as pubs:
        yield pubs


@pytest.fixture
def fetcher(settings: Settings) -> Iterator[Fetcher]:
    with Fetcher.from_settings(settings) as f:
        yield f


def run(db: Database, fetcher: Fetcher, settings: Settings, clock: Any = None) -> Any:
    ingestor = Ingestor(db, fetcher, settings, **({"clock": clock} if clock else {}))
    with Runner(ingestor, workers=4) as runner:
        return runner.run_until_idle()


def feed_by_url(db: Database) -> dict[str, FeedRow]:
    return {f.url: f for f in subscriptions.list_feeds(db)}


def article_state(db: Database, url: str) -> Any:
    with db.begin() as conn:
        return conn.execute(
            sa.select(articles_table).where(
                articles_table.c.id == article_id(canonicalize_url(url))
            )
        ).one()


# -- feeds -----------------------------------------------------------------------------------


def test_broken_feeds_carry_their_error_while_good_articles_are_stored(
    db: Database, settings: Settings, fetcher: Fetcher, publishers: SamplePublishers
) -> None:
    good_feed = publishers.feed_urls()[0]
    good_slug = publishers.publishers[0].slug
    expected = {a.canonical_url for a in publishers.catalog() if a.publisher == good_slug}
    assert expected
    truncated = b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><chan'
    routes = {
        "/gone.xml": Reply(404, b"<h1>Not here</h1>", HTML_TYPE),
        "/index.html": Reply(200, article_page("Home", "<p>No feed here.</p>"), HTML_TYPE),
        "/truncated.xml": Reply(200, truncated, RSS_TYPE),
    }
    with ScriptedServer(routes) as srv:
        before = datetime.now(UTC)
        subscriptions.add(db, fetcher, settings, good_feed, now=before)
        for path in routes:
            subscriptions.subscribe(db, settings, url=srv.url(path), now=before)
        progress = run(db, fetcher, settings)

    stored = reading.latest(db, limit=500)
    assert {canonicalize_url(a.url) for a in stored.articles} == expected
    assert progress.articles_extracted == len(expected)
    assert progress.feeds_failed == 3

    feeds = feed_by_url(db)
    assert feeds[good_feed].healthy and feeds[good_feed].last_success_at is not None
    kinds = {
        "/gone.xml": ({"http_status"}, "404"),
        "/index.html": ({"not_a_feed"}, "not a feed"),
        "/truncated.xml": ({"not_a_feed", "parse"}, ""),
    }
    for path, (kind, message) in kinds.items():
        row = feeds[srv.url(path)]
        assert row.error_kind in kind, (path, row.error_kind)
        assert row.error_message and message in row.error_message, (path, row.error_message)
        assert row.error_count == 1
        assert row.last_success_at is None
        # backed off: later than one normal interval from now
        assert row.next_check_at > before + timedelta(seconds=settings.poll_interval), path


def test_retry_after_pushes_the_next_check_out(
    db: Database, settings: Settings, fetcher: Fetcher
) -> None:
    settings = settings.replace(poll_interval=60)  # backoff alone would be two minutes
    routes = {"/busy.xml": Reply(429, b"slow down", {"Retry-After": "3600"})}
    with ScriptedServer(routes) as srv:
        before = datetime.now(UTC)
        subscriptions.subscribe(db, settings, url=srv.url("/busy.xml"), now=before)
        run(db, fetcher, settings)
    row = feed_by_url(db)[srv.url("/busy.xml")]
    assert (row.error_kind, row.error_message, row.error_count) == ("http_status", "HTTP 429", 1)
    assert row.next_check_at >= before + timedelta(hours=1)


@pytest.mark.parametrize("retry_after", ["864000", "99999999999999"])
def test_retry_after_is_capped_by_error_backoff_max(
    sqlite_db: Database, settings: Settings, fetcher: Fetcher, retry_after: str
) -> None:
    """BROADSHEET_ERROR_BACKOFF_MAX is "the longest wait before retrying a failing feed": a
    publisher's Retry-After of ten days (or of three million years) must neither silence the
    feed beyond it nor crash the runner."""
    settings = settings.replace(error_backoff_max=86_400)
    routes = {"/busy.xml": Reply(503, b"maintenance", {"Retry-After": retry_after})}
    with ScriptedServer(routes) as srv:
        before = datetime.now(UTC)
        subscriptions.subscribe(sqlite_db, settings, url=srv.url("/busy.xml"), now=before)
        run(sqlite_db, fetcher, settings)
        after = datetime.now(UTC)
    row = feed_by_url(sqlite_db)[srv.url("/busy.xml")]
    assert (row.error_kind, row.error_count) == ("http_status", 1)
    assert before < row.next_check_at <= after + timedelta(seconds=86_400)


def test_unchanged_feed_is_fetched_conditionally(
    db: Database, settings: Settings, fetcher: Fetcher
) -> None:
    link = "/story"
    body = rss("Gazette", [{"title": "Sea wall repairs", "link": "LINK", "guid": "1"}])
    clock = Clock()

    def feed(headers: Mapping[str, str]) -> Reply:
        if headers.get("If-None-Match") == '"v1"':
            return Reply(304, b"", {"ETag": '"v1"'})
        return Reply(
            200, body.replace(b"LINK", srv.url(link).encode()), {**RSS_TYPE, "ETag": '"v1"'}
        )

    with ScriptedServer({"/feed.xml": feed}) as srv:
        srv.routes[link] = Reply(
            200, article_page("Sea wall repairs", paragraphs_html()), HTML_TYPE
        )
        subscriptions.subscribe(db, settings, url=srv.url("/feed.xml"), now=clock())
        first = run(db, fetcher, settings, clock)
        clock.advance(seconds=settings.poll_interval_max + 1)  # past any adaptive interval
        second = run(db, fetcher, settings, clock)

    assert (first.feeds_polled, first.articles_discovered, first.articles_extracted) == (1, 1, 1)
    assert (second.feeds_polled, second.articles_discovered) == (1, 0)
    polls = srv.hits("/feed.xml")
    assert [h.status for h in polls] == [200, 304]
    assert "If-None-Match" not in polls[0].headers
    assert polls[1].headers["If-None-Match"] == '"v1"'
    assert len(srv.hits(link)) == 1  # the known article is not fetched again
    row = feed_by_url(db)[srv.url("/feed.xml")]
    assert row.healthy and row.etag == '"v1"'
    # an undated entry says nothing about the publishing rate: the interval backs off, and a
    # 304 keeps it
    assert row.interval_seconds == 2 * settings.poll_interval
    assert row.next_check_at == clock() + timedelta(seconds=row.interval_seconds)


def test_sample_feed_answers_304_on_the_second_poll(
    db: Database, settings: Settings, fetcher: Fetcher, publishers: SamplePublishers
) -> None:
    url = publishers.feed_urls()[2]
    path = publishers.publishers[2].feed_path
    clock = Clock()
    subscriptions.subscribe(db, settings, url=url, now=clock())
    first = run(db, fetcher, settings, clock)
    stored = reading.latest(db, limit=500).total
    assert first.articles_discovered == stored > 0
    assert feed_by_url(db)[url].etag

    clock.advance(seconds=settings.poll_interval_max + 1)  # past any adaptive interval
    ingestor = Ingestor(db, fetcher, settings, clock=clock)
    (claim,) = ingestor.claim_feeds(10)
    assert claim.etag == feed_by_url(db)[url].etag
    outcome = ingestor.poll(claim)
    assert outcome.not_modified and outcome.new_articles == 0 and outcome.error is None
    assert publishers.requests[path] == 2
    assert reading.latest(db, limit=500).total == stored


# -- articles --------------------------------------------------------------------------------


def test_page_failure_falls_back_to_feed_content_or_dies_after_max_attempts(
    db: Database, settings: Settings, fetcher: Fetcher
) -> None:
    settings = settings.replace(max_attempts=2)
    clock = Clock()
    with ScriptedServer() as srv:
        items = [
            {
                "title": "Sea wall repairs to take eleven weeks",
                "link": srv.url("/with-content"),
                "guid": "a",
                "content:encoded": f"<![CDATA[{paragraphs_html()}]]>",
            },
            {"title": "Ferry timetable changes", "link": srv.url("/no-content"), "guid": "b"},
        ]
        srv.routes["/feed.xml"] = Reply(200, rss("Gazette", items), RSS_TYPE)
        srv.routes["/with-content"] = Reply(500, b"internal error")
        srv.routes["/no-content"] = Reply(500, b"internal error")
        subscriptions.subscribe(db, settings, url=srv.url("/feed.xml"), now=clock())

        progress = run(db, fetcher, settings, clock)
        assert (progress.articles_extracted, progress.articles_failed) == (1, 1)

        saved = article_state(db, srv.url("/with-content"))
        assert saved.stage in (Stage.EXTRACTED, Stage.CLUSTERED)
        assert saved.text.split("\n\n") == list(PARAGRAPHS)
        assert saved.title == "Sea wall repairs to take eleven weeks"
        assert len(srv.hits("/with-content")) == 1

        failing = article_state(db, srv.url("/no-content"))
        assert failing.stage == Stage.DISCOVERED
        assert failing.attempts == 1
        assert failing.next_attempt_at > clock()
        assert failing.last_error == "http_status: HTTP 500"

        run(db, fetcher, settings, clock)  # not due yet: no new attempt
        assert len(srv.hits("/no-content")) == 1

        clock.now = failing.next_attempt_at + timedelta(seconds=1)
        progress = run(db, fetcher, settings, clock)
        assert progress.articles_failed == 1
        dead = article_state(db, srv.url("/no-content"))
        assert dead.stage == Stage.DEAD
        assert dead.attempts == 2
        assert dead.last_error == "http_status: HTTP 500"

        clock.advance(days=1)  # dead is final: never claimed again
        run(db, fetcher, settings, clock)
        assert len(srv.hits("/no-content")) == 2
        assert article_state(db, srv.url("/no-content")).stage == Stage.DEAD


HOSTILE_BODY = (
    "<p>First paragraph of the report.<script>alert(1)</script> "
    + PARAGRAPHS[0]
    + "</p><p><img src=x onerror=alert(1)>"
    + PARAGRAPHS[1]
    + ' <a href="javascript:alert(1)">Read the board minutes</a>.</p>'
    + f"<p onclick='alert(1)'>{PARAGRAPHS[2]}</p>"
)


@pytest.mark.parametrize("via", ["page", "feed content"])
def test_hostile_markup_is_sanitized_before_storage(
    db: Database, settings: Settings, fetcher: Fetcher, via: str
) -> None:
    with ScriptedServer() as srv:
        item = {
            "title": "&lt;script&gt;alert(1)&lt;/script&gt;Title",
            "link": srv.url("/hostile"),
            "guid": "x",
        }
        if via == "page":
            page = article_page("<script>alert(1)</script>Title", HOSTILE_BODY)
            srv.routes["/hostile"] = Reply(200, page, HTML_TYPE)
        else:
            item["content:encoded"] = f"<![CDATA[{HOSTILE_BODY}]]>"
            srv.routes["/hostile"] = Reply(503, b"down")
        srv.routes["/feed.xml"] = Reply(200, rss("Hostile", [item]), RSS_TYPE)
        subscriptions.subscribe(db, settings, url=srv.url("/feed.xml"), now=datetime.now(UTC))
        progress = run(db, fetcher, settings)

    assert progress.articles_extracted == 1, progress
    row = article_state(db, srv.url("/hostile"))
    html = row.html.lower()
    assert "board minutes" in html and "eleven weeks" in html  # the prose is kept
    assert "onerror" not in html
    assert "onclick" not in html
    assert "javascript:" not in html
    assert "<script" not in html
    assert "alert(1)" not in row.text


@pytest.mark.parametrize("poison", ["\\u0000", "\\ud800"])
def test_an_unstorable_entry_link_is_skipped_and_the_rest_stored(
    db: Database, settings: Settings, fetcher: Fetcher, poison: str
) -> None:
    """A NUL breaks PostgreSQL text and a lone surrogate breaks SQLite's driver: such an entry
    is dropped, on both engines alike, and the feed's other entries are stored."""
    with ScriptedServer() as srv:
        feed = (
            '{"version": "https://jsonfeed.org/version/1.1", "title": "Odd", "items": ['
            f'{{"id": "1", "url": "{srv.url("/a")}{poison}b", "title": "bad"}},'
            f'{{"id": "2", "url": "{srv.url("/good")}", "title": "Sea wall repairs"}}]}}'
        )
        srv.routes["/feed.json"] = Reply(
            200, feed.encode(), {"Content-Type": "application/feed+json"}
        )
        srv.routes["/good"] = Reply(
            200, article_page("Sea wall repairs", paragraphs_html()), HTML_TYPE
        )
        subscriptions.subscribe(db, settings, url=srv.url("/feed.json"), now=datetime.now(UTC))
        progress = run(db, fetcher, settings)
    assert (progress.feeds_failed, progress.articles_extracted) == (0, 1)
    row = feed_by_url(db)[srv.url("/feed.json")]
    assert row.healthy

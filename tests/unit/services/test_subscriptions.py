"""Subscriptions against the sample publishers on loopback and a real database: feed discovery
from a home page, idempotent adds, OPML in and out, and how a publisher is named."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from xml.sax.saxutils import quoteattr

import pytest

from broadsheet.config import Settings
from broadsheet.demo.catalog import load_publishers
from broadsheet.demo.server import SamplePublishers
from broadsheet.errors import HTTPStatusError, InvalidURL, NotAFeed
from broadsheet.pipeline.fetch import Fetcher
from broadsheet.pipeline.opml import parse_opml
from broadsheet.services import subscriptions
from broadsheet.services.subscriptions import publisher_name
from broadsheet.storage import Database
from tests.unit.services.loopback import HTML_TYPE, RSS_TYPE, Reply, ScriptedServer, rss

NOW = datetime(2025, 4, 28, 0, 8, tzinfo=UTC)
SLUGS = [p.slug for p in load_publishers()]


@pytest.fixture(scope="module")
def publishers() -> Iterator[SamplePublishers]:
    with SamplePublishers() as pubs:
        yield pubs


@pytest.fixture
def fetcher(settings: Settings) -> Iterator[Fetcher]:
    with Fetcher.from_settings(settings) as f:
        yield f


@pytest.mark.parametrize("slug", SLUGS)
def test_add_discovers_the_feed_a_home_page_links_to(
    sqlite_db: Database,
    settings: Settings,
    fetcher: Fetcher,
    publishers: SamplePublishers,
    slug: str,
) -> None:
    pub = publishers.publisher(slug)
    home = publishers.base_url + pub.home_path
    feed_url = publishers.renderer.feed_url(pub)

    added = subscriptions.add(sqlite_db, fetcher, settings, home, now=NOW)

    by_url = {a.feed.url: a for a in added}
    assert feed_url in by_url, [a.feed.url for a in added]
    assert by_url[feed_url].created
    assert by_url[feed_url].feed.source_name == pub.name
    assert home not in {f.url for f in subscriptions.list_feeds(sqlite_db)}


def test_add_twice_subscribes_once(
    db: Database, settings: Settings, fetcher: Fetcher, publishers: SamplePublishers
) -> None:
    url = publishers.feed_urls()[0]
    (first,) = subscriptions.add(db, fetcher, settings, url, now=NOW, category="News")
    (second,) = subscriptions.add(db, fetcher, settings, url, now=NOW)
    assert first.created and not second.created
    assert second.feed.id == first.feed.id
    assert first.feed.title == publishers.publishers[0].name
    assert first.feed.category == "News"
    assert first.feed.next_check_at == NOW  # due at once
    assert first.feed.interval_seconds == settings.poll_interval
    assert [f.url for f in subscriptions.list_feeds(db)] == [url]


def test_add_of_a_page_without_feeds_fails_and_subscribes_nothing(
    sqlite_db: Database, settings: Settings, fetcher: Fetcher
) -> None:
    page = b"<!doctype html><html><head><title>Blog</title></head><body><p>Hi</p></body></html>"
    with ScriptedServer({"/": Reply(200, page, HTML_TYPE)}) as srv:
        with pytest.raises(NotAFeed, match="no feed at"):
            subscriptions.add(sqlite_db, fetcher, settings, srv.url("/"), now=NOW)
        with pytest.raises(HTTPStatusError) as info:
            subscriptions.add(sqlite_db, fetcher, settings, srv.url("/missing"), now=NOW)
    assert info.value.status == 404 and info.value.kind == "http_status"
    assert subscriptions.list_feeds(sqlite_db) == []


def _opml(publishers: SamplePublishers, categories: dict[str, str | None]) -> bytes:
    """An OPML file as feed readers write it: a folder outline per category."""
    folders: dict[str | None, list[str]] = {}
    for pub, url in zip(publishers.publishers, publishers.feed_urls(), strict=True):
        line = (
            f"<outline type='rss' text={quoteattr(pub.name)} title={quoteattr(pub.name)}"
            f" xmlUrl={quoteattr(url)} htmlUrl={quoteattr(publishers.base_url + pub.home_path)}/>"
        )
        folders.setdefault(categories[pub.slug], []).append(line)
    body = "".join(folders.pop(None, []))
    for name, lines in folders.items():
        body += f"<outline text={quoteattr(name or '')}>{''.join(lines)}</outline>"
    return (
        "<?xml version='1.0' encoding='UTF-8'?><opml version='1.0'><head><title>Mine</title>"
        f"</head><body>{body}</body></opml>"
    ).encode()


def test_opml_import_then_export_round_trips_urls_and_categories(
    db: Database, settings: Settings, publishers: SamplePublishers
) -> None:
    categories: dict[str, str | None] = {
        slug: ("Business" if i % 3 == 0 else "Local & Regional" if i % 3 == 1 else None)
        for i, slug in enumerate(SLUGS)
    }
    expected = {
        (url, categories[pub.slug])
        for pub, url in zip(publishers.publishers, publishers.feed_urls(), strict=True)
    }
    requests_before = sum(publishers.requests.values())

    added, _ = subscriptions.import_opml(db, settings, _opml(publishers, categories), now=NOW)

    assert len(added) == len(SLUGS) and all(a.created for a in added)
    assert sum(publishers.requests.values()) == requests_before  # importing fetches nothing
    rows = subscriptions.list_feeds(db)
    assert {(f.url, f.category) for f in rows} == expected
    assert {f.source_name for f in rows} == {p.name for p in publishers.publishers}

    exported = subscriptions.export_opml(db)
    subs = parse_opml(exported)
    assert {(s.url, s.category) for s in subs} == expected
    assert {s.title for s in subs} == {p.name for p in publishers.publishers}

    again, _ = subscriptions.import_opml(db, settings, exported, now=NOW)
    assert len(again) == len(SLUGS) and not any(a.created for a in again)
    assert {(f.url, f.category) for f in subscriptions.list_feeds(db)} == expected


@pytest.mark.parametrize(
    ("title", "url", "name"),
    [
        ("BBC News - World", "https://feeds.bbci.co.uk/news/world/rss.xml", "BBC News"),
        ("The Ledger | Top stories", "https://ledger.example/rss", "The Ledger"),
        ("Ars Technica — Science", "https://arstechnica.example/feed", "Ars Technica"),
        ("Reuters » World", "https://reuters.example/world", "Reuters"),
        ("Courier: Latest", "https://courier.example/latest.xml", "Courier"),
        ("Hacker News", "https://news.ycombinator.example/rss", "Hacker News"),
        ("  Pulse  ", "https://pulse.example/feed", "Pulse"),
        (None, "https://www.example.com:8443/feed.xml", "www.example.com"),
        ("", "https://news.example.org/rss", "news.example.org"),
        ("   ", "https://news.example.org/rss", "news.example.org"),
    ],
)
def test_publisher_name(title: str | None, url: str, name: str) -> None:
    assert publisher_name(title, url) == name


@pytest.mark.parametrize(
    ("title", "url", "name"),
    [
        ("World news | The Guardian", "https://www.theguardian.com/world/rss", "The Guardian"),
        ("World News - The Times", "https://www.thetimes.co.uk/feed", "The Times"),
        ("NYT > Top Stories", "https://rss.nytimes.com/services/xml/rss/nyt/HomePage.xml", "NYT"),
    ],
)
def test_publisher_is_the_part_of_the_title_that_names_the_host(
    title: str, url: str, name: str
) -> None:
    assert subscriptions.publisher_name(title, url) == name


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc/passwd", "ftp://ex.com/f"])
def test_only_http_feeds_can_be_subscribed(db: Database, settings: Settings, url: str) -> None:
    with pytest.raises(InvalidURL):
        subscriptions.subscribe(db, settings, url=url, now=datetime.now(UTC))
    assert subscriptions.list_feeds(db) == []


def _page(*feeds: str) -> Reply:
    links = "".join(
        f'<link rel="alternate" type="application/rss+xml" title="{f}" href="{f}">' for f in feeds
    )
    return Reply(200, f"<html><head>{links}</head><body>Home</body></html>".encode(), HTML_TYPE)


def test_a_page_with_several_feeds_lets_the_caller_choose(
    db: Database, settings: Settings, fetcher: Fetcher
) -> None:
    with ScriptedServer() as srv:
        srv.routes["/"] = _page("/news.xml", "/sport.xml", "/comments/feed/")
        srv.routes["/news.xml"] = Reply(200, rss("Gazette - News", []), RSS_TYPE)
        srv.routes["/sport.xml"] = Reply(200, rss("Gazette - Sport", []), RSS_TYPE)
        offered: list[str] = []

        def choose(found: list[subscriptions.Found]) -> list[subscriptions.Found]:
            offered.extend(f.url for f in found)
            return found[1:]

        added = subscriptions.add(db, fetcher, settings, srv.url("/"), now=NOW, choose=choose)
    assert offered == [srv.url("/news.xml"), srv.url("/sport.xml")]  # no comment feed offered
    assert [a.feed.url for a in added] == [srv.url("/sport.xml")]


def test_a_page_without_feed_links_is_probed_at_the_usual_paths(
    db: Database, settings: Settings, fetcher: Fetcher
) -> None:
    with ScriptedServer() as srv:
        srv.routes["/"] = _page()
        srv.routes["/rss.xml"] = Reply(200, rss("Gazette", []), RSS_TYPE)
        (added,) = subscriptions.add(db, fetcher, settings, srv.url("/"), now=NOW)
        probed = [p for p in subscriptions.COMMON_FEED_PATHS if srv.hits(p)]
    assert added.feed.url == srv.url("/rss.xml")
    assert probed == ["/feed", "/rss", "/feed.xml", "/rss.xml"]  # in order, stopping at the first

"""The sample publishers, fetched over real HTTP on loopback, as the pipeline sees them."""

from __future__ import annotations

import calendar
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import feedparser
import httpx
import lxml.html
import pytest

from broadsheet.demo.server import SampleArticle, SamplePublishers

NOW = datetime(2025, 6, 14, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def server() -> Iterator[SamplePublishers]:
    with SamplePublishers(now=NOW) as sp:
        yield sp


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def pages(server: SamplePublishers, client: httpx.Client) -> dict[str, str]:
    """Every article page, by canonical URL, fetched through the URL its feed gives."""
    out: dict[str, str] = {}
    for art in server.catalog():
        resp = client.get(art.url)
        assert resp.status_code == 200, art.url
        assert resp.headers["content-type"] == "text/html; charset=utf-8"
        out[art.canonical_url] = resp.text
    return out


def parse(body: bytes) -> feedparser.FeedParserDict:
    # Bytes only: feedparser must never be handed a URL to fetch by itself.
    return feedparser.parse(body)  # noqa: TID251


def news_article(html: str) -> dict[str, object]:
    """The NewsArticle object of a page's JSON-LD, wherever the publisher nests it."""
    for raw in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S):
        data = json.loads(raw)
        items = data if isinstance(data, list) else data.get("@graph", [data])
        for item in items:
            if item.get("@type") == "NewsArticle":
                return dict(item)
    raise AssertionError("no NewsArticle in JSON-LD")


def page_text(html: str) -> str:
    return " ".join(lxml.html.fromstring(html).text_content().split())


def test_catalog_size_and_events(server: SamplePublishers) -> None:
    cat = server.catalog()
    assert len({a.publisher for a in cat}) >= 5
    assert len(cat) >= 44
    events: dict[str, list[SampleArticle]] = {}
    for a in cat:
        if a.event:
            events.setdefault(a.event, []).append(a)
    shared = {k: v for k, v in events.items() if len({a.publisher for a in v}) >= 2}
    assert len(shared) >= 6
    for arts in events.values():  # one article per publisher per event, 2-4 publishers
        assert 2 <= len(arts) == len({a.publisher for a in arts}) <= 4
    assert sum(1 for a in cat if a.event is None) >= 10
    assert len({a.canonical_url for a in cat}) == len(cat)


def test_articles_are_well_formed(server: SamplePublishers) -> None:
    cat = server.catalog()
    assert [a.published_at for a in cat] == sorted((a.published_at for a in cat), reverse=True)
    for a in cat:
        assert 4 <= len(a.paragraphs) <= 8
        assert 1 <= len(a.authors) <= 2
        assert a.published_at.tzinfo is not None
        assert NOW - timedelta(days=3.5) <= a.published_at <= NOW - timedelta(minutes=5)
        assert a.updated_at is None or a.published_at < a.updated_at <= NOW
        assert all("<" not in p and "[" not in p for p in a.paragraphs)
        assert a.title
        assert a.section
        assert a.keywords
        assert a.image_caption
        assert a.image_credit
    assert min(NOW - a.published_at for a in cat) < timedelta(hours=1)
    assert max(NOW - a.published_at for a in cat) > timedelta(days=2)
    with_links = [a for a in cat if any("<a href=" in p for p in a.paragraphs_html)]
    assert len(with_links) >= 15


def test_times_use_the_publishers_own_zone(server: SamplePublishers) -> None:
    offsets = {a.publisher: a.published_at.utcoffset() for a in server.catalog()}
    assert offsets["market-times"] == timedelta(hours=5, minutes=30)
    assert offsets["daily-ledger"] == timedelta(hours=-5)
    assert offsets["wire"] == timedelta(0)


def test_now_defaults_to_the_current_minute() -> None:
    sp = SamplePublishers()
    assert sp.now.second == 0
    assert sp.now.microsecond == 0
    assert datetime.now(UTC) - sp.now < timedelta(minutes=2)
    with pytest.raises(ValueError, match="aware"):
        SamplePublishers(now=datetime(2025, 1, 1))


def test_feeds_list_every_article_newest_first(
    server: SamplePublishers, client: httpx.Client
) -> None:
    urls = server.feed_urls()
    assert len(urls) == len({a.publisher for a in server.catalog()})
    versions: Counter[str] = Counter()
    for url in urls:
        resp = client.get(url)
        assert resp.status_code == 200
        assert resp.headers["content-type"].split(";")[0] in (
            "application/rss+xml",
            "application/atom+xml",
        )
        feed = parse(resp.content)
        assert not feed.bozo, feed.get("bozo_exception")
        versions[feed.version] += 1
        slug = url.removeprefix(server.base_url).split("/")[1]
        expected = [a for a in server.catalog() if a.publisher == slug]
        assert [e.link for e in feed.entries] == [a.url for a in expected]
        for entry, art in zip(feed.entries, expected, strict=True):
            assert entry.title == art.title
            assert entry.get("id")
            published = calendar.timegm(entry.published_parsed)
            assert published == art.published_at.timestamp()
            if feed.version == "atom10":
                assert [a.name for a in entry.authors] == list(art.authors)
                assert calendar.timegm(entry.updated_parsed) == art.last_modified.timestamp()
    assert versions["rss20"] >= 2
    assert versions["atom10"] >= 2


def test_a_feed_carries_full_content(server: SamplePublishers, client: httpx.Client) -> None:
    full = 0
    for url in server.feed_urls():
        for entry in parse(client.get(url).content).entries:
            if entry.get("content"):
                full += 1
                text = page_text(entry.content[0].value)
                art = next(a for a in server.catalog() if a.url == entry.link)
                assert all(" ".join(p.split()) in text for p in art.paragraphs)
    assert full >= 10


def test_every_feed_entry_resolves_to_its_page(
    server: SamplePublishers, pages: dict[str, str]
) -> None:
    for art in server.catalog():
        html = pages[art.canonical_url]
        data = news_article(html)
        assert data["headline"] == art.title
        published = datetime.fromisoformat(str(data["datePublished"]))
        assert published == art.published_at
        assert published.utcoffset() == art.published_at.utcoffset()
        if art.updated_at is not None:
            assert datetime.fromisoformat(str(data["dateModified"])) == art.updated_at
        authors = data["author"]
        assert isinstance(authors, list)
        assert [a["name"] for a in authors] == list(art.authors)
        assert data["articleSection"] == art.section
        tree = lxml.html.fromstring(html)
        assert tree.xpath("//link[@rel='canonical']/@href") == [art.canonical_url]
        assert tree.xpath("//meta[@property='og:title']/@content") == [art.title]
        published_meta = tree.xpath("//meta[@property='article:published_time']/@content")
        assert datetime.fromisoformat(published_meta[0]) == art.published_at


def test_pages_show_every_paragraph(server: SamplePublishers, pages: dict[str, str]) -> None:
    for art in server.catalog():
        text = page_text(pages[art.canonical_url])
        for p in art.paragraphs:
            assert " ".join(p.split()) in text, (art.canonical_url, p[:60])


def test_tracking_params_differ_from_canonical(
    server: SamplePublishers, pages: dict[str, str]
) -> None:
    tracked = [a for a in server.catalog() if a.url != a.canonical_url]
    assert tracked
    for a in tracked:
        assert "utm_source=rss" in a.url
        assert "utm_" not in a.canonical_url
        assert a.url.startswith(a.canonical_url + "?")


def test_furniture_is_really_on_the_pages(server: SamplePublishers, pages: dict[str, str]) -> None:
    everything = "\n".join(pages.values())
    for marker in (
        "ADVERTISEMENT",
        "STORY CONTINUES BELOW THIS AD",
        "Live Events",
        "(You can now subscribe to our",
        "WhatsApp channel",
        "Also read:",
        "Read more",
        "[caption id=",
        "/_next/image?url=",
        "&amp;w=3840&amp;q=100",
        "Sign up for our newsletter",
        "Share this:",
        "Related",
        "cookie-consent",
    ):
        assert marker in everything, marker
    for art in server.catalog():
        html = pages[art.canonical_url]
        assert 'id="cookie-consent"' in html
        assert re.search(r"srcset=", html, re.I)
        assert "<figure" in html
        assert art.image_credit.replace("&", "&amp;") in html
        assert re.search(r"<script>\s", html), "the one harmless inline script"
        assert "<nav" in html
        assert "<footer" in html


def test_home_pages_advertise_their_feed(server: SamplePublishers, client: httpx.Client) -> None:
    for home, feed_url in zip(server.home_urls(), server.feed_urls(), strict=True):
        resp = client.get(home)
        assert resp.status_code == 200
        tree = lxml.html.fromstring(resp.text)
        alternates = tree.xpath("//link[@rel='alternate']")
        assert any(
            link.get("href") == feed_url
            and link.get("type") in ("application/rss+xml", "application/atom+xml")
            for link in alternates
        )
    assert client.get(server.base_url + "/wire").status_code == 301


def test_conditional_get(server: SamplePublishers, client: httpx.Client) -> None:
    for url in server.feed_urls():
        first = client.get(url)
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
        older = format_datetime(NOW - timedelta(days=30), usegmt=True)
        assert client.get(url, headers={"If-Modified-Since": older}).status_code == 200
        changed = client.get(
            url, headers={"If-None-Match": '"stale"', "If-Modified-Since": modified}
        )
        assert changed.status_code == 200
        assert changed.content == first.content


def test_unknown_paths_are_404(server: SamplePublishers, client: httpx.Client) -> None:
    for path in ("/nope", "/daily-ledger/metro/nothing/", "/pulse/articles/x", "/wire/media/x"):
        assert client.get(server.base_url + path).status_code == 404, path


def test_images_resolve(server: SamplePublishers, client: httpx.Client) -> None:
    art = server.catalog()[0]
    resp = client.get(art.image_url)
    assert resp.status_code == 200
    assert resp.content.startswith(b"\x89PNG")


def test_requests_are_counted(server: SamplePublishers, client: httpx.Client) -> None:
    art = server.catalog()[-1]
    before = server.requests[art.path]
    client.get(art.url)
    assert server.requests[art.path] == before + 1


def test_page_delay_slows_article_pages_only() -> None:
    with SamplePublishers(now=NOW, page_delay=0.3) as sp, httpx.Client() as c:
        start = time.monotonic()
        assert c.get(sp.feed_urls()[0]).status_code == 200
        assert time.monotonic() - start < 0.3
        start = time.monotonic()
        assert c.get(sp.catalog()[0].url).status_code == 200
        assert time.monotonic() - start >= 0.3
    assert len(sp.catalog()) >= 44  # the catalog outlives the server, for comparisons
    with pytest.raises(httpx.ConnectError):
        httpx.get(sp.feed_urls()[0])

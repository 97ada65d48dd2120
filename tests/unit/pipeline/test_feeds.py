from __future__ import annotations

import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from broadsheet.errors import FeedError, NotAFeed
from broadsheet.pipeline.feeds import find_feed_links, html_to_text, parse_feed, parse_odd_date

pytestmark = pytest.mark.timeout(20)

DATA = Path(__file__).parent / "data" / "feeds"
NOW = datetime(2025, 5, 7, tzinfo=UTC)


def test_rss20() -> None:
    feed = parse_feed(
        (DATA / "rss20.xml").read_bytes(), url="https://news.example.com/feed.xml", now=NOW
    )
    assert feed.title == "The Daily & Weekly"
    assert feed.site_url == "https://news.example.com/"
    assert feed.language == "en-gb"
    assert feed.websub_hub == "https://pubsubhubbub.example.com/"
    # duplicate link (differs by fragment only), no link, javascript: link all dropped
    assert [e.url for e in feed.entries] == [
        "https://news.example.com/2025/05/markets-rally?utm_source=rss",
        "https://news.example.com/2025/05/second",
    ]
    first, second = feed.entries
    assert first.title == "Markets rally as rates fall & more"
    assert first.guid == "article-1001"
    assert first.authors == ("Jane Doe",)
    assert first.tags == ("Business", "Markets")
    assert first.published_at == datetime(2025, 5, 5, 8, 0, tzinfo=UTC)
    assert first.updated_at is None
    assert first.summary == "Stocks rose.\nBonds fell."
    assert "<p>Stocks rose on" in first.content_html
    assert 'href="https://news.example.com/x"' in first.content_html  # resolved, not sanitized
    assert first.image_url == "https://cdn.example.com/rally.jpg"
    assert second.summary == "Plain summary"
    assert second.content_html == ""
    assert second.image_url == "https://cdn.example.com/second.png"
    assert second.published_at == datetime(2025, 5, 6, 9, 30, tzinfo=UTC)


def test_atom10() -> None:
    feed = parse_feed(
        (DATA / "atom10.xml").read_bytes(), url="https://monde.example.org/atom", now=NOW
    )
    assert feed.title == "Le Monde Example"
    assert feed.site_url == "https://monde.example.org/"
    assert feed.language == "fr"
    assert feed.websub_hub == "https://hub.example.org/"
    first, second = feed.entries
    assert first.title == "Élection: résultats"
    assert first.authors == ("Marie Curie", "Pierre Curie")
    assert first.tags == ("Politique",)
    assert first.published_at == datetime(2025, 5, 6, 6, 0, tzinfo=UTC)
    assert first.updated_at == datetime(2025, 5, 6, 9, 15, tzinfo=UTC)
    assert first.summary == "Les résultats sont tombés."
    assert first.content_html == "<p>Les résultats <strong>complets</strong>.</p>"
    assert first.image_url == "https://monde.example.org/img/vote.jpg"
    assert second.title == "Only updated"
    assert second.url == "https://monde.example.org/relative/entry"
    assert second.published_at is None
    assert second.updated_at == datetime(2025, 5, 6, 10, 0, tzinfo=UTC)


def test_rss10_rdf() -> None:
    feed = parse_feed((DATA / "rss10.rdf").read_bytes(), url="https://rdf.example.net/rss", now=NOW)
    assert feed.title == "RDF Site"
    assert feed.language == "de"
    (entry,) = feed.entries
    assert entry.url == "https://rdf.example.net/a"
    assert entry.authors == ("Ravi Kumar",)
    assert entry.tags == ("Science",)
    assert entry.published_at == datetime(2025, 4, 28, 0, 8, tzinfo=UTC)


def test_relative_links_ignore_hostile_xml_base_and_absurd_dates() -> None:
    feed = parse_feed(
        (DATA / "relative.xml").read_bytes(), url="https://site.example/feeds/main", now=NOW
    )
    assert feed.site_url == "https://site.example/"
    assert [e.url for e in feed.entries] == [
        "https://site.example/feeds/articles/one.html",
        "https://site.example/articles/two.html",
        "https://cdn.example.com/three.html",
    ]
    assert all(e.published_at is None for e in feed.entries)  # missing, 1900, 2100


def test_json_feed() -> None:
    feed = parse_feed(
        (DATA / "jsonfeed.json").read_bytes(), url="https://json.example.com/feed.json", now=NOW
    )
    assert feed.title == "JSON News"
    assert feed.websub_hub == "https://hub.example.com/"
    (entry,) = feed.entries
    assert entry.url == "https://json.example.com/posts/1"
    assert entry.content_html == "<p>Hello</p>"
    assert entry.authors == ("Ann",)
    assert entry.tags == ("a", "b")
    assert entry.image_url == "https://json.example.com/i.png"
    assert entry.published_at == datetime(2025, 5, 1, 10, tzinfo=UTC)


def test_entry_cap() -> None:
    items = b"".join(
        b"<item><title>t%d</title><link>https://a.example/%d</link></item>" % (i, i)
        for i in range(50)
    )
    content = b'<rss version="2.0"><channel><title>c</title>' + items + b"</channel></rss>"
    feed = parse_feed(content, url="https://a.example/feed", max_entries=10)
    assert len(feed.entries) == 10
    assert feed.entries[-1].url == "https://a.example/9"


def test_utf16_feed_is_read() -> None:
    text = (
        '<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel><title>Ü</title>'
        '<item xml:base="http://10.0.0.1/"><title>x</title><link>a</link></item></channel></rss>'
    )
    feed = parse_feed(text.encode("utf-16"), url="https://u.example/f/")
    assert feed.title == "Ü"
    assert feed.entries[0].url == "https://u.example/f/a"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"   \n",
        b"<!doctype html><html><head><title>Home</title></head><body><p>Hi</p></body></html>",
        b"just some text",
        b'{"not": "a feed"}',
        b"{broken json",
    ],
)
def test_not_a_feed(content: bytes) -> None:
    with pytest.raises(NotAFeed):
        parse_feed(content, url="https://x.example/")


def test_bytes_that_look_like_a_path_are_not_opened(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes((DATA / "rss20.xml").read_bytes())
    with pytest.raises(NotAFeed):
        parse_feed(str(path).encode(), url="https://x.example/")


def test_lone_surrogate_is_a_feed_error() -> None:
    content = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>x &#xD800; y</title>'
        b"<item><title>a &#xD800;</title><link>https://a.example/1</link></item></channel></rss>"
    )
    with pytest.raises(FeedError):
        parse_feed(content, url="https://a.example/feed")


def test_truncated_xml_parses_what_is_there() -> None:
    content = (DATA / "rss20.xml").read_bytes()
    cut = content[: content.index(b"<title>Second story")]
    try:
        feed = parse_feed(cut, url="https://news.example.com/feed.xml")
    except FeedError:
        return  # acceptable: a clean error, never a crash
    assert feed.entries[0].url.startswith("https://news.example.com/2025/05/markets-rally")


def test_billion_laughs_is_cheap() -> None:
    entities = b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10) for i in range(1, 10)
    )
    content = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">' + entities + b"]>"
        b'<rss version="2.0"><channel><title>&lol9;</title>'
        b"<item><title>&lol9;</title><link>https://a.example/1</link></item></channel></rss>"
    )
    tracemalloc.start()
    start = time.monotonic()
    try:
        feed = parse_feed(content, url="https://a.example/feed")
    except FeedError:
        feed = None
    elapsed = time.monotonic() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 20_000_000
    if feed is not None:
        assert all(len(e.title) < 100 for e in feed.entries)


def test_html_to_text() -> None:
    assert html_to_text("<p>One.</p><p>Two</p>") == "One.\nTwo"
    assert html_to_text("a<br>b <script>evil()</script>c", single_line=True) == "a b c"
    assert html_to_text("AT&amp;T &lt;3 &#x263A;") == "AT&T <3 ☺"
    assert html_to_text("no markup\x00 here") == "no markup here"


def test_find_feed_links() -> None:
    page = b"""<!doctype html><html><head>
      <link rel="alternate" type="application/rss+xml" href="/feed.xml">
      <link rel="Alternate" type="application/atom+xml; charset=utf-8" href="atom.xml">
      <link rel="alternate" type="application/feed+json" href="https://other.example/f.json">
      <link rel="alternate" type="application/rss+xml" href="/feed.xml">
      <link rel="alternate" type="text/html" href="/fr/">
      <link rel="stylesheet" type="application/rss+xml" href="/nope">
      <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
    </head><body></body></html>"""
    assert find_feed_links(page, "https://site.example/news/") == [
        "https://site.example/feed.xml",
        "https://site.example/news/atom.xml",
        "https://other.example/f.json",
    ]
    assert find_feed_links("", "https://site.example/") == []
    assert find_feed_links(b"\x00\x01", "https://site.example/") == []


# -- Media RSS, enclosures, duplicate GUIDs, odd dates -----------------------------------------


def test_media_rss_enclosures_duplicate_guids_and_odd_dates() -> None:
    feed = parse_feed(
        (DATA / "mediarss.xml").read_bytes(), url="https://pics.example.com/rss", now=NOW
    )
    by_title = {e.title: e for e in feed.entries}
    assert [e.url for e in feed.entries] == [
        "https://pics.example.com/1",
        "https://pics.example.com/2",
        "https://pics.example.com/3",
        "https://pics.example.com/4",
        "https://pics.example.com/5",
    ]
    group = by_title["Widest image in a group"]
    # media:group: the widest image, never the wider video; thumbnails come last
    assert group.image_url == "https://cdn.example.com/1-large.jpg"
    assert group.published_at == datetime(2025, 5, 6, 9, 30, tzinfo=UTC)  # epoch seconds
    enclosure = by_title["Image enclosure without a type"]
    assert enclosure.image_url == "https://cdn.example.com/2.JPG?w=800"  # not the mp3
    assert enclosure.published_at == datetime(2025, 5, 6, 9, 30, tzinfo=UTC)  # not 1 November
    thumb = by_title["Thumbnail only"]
    assert thumb.image_url == "https://cdn.example.com/3-thumb.png"
    assert thumb.published_at == datetime(2025, 5, 6, 7, 30, tzinfo=UTC)  # "Di, 06 Mai"
    # p-1 again with the same title under another link is the same item: dropped. p-2 again on
    # a different story: both kept, and the GUID (not unique) is not kept on the later one.
    assert enclosure.guid == "p-2"
    reused = by_title["A different story that reuses a GUID"]
    assert reused.guid is None
    assert reused.published_at == datetime(2025, 3, 6, tzinfo=UTC)  # "6 mars 2025"
    permalink = by_title["Permalink GUID only"]
    assert permalink.guid == "https://pics.example.com/5"
    assert permalink.published_at == datetime(2025, 5, 6, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1746523800", datetime(2025, 5, 6, 9, 30, tzinfo=UTC)),
        ("2025/05/06", datetime(2025, 5, 6, tzinfo=UTC)),
        ("2025.05.06 09:30:15+02:00", datetime(2025, 5, 6, 7, 30, 15, tzinfo=UTC)),
        ("Tuesday, May 6, 2025 - 09:30", datetime(2025, 5, 6, 9, 30, tzinfo=UTC)),
        ("mar., 6 mai 2025 09:30 -0100", datetime(2025, 5, 6, 10, 30, tzinfo=UTC)),
        ("6. Dezember 2024", datetime(2024, 12, 6, tzinfo=UTC)),
        ("32 May 2025", None),
        ("someday", None),
        ("2025/13/40", None),
        ("", None),
    ],
)
def test_parse_odd_date(text: str, expected: datetime | None) -> None:
    assert parse_odd_date(text) == expected


def test_dates_out_of_range_are_dropped() -> None:
    items = b"".join(
        b"<item><title>%d</title><link>https://a.example/%d</link><pubDate>%s</pubDate></item>"
        % (i, i, date)
        for i, date in enumerate([b"0000000001", b"2099/01/01", b"1 May 1899"])
    )
    content = b'<rss version="2.0"><channel><title>c</title>' + items + b"</channel></rss>"
    feed = parse_feed(content, url="https://a.example/feed", now=NOW)
    assert len(feed.entries) == 3
    assert all(e.published_at is None for e in feed.entries)


# -- Google News sitemaps ----------------------------------------------------------------------


def test_google_news_sitemap() -> None:
    feed = parse_feed(
        (DATA / "news-sitemap.xml").read_bytes(),
        url="https://times.example.com/sitemaps/news.xml",
        now=NOW,
    )
    assert feed.title == "The Example Times"
    assert feed.language == "en"
    assert feed.site_url == "https://times.example.com/"
    # the plain <url> (no news:news), the duplicate link and the javascript: link are dropped
    first, second = feed.entries
    assert first.url == "https://times.example.com/business/merger-talks"
    assert first.title == "Companies A & B in merger talks"
    assert first.published_at == datetime(2025, 5, 6, 7, 45, tzinfo=UTC)
    assert first.updated_at == datetime(2025, 5, 6, 10, 0, tzinfo=UTC)
    assert first.tags == ("business", "merger", "acquisition")
    assert first.image_url == "https://times.example.com/img/merger.jpg"
    assert second.url == "https://times.example.com/sport/cup-final"
    assert second.published_at == datetime(2025, 5, 5, tzinfo=UTC)  # a date: midnight UTC
    assert second.updated_at is None and second.tags == () and second.image_url is None


def test_sitemap_entry_cap_and_truncation() -> None:
    head = (
        b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        b'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
    )
    urls = b"".join(
        b"<url><loc>https://a.example/%d</loc><news:news><news:title>t%d</news:title>"
        b"<news:publication_date>2025-05-01</news:publication_date></news:news></url>" % (i, i)
        for i in range(30)
    )
    capped = parse_feed(head + urls + b"</urlset>", url="https://a.example/s.xml", max_entries=7)
    assert [e.title for e in capped.entries] == [f"t{i}" for i in range(7)]
    cut = head + urls[: len(urls) // 2 + 17]
    partial = parse_feed(cut, url="https://a.example/s.xml")
    assert 10 <= len(partial.entries) <= 15
    assert partial.entries[0].title == "t0"


@pytest.mark.parametrize(
    "content",
    [
        b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>https://a.example/s1.xml</loc></sitemap></sitemapindex>",
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>https://a.example/about</loc></url></urlset>",
    ],
)
def test_sitemaps_without_news_are_not_feeds(content: bytes) -> None:
    with pytest.raises(NotAFeed, match="sitemap"):
        parse_feed(content, url="https://a.example/s.xml")


def test_sitemap_billion_laughs_is_cheap() -> None:
    entities = b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10) for i in range(1, 10)
    )
    content = (
        b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY lol0 "lol">' + entities + b"]>"
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        b'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        b"<url><loc>https://a.example/1</loc><news:news><news:title>&lol9;</news:title>"
        b"</news:news></url></urlset>"
    )
    start = time.monotonic()
    try:
        feed = parse_feed(content, url="https://a.example/s.xml")
    except FeedError:
        feed = None
    assert time.monotonic() - start < 1.0
    if feed is not None:
        assert all(len(e.title) < 100 for e in feed.entries)

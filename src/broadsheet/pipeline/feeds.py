"""Feeds: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed and Google News sitemaps by
hand, and feed discovery.

feedparser is handed a stream over the fetched bytes, never a URL, a path or bare bytes: given a
string that looks like a URL it fetches it itself (``file://`` and loopback included), and given
bytes it first tries ``open(bytes)`` as a file name (KNOWN-FAULTS). The ruff rule TID251 bans
``feedparser.parse`` everywhere else.

Not guarded here: feedparser's author e-mail regex backtracks catastrophically on crafted input
(feedparser issue #562: 20 items, 48 s) and a 100,000-item feed costs 16 s and 320 MB. Callers
that parse untrusted feeds run ``parse_feed`` in ``pipeline.isolate`` (a worker process with a
timeout and CPU-time and memory limits); the fetcher's body cap bounds the input as well.

Entries: Media RSS (``media:content``, ``media:group``, ``media:thumbnail``) and image enclosures
give the entry's image, the widest image first; an entry that repeats an earlier entry's GUID
is the same item again when its title matches too (dropped), otherwise the GUID is not unique
and is not kept on the later entry. Dates feedparser misreads (epoch seconds, ``2025/05/06``,
month names in other languages) are read here.
"""

from __future__ import annotations

import codecs
import html
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from time import struct_time
from typing import Any

import feedparser
import lxml.html
from lxml import etree

from broadsheet.errors import FeedError, NotAFeed
from broadsheet.models import FeedEntry, ParsedFeed
from broadsheet.pipeline.urls import canonicalize_url, resolve_url

MAX_ENTRIES = 5_000
FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/feed+json"})
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_FUTURE_SLACK = timedelta(days=2)
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 "
    "h6 header hr li main ol p pre section table td th tr ul".split()
)
_DROP_TAGS = ("script", "style", "noscript", "template")
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
# xml:base (and feedparser's bare "base") would let a feed make relative links point anywhere,
# 169.254.169.254 included: links are resolved against the feed's own URL instead.
_BASE_ATTR = re.compile(rb"""(?<=[\s"'])(?:[\w.-]+:)?base\s*=\s*(?:"[^"]*"|'[^']*')""", re.I)
# An internal DTD subset declares entities: billion-laughs expands in expat until its
# amplification limit trips (seconds of CPU). Feeds have no need for one.
_INTERNAL_DTD = re.compile(rb"<!DOCTYPE[^>\[]*\[.*?\]\s*>", re.I | re.S)
_XML_DECL_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)["'][^"']*["']""")
_DECLARED_ENCODING = re.compile(
    rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']"""
)
_SINGLE_BYTE = re.compile(
    rb"^(iso-?8859-?\d+|latin-?\d|l\d|windows-?125\d|cp125\d|us-ascii|ascii)$"
)
_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif")
# What follows the XML prolog (declaration, comments, PIs, doctype) of a sitemap.
_SITEMAP_ROOT = re.compile(
    rb"^(?:\s|<\?[^>]*\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*<(?:\w+:)?(urlset|sitemapindex)\b", re.S
)
_SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
_IMAGE_NS = "http://www.google.com/schemas/sitemap-image/1.1"


def html_to_text(fragment: str, *, single_line: bool = False) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, blocks kept apart."""
    fragment = _BAD_CHARS.sub("", fragment)
    text = fragment
    if "<" in fragment or "&" in fragment:
        try:
            root = lxml.html.fragment_fromstring(fragment, create_parent="div")
        except (etree.ParserError, ValueError):
            text = html.unescape(re.sub(r"<[^>]*>", " ", fragment))
        else:
            for element in list(root.iter(*_DROP_TAGS)):
                element.drop_tree()
            for element in root.iter():
                if element.tag in _BLOCK_TAGS:  # "one.</p><p>Two" must not glue into "one.Two"
                    element.text = "\n" + (element.text or "")
                    element.tail = "\n" + (element.tail or "")
            text = root.text_content()
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return (" " if single_line else "\n").join(line for line in lines if line)


def _plain(value: Any) -> str:
    return " ".join(_BAD_CHARS.sub("", str(value or "")).split())


def _aware(parsed: struct_time | None, now: datetime) -> datetime | None:
    """feedparser's UTC time tuple as an aware datetime; None when missing or absurd."""
    if not parsed:
        return None
    try:
        when = datetime(*parsed[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None
    return when if _EARLIEST <= when <= now + _FUTURE_SLACK else None


_EPOCH = re.compile(r"^\s*(\d{10})(?:\.\d+)?\s*$")
_SLASHED = re.compile(
    r"^\s*(\d{4})[/.](\d{1,2})[/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)
# Month names feeds write in other languages (and their usual abbreviations), by month number.
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            "jan janv januar janvier enero gennaio januari janeiro ene gen",
            "feb febr februar février fevrier febrero febbraio februari fevereiro fév fev",
            "mar mär märz maerz mars marzo maart março mrt",
            "apr april avril abril aprile avr",
            "may mai mayo maggio mei maio mag",
            "jun juni juin junio giugno junho giu",
            "jul juli juillet julio luglio julho juil lug",
            "aug august août aout agosto augustus ago",
            "sep sept september septembre septiembre settembre setembro set",
            "oct okt oktober octobre octubre ottobre outubro out ott",
            "nov november novembre noviembre novembro",
            "dec dez dezember décembre decembre diciembre dicembre december dezembro dic",
        ),
        start=1,
    )
    for name in names.split()
}
_WORDY_DATE = re.compile(
    r"(\d{1,2})\.?\s+([^\W\d_]{3,10})\.?,?\s+(\d{4})"  # 6 Mai 2025
    r"|([^\W\d_]{3,10})\.?\s+(\d{1,2}),?\s+(\d{4})"  # May 6, 2025
)
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*(Z|GMT|UTC|[+-]\d{2}:?\d{2}))?")


def _offset(zone: str | None) -> timedelta:
    if not zone or zone in ("Z", "GMT", "UTC"):
        return timedelta(0)
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))


def parse_odd_date(value: str) -> datetime | None:
    """A publication date feedparser cannot read, or misreads: epoch seconds, ``2025/05/06``,
    ``6 Mai 2025 09:30 +0200``, ``Tuesday, May 6, 2025 - 09:30``. Aware (UTC when no zone is
    given), or None."""
    try:
        if match := _EPOCH.match(value):
            return datetime.fromtimestamp(int(match.group(1)), UTC)
        if match := _SLASHED.match(value):
            y, mo, d, h, mi, sec, zone = match.groups()
            when = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0))
            return when.replace(tzinfo=UTC) - _offset(zone)
        if not (match := _WORDY_DATE.search(value)):
            return None
        day, month_name, year = match.group(1, 2, 3) if match.group(1) else match.group(5, 4, 6)
        month = _MONTHS.get(month_name.lower().rstrip("."))
        if month is None:
            return None
        when = datetime(int(year), month, int(day), tzinfo=UTC)
        if clock := _CLOCK.search(value, match.end()):
            h, mi, sec, zone = clock.groups()
            when = when.replace(hour=int(h), minute=int(mi), second=int(sec or 0))
            when -= _offset(zone)
        return when
    except (ValueError, OverflowError):
        return None


def _date(raw: dict[str, Any], key: str, now: datetime) -> datetime | None:
    """The entry's ``key`` date ("published" or "updated"). feedparser's reading is used unless
    the text is one it misreads (epoch seconds become the year 1746, ``2025/05/06`` becomes
    1 November) or it found none."""
    text = str(dict.get(raw, key) or "")  # dict.get: no fallback from "updated" to "published"
    parsed = dict.get(raw, f"{key}_parsed")
    if text and (parsed is None or _EPOCH.match(text) or _SLASHED.match(text)):
        when = parse_odd_date(text)
        return when if when is not None and _EARLIEST <= when <= now + _FUTURE_SLACK else None
    return _aware(parsed, now)


def _to_utf8(content: bytes) -> bytes:
    """UTF-16/32 feeds re-encoded as UTF-8, so that the byte-level guards below see them."""
    codec = None
    if content.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        codec = "utf-32"
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec = "utf-16"
    elif content[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        codec = "utf-16-le" if content[0] == 0x3C else "utf-16-be"
    if codec is None:
        return content
    try:
        text = content.decode(codec)
    except UnicodeDecodeError as exc:
        raise FeedError(f"undecodable {codec} feed: {exc}") from exc
    text = _XML_DECL_ENCODING.sub(r'\1"utf-8"', text.lstrip("\ufeff"), count=1)
    return text.encode("utf-8", "replace")


def _mislabelled_utf8(content: bytes) -> bytes:
    """A feed declared in a single-byte charset whose bytes are valid UTF-8 (with non-ASCII
    characters) is UTF-8: publishers mislabel it often, and valid multi-byte UTF-8 is almost
    never an accident. Re-declared as UTF-8, so that "Café" does not come out as "CafÃ©"."""
    declared = _DECLARED_ENCODING.match(content)
    if declared is None or not _SINGLE_BYTE.match(declared.group(1).lower()) or content.isascii():
        return content
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return content
    return _XML_DECL_ENCODING.sub(r'\1"utf-8"', text, count=1).encode("utf-8")


def parse_feed(
    content: bytes,
    *,
    url: str,
    max_entries: int = MAX_ENTRIES,
    now: datetime | None = None,
) -> ParsedFeed:
    """Parse a fetched feed. ``url`` (the final URL fetched) is the base of relative links.

    Raises ``NotAFeed`` for an empty body, an HTML page or anything else that is not a feed, and
    ``FeedError`` when the parser itself fails. Entries without an http(s) link are dropped,
    duplicates (same canonical link) keep the first; at most ``max_entries`` are returned.
    """
    now = now or datetime.now(UTC)
    content = _mislabelled_utf8(_to_utf8(content))
    if not content.strip():
        raise NotAFeed("empty response")
    if content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return _parse_json_feed(content, url=url, max_entries=max_entries, now=now)
    content = _INTERNAL_DTD.sub(b"", content, count=1)
    if root := _SITEMAP_ROOT.match(content.lstrip(b"\xef\xbb\xbf")[:4096]):
        if root.group(1) == b"sitemapindex":
            raise NotAFeed("a sitemap index, not a feed: subscribe to one of its sitemaps")
        return _parse_news_sitemap(content, url=url, max_entries=max_entries, now=now)
    content = _BASE_ATTR.sub(b"", content)
    try:
        # A stream, never a str or bytes: see the module docstring.
        result = feedparser.parse(  # noqa: TID251 - this is the one sanctioned call
            io.BytesIO(content),
            response_headers={"content-location": url, "content-type": "application/xml"},
        )
        entries = list(result.get("entries") or [])
        feed: Mapping[str, Any] = result.get("feed") or {}
    except Exception as exc:  # e.g. UnicodeEncodeError on a lone surrogate (&#xD800;)
        raise FeedError(f"feed parser failed: {type(exc).__name__}: {exc}") from exc
    version = str(result.get("version") or "")
    bozo_without_title = result.get("bozo") and not feed.get("title")
    if not entries and (not version or bozo_without_title):
        raise NotAFeed(f"not a feed: {result.get('bozo_exception') or 'no feed elements'}")

    parsed: list[FeedEntry] = []
    seen: set[str] = set()
    titles_by_guid: dict[str, str] = {}
    for raw in entries:
        if len(parsed) >= max_entries:
            break
        link = _new_link(raw.get("link"), url, seen)
        if link is None:
            continue
        entry = _entry(raw, link, url, now, rss=version.startswith("rss"))
        if entry.guid is not None:
            if entry.guid not in titles_by_guid:
                titles_by_guid[entry.guid] = entry.title
            elif titles_by_guid[entry.guid] == entry.title:
                continue  # the same item again under another link
            else:
                entry = replace(entry, guid=None)  # a GUID shared by different items
        parsed.append(entry)
    return ParsedFeed(
        title=_text_of(feed, "title"),
        site_url=resolve_url(url, feed["link"]) if feed.get("link") else None,
        entries=tuple(parsed),
        language=_plain(feed.get("language")) or None,
        websub_hub=_hub(feed.get("links") or (), url),
    )


def _new_link(href: Any, base: str, seen: set[str]) -> str | None:
    """``href`` resolved against the feed URL; None unless http(s) and not seen before."""
    if not str(href or "").strip():
        return None  # resolving "" would yield the feed URL itself
    link = resolve_url(base, str(href))
    try:
        key = canonicalize_url(link) if link else None
    except ValueError:  # e.g. a port out of range
        return None
    if key is None or key in seen:
        return None
    seen.add(key)
    return link


def _text_of(item: Mapping[str, Any], key: str) -> str:
    detail = item.get(f"{key}_detail") or {}
    value = str(item.get(key) or "")
    if detail.get("type") in _HTML_TYPES:
        return html_to_text(value, single_line=key == "title")
    return _plain(value) if key == "title" else _BAD_CHARS.sub("", value).strip()


def _entry(raw: Any, link: str, base: str, now: datetime, *, rss: bool) -> FeedEntry:
    authors = [_plain(a.get("name") or a.get("email")) for a in raw.get("authors") or ()]
    if not any(authors) and raw.get("author"):
        authors = [_plain(raw["author"])]
    tags = [_plain(t.get("label") or t.get("term")) for t in raw.get("tags") or ()]
    updated = _date(raw, "updated", now)
    published = _date(raw, "published", now)
    if published is None and rss:
        published = updated  # RSS 1.0's dc:date, which feedparser files as "updated"
    return FeedEntry(
        url=link,
        title=_text_of(raw, "title"),
        guid=_plain(raw.get("id")) or None,
        summary=_text_of(raw, "summary"),
        content_html=_content_html(raw.get("content") or ()),
        authors=tuple(dict.fromkeys(a for a in authors if a)),
        published_at=published,
        updated_at=updated,
        tags=tuple(dict.fromkeys(t for t in tags if t)),
        image_url=_image(raw, base),
    )


def _content_html(contents: Iterable[Mapping[str, Any]]) -> str:
    """The entry's full content as HTML, unsanitized: the sanitize stage always runs on it."""
    items = list(contents)
    for item in items:
        if item.get("type") in _HTML_TYPES:
            return _BAD_CHARS.sub("", str(item.get("value") or ""))
    if items:
        return html.escape(_BAD_CHARS.sub("", str(items[0].get("value") or "")))
    return ""


def _is_image(url: str, kind: str) -> bool:
    """``kind`` is a MIME type or a Media RSS medium; when absent, the file name decides."""
    if kind:
        return kind.startswith("image")
    return url.lower().split("?")[0].endswith(_IMAGE_EXTENSIONS)


def _width(media: Mapping[str, Any]) -> int:
    try:
        return int(str(media.get("width") or 0))
    except ValueError:
        return 0


def _image(raw: Mapping[str, Any], base: str) -> str | None:
    """The entry's picture: the widest Media RSS image (``media:content``, flattened out of
    ``media:group`` by feedparser), then an image enclosure, then a ``media:thumbnail``."""
    media = [
        m
        for m in raw.get("media_content") or ()
        if _is_image(str(m.get("url") or ""), str(m.get("medium") or m.get("type") or ""))
    ]
    candidates = [str(m.get("url") or "") for m in sorted(media, key=_width, reverse=True)]
    candidates += [
        str(link.get("href") or "")
        for link in raw.get("links") or ()
        if link.get("rel") == "enclosure"
        and _is_image(str(link.get("href") or ""), str(link.get("type") or ""))
    ]
    candidates += [str(m.get("url") or "") for m in raw.get("media_thumbnail") or ()]
    for candidate in candidates:
        if candidate and (resolved := resolve_url(base, candidate)):
            return resolved
    return None


def _hub(links: Iterable[Mapping[str, Any]], base: str) -> str | None:
    for link in links:
        if link.get("rel") == "hub" and link.get("href"):
            return resolve_url(base, str(link["href"]))
    return None


# -- JSON Feed (https://jsonfeed.org/version/1.1), which feedparser does not read -------------


def _json_date(value: Any, now: datetime) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None  # RFC 3339 requires an offset; guessing one would invent a time
    when = when.astimezone(UTC)
    return when if _EARLIEST <= when <= now + _FUTURE_SLACK else None


def _parse_json_feed(content: bytes, *, url: str, max_entries: int, now: datetime) -> ParsedFeed:
    try:
        doc = json.loads(content)
    except (ValueError, RecursionError) as exc:
        raise NotAFeed(f"invalid JSON: {exc}") from exc
    if not isinstance(doc, dict) or "jsonfeed.org" not in str(doc.get("version", "")):
        raise NotAFeed("JSON document is not a JSON Feed")
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    for item in doc.get("items") or ():
        if len(entries) >= max_entries:
            break
        if not isinstance(item, dict):
            continue
        link = _new_link(item.get("url") or item.get("external_url"), url, seen)
        if link is None:
            continue
        people = item.get("authors") or [item.get("author") or doc.get("author") or {}]
        authors = [_plain(p.get("name")) for p in people if isinstance(p, dict)]
        content_html = str(item.get("content_html") or "")
        if not content_html and item.get("content_text"):
            content_html = html.escape(str(item["content_text"]))
        image = item.get("image") or item.get("banner_image")
        entries.append(
            FeedEntry(
                url=link,
                title=_plain(item.get("title")),
                guid=_plain(item.get("id")) or None,
                summary=html_to_text(str(item.get("summary") or "")),
                content_html=_BAD_CHARS.sub("", content_html),
                authors=tuple(a for a in authors if a),
                published_at=_json_date(item.get("date_published"), now),
                updated_at=_json_date(item.get("date_modified"), now),
                tags=tuple(_plain(t) for t in item.get("tags") or () if _plain(t)),
                image_url=resolve_url(url, str(image)) if image else None,
            )
        )
    hubs = [h for h in doc.get("hubs") or () if isinstance(h, dict)]
    home = doc.get("home_page_url")
    return ParsedFeed(
        title=_plain(doc.get("title")),
        site_url=resolve_url(url, str(home)) if home else None,
        entries=tuple(entries),
        language=_plain(doc.get("language")) or None,
        websub_hub=next(
            (
                resolve_url(url, str(h.get("url")))
                for h in hubs
                if str(h.get("type", "")).lower() == "websub" and h.get("url")
            ),
            None,
        ),
    )


# -- Google News sitemaps (https://developers.google.com/search/docs/crawling-indexing/sitemaps/news-sitemap)


def _sitemap_date(value: str | None, now: datetime) -> datetime | None:
    """W3C datetime: a date (taken as midnight UTC) or a date and time with a zone."""
    text = (value or "").strip()
    if not text:
        return None
    when: datetime | None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        when = parse_odd_date(text)
    if when is None:
        return None
    if when.tzinfo is None:
        if len(text) > 10:
            return None  # a time without a zone: guessing one would invent a time
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return when if _EARLIEST <= when <= now + _FUTURE_SLACK else None


def _parse_news_sitemap(content: bytes, *, url: str, max_entries: int, now: datetime) -> ParsedFeed:
    """``<urlset>`` entries that carry ``<news:news>``: title, publication date, keywords and
    the publication's name and language. A plain sitemap (no news entries) lists a whole site,
    not news: ``NotAFeed``."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, recover=True, huge_tree=False
    )
    try:
        root = etree.fromstring(content, parser=parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise FeedError(f"sitemap parser failed: {exc}") from exc
    if root is None:
        raise FeedError("sitemap parser failed: no document")
    ns = {"s": _SITEMAP_NS, "n": _NEWS_NS, "i": _IMAGE_NS}
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    title = language = ""
    for item in root.iterfind("s:url", ns):
        if len(entries) >= max_entries:
            break
        news = item.find("n:news", ns)
        if news is None:
            continue
        link = _new_link(item.findtext("s:loc", "", ns).strip(), url, seen)
        if link is None:
            continue
        title = title or _plain(news.findtext("n:publication/n:name", "", ns))
        language = language or _plain(news.findtext("n:publication/n:language", "", ns))
        keywords = news.findtext("n:keywords", "", ns).split(",")
        image = item.findtext("i:image/i:loc", "", ns).strip()
        entries.append(
            FeedEntry(
                url=link,
                title=html_to_text(news.findtext("n:title", "", ns), single_line=True),
                published_at=_sitemap_date(news.findtext("n:publication_date", None, ns), now),
                updated_at=_sitemap_date(item.findtext("s:lastmod", None, ns), now),
                tags=tuple(dict.fromkeys(k for k in map(_plain, keywords) if k)),
                image_url=resolve_url(url, image) if image else None,
            )
        )
    if not entries:
        raise NotAFeed("a sitemap without Google News entries")
    return ParsedFeed(
        title=title,
        site_url=resolve_url(url, "/"),
        entries=tuple(entries),
        language=language or None,
    )


# -- discovery -------------------------------------------------------------------------------


def find_feed_links(page: bytes | str, base_url: str) -> list[str]:
    """Feed URLs a page advertises with ``<link rel="alternate" type="application/...">``."""
    try:
        root = lxml.html.document_fromstring(page)
    except (etree.ParserError, ValueError):
        return []
    base = base_url
    for href in root.xpath("//base/@href")[:1]:
        base = resolve_url(base_url, str(href)) or base_url
    found: list[str] = []
    for link in root.iter("link"):
        rels = str(link.get("rel") or "").lower().split()
        kind = str(link.get("type") or "").split(";")[0].strip().lower()
        href = link.get("href")
        if "alternate" in rels and kind in FEED_TYPES and href:
            resolved = resolve_url(base, str(href))
            if resolved and resolved not in found:
                found.append(resolved)
    return found

"""Feeds: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed by hand, and feed discovery.

feedparser is handed a stream over the fetched bytes, never a URL, a path or bare bytes: given a
string that looks like a URL it fetches it itself (``file://`` and loopback included), and given
bytes it first tries ``open(bytes)`` as a file name (KNOWN-FAULTS). The ruff rule TID251 bans
``feedparser.parse`` everywhere else.

Not guarded here: feedparser's author e-mail regex backtracks catastrophically on crafted input
(feedparser issue #562: 20 items, 48 s) and a 100,000-item feed costs 16 s and 320 MB. The cure
is to parse untrusted feeds in a worker process with CPU-time and memory limits (follow-up:
issue "feeds and fetching"); the fetcher's body cap bounds the input meanwhile.
"""

from __future__ import annotations

import codecs
import html
import io
import json
import re
from collections.abc import Iterable, Mapping
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
    content = _to_utf8(content)
    if not content.strip():
        raise NotAFeed("empty response")
    if content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return _parse_json_feed(content, url=url, max_entries=max_entries, now=now)
    content = _INTERNAL_DTD.sub(b"", content, count=1)
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
    for raw in entries:
        if len(parsed) >= max_entries:
            break
        link = _new_link(raw.get("link"), url, seen)
        if link is not None:
            parsed.append(_entry(raw, link, url, now, rss=version.startswith("rss")))
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
    # dict.get: FeedParserDict.get("updated_parsed") falls back to the published date.
    updated = _aware(dict.get(raw, "updated_parsed"), now)
    published = _aware(raw.get("published_parsed"), now)
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


def _image(raw: Mapping[str, Any], base: str) -> str | None:
    candidates: list[str] = []
    for media in raw.get("media_content") or ():
        kind = str(media.get("medium") or media.get("type") or "image")
        if kind.startswith("image"):
            candidates.append(str(media.get("url") or ""))
    candidates += [str(m.get("url") or "") for m in raw.get("media_thumbnail") or ()]
    candidates += [
        str(link.get("href") or "")
        for link in raw.get("links") or ()
        if link.get("rel") == "enclosure" and str(link.get("type") or "").startswith("image/")
    ]
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

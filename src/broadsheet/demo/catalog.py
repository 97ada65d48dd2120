"""What the sample publishers publish: publishers and articles loaded from package data.

Content lives in ``publishers/*.json`` (data, not templates). Paragraphs may carry inline links
written as ``[link text](href)``; the reader-visible text keeps the link text, the page gets an
``<a>``. Publication times are offsets before ``now`` so that the demo always looks fresh.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any
from urllib.parse import urlsplit

_LINK = re.compile(r"\[([^\[\]]+)\]\(([^()\s]+)\)")


@dataclass(frozen=True, slots=True)
class Publisher:
    slug: str
    name: str
    template: str  # folder under publishers/templates/
    feed_format: str  # "rss" or "atom"
    feed_path: str
    article_path: str  # str.format pattern: slug, section, num, hex
    utc_offset_minutes: int
    zone_label: str  # how the publisher names its zone on the page ("IST", "ET", "GMT")
    language: str
    tagline: str
    tracking_query: str = ""  # appended to feed links only; canonical links never carry it
    full_content_feed: bool = False  # RSS content:encoded / Atom content with the whole body
    jsonld_style: str = "plain"  # "plain", "graph" (one @graph) or "list" (a list of objects)
    zulu_dates: bool = False  # write UTC times as ...Z rather than +00:00

    @property
    def tz(self) -> timezone:
        return timezone(timedelta(minutes=self.utc_offset_minutes))

    @property
    def home_path(self) -> str:
        return f"/{self.slug}/"


@dataclass(frozen=True, slots=True)
class SampleArticle:
    """One published article, as a perfect extractor would report it."""

    publisher: str
    publisher_name: str
    slug: str
    url: str  # absolute, exactly as the feed links it (may carry tracking params)
    canonical_url: str
    title: str
    authors: tuple[str, ...]
    published_at: datetime  # aware, in the publisher's own zone
    updated_at: datetime | None  # None: never updated since publication
    paragraphs: tuple[str, ...]  # plain text, link text included, no HTML
    paragraphs_html: tuple[str, ...]  # the same paragraphs as the publisher marks them up
    event: str | None  # key shared by the articles that cover one news event
    section: str
    keywords: tuple[str, ...]
    summary: str
    image_url: str
    image_alt: str
    image_caption: str
    image_credit: str
    language: str

    @property
    def path(self) -> str:
        return urlsplit(self.canonical_url).path

    @property
    def last_modified(self) -> datetime:
        return self.updated_at or self.published_at


def _data_dir() -> Traversable:
    return files("broadsheet.demo").joinpath("publishers")


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def to_plain(markup: str) -> str:
    return _LINK.sub(lambda m: m.group(1), markup)


def to_html(markup: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _LINK.finditer(markup):
        out.append(escape(markup[pos : m.start()], quote=False))
        out.append(f'<a href="{escape(m.group(2))}">{escape(m.group(1), quote=False)}</a>')
        pos = m.end()
    out.append(escape(markup[pos:], quote=False))
    return "".join(out)


def _summary(text: str, limit: int = 220) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:—-") + "…"


def load_publishers() -> list[Publisher]:
    raw = json.loads(_data_dir().joinpath("publishers.json").read_text("utf-8"))
    return [Publisher(**item) for item in raw]


def _raw_articles() -> Iterator[dict[str, Any]]:
    folder = _data_dir().joinpath("articles")
    for entry in sorted(folder.iterdir(), key=lambda t: t.name):
        if entry.name.endswith(".json"):
            yield from json.loads(entry.read_text("utf-8"))


def _check(item: dict[str, Any]) -> None:
    # Catch content typos at load time: the tests and the eval compare against this data.
    where = f"{item.get('publisher')}/{item.get('slug')}"
    paragraphs = item["paragraphs"]
    if not 4 <= len(paragraphs) <= 8:
        raise ValueError(f"{where}: {len(paragraphs)} paragraphs, want 4-8")
    if not 1 <= len(item["authors"]) <= 2:
        raise ValueError(f"{where}: want 1-2 authors")
    for p in paragraphs:
        if any(c in to_plain(p) for c in "[]<>"):
            raise ValueError(f"{where}: stray markup in paragraph {p[:40]!r}")
    minutes, updated = item["minutes_ago"], item.get("updated_minutes_ago")
    if not 5 <= minutes <= 4500 or (updated is not None and not 0 <= updated < minutes):
        raise ValueError(f"{where}: bad time offsets")


def build_catalog(publishers: list[Publisher], now: datetime, base_url: str) -> list[SampleArticle]:
    """Every article, newest first, with absolute URLs under ``base_url``."""
    by_slug = {p.slug: p for p in publishers}
    articles: list[SampleArticle] = []
    for item in _raw_articles():
        _check(item)
        pub = by_slug[item["publisher"]]
        crc = zlib.crc32(f"{pub.slug}/{item['slug']}".encode())
        path = pub.article_path.format(
            slug=item["slug"],
            section=slugify(item["section"]),
            num=100_000_000 + crc % 900_000_000,
            hex=f"{crc:08x}",
        )
        canonical = base_url + path
        url = f"{canonical}?{pub.tracking_query}" if pub.tracking_query else canonical
        published = (now - timedelta(minutes=item["minutes_ago"])).astimezone(pub.tz)
        updated_ago = item.get("updated_minutes_ago")
        updated = (
            None
            if updated_ago is None
            else (now - timedelta(minutes=updated_ago)).astimezone(pub.tz)
        )
        plain = tuple(to_plain(p) for p in item["paragraphs"])
        image = item["image"]
        articles.append(
            SampleArticle(
                publisher=pub.slug,
                publisher_name=pub.name,
                slug=item["slug"],
                url=url,
                canonical_url=canonical,
                title=item["title"],
                authors=tuple(item["authors"]),
                published_at=published,
                updated_at=updated,
                paragraphs=plain,
                paragraphs_html=tuple(to_html(p) for p in item["paragraphs"]),
                event=item.get("event"),
                section=item["section"],
                keywords=tuple(item["keywords"]),
                summary=item.get("summary") or _summary(plain[0]),
                image_url=f"{base_url}/{pub.slug}/media/{crc % 100_000}/{item['slug']}.png",
                image_alt=image["alt"],
                image_caption=image["caption"],
                image_credit=image["credit"],
                language=pub.language,
            )
        )
    articles.sort(key=lambda a: (a.published_at, a.slug), reverse=True)
    seen: set[str] = set()
    for a in articles:
        if a.canonical_url in seen:
            raise ValueError(f"duplicate article URL {a.canonical_url}")
        seen.add(a.canonical_url)
    return articles

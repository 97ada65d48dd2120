"""Render the sample publishers' pages and feeds from the catalog with Jinja2 templates.

Every publisher has its own template folder, so that extraction meets different page structures.
Templates live in package data and are read with importlib.resources.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import lru_cache
from importlib.resources import files
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from broadsheet.demo.catalog import Publisher, SampleArticle, slugify

FEED_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml"}
_NEXT_WIDTHS = (640, 750, 828, 1080, 1200, 1920, 2048, 3840)


@dataclass(frozen=True, slots=True)
class Feed:
    body: bytes
    content_type: str
    etag: str
    last_modified: datetime


def _load_template(name: str) -> str:
    return files("broadsheet.demo").joinpath("publishers", "templates", name).read_text("utf-8")


def iso(dt: datetime, zulu: bool = False) -> str:
    if zulu and dt.utcoffset() == UTC.utcoffset(None):
        return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return dt.isoformat(timespec="seconds")


def _json_script(data: object) -> Markup:
    # "</" inside a script element would end it early; "<\/" is the same JSON string.
    return Markup(json.dumps(data, ensure_ascii=False, indent=2).replace("</", "<\\/"))  # noqa: S704


@lru_cache(maxsize=64)
def placeholder_png(seed: int, width: int = 640, height: int = 360) -> bytes:
    """A solid-colour PNG, so that image URLs on the pages resolve without shipping photos."""
    rgb = bytes(((seed >> shift) & 0x7F) + 64 for shift in (16, 8, 0))
    raw = b"".join(b"\x00" + rgb * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


class Renderer:
    def __init__(
        self,
        publishers: list[Publisher],
        articles: list[SampleArticle],
        base_url: str,
        now: datetime,
    ) -> None:
        self.publishers = {p.slug: p for p in publishers}
        self.articles = articles
        self.base_url = base_url
        self.now = now
        self._feeds: dict[str, Feed] = {}
        self.env = jinja2.Environment(
            loader=jinja2.FunctionLoader(_load_template),
            autoescape=jinja2.select_autoescape(["html", "xml"]),
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        self.env.filters.update(
            iso=iso,
            rfc822=format_datetime,
            ago=self._ago,
            slugify=slugify,
            next_image=self._next_image,
        )

    def by_publisher(self, slug: str) -> list[SampleArticle]:
        return [a for a in self.articles if a.publisher == slug]

    def feed_url(self, pub: Publisher) -> str:
        return self.base_url + pub.feed_path

    def _ago(self, dt: datetime) -> str:
        minutes = int((self.now - dt).total_seconds() // 60)
        if minutes < 60:
            return f"{minutes} min ago"
        if minutes < 24 * 60:
            hours = minutes // 60
            return f"{hours} hour{'s' if hours > 1 else ''} ago"
        days = minutes // (24 * 60)
        return f"{days} day{'s' if days > 1 else ''} ago"

    def _next_image(self, url: str, width: int, quality: int = 75) -> str:
        return f"/pulse/_next/image?url={quote(url, safe='')}&w={width}&q={quality}"

    def _common(self, pub: Publisher) -> dict[str, Any]:
        mine = self.by_publisher(pub.slug)
        return {
            "pub": pub,
            "base": self.base_url,
            "home_url": self.base_url + pub.home_path,
            "feed_url": self.feed_url(pub),
            "feed_type": FEED_TYPES[pub.feed_format],
            "sections": sorted({a.section for a in mine}),
            "now": self.now.astimezone(pub.tz),
            "next_widths": _NEXT_WIDTHS,
        }

    def article_page(self, art: SampleArticle) -> str:
        pub = self.publishers[art.publisher]
        others = [a for a in self.by_publisher(pub.slug) if a.slug != art.slug]
        html = self.env.get_template(f"{pub.template}/article.html").render(
            **self._common(pub),
            art=art,
            related=others[:4],
            also_read=others[-1] if others else None,
            jsonld=_json_script(self.json_ld(pub, art)),
            next_data=_json_script(
                {
                    "props": {"pageProps": {"slug": art.slug, "section": art.section}},
                    "page": "/articles/[slug]",
                    "buildId": "demo-7f3c2a",
                }
            ),
        )
        if pub.template == "pulse":
            # Next.js ships minified markup: no whitespace between tags, so naive
            # text extraction glues paragraphs ("...said.The next...").
            html = re.sub(r">\s+<", "><", html)
        return html

    def home_page(self, pub: Publisher) -> str:
        return self.env.get_template(f"{pub.template}/home.html").render(
            **self._common(pub), articles=self.by_publisher(pub.slug)
        )

    def index_page(self) -> str:
        return self.env.get_template("index.html").render(
            publishers=list(self.publishers.values()),
            base=self.base_url,
            counts={p: len(self.by_publisher(p)) for p in self.publishers},
        )

    def feed(self, pub: Publisher) -> Feed:
        if pub.slug not in self._feeds:
            items = self.by_publisher(pub.slug)  # newest first
            last = max(a.last_modified for a in items)
            body = (
                self.env.get_template(f"feeds/{pub.feed_format}.xml")
                .render(
                    **self._common(pub),
                    items=items,
                    last_modified=last,
                    guids={a.slug: self._guid(pub, a) for a in items},
                )
                .encode("utf-8")
            )
            etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            content_type = FEED_TYPES[pub.feed_format] + "; charset=utf-8"
            self._feeds[pub.slug] = Feed(body, content_type, etag, last)
        return self._feeds[pub.slug]

    def _guid(self, pub: Publisher, art: SampleArticle) -> tuple[str, bool]:
        if pub.template == "wordpress":  # WordPress: a non-permalink ?p= id
            return f"{self.base_url}/{pub.slug}/?p={zlib.crc32(art.slug.encode()) % 90_000}", False
        if pub.feed_format == "atom":
            return f"tag:{pub.slug}.example,2024:{art.slug}", False
        return art.canonical_url, True

    def json_ld(self, pub: Publisher, art: SampleArticle) -> object:
        zulu = pub.zulu_dates
        org = {
            "@type": "NewsMediaOrganization",
            "name": pub.name,
            "url": self.base_url + pub.home_path,
            "logo": {"@type": "ImageObject", "url": f"{self.base_url}/{pub.slug}/logo.png"},
        }
        article: dict[str, Any] = {
            "@type": "NewsArticle",
            "mainEntityOfPage": {"@type": "WebPage", "@id": art.canonical_url},
            "url": art.canonical_url,
            "headline": art.title,
            "description": art.summary,
            "image": {
                "@type": "ImageObject",
                "url": art.image_url,
                "width": 1200,
                "height": 675,
                "caption": art.image_caption,
            },
            "datePublished": iso(art.published_at, zulu),
            "author": [
                {"@type": "Person", "name": n, "url": f"{self.base_url}/{pub.slug}/by/{slugify(n)}"}
                for n in art.authors
            ],
            "publisher": org,
            "articleSection": art.section,
            "keywords": ", ".join(art.keywords),
            "inLanguage": art.language,
            "isAccessibleForFree": True,
        }
        if art.updated_at is not None:
            article["dateModified"] = iso(art.updated_at, zulu)
        crumbs = {
            "@type": "BreadcrumbList",
            "itemListElement": [
                {
                    "@type": "ListItem",
                    "position": 1,
                    "name": "Home",
                    "item": self.base_url + pub.home_path,
                },
                {"@type": "ListItem", "position": 2, "name": art.section},
            ],
        }
        if pub.jsonld_style == "graph":
            article["keywords"] = list(art.keywords)
            return {"@context": "https://schema.org", "@graph": [article, crumbs, org]}
        if pub.jsonld_style == "list":
            return [
                {"@context": "https://schema.org", **article},
                {"@context": "https://schema.org", **crumbs},
            ]
        return {"@context": "https://schema.org", **article}

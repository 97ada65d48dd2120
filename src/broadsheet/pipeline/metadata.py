"""Article metadata from a parsed page, in order of trust.

JSON-LD (what publishers give search engines, so usually right) beats Open Graph / ``article:*``,
which beats other meta tags, which beat ``<time datetime>``; htmldate's heuristics come last, for
the publication date only. Every value is cleaned here: authors become a tuple of names, URLs are
absolute, dates are timezone-aware with the publisher's own offset.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import htmldate
from lxml.html import HtmlElement

ARTICLE_TYPES = frozenset(
    {
        "Article", "NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle",
        "OpinionNewsArticle", "BackgroundNewsArticle", "ReviewNewsArticle", "BlogPosting",
        "LiveBlogPosting", "Report", "TechArticle", "ScholarlyArticle", "SatiricalArticle",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PageMetadata:
    title: str | None = None
    authors: tuple[str, ...] = ()
    published_at: datetime | None = None
    updated_at: datetime | None = None
    image_url: str | None = None
    description: str | None = None
    section: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    keywords: tuple[str, ...] = ()


# -- small value cleaners ----------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def _text(value: object) -> str | None:
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or value.get("url")
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    # JSON-LD and meta values are often entity-encoded twice ("Macy&#8217;s")
    text = _SPACES.sub(" ", html.unescape(str(value))).strip()
    return text or None


def _first(*values: object) -> str | None:
    for value in values:
        text = _text(value)
        if text:
            return text
    return None


def absolute_url(value: str | None, base: str | None) -> str | None:
    """``value`` resolved against ``base``; None unless the result is http(s)."""
    if not value:
        return None
    url = urljoin(base or "", value.strip())
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    return url


_OFFSET_SPACE = re.compile(r"\s+([+-]\d{2}:?\d{2})$")
_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")


def parse_datetime(value: str | None) -> datetime | None:
    """A publisher's date string to an aware datetime, keeping its offset; naive means UTC."""
    if not value:
        return None
    text = value.strip()[:64]
    parsed: datetime | None = None
    if re.fullmatch(r"\d{10}(\d{3})?", text):  # epoch seconds or milliseconds
        parsed = datetime.fromtimestamp(int(text[:10]), tz=UTC)
    if parsed is None:
        iso = _COMPACT_OFFSET.sub(r"\1:\2", _OFFSET_SPACE.sub(r"\1", text))
        try:
            parsed = datetime.fromisoformat(iso.replace(" ", "T", 1) if "T" not in iso else iso)
        except ValueError:
            parsed = None
    if parsed is None:
        try:
            parsed = parsedate_to_datetime(text)  # RFC 2822, as in feeds and Last-Modified
        except (TypeError, ValueError, IndexError):
            return None
    if not 1900 <= parsed.year <= 2200:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


_BYLINE_PREFIX = re.compile(
    r"^(?:(?:written|words|(?:additional )?reporting|reported|story|posted|text|photos?|edited"
    r"|editing|compiled)\s+by|by|from)\b[:\s]*",
    re.IGNORECASE,
)
_ROLE = re.compile(
    r"^(?:(?:senior|chief|staff|special|political|foreign|deputy|associate|contributing|managing"
    r"|news|national|business|sports|science|health|technology|tech|digital|executive|assistant"
    r"|investigative|freelance|guest|the)\s+)*(?:writer|reporter|correspondent|editor|contributor"
    r"|columnist|journalist|producer|analyst|photographer|staff|desk|team|author|agencies"
    r"|editorial(?: board| team)?|newsroom|bureau)s?\b.*$",
    re.IGNORECASE,
)
_DATE_TAIL = re.compile(
    r"\s*(?:\b(?:updated|published|posted|on)\b\s*)?(?:\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct"
    r"|nov|dec)[a-z]*\.?\s+)?\d.*$",
    re.IGNORECASE,
)
_AUTHOR_SPLIT = re.compile(r"\s*(?:,|;|\||/|&|\band\b|\bund\b|\bwith\b)\s*", re.IGNORECASE)


def clean_authors(raw: Iterable[str]) -> tuple[str, ...]:
    """Bylines to names: "By A and B, Staff Writers | June 3, 2025" -> ("A", "B")."""
    names: list[str] = []
    seen: set[str] = set()
    for value in raw:
        text = _SPACES.sub(" ", value).strip()
        if not text or "://" in text or text.startswith("www."):
            continue
        text = _DATE_TAIL.sub("", _BYLINE_PREFIX.sub("", text))
        for part in _AUTHOR_SPLIT.split(text):
            name = _BYLINE_PREFIX.sub("", part).strip(" \t-–—:·•.,'\"()[]")
            if not name or "@" in name or _ROLE.match(name) or not re.search(r"[^\W\d_]", name):
                continue
            if len(name) > 60 or len(name.split()) > 5:
                continue
            if name.isupper() and len(name) > 3:
                name = name.title()
            key = name.casefold()
            if key not in seen:
                seen.add(key)
                names.append(name)
    return tuple(names)


def clean_keywords(raw: Iterable[str]) -> tuple[str, ...]:
    keywords: list[str] = []
    seen: set[str] = set()
    for value in raw:
        for part in re.split(r"[,;]", value):
            word = _SPACES.sub(" ", part).strip()
            key = word.casefold()
            if word and len(word) <= 60 and key not in seen:
                seen.add(key)
                keywords.append(word)
    return tuple(keywords[:40])


_TITLE_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|·|•|»)\s+")


def strip_site_suffix(title: str, site_name: str | None, *, guess: bool = False) -> str:
    """Drop " | Site" (or "Site | ") from a title. With ``guess``, also a short last segment."""
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    if site_name:
        site = site_name.casefold()
        if parts[-1].casefold() in site or site in parts[-1].casefold():
            return " - ".join(parts[:-1]) if len(parts) > 2 else parts[0]
        if parts[0].casefold() in site or site in parts[0].casefold():
            return title[len(parts[0]) :].lstrip(" |-–—:·•»")
    if guess and len(parts[-1].split()) <= 4 and len(" ".join(parts[:-1]).split()) >= 3:
        match = list(_TITLE_SEPARATORS.finditer(title))[-1]
        return title[: match.start()]
    return title


def _language(value: str | None) -> str | None:
    """A BCP 47 tag as publishers write it, normalised: "en_us" -> "en-US", "EN" -> "en"."""
    match = re.match(r"\s*([a-zA-Z]{2,3})(?:[-_]([a-zA-Z]{2}|\d{3}))?(?:[-_]|\s*$)", value or "")
    if not match:
        return None
    region = match.group(2)
    return match.group(1).lower() + (f"-{region.upper()}" if region else "")


# -- collectors --------------------------------------------------------------------------------


def _meta(tree: HtmlElement) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for el in tree.iter("meta"):
        key = el.get("property") or el.get("name") or el.get("itemprop") or el.get("http-equiv")
        content = el.get("content")
        if key and content and content.strip():
            found.setdefault(key.strip().lower(), []).append(content.strip())
    return found


def _walk_jsonld(node: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 6:
        return
    if isinstance(node, list):
        for item in node:
            yield from _walk_jsonld(item, depth + 1)
    elif isinstance(node, dict):
        types = node.get("@type")
        types = {types} if isinstance(types, str) else set(types or ())
        if types & ARTICLE_TYPES:
            yield node
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "hasPart", "itemListElement"):
            if key in node:
                yield from _walk_jsonld(node[key], depth + 1)


def _jsonld_article(tree: HtmlElement) -> dict[str, Any]:
    """The first JSON-LD article object on the page (the one with a headline preferred)."""
    articles: list[dict[str, Any]] = []
    for script in tree.iter("script"):
        if "ld+json" not in (script.get("type") or "").lower() or not script.text:
            continue
        raw = script.text.strip()
        raw = re.sub(r"^\s*(<!--|<!\[CDATA\[)|(-->|\]\]>)\s*$", "", raw)
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
            continue
        articles.extend(_walk_jsonld(data))
    with_headline = [a for a in articles if _text(a.get("headline"))]
    return (with_headline or articles or [{}])[0]


def _jsonld_authors(value: object) -> list[str]:
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        name = _text(item.get("name") if isinstance(item, dict) else item)
        if name:
            names.append(name)
    return names


def _jsonld_image(value: object) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl") or value.get("@id")
    return value if isinstance(value, str) else None


def _time_element(tree: HtmlElement, prop: str) -> str | None:
    found = tree.xpath(f".//time[@itemprop='{prop}'][@datetime]")
    if not found and prop == "datePublished":
        # the article's own <time> before any other (related-story lists carry times too)
        found = tree.xpath(".//article//time[@datetime]") or tree.xpath(".//time[@datetime]")
    return str(found[0].get("datetime")) if found else None


def _htmldate(tree: HtmlElement, url: str | None) -> datetime | None:
    try:
        found = htmldate.find_date(
            deepcopy(tree), extensive_search=False, original_date=True, url=url
        )
    except Exception:  # a heuristic of last resort must never fail the article
        return None
    return parse_datetime(found)


_PUBLISHED_META = (
    "article:published_time", "og:published_time", "datepublished", "pubdate", "publishdate",
    "publish-date", "publish_date", "date", "dc.date", "dc.date.issued", "dcterms.created",
    "sailthru.date", "parsely-pub-date", "article.published", "published_time",
)  # fmt: skip
_UPDATED_META = (
    "article:modified_time", "og:updated_time", "datemodified", "last-modified", "dc.date.modified",
    "dcterms.modified", "article.updated", "modified_time",
)  # fmt: skip
_AUTHOR_META = (
    "author", "article:author", "parsely-author", "sailthru.author", "dc.creator", "byl",
    "twitter:creator:name",
)  # fmt: skip


def _first_date(*candidates: str | None) -> datetime | None:
    for candidate in candidates:
        parsed = parse_datetime(candidate)
        if parsed is not None:
            return parsed
    return None


def extract_metadata(tree: HtmlElement, url: str | None = None) -> PageMetadata:
    """Metadata of the page ``tree`` (not modified), ``url`` being where it was fetched from."""
    ld = _jsonld_article(tree)
    meta = _meta(tree)

    def m(*keys: str) -> str | None:
        return next((meta[k][0] for k in keys if k in meta), None)

    def all_of(*keys: str) -> list[str]:
        return [v for k in keys for v in meta.get(k, [])]

    publisher = ld.get("publisher")
    site_name = _first(m("og:site_name"), publisher, m("application-name"))

    canonical_link = next(
        (
            el.get("href")
            for el in tree.iter("link")
            if "canonical" in (el.get("rel") or "").lower().split() and el.get("href")
        ),
        None,
    )
    canonical = (
        absolute_url(canonical_link, url)
        or absolute_url(m("og:url"), url)
        or absolute_url(_text(ld.get("url")), url)
        or absolute_url(url, None)
    )

    h1 = tree.find(".//h1")
    title = _first(ld.get("headline"), m("og:title"), m("twitter:title"))
    guess = False
    heading = _first(h1.text_content()) if h1 is not None else None
    if title is None:
        title_el = tree.find(".//title")
        title = _first(title_el.text_content() if title_el is not None else None)
        guess = True
        if title and heading and title.startswith(heading):  # "<h1>" + " | Site"
            title, guess = heading, False
    title = title or heading
    if title:
        title = strip_site_suffix(title, site_name, guess=guess)

    image_link = next(
        (el.get("href") for el in tree.iter("link") if el.get("rel") == "image_src"), None
    )
    image = next(
        filter(
            None,
            (
                absolute_url(candidate, canonical or url)
                for candidate in (
                    _jsonld_image(ld.get("image")),
                    m("og:image:secure_url", "og:image", "og:image:url"),
                    m("twitter:image", "twitter:image:src"),
                    image_link,
                )
            ),
        ),
        None,
    )

    authors = clean_authors(_jsonld_authors(ld.get("author")))
    if not authors:
        authors = clean_authors(all_of(*_AUTHOR_META))
    if not authors:
        authors = clean_authors(
            el.text_content() for el in tree.xpath(".//*[@rel='author' or @itemprop='author']")[:5]
        )

    published = _first_date(
        _text(ld.get("datePublished")),
        *(m(k) for k in _PUBLISHED_META),
        _time_element(tree, "datePublished"),
    ) or _htmldate(tree, url)
    updated = _first_date(
        _text(ld.get("dateModified")),
        *(m(k) for k in _UPDATED_META),
        _time_element(tree, "dateModified"),
    )

    html_el = tree if tree.tag == "html" else tree.getroottree().getroot()
    language = (
        _language(html_el.get("lang") or html_el.get("xml:lang"))
        or _language(m("og:locale"))
        or _language(m("content-language", "language", "dc.language"))
        or _language(_text(ld.get("inLanguage")))
    )

    ld_keywords = ld.get("keywords")
    keyword_sources: list[list[str]] = [
        [k for k in (ld_keywords if isinstance(ld_keywords, list) else [ld_keywords])
         if isinstance(k, str)],
        all_of("news_keywords"),
        all_of("keywords"),
        all_of("article:tag"),
    ]  # fmt: skip
    keywords = next((clean_keywords(s) for s in keyword_sources if clean_keywords(s)), ())

    return PageMetadata(
        title=title,
        authors=authors,
        published_at=published,
        updated_at=updated,
        image_url=image,
        description=_first(
            ld.get("description"), m("og:description"), m("description"), m("twitter:description")
        ),
        section=_first(
            ld.get("articleSection"), m("article:section"), m("section"), m("parsely-section")
        ),
        language=language,
        canonical_url=canonical,
        site_name=site_name,
        keywords=keywords,
    )

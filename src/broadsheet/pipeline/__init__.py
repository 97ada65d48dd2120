"""The pipeline: leaf stages over plain data, and the units of work composed from them.

Each stage module is a plain function over ``broadsheet.models`` data and never touches the
database. The functions here compose the stages into the units a worker runs:

- ``poll_feed``: fetch (conditional GET) and parse one feed;
- ``process_article``: fetch a page, extract, clean and sanitize it, falling back to the feed's
  own content when the page cannot be had;
- ``article_records``: what of each entry the database keeps before its page is fetched.

``broadsheet.services.ingest`` is the one caller: it claims rows, calls one unit, and commits the
result together with the move to the next stage.

Given an ``Isolation`` pool, feed parsing and page extraction (the CPU work over untrusted bytes)
run in its worker processes under a time limit and resource limits; fetching stays in the
calling thread. Without one they run in-process, as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from broadsheet.errors import (
    BroadsheetError,
    ExtractionAborted,
    ExtractionError,
    FetchError,
    ParseAborted,
)
from broadsheet.models import ExtractedArticle, FeedEntry, FetchResult, ParsedFeed
from broadsheet.pipeline.extract import extract_article
from broadsheet.pipeline.feeds import parse_feed
from broadsheet.pipeline.fetch import Fetcher
from broadsheet.pipeline.isolate import Isolation
from broadsheet.pipeline.urls import article_id, canonicalize_url

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


@dataclass(frozen=True, slots=True)
class FeedPoll:
    """The outcome of one successful poll: ``feed`` is None when the feed did not change (304)."""

    response: FetchResult
    feed: ParsedFeed | None


@dataclass(frozen=True, slots=True)
class EntryRecord:
    """An entry reduced to the identity and text Broadsheet keeps before fetching its page."""

    id: str
    url: str  # canonical
    entry: FeedEntry


def poll_feed(
    fetcher: Fetcher,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    isolation: Isolation | None = None,
) -> FeedPoll:
    """Fetch (conditional GET) and parse one feed; a parse cut off by ``isolation``'s limits
    raises ``FeedError``."""
    response = fetcher.get(url, etag=etag, last_modified=last_modified, accept=FEED_ACCEPT)
    if response.not_modified:
        return FeedPoll(response, None)
    parse = partial(parse_feed, response.content, url=response.url)
    if isolation is None:
        return FeedPoll(response, parse())
    return FeedPoll(response, isolation.run(parse, error=ParseAborted, what="feed parsing"))


def article_records(entries: Iterable[FeedEntry]) -> list[EntryRecord]:
    """Each entry under its canonical URL and stable id; an entry whose link cannot be parsed
    (a port out of range, say) is skipped rather than failing the whole feed."""
    records = []
    for entry in entries:
        try:
            canonical = canonicalize_url(entry.url)
        except ValueError:
            continue
        records.append(EntryRecord(id=article_id(canonical), url=canonical, entry=entry))
    return records


def process_article(
    fetcher: Fetcher,
    link: str,
    *,
    feed_content: str = "",
    isolation: Isolation | None = None,
) -> ExtractedArticle:
    """Fetch and extract one article. When the page fails (fetch error, or no article found in
    it, or extraction cut off by ``isolation``'s limits) but the feed carried the full text,
    that text is used instead; otherwise the page's error is raised so that the caller records
    it."""
    try:
        response = fetcher.get(link, accept=PAGE_ACCEPT, robots=True)
        return _extract(partial(extract_article, response.content, response.url), isolation)
    except (FetchError, ExtractionError) as page_error:
        if not feed_content.strip():
            raise
        try:
            return _extract(partial(extract_article, _wrap(feed_content), link), isolation)
        except BroadsheetError:
            raise page_error from None


def _extract(extract: partial[ExtractedArticle], isolation: Isolation | None) -> ExtractedArticle:
    if isolation is None:
        return extract()
    return isolation.run(extract, error=ExtractionAborted, what="extraction")


def _wrap(fragment: str) -> str:
    return f"<html><body><article>{fragment}</article></body></html>"

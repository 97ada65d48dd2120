"""Plain data passed between the pipeline stages, the services and the storage layer.

Nothing here knows about HTTP, SQL or HTML: these are the nouns of the pipeline. Times are always
timezone-aware; the pipeline never produces a naive datetime.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Stage(enum.StrEnum):
    """Where an article is in the pipeline. The database is the queue: workers claim by stage.

    ``discovered``: seen in a feed, page not fetched yet. ``extracted``: clean text stored.
    ``clustered``: placed in a story (final). ``dead``: gave up after the maximum attempts.
    """

    DISCOVERED = "discovered"
    EXTRACTED = "extracted"
    CLUSTERED = "clustered"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A completed HTTP exchange, after redirects, with the body decoded to bytes (capped)."""

    url: str  # the final URL, after redirects
    status: int
    content: bytes
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed, as the publisher describes it (before its page is fetched)."""

    url: str
    title: str
    guid: str | None = None
    summary: str = ""
    content_html: str = ""  # the feed's own full content, when it carries one
    authors: tuple[str, ...] = ()
    published_at: datetime | None = None
    updated_at: datetime | None = None
    tags: tuple[str, ...] = ()
    image_url: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    site_url: str | None
    entries: tuple[FeedEntry, ...]
    language: str | None = None
    websub_hub: str | None = None


@dataclass(frozen=True, slots=True)
class ExtractedArticle:
    """An article page reduced to clean text, safe display HTML and metadata."""

    title: str
    text: str  # paragraphs joined by blank lines
    paragraphs: tuple[str, ...]
    html: str  # sanitized display HTML
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


# -- what the database holds, as the services and pages read it ------------------------------


@dataclass(frozen=True, slots=True)
class SourceRow:
    id: int
    slug: str
    name: str
    site_url: str | None


@dataclass(frozen=True, slots=True)
class FeedRow:
    id: int
    url: str
    source_id: int
    source_name: str
    title: str | None
    category: str | None
    enabled: bool
    etag: str | None
    last_modified: str | None
    interval_seconds: int
    next_check_at: datetime
    last_checked_at: datetime | None
    last_success_at: datetime | None
    error_kind: str | None
    error_message: str | None
    error_at: datetime | None
    error_count: int

    @property
    def healthy(self) -> bool:
        return self.error_count == 0


@dataclass(frozen=True, slots=True)
class ArticleRow:
    id: str
    url: str
    link: str
    source_id: int
    source_slug: str
    source_name: str
    title: str
    authors: tuple[str, ...]
    summary: str
    text: str
    html: str
    image_url: str | None
    description: str | None
    section: str | None
    language: str | None
    keywords: tuple[str, ...]
    published_at: datetime | None
    published_offset: int | None
    updated_at: datetime | None
    discovered_at: datetime
    story_id: int | None
    stage: str
    version: int

    @property
    def first_seen(self) -> datetime:
        """When the article appeared: the publisher's time, else when we found it."""
        return self.published_at or self.discovered_at


@dataclass(frozen=True, slots=True)
class StoryRow:
    id: int
    title: str
    first_seen_at: datetime
    last_seen_at: datetime
    article_count: int
    source_count: int
    version: int


@dataclass(frozen=True, slots=True)
class TagRow:
    id: int
    slug: str
    name: str
    kind: str


@dataclass(slots=True)
class Progress:
    """Counts the runner reports to the terminal."""

    feeds_total: int = 0
    feeds_polled: int = 0
    feeds_failed: int = 0
    articles_discovered: int = 0
    articles_extracted: int = 0
    articles_failed: int = 0
    stories: int = 0
    last_error: str | None = None

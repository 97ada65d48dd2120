"""The relational schema, one definition for SQLite and PostgreSQL.

Alembic migrations (``storage/migrations``) create it; this module is what queries are written
against. Times are stored as naive UTC (``UTCDateTime``) because SQLite has no time-zone type;
they come back aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive UTC on disk on every engine."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # aggregates and raw SQL on SQLite hand back text
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            raise TypeError(f"not a time: {value!r}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(100), nullable=False, unique=True),
    Column("name", String(300), nullable=False),
    Column("site_url", Text),
    Column("created_at", UTCDateTime, nullable=False),
)

feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False, unique=True),
    Column("title", Text),
    Column("category", String(200)),
    Column("enabled", Boolean, nullable=False, default=True),
    # conditional GET: saved in the same transaction as the articles a poll discovers
    Column("etag", Text),
    Column("last_modified", Text),
    Column("websub_hub", Text),
    # scheduling: the database is the queue
    Column("interval_seconds", Integer, nullable=False),
    Column("next_check_at", UTCDateTime, nullable=False),
    Column("last_checked_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("lease_until", UTCDateTime),
    Column("lease_token", String(32)),
    # errors are data
    Column("error_kind", String(40)),
    Column("error_message", Text),
    Column("error_at", UTCDateTime),
    Column("error_count", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "next_check_at"),
)

stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", Text, nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("article_count", Integer, nullable=False, default=0),
    Column("source_count", Integer, nullable=False, default=0),
    # bumped whenever membership changes: AI results are cached per (story, version)
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "last_seen_at"),
)

articles = Table(
    "articles",
    metadata,
    # 32 hex digits derived from the canonical URL (pipeline.urls.article_id): stable forever
    Column("id", String(32), primary_key=True),
    Column("url", Text, nullable=False, unique=True),  # canonical URL
    Column("link", Text, nullable=False),  # the URL the feed gave
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="SET NULL")),
    Column("guid", Text),
    Column("title", Text, nullable=False),
    Column("authors", JSON, nullable=False, default=list),
    Column("summary", Text, nullable=False, default=""),
    Column("feed_content", Text, nullable=False, default=""),  # fallback when the page fails
    Column("text", Text, nullable=False, default=""),
    Column("html", Text, nullable=False, default=""),
    Column("image_url", Text),
    Column("description", Text),
    Column("section", String(200)),
    Column("language", String(20)),
    Column("site_name", String(300)),
    Column("keywords", JSON, nullable=False, default=list),
    Column("content_hash", String(64)),
    # MinHash signature of the text (128 uint32), for near-duplicate look-up without the text
    Column("minhash", LargeBinary),
    # a wire copy or republication: linked to its original, not counted as separate coverage
    Column("duplicate_of", String(32), ForeignKey("articles.id", ondelete="SET NULL")),
    Column("published_at", UTCDateTime),
    # minutes east of UTC as the publisher stated the time, to show it in their zone if asked
    Column("published_offset", Integer),
    Column("updated_at", UTCDateTime),
    Column("discovered_at", UTCDateTime, nullable=False),
    Column("extracted_at", UTCDateTime),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="SET NULL")),
    # bumped when the text changes: AI results are cached per (article, version)
    Column("version", Integer, nullable=False, default=1),
    # the stage machine and its lease (see models.Stage)
    Column("stage", String(20), nullable=False),
    Column("lease_until", UTCDateTime),
    Column("lease_token", String(32)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime),
    Column("last_error", Text),
    Index(None, "stage", "next_attempt_at"),
    Index(None, "published_at"),
    Index(None, "story_id"),
    Index(None, "source_id", "published_at"),
)

tags = Table(
    "tags",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(200), nullable=False, unique=True),
    Column("name", String(300), nullable=False),
    Column("kind", String(20), nullable=False, default="topic"),
)

article_tags = Table(
    "article_tags",
    metadata,
    Column(
        "article_id", String(32), ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("tag_id", Integer, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Index(None, "tag_id"),
)

# Sentence vectors, keyed by the model and a hash of the exact text embedded: a text is never
# embedded twice, and switching models keeps the old vectors until a backfill replaces them.
embeddings = Table(
    "embeddings",
    metadata,
    Column("model", String(200), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("dim", Integer, nullable=False),
    Column("vector", LargeBinary, nullable=False),  # float32, little-endian
    Column("created_at", UTCDateTime, nullable=False),
)

# Maintenance jobs (story upkeep, pruning...) claimed by a conditional UPDATE, so that any number
# of schedulers run each one once per period.
periodic_runs = Table(
    "periodic_runs",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("next_run_at", UTCDateTime, nullable=False),
    Column("last_run_at", UTCDateTime),
    Column("lease_until", UTCDateTime),
    Column("lease_token", String(32)),
    Column("last_error", Text),
)

"""What the pages and the API show: one computation, rendered as HTML or JSON by the web layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from broadsheet.errors import NotFound
from broadsheet.models import ArticleRow, FeedRow, SourceRow, StoryRow, TagRow
from broadsheet.storage import Database
from broadsheet.storage import articles as article_store
from broadsheet.storage import feeds as feed_store
from broadsheet.storage import sources as source_store
from broadsheet.storage import stories as story_store
from broadsheet.storage import tags as tag_store

RELATED_LIMIT = 6
TOP_STORIES_WINDOW = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class StoryCard:
    story: StoryRow
    lead: ArticleRow
    others: tuple[ArticleRow, ...]


@dataclass(frozen=True, slots=True)
class HomePage:
    top_stories: tuple[StoryCard, ...]
    latest: tuple[ArticleRow, ...]


@dataclass(frozen=True, slots=True)
class ArticlePage:
    article: ArticleRow
    tags: tuple[TagRow, ...]
    story: StoryRow | None
    related: tuple[ArticleRow, ...]


@dataclass(frozen=True, slots=True)
class StoryPage:
    story: StoryRow
    articles: tuple[ArticleRow, ...]


@dataclass(frozen=True, slots=True)
class ListPage:
    """A page of articles under a heading (a source, a tag)."""

    title: str
    articles: tuple[ArticleRow, ...]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True, slots=True)
class Status:
    stages: dict[str, int]
    stories: int
    feeds: tuple[FeedRow, ...]


def home(db: Database, *, now: datetime, stories: int = 10, latest: int = 30) -> HomePage:
    with db.read() as conn:
        top = story_store.top(conn, since=now - TOP_STORIES_WINDOW, limit=stories)
        members = article_store.in_stories(conn, [s.id for s in top])
        recent = article_store.latest(conn, limit=latest)
    by_story: dict[int, list[ArticleRow]] = {}
    for a in members:  # newest first
        if a.story_id is not None:
            by_story.setdefault(a.story_id, []).append(a)
    cards = []
    for s in top:
        group = by_story.get(s.id)
        if group:
            lead = next((a for a in group if a.title == s.title), group[0])
            cards.append(StoryCard(s, lead, tuple(a for a in group if a is not lead)))
    return HomePage(tuple(cards), tuple(recent))


def article(db: Database, article_id: str) -> ArticlePage:
    with db.read() as conn:
        row = article_store.get(conn, article_id)
        if row is None or not row.text:
            raise NotFound(f"no article {article_id}")
        tags = tag_store.for_article(conn, article_id)
        story = story_store.get(conn, row.story_id) if row.story_id else None
        # same story first (other publishers' coverage), then articles sharing hashtags
        related = [
            a
            for a in (article_store.in_story(conn, story.id) if story else [])
            if a.id != article_id
        ]
        related.sort(key=lambda a: a.first_seen, reverse=True)
        if len(related) < RELATED_LIMIT:
            seen = {a.id for a in related}
            ids = [
                i
                for i in tag_store.sharing(conn, article_id, limit=RELATED_LIMIT * 2)
                if i not in seen
            ]
            related += article_store.many(conn, ids)
    return ArticlePage(row, tuple(tags), story, tuple(related[:RELATED_LIMIT]))


def story(db: Database, story_id: int) -> StoryPage:
    with db.read() as conn:
        row = story_store.get(conn, story_id)
        if row is None or not row.article_count:
            raise NotFound(f"no story {story_id}")
        return StoryPage(row, tuple(article_store.in_story(conn, story_id)))


def latest(db: Database, *, limit: int, offset: int = 0) -> ListPage:
    with db.read() as conn:
        rows = article_store.latest(conn, limit=limit, offset=offset)
        total = article_store.count_shown(conn)
    return ListPage("Latest", tuple(rows), total, offset, limit)


def source(db: Database, slug: str, *, limit: int, offset: int = 0) -> tuple[SourceRow, ListPage]:
    with db.read() as conn:
        src = source_store.get_by_slug(conn, slug)
        if src is None:
            raise NotFound(f"no source {slug}")
        rows = article_store.latest(conn, limit=limit, offset=offset, source_id=src.id)
        total = article_store.count_shown(conn, source_id=src.id)
    return src, ListPage(src.name, tuple(rows), total, offset, limit)


def tag(db: Database, slug: str, *, limit: int, offset: int = 0) -> tuple[TagRow, ListPage]:
    with db.read() as conn:
        row = tag_store.get_by_slug(conn, slug)
        if row is None:
            raise NotFound(f"no tag {slug}")
        ids = tag_store.article_ids(conn, row.id, limit=limit, offset=offset)
        rows = article_store.many(conn, ids)
        total = tag_store.count_articles(conn, row.id)
    return row, ListPage(f"#{row.name}", tuple(rows), total, offset, limit)


def status(db: Database) -> Status:
    with db.read() as conn:
        return Status(
            article_store.count_by_stage(conn),
            story_store.count(conn),
            tuple(feed_store.all_feeds(conn)),
        )

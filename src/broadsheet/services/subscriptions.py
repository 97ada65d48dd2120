"""Use cases around feeds: subscribe (with discovery), list, OPML import and export."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

from broadsheet.config import Settings
from broadsheet.errors import BroadsheetError, InvalidURL, NotAFeed
from broadsheet.models import FeedRow, ParsedFeed
from broadsheet.pipeline import FEED_ACCEPT
from broadsheet.pipeline.feeds import find_feed_links, parse_feed
from broadsheet.pipeline.fetch import Fetcher
from broadsheet.pipeline.opml import Subscription, parse_opml, render_opml
from broadsheet.pipeline.tags import slugify
from broadsheet.pipeline.urls import host_of, resolve_url
from broadsheet.storage import Database
from broadsheet.storage import feeds as feed_store
from broadsheet.storage import sources as source_store

# "BBC News - World", "The Ledger | Top stories", "Courier: Latest": the publisher comes first.
_SEPARATORS = re.compile(r"\s+[-–—|»>]\s+|:\s+")
_COMMENTS_FEED = re.compile(r"/comments?/(?:feed|rss|atom)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Added:
    feed: FeedRow
    created: bool


def publisher_name(feed_title: str | None, url: str) -> str:
    """The publisher's name from a feed title: the part that names the site's host where one
    does ("World news | The Guardian" on theguardian.com -> "The Guardian"), else the head
    ("BBC News - World" -> "BBC News"), else the host."""
    title = (feed_title or "").strip()
    parts = [p.strip() for p in _SEPARATORS.split(title) if p.strip()]
    host = slugify(host_of(url).removeprefix("www.")).replace("-", "")
    for part in parts:
        key = slugify(part).replace("-", "")
        if host and len(key) >= 3 and key in host:
            return part
    return (parts[0] if parts else "") or host_of(url) or url


def subscribe(
    db: Database,
    settings: Settings,
    *,
    url: str,
    now: datetime,
    title: str | None = None,
    site_url: str | None = None,
    category: str | None = None,
) -> Added:
    if resolve_url(url, url) is None:  # an OPML file may name any scheme: http(s) only
        raise InvalidURL(f"not an http(s) feed URL: {url!r}", url=url)
    # a site link from a feed or an OPML file is shown as a link: http(s) only, never javascript:
    site_url = resolve_url(url, site_url) if site_url else None
    name = publisher_name(title, site_url or url)
    with db.begin() as conn:
        source_id = source_store.ensure(
            conn, slug=slugify(name) or "source", name=name, site_url=site_url, now=now
        )
        feed_id, created = feed_store.add(
            conn,
            url=url,
            source_id=source_id,
            interval_seconds=settings.poll_interval,
            now=now,
            title=title,
            category=category,
        )
        row = feed_store.get(conn, feed_id)
    assert row is not None
    return Added(row, created)


# Where sites without <link rel=alternate> usually keep their feed (WordPress, Ghost, Hugo,
# Jekyll, Blogger, Substack...), tried in this order when a page links to none.
COMMON_FEED_PATHS = (
    "/feed", "/rss", "/feed.xml", "/rss.xml", "/atom.xml", "/index.xml", "/feed.json",
    "/feeds/posts/default",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Found:
    url: str
    feed: ParsedFeed


def discover(fetcher: Fetcher, url: str) -> list[Found]:
    """The feeds at ``url``: the URL itself if it is a feed, else those its page links to,
    else the first of the usual feed paths on its site that answers with a feed."""
    response = fetcher.get(url, accept=FEED_ACCEPT)
    try:
        return [Found(response.url, parse_feed(response.content, url=response.url))]
    except NotAFeed:
        links = [
            u
            for u in find_feed_links(response.content, response.url)
            if not _COMMENTS_FEED.search(u)
        ]  # a blog's comment stream is not news
    found: list[Found] = []
    errors: list[BroadsheetError] = []
    for link in links:
        try:
            found.append(_fetch_feed(fetcher, link))
        except BroadsheetError as exc:  # one dead link among several must not sink the rest
            errors.append(exc)
    if not found and not links:
        for path in COMMON_FEED_PATHS:
            try:
                return [_fetch_feed(fetcher, urljoin(response.url, path))]
            except BroadsheetError:
                continue
    if not found:
        raise (
            errors[0]
            if errors
            else NotAFeed(f"no feed at {url}, linked from it or at the usual paths")
        )
    return found


def _fetch_feed(fetcher: Fetcher, url: str) -> Found:
    response = fetcher.get(url, accept=FEED_ACCEPT)
    return Found(response.url, parse_feed(response.content, url=response.url))


def add(
    db: Database,
    fetcher: Fetcher,
    settings: Settings,
    url: str,
    *,
    now: datetime,
    category: str | None = None,
    choose: Callable[[list[Found]], list[Found]] | None = None,
) -> list[Added]:
    """Subscribe to the feed at ``url``, or to the feeds its page leads to: all of them, or
    those ``choose`` picks when there are several (the CLI asks the user)."""
    found = discover(fetcher, url)
    if choose is not None and len(found) > 1:
        found = choose(found)
    return [
        subscribe(
            db, settings, url=f.url, now=now, title=f.feed.title, site_url=f.feed.site_url,
            category=category,
        )
        for f in found
    ]  # fmt: skip


def import_opml(
    db: Database, settings: Settings, content: bytes, *, now: datetime
) -> tuple[list[Added], list[InvalidURL]]:
    """Subscribe to every feed of an OPML file; entries that are not http(s) feeds are refused
    one by one (returned beside the added ones), never sinking the rest."""
    added, refused = [], []
    for s in parse_opml(content):
        try:
            added.append(
                subscribe(
                    db, settings, url=s.url, now=now, title=s.title, site_url=s.site_url,
                    category=s.category,
                )
            )  # fmt: skip
        except InvalidURL as exc:
            refused.append(exc)
    return added, refused


def export_opml(db: Database) -> bytes:
    with db.read() as conn:
        rows = feed_store.all_feeds(conn)
    return render_opml(
        Subscription(url=f.url, title=f.title or f.source_name, category=f.category) for f in rows
    )


def list_feeds(db: Database) -> list[FeedRow]:
    with db.read() as conn:
        return feed_store.all_feeds(conn)


def refresh_all(db: Database, *, now: datetime) -> int:
    """Make every feed due now, failing ones included; returns how many."""
    with db.begin() as conn:
        return feed_store.make_due(conn, now=now)

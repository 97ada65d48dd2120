"""The whole path over real HTTP: sample publishers -> feeds -> pages -> extraction -> storage ->
stories -> the web site, checked the way a reader would see it."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

import httpx
import pytest

from broadsheet.config import Settings
from broadsheet.demo.server import SampleArticle, SamplePublishers
from broadsheet.pipeline.urls import article_id, canonicalize_url
from broadsheet.services import reading, subscriptions
from broadsheet.services.ingest import utcnow
from broadsheet.services.runtime import Runtime
from broadsheet.storage import feeds
from broadsheet.web.app import create_app
from broadsheet.workers.runner import Runner
from tests.integration.conftest import LiveServer

# What the seed page leaked and no article body may contain.
FURNITURE = re.compile(
    r"STORY CONTINUES BELOW|ADVERTISEMENT|Live Events|WhatsApp|subscribe to our|Also read|"
    r"read more|Sign up|newsletter|&w=\d+|&q=\d+|\[caption|\[/caption\]|https?://",
    re.IGNORECASE,
)
# A sentence run into the next one ("said.23392", "taken.The") after a removed element.
GLUED = re.compile(r"[a-z]{2}[.!?][A-Z0-9][a-z0-9]")


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with Runtime.open(settings) as rt:
        yield rt


def _ingest(runtime: Runtime, publishers: SamplePublishers) -> None:
    for url in publishers.feed_urls():
        subscriptions.add(runtime.db, runtime.fetcher, runtime.settings, url, now=utcnow())
    with Runner(runtime.ingestor(), workers=4) as runner:
        progress = runner.run_until_idle()
    assert progress.feeds_failed == 0, progress.last_error
    assert progress.articles_failed == 0


def _by_id(publishers: SamplePublishers) -> dict[str, SampleArticle]:
    return {article_id(canonicalize_url(a.url)): a for a in publishers.catalog()}


@pytest.mark.slow
def test_every_article_arrives_clean_and_complete(
    runtime: Runtime, publishers: SamplePublishers
) -> None:
    _ingest(runtime, publishers)
    expected = _by_id(publishers)
    page = reading.latest(runtime.db, limit=500)
    assert page.total == len(expected) >= 40
    for row in page.articles:
        sample = expected[row.id]
        paragraphs = row.text.split("\n\n")
        assert paragraphs == list(sample.paragraphs), row.url
        assert row.title == sample.title
        assert row.published_at == sample.published_at
        assert row.source_name == sample.publisher_name
        assert list(row.authors) == list(sample.authors)
        for p in paragraphs:
            assert not FURNITURE.search(p), (row.url, p)
            assert not GLUED.search(p), (row.url, p)
        assert "<script" not in row.html and "onerror" not in row.html


def _bcubed(pred: list[object], gold: list[object]) -> float:
    """BCubed F1 of a clustering against the gold grouping."""
    by_pred: dict[object, set[int]] = defaultdict(set)
    by_gold: dict[object, set[int]] = defaultdict(set)
    for i, (p, g) in enumerate(zip(pred, gold, strict=True)):
        by_pred[p].add(i)
        by_gold[g].add(i)
    precision = recall = 0.0
    for p, g in zip(pred, gold, strict=True):
        common = len(by_pred[p] & by_gold[g])
        precision += common / len(by_pred[p])
        recall += common / len(by_gold[g])
    precision, recall = precision / len(pred), recall / len(pred)
    return 2 * precision * recall / (precision + recall)


@pytest.mark.slow
def test_events_become_stories(runtime: Runtime, publishers: SamplePublishers) -> None:
    _ingest(runtime, publishers)
    expected = _by_id(publishers)
    story_of = {a.id: a.story_id for a in reading.latest(runtime.db, limit=500).articles}
    ids = sorted(expected)
    gold = [expected[i].event or i for i in ids]  # an article of no shared event stands alone
    assert _bcubed([story_of[i] for i in ids], gold) >= 0.95
    home = reading.home(runtime.db, now=utcnow())
    assert home.top_stories[0].story.source_count >= 3
    page = reading.story(runtime.db, home.top_stories[0].story.id)
    assert len({a.source_slug for a in page.articles}) == page.story.source_count


@pytest.mark.slow
def test_reingesting_duplicates_nothing(runtime: Runtime, publishers: SamplePublishers) -> None:
    _ingest(runtime, publishers)
    first = reading.latest(runtime.db, limit=500)
    _ingest(runtime, publishers)  # subscribing again is a no-op; feeds are not due yet
    with runtime.db.begin() as conn:
        feeds.make_due(conn, now=utcnow())
    with Runner(runtime.ingestor(), workers=4) as runner:
        progress = runner.run_until_idle()
    assert progress.articles_discovered == 0  # 304s and known URLs
    second = reading.latest(runtime.db, limit=500)
    assert [a.id for a in second.articles] == [a.id for a in first.articles]
    assert second.total == first.total


@pytest.mark.slow
def test_site_pages_as_a_reader_sees_them(runtime: Runtime, publishers: SamplePublishers) -> None:
    _ingest(runtime, publishers)
    app = create_app(runtime.settings, runtime.db)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=10) as client:
        home = client.get("/")
        assert home.status_code == 200
        assert "Top stories" in home.text and "sources" in home.text
        listing = client.get("/api/v1/articles", params={"limit": 200}).json()
        assert listing["total"] >= 40
        for item in listing["items"]:
            page = client.get(f"/articles/{item['id']}")
            assert page.status_code == 200
            html = page.text
            assert f"<h1>{_escape(item['title'])}</h1>" in html
            assert "First published:" in html
            assert item["source"]["name"] in html
            body = html.split('<div class="body">', 1)[1].split("</div>", 1)[0]
            assert not FURNITURE.search(re.sub(r"<[^>]+>", " ", body)), item["url"]
            detail = client.get(f"/api/v1/articles/{item['id']}").json()
            assert detail["paragraphs"] and detail["text"]
        # related articles carry the publisher and a relative time
        story_article = next(
            i
            for i in listing["items"]
            if client.get(f"/api/v1/articles/{i['id']}").json()["related"]
        )
        page = client.get(f"/articles/{story_article['id']}").text
        related = page.split('id="related"', 1)[1]
        assert re.search(r"(\d+ (minute|hour|day)s? ago|just now)</time>", related)
        assert client.get("/articles/" + "0" * 32).status_code == 404
        assert client.get("/api/v1/articles/" + "0" * 32).json()["error"]["status"] == 404
        assert client.get("/feeds").status_code == 200


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;")
    )

"""The site and the API in-process (TestClient) over a database filled by really ingesting the
sample publishers: what a reader sees, error pages, the API contract, and escaping of hostile
publisher text that came in through the real ingest path."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

from broadsheet.config import Settings
from broadsheet.demo.server import SamplePublishers
from broadsheet.pipeline.fetch import Fetcher
from broadsheet.services import reading, subscriptions
from broadsheet.services.ingest import Ingestor
from broadsheet.storage import Database
from broadsheet.web.app import create_app
from broadsheet.workers.runner import Runner
from tests.unit.services.loopback import HTML_TYPE, RSS_TYPE, Reply, ScriptedServer, rss

with warnings.catch_warnings():  # starlette would rather have its httpx2 fork; httpx works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

ZONE = "Asia/Kolkata"
# <time datetime="..." title="25 Nov 2026, 12:12 PM IST">4 hours ago</time>
RELATIVE_TIME = re.compile(
    r'<time datetime="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00)" '
    r'title="(\d\d \w{3} \d{4}, \d\d:\d\d [AP]M IST)">'
    r"(just now|\d+ (?:minute|hour|day|week)s? ago)</time>"
)


def ingest(db: Database, settings: Settings, feed_urls: list[str], *, discover: bool) -> None:
    with Fetcher.from_settings(settings) as fetcher:
        for url in feed_urls:
            if discover:
                subscriptions.add(db, fetcher, settings, url, now=datetime.now(UTC))
            else:
                subscriptions.subscribe(db, settings, url=url, now=datetime.now(UTC))
        with Runner(Ingestor(db, fetcher, settings), workers=4) as runner:
            progress = runner.run_until_idle()
    assert progress.feeds_failed == 0 and progress.articles_failed == 0, progress.last_error


@dataclass(frozen=True, slots=True)
class Site:
    client: TestClient
    db: Database
    settings: Settings
    publishers: SamplePublishers


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("site")
    settings = Settings.load(
        env={},
        data_dir=str(data),
        allow_hosts=("127.0.0.1",),
        timezone=ZONE,
        fetch_workers=4,
        per_host_delay=0.0,
    )
    db = Database(settings.database_url)
    db.migrate()
    with SamplePublishers() as publishers:
        ingest(db, settings, publishers.feed_urls(), discover=True)
        with TestClient(create_app(settings, db)) as client:
            yield Site(client, db, settings, publishers)
    db.dispose()


def get(client: TestClient, path: str, status: int = 200, **params: Any) -> str:
    response = client.get(path, params=params)
    assert response.status_code == status, (path, response.text[:500])
    if not path.startswith("/api/"):
        assert response.headers["content-type"].startswith("text/html")
    return str(response.text)


def section(html: str, marker: str) -> str:
    """From ``marker`` to the end of the section it opens."""
    start = html.index(marker)
    return html[start : html.index("</section>", start)]


# -- what a reader sees ----------------------------------------------------------------------


def test_home_lists_top_stories_with_their_coverage(site: Site) -> None:
    home = reading.home(site.db, now=datetime.now(UTC))
    multi = [c for c in home.top_stories if c.story.source_count > 1]
    assert multi, "the sample publishers cover shared events"

    html = get(site.client, "/")
    top = section(html, 'id="top-stories"')
    for card in home.top_stories:
        assert f">{escape(card.lead.title, quote=False)}</a></h2>" in top
    links = re.findall(
        r'href="http://testserver/stories/(\d+)">Full coverage: (\d+) sources</a>', top
    )
    assert links == [(str(c.story.id), str(c.story.source_count)) for c in multi]
    latest = html[html.index('id="latest"') :]
    assert latest.count('class="item"') == min(30, len(site.publishers.catalog()))


def test_article_page(site: Site) -> None:
    lead = next(
        c.lead
        for c in reading.home(site.db, now=datetime.now(UTC)).top_stories
        if c.story.source_count > 1
    )
    page = reading.article(site.db, lead.id)
    assert page.tags and page.related

    html = get(site.client, f"/articles/{lead.id}")
    assert f"<h1>{escape(lead.title, quote=False)}</h1>" in html
    local = lead.first_seen.astimezone(ZoneInfo(ZONE))
    assert (
        f'First published: <time datetime="{lead.first_seen.isoformat(timespec="seconds")}">'
        f"{local.strftime('%d %b %Y, %I:%M %p')} IST</time>"
    ) in html
    assert escape(lead.source_name, quote=False) in html
    assert f'href="{escape(lead.url)}"' in html  # "Read the original"

    hashtags = section(html, 'id="hashtags"')
    for t in page.tags:
        assert (
            f'<a href="http://testserver/tags/{t.slug}">#{escape(t.name, quote=False)}</a>'
            in hashtags
        )
    tag_page = get(site.client, f"/tags/{page.tags[0].slug}")
    assert f'<h1 id="list-title">#{escape(page.tags[0].name, quote=False)}</h1>' in tag_page
    assert f"/articles/{lead.id}" in tag_page

    related = html[html.index('id="related"') :]
    assert "Related Articles" in related
    times = RELATIVE_TIME.findall(related)
    assert len(times) == len(page.related)
    for r, (iso, title, _ago) in zip(page.related, times, strict=True):
        assert f"/articles/{r.id}" in related
        assert iso == r.first_seen.isoformat(timespec="seconds")
        assert title.startswith(r.first_seen.astimezone(ZoneInfo(ZONE)).strftime("%d %b %Y"))
    assert f"Full coverage: {page.story.source_count} sources" in html  # type: ignore[union-attr]


def test_story_source_tag_and_feeds_pages(site: Site) -> None:
    card = reading.home(site.db, now=datetime.now(UTC)).top_stories[0]
    story = get(site.client, f"/stories/{card.story.id}")
    assert f'<h1 id="story-title">{escape(card.story.title, quote=False)}</h1>' in story
    members = reading.story(site.db, card.story.id).articles
    assert f"{card.story.article_count} articles from {card.story.source_count} sources" in story
    for a in members:
        assert f"/articles/{a.id}" in story

    slugs = {a.source_name: a.source_slug for a in reading.latest(site.db, limit=500).articles}
    for pub in site.publishers.publishers:
        src, listing = reading.source(site.db, slugs[pub.name], limit=30)
        html = get(site.client, f"/sources/{src.slug}")
        assert f'<h1 id="list-title">{escape(pub.name, quote=False)}</h1>' in html
        assert html.count('class="item"') == len(listing.articles) > 0

    feeds = get(site.client, "/feeds")
    for url in site.publishers.feed_urls():
        assert f'<td class="url">{url}</td>' in feeds
    assert feeds.count('<span class="ok">OK</span>') == len(site.publishers.feed_urls())


@pytest.mark.parametrize(
    "path",
    ["/articles/" + "0" * 32, "/stories/999999", "/sources/no-such-paper", "/tags/no-such-tag"],
)
def test_unknown_pages_are_404_html(site: Site, path: str) -> None:
    html = get(site.client, path, 404)
    assert '<h1 id="error-title">Not found</h1>' in html
    assert "Back to the front page" in html


@pytest.mark.parametrize("path", ["/api/v1/articles/" + "0" * 32, "/api/v1/stories/999999"])
def test_unknown_api_resources_are_404_json(site: Site, path: str) -> None:
    response = site.client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == 404
    assert body["error"]["message"].startswith("no ")


def test_openapi_lists_the_article_routes(site: Site) -> None:
    spec = site.client.get("/api/v1/openapi.json").json()
    assert {
        "/api/v1/articles",
        "/api/v1/articles/{article_id}",
        "/api/v1/stories/{story_id}",
    } <= set(spec["paths"])
    params = {p["name"]: p for p in spec["paths"]["/api/v1/articles"]["get"]["parameters"]}
    assert params["limit"]["schema"]["minimum"] == 1
    assert params["limit"]["schema"]["maximum"] == 200
    assert params["offset"]["schema"]["minimum"] == 0


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/articles", {"limit": 0}),
        ("/api/v1/articles", {"limit": 201}),
        ("/api/v1/articles", {"limit": "ten"}),
        ("/api/v1/articles", {"offset": -1}),
        ("/sources/the-daily-ledger", {"offset": -1}),
        ("/stories/not-a-number", {}),
    ],
)
def test_bad_parameters_are_422(site: Site, path: str, params: dict[str, Any]) -> None:
    response = site.client.get(path, params=params)
    assert response.status_code == 422
    if path.startswith("/api/"):  # the API's one error shape, naming the parameter
        error = response.json()["error"]
        assert error["status"] == 422
        assert next(iter(params)) in error["message"]
    else:
        assert "<h1" in response.text


def test_api_pages_through_every_article(site: Site) -> None:
    seen: list[str] = []
    offset = 0
    while True:
        body = site.client.get("/api/v1/articles", params={"limit": 7, "offset": offset}).json()
        assert body["total"] == len(site.publishers.catalog())
        assert (body["limit"], body["offset"]) == (7, offset)
        if not body["items"]:
            break
        assert len(body["items"]) <= 7
        seen += [i["id"] for i in body["items"]]
        offset += 7
    assert len(seen) == len(set(seen)) == len(site.publishers.catalog())
    detail = site.client.get(f"/api/v1/articles/{seen[0]}").json()
    assert detail["id"] == seen[0] and detail["paragraphs"] and detail["html"]


# -- hostile publisher text ------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>Title"
BREAKOUT = '"><img src=x onerror=alert(2)>'
TAG = "<script>alert(3)</script>"
PARAGRAPHS = "".join(
    f"<p>{p}</p>"
    for p in (
        "The harbour board met on Tuesday evening to hear the engineers' report on the sea "
        "wall, which was damaged in the winter storms and has been closed since January.",
        "Repairs will take eleven weeks and cost 2.4 million, the board said. Work starts in "
        "May, and the promenade will reopen in stages as each section is finished.",
    )
)


def hostile_page(title: str) -> bytes:
    """A page whose title, description and keywords carry markup as text (escaped in the
    page, so that the extracted strings hold the raw payload)."""
    t = escape(title)
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{t}</title>"
        f"<meta property='og:title' content='{t}'>"
        f"<meta name='description' content='{escape(BREAKOUT)} dek'>"
        f"<meta name='keywords' content='{escape(TAG)}, Harbour'>"
        f"</head><body><article><h1>{t}</h1>{PARAGRAPHS}</article></body></html>"
    ).encode()


@pytest.fixture
def hostile_app(settings: Settings, sqlite_db: Database) -> tuple[FastAPI, Database]:
    with ScriptedServer() as srv:
        items = [
            {"title": escape(escape(SCRIPT)), "link": srv.url("/a"), "guid": "a"},
            {"title": escape(escape(BREAKOUT)), "link": srv.url("/b"), "guid": "b"},
        ]
        srv.routes["/feed.xml"] = Reply(200, rss("Gazette", items), RSS_TYPE)
        srv.routes["/a"] = Reply(200, hostile_page(SCRIPT), HTML_TYPE)
        srv.routes["/b"] = Reply(200, hostile_page(BREAKOUT + " sea wall"), HTML_TYPE)
        ingest(sqlite_db, settings, [srv.url("/feed.xml")], discover=False)
    return create_app(settings, sqlite_db), sqlite_db


def test_hostile_titles_are_escaped_on_every_page(hostile_app: tuple[FastAPI, Database]) -> None:
    app, db = hostile_app
    stored = reading.latest(db, limit=10).articles
    # the payload really is in the database, as text: the pages must escape it
    assert {a.title for a in stored} == {SCRIPT, BREAKOUT + " sea wall"}
    assert any(t.name == TAG for a in stored for t in reading.article(db, a.id).tags)

    with TestClient(app) as client:
        pages = ["/", "/feeds", f"/sources/{stored[0].source_slug}", "/tags/harbour"]
        pages += [f"/articles/{a.id}" for a in stored]
        pages += [f"/stories/{a.story_id}" for a in stored]
        pages += [f"/tags/{t.slug}" for a in stored for t in reading.article(db, a.id).tags]
        for path in pages:
            html = get(client, path)
            for payload in (SCRIPT, BREAKOUT, TAG, "<img src=x", "<script>alert"):
                assert payload not in html, (path, payload)
        home = get(client, "/")
        assert escape(SCRIPT, quote=False) in home
        assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in home
        article = get(client, f"/articles/{next(a.id for a in stored if a.title == SCRIPT)}")
        assert f"<h1>{escape(SCRIPT, quote=False)}</h1>" in article
        assert f"#{escape(TAG, quote=False)}</a>" in article


def test_opml_site_url_cannot_become_a_javascript_link(
    settings: Settings, sqlite_db: Database, tmp_path: Path
) -> None:
    """A shared OPML file is untrusted input: its htmlUrl ends up as the source page's link."""
    opml = (
        b"<?xml version='1.0'?><opml version='1.0'><head/><body>"
        b"<outline text='Evil Gazette' title='Evil Gazette' xmlUrl='http://127.0.0.1:9/feed.xml'"
        b" htmlUrl='javascript:alert(document.cookie)'/></body></opml>"
    )
    (added,), _ = subscriptions.import_opml(sqlite_db, settings, opml, now=datetime.now(UTC))
    assert added.created
    with TestClient(create_app(settings, sqlite_db)) as client:
        html = get(client, "/sources/evil-gazette")
    assert '<h1 id="list-title">Evil Gazette</h1>' in html
    assert "javascript:" not in html

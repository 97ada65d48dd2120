"""What ingestion adds to an article beyond its text: duplicates linked to their original,
entity tags, language. Through the real path, against loopback publishers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from broadsheet.config import Settings
from broadsheet.pipeline.fetch import Fetcher
from broadsheet.services import reading, subscriptions
from broadsheet.storage import Database
from broadsheet.storage.schema import articles as table
from tests.unit.services.loopback import HTML_TYPE, RSS_TYPE, Reply, ScriptedServer, rss
from tests.unit.services.test_ingest import PARAGRAPHS, article_page, run

WIRE = (
    "Harbour board approves sea wall repairs",
    "Harbour Board approves repairs to the sea wall",  # the same wire story, retitled
)


@pytest.fixture
def fetcher(settings: Settings) -> Iterator[Fetcher]:
    with Fetcher.from_settings(settings) as f:
        yield f


def _publisher(
    srv: ScriptedServer, name: str, title: str, paragraphs: list[str], hours: int
) -> None:
    when = format_datetime(datetime.now(UTC) - timedelta(hours=hours))
    item = {"title": title, "link": srv.url("/story"), "guid": "1", "pubDate": when}
    srv.routes["/feed.xml"] = Reply(200, rss(name, [item]), RSS_TYPE)
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    srv.routes["/story"] = Reply(200, article_page(title, body), HTML_TYPE)


def test_a_wire_copy_is_linked_to_its_original_and_not_counted(
    db: Database, settings: Settings, fetcher: Fetcher
) -> None:
    copy = [*PARAGRAPHS[:2], PARAGRAPHS[2].replace("fourteenth", "14th"), "Reporting by the wire."]
    with ScriptedServer() as first, ScriptedServer() as second:
        _publisher(first, "The Ledger", WIRE[0], list(PARAGRAPHS), hours=3)
        _publisher(second, "The Courier", WIRE[1], copy, hours=1)
        for srv, name in ((first, "The Ledger"), (second, "The Courier")):
            subscriptions.subscribe(
                db, settings, url=srv.url("/feed.xml"), title=name, now=datetime.now(UTC)
            )
        progress = run(db, fetcher, settings)
    assert progress.articles_extracted == 2
    articles = {a.source_name: a for a in reading.latest(db, limit=10).articles}
    original, duplicate = articles["The Ledger"], articles["The Courier"]
    assert original.story_id == duplicate.story_id is not None
    story = reading.story(db, original.story_id).story
    assert (story.article_count, story.source_count) == (1, 1)  # one piece of coverage
    with db.read() as conn:
        dup_of = conn.execute(
            table.select().with_only_columns(table.c.duplicate_of).where(table.c.id == duplicate.id)
        ).scalar_one()
    assert dup_of == original.id


def test_articles_get_entity_tags_and_a_language(
    db: Database, settings: Settings, fetcher: Fetcher
) -> None:
    text = [
        "Mayor Dana Whitfield said on Tuesday that the London council would ask the "
        "Bank of England for emergency funds after the Thames flood.",
        "Whitfield told reporters in London that the council had spent its reserves.",
        *PARAGRAPHS,
    ]
    with ScriptedServer() as srv:
        _publisher(srv, "The Ledger", "London asks for flood funds", text, hours=1)
        subscriptions.subscribe(db, settings, url=srv.url("/feed.xml"), now=datetime.now(UTC))
        run(db, fetcher, settings)
    (article,) = reading.latest(db, limit=10).articles
    page = reading.article(db, article.id)
    kinds = {t.name: t.kind for t in page.tags}
    assert kinds.get("Dana Whitfield") == "person"
    assert kinds.get("London") == "place"
    assert "Whitfield" not in kinds  # the short mention folds into the full name
    assert page.article.language == "en"

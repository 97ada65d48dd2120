"""The units of work composed in broadsheet.pipeline (the network ones run in the service and
integration tests against real loopback servers)."""

from __future__ import annotations

from broadsheet.models import FeedEntry
from broadsheet.pipeline import article_records
from broadsheet.pipeline.urls import article_id


def test_records_use_the_canonical_url_and_skip_unparsable_links() -> None:
    entries = [
        FeedEntry(url="https://Example.com/a?utm_source=rss#top", title="A"),
        FeedEntry(url="http://example.com:99999/b", title="bad port"),
        FeedEntry(url="https://example.com/a", title="A again"),
    ]
    records = article_records(entries)
    assert [r.url for r in records] == ["https://example.com/a", "https://example.com/a"]
    assert {r.id for r in records} == {article_id("https://example.com/a")}
    assert records[0].entry.title == "A"

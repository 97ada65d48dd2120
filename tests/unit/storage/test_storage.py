"""Storage on both engines: the same schema and queries on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
import sqlalchemy as sa

from broadsheet.models import Stage
from broadsheet.storage import Database, articles, embeddings, feeds, jobs, sources, stories, tags
from broadsheet.storage.articles import NewArticle
from broadsheet.storage.schema import articles as articles_table

NOW = datetime(2025, 4, 28, 0, 8, tzinfo=UTC)
IST = timezone(timedelta(hours=5, minutes=30))


def _source(db: Database, slug: str = "ledger") -> int:
    with db.begin() as conn:
        return sources.ensure(conn, slug=slug, name=slug.title(), site_url=None, now=NOW)


def _new(i: int, source_id: int, **kw: object) -> NewArticle:
    fields: dict[str, object] = {
        "id": f"{i:032x}",
        "url": f"https://example.com/a/{i}",
        "link": f"https://example.com/a/{i}?utm_source=rss",
        "source_id": source_id,
        "feed_id": None,
        "guid": str(i),
        "title": f"Headline {i}",
        "authors": ("Ann Writer",),
        "summary": "",
        "feed_content": "",
        "published_at": NOW,
        "image_url": None,
        "keywords": ("Kursk",),
    }
    fields.update(kw)
    return NewArticle(**fields)  # type: ignore[arg-type]


def test_migrate_is_idempotent(db: Database) -> None:
    db.migrate()
    with db.begin() as conn:
        names = set(sa.inspect(conn).get_table_names())
    assert {
        "sources",
        "feeds",
        "articles",
        "stories",
        "tags",
        "article_tags",
        "periodic_runs",
        "alembic_version",
    } <= names


def test_source_ensure_returns_the_same_id(db: Database) -> None:
    assert _source(db) == _source(db)
    assert _source(db, "courier") != _source(db)


def test_feed_add_is_idempotent_and_due_at_once(db: Database) -> None:
    sid = _source(db)
    with db.begin() as conn:
        first = feeds.add(
            conn, url="https://example.com/feed", source_id=sid, interval_seconds=900, now=NOW
        )
        second = feeds.add(
            conn, url="https://example.com/feed", source_id=sid, interval_seconds=900, now=NOW
        )
        assert first == (first[0], True)
        assert second == (first[0], False)
        claimed = feeds.claim_due(conn, now=NOW, limit=10, lease_seconds=60)
    assert [c.url for c in claimed] == ["https://example.com/feed"]


def test_feed_lease_is_exclusive_until_it_expires(db: Database) -> None:
    sid = _source(db)
    with db.begin() as conn:
        feeds.add(
            conn, url="https://example.com/feed", source_id=sid, interval_seconds=900, now=NOW
        )
        first = feeds.claim_due(conn, now=NOW, limit=10, lease_seconds=60)
        assert (
            feeds.claim_due(conn, now=NOW + timedelta(seconds=30), limit=10, lease_seconds=60) == []
        )
        # the holder crashed: its lease expires and another worker takes the feed
        again = feeds.claim_due(conn, now=NOW + timedelta(seconds=61), limit=10, lease_seconds=60)
        assert len(again) == 1 and again[0].token != first[0].token
        # the first holder's late write is refused: its token is no longer the feed's
        assert not feeds.record_success(
            conn, first[0], now=NOW, next_check_at=NOW, etag="x", last_modified=None
        )
        assert feeds.record_success(
            conn,
            again[0],
            now=NOW,
            next_check_at=NOW + timedelta(hours=1),
            etag='"v2"',
            last_modified=None,
        )
        row = feeds.get(conn, again[0].id)
    assert row is not None and row.etag == '"v2"' and row.healthy


def test_feed_failure_is_recorded_as_data(db: Database) -> None:
    sid = _source(db)
    with db.begin() as conn:
        feeds.add(
            conn, url="https://example.com/feed", source_id=sid, interval_seconds=900, now=NOW
        )
        for n in range(2):
            (claim,) = feeds.claim_due(
                conn, now=NOW + timedelta(hours=n), limit=1, lease_seconds=60
            )
            feeds.record_failure(
                conn,
                claim,
                now=NOW,
                next_check_at=NOW + timedelta(hours=n),
                kind="timeout",
                message="no answer in 30 s",
            )
        (row,) = feeds.all_feeds(conn)
    assert (row.error_kind, row.error_count, row.healthy) == ("timeout", 2, False)
    assert row.error_message == "no answer in 30 s"


def test_concurrent_claimers_take_each_article_once(db: Database) -> None:
    sid = _source(db)
    with db.begin() as conn:
        articles.insert_discovered(conn, [_new(i, sid) for i in range(60)], now=NOW)
    won: list[str] = []
    lock = threading.Lock()

    def claimer() -> None:
        while True:
            with db.begin() as conn:
                got = articles.claim(conn, Stage.DISCOVERED, now=NOW, limit=7, lease_seconds=300)
            if not got:
                return
            with lock:
                won.extend(c.id for c in got)

    threads = [threading.Thread(target=claimer) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(won) == sorted(f"{i:032x}" for i in range(60))


def test_insert_discovered_never_duplicates(db: Database) -> None:
    sid = _source(db)
    with db.begin() as conn:
        assert articles.insert_discovered(conn, [_new(1, sid), _new(2, sid)], now=NOW) == 2
        assert articles.insert_discovered(conn, [_new(2, sid), _new(3, sid)], now=NOW) == 1
        count = conn.execute(sa.select(sa.func.count()).select_from(articles_table)).scalar_one()
    assert count == 3


def test_times_keep_their_instant_across_engines(db: Database) -> None:
    sid = _source(db)
    published = datetime(2025, 4, 28, 5, 38, tzinfo=IST)
    with db.begin() as conn:
        articles.insert_discovered(conn, [_new(1, sid, published_at=published)], now=NOW)
        row = articles.get(conn, f"{1:032x}")
    assert row is not None and row.published_at == published
    assert row.published_at.tzinfo is not None


def test_article_stage_machine(db: Database) -> None:
    sid = _source(db)
    aid = f"{1:032x}"
    with db.begin() as conn:
        articles.insert_discovered(conn, [_new(1, sid)], now=NOW)
        (claim,) = articles.claim(conn, Stage.DISCOVERED, now=NOW, limit=5, lease_seconds=60)
        assert claim.attempts == 1
        assert articles.save_extracted(
            conn, claim, {"text": "Body.", "html": "<p>Body.</p>"}, now=NOW
        )
        assert articles.latest(conn, limit=10)[0].id == aid  # extracted articles are shown
        (claim,) = articles.claim(conn, Stage.EXTRACTED, now=NOW, limit=5, lease_seconds=60)
        story_id = stories.create(conn, title="Headline 1", seen_at=NOW, now=NOW)
        assert articles.set_story(conn, claim, story_id)
        stories.refresh(conn, story_id, title="Headline 1")
        row = articles.get(conn, aid)
        story = stories.get(conn, story_id)
    assert row is not None and row.stage == Stage.CLUSTERED and row.story_id == story_id
    assert story is not None
    assert (story.article_count, story.source_count, story.version) == (1, 1, 1)
    assert story.first_seen_at == NOW


def test_article_dies_after_max_attempts(db: Database) -> None:
    sid = _source(db)
    with db.begin() as conn:
        articles.insert_discovered(conn, [_new(1, sid)], now=NOW)
    now = NOW
    dead = False
    for attempt in range(1, 4):
        with db.begin() as conn:
            (claim,) = articles.claim(conn, Stage.DISCOVERED, now=now, limit=1, lease_seconds=60)
            assert claim.attempts == attempt
            dead = articles.record_failure(
                conn,
                claim,
                error="timeout: slow",
                now=now,
                retry_in=timedelta(seconds=10),
                max_attempts=3,
            )
        now += timedelta(seconds=11)
    assert dead
    with db.begin() as conn:
        assert articles.claim(conn, Stage.DISCOVERED, now=now, limit=1, lease_seconds=60) == []
        assert articles.count_by_stage(conn) == {"dead": 1}


def test_story_counts_sources_and_window(db: Database) -> None:
    a, b = _source(db, "ledger"), _source(db, "courier")
    with db.begin() as conn:
        articles.insert_discovered(
            conn,
            [_new(1, a, published_at=NOW - timedelta(hours=2)), _new(2, b), _new(3, b)],
            now=NOW,
        )
        story_id = stories.create(conn, title="t", seen_at=NOW, now=NOW)
        for stage in (Stage.DISCOVERED, Stage.EXTRACTED):
            for claim in articles.claim(conn, stage, now=NOW, limit=10, lease_seconds=60):
                if stage is Stage.DISCOVERED:
                    articles.save_extracted(conn, claim, {"text": "x"}, now=NOW)
                else:
                    articles.set_story(conn, claim, story_id)
        stories.refresh(conn, story_id, title="Shared headline")
        story = stories.get(conn, story_id)
        window = stories.window(conn, since=NOW - timedelta(hours=1))
        top = stories.top(conn, since=NOW - timedelta(days=1), limit=5)
    assert story is not None
    assert (story.title, story.article_count, story.source_count) == ("Shared headline", 3, 2)
    assert story.first_seen_at == NOW - timedelta(hours=2) and story.last_seen_at == NOW
    assert sorted(m.article_id for m in window) == [f"{2:032x}", f"{3:032x}"]
    assert [s.id for s in top] == [story_id]


def test_tags_are_shared_and_ranked(db: Database) -> None:
    sid = _source(db)
    with db.begin() as conn:
        articles.insert_discovered(conn, [_new(i, sid) for i in range(1, 4)], now=NOW)
        tags.tag_article(
            conn, f"{1:032x}", [("kursk", "Kursk", "topic"), ("russia", "Russia", "topic")]
        )
        tags.tag_article(conn, f"{1:032x}", [("kursk", "Kursk", "topic")])  # idempotent
        tags.tag_article(
            conn, f"{2:032x}", [("kursk", "Kursk", "topic"), ("russia", "Russia", "topic")]
        )
        tags.tag_article(conn, f"{3:032x}", [("russia", "Russia", "topic")])
        assert [t.slug for t in tags.for_article(conn, f"{1:032x}")] == ["kursk", "russia"]
        assert tags.sharing(conn, f"{1:032x}", limit=5) == [f"{2:032x}", f"{3:032x}"]


@pytest.mark.parametrize("bad", [datetime(2025, 1, 1)])
def test_naive_times_are_refused(db: Database, bad: datetime) -> None:
    sid = _source(db)
    with pytest.raises(Exception, match="naive"), db.begin() as conn:
        articles.insert_discovered(conn, [_new(1, sid, published_at=bad)], now=NOW)


def test_periodic_job_runs_once_per_period(db: Database) -> None:
    with db.begin() as conn:
        token = jobs.claim_due(conn, "optimize", now=NOW, lease_seconds=60)
        assert token is not None
        # a second runner at the same moment does not get it
        assert jobs.claim_due(conn, "optimize", now=NOW, lease_seconds=60) is None
        jobs.optimize(conn)
        assert jobs.finish(conn, "optimize", token, now=NOW, every=timedelta(hours=6))
        assert jobs.last_run(conn, "optimize") == NOW
        assert (
            jobs.claim_due(conn, "optimize", now=NOW + timedelta(hours=5), lease_seconds=60) is None
        )
        assert jobs.claim_due(conn, "optimize", now=NOW + timedelta(hours=6), lease_seconds=60)


def test_tag_listing_is_newest_first_and_counted(db: Database) -> None:
    sid = _source(db)
    with db.begin() as conn:
        articles.insert_discovered(
            conn,
            [_new(i, sid, published_at=NOW - timedelta(hours=i)) for i in range(1, 5)],
            now=NOW,
        )
        for i in range(1, 5):
            tags.tag_article(conn, f"{i:032x}", [("kursk", "Kursk", "topic")])
        tag = tags.get_by_slug(conn, "kursk")
        assert tag is not None
        assert tags.count_articles(conn, tag.id) == 4
        assert tags.article_ids(conn, tag.id, limit=2) == [f"{1:032x}", f"{2:032x}"]
        assert tags.article_ids(conn, tag.id, limit=2, offset=2) == [f"{3:032x}", f"{4:032x}"]


def test_an_article_that_kills_its_worker_is_buried_at_the_cap(db: Database) -> None:
    sid = _source(db)
    with db.begin() as conn:
        articles.insert_discovered(conn, [_new(1, sid)], now=NOW)
    now = NOW
    for _ in range(3):  # each worker dies holding the lease: no failure is ever recorded
        with db.begin() as conn:
            assert articles.bury_exhausted(conn, Stage.DISCOVERED, now=now, max_attempts=3) == 0
            assert (
                len(articles.claim(conn, Stage.DISCOVERED, now=now, limit=1, lease_seconds=60)) == 1
            )
        now += timedelta(seconds=61)
    with db.begin() as conn:
        assert articles.bury_exhausted(conn, Stage.DISCOVERED, now=now, max_attempts=3) == 1
        assert articles.claim(conn, Stage.DISCOVERED, now=now, limit=1, lease_seconds=60) == []
        row = articles.get(conn, f"{1:032x}")
    assert row is not None and row.stage == Stage.DEAD


def test_a_reader_does_not_wait_behind_a_writer(db: Database) -> None:
    """SQLite in WAL mode: a read-only unit sees the last committed snapshot at once while a
    write transaction is open (PostgreSQL behaves the same under MVCC)."""
    sid = _source(db)
    holding = threading.Event()
    release = threading.Event()

    def writer() -> None:
        with db.begin() as conn:
            articles.insert_discovered(conn, [_new(1, sid)], now=NOW)
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        with db.read() as conn:
            assert articles.count_by_stage(conn) == {}  # the open write is not visible yet
        assert time.monotonic() - started < 1.0
    finally:
        release.set()
        thread.join(10)
    with db.read() as conn:
        assert articles.count_by_stage(conn) == {"discovered": 1}


def test_a_changed_text_bumps_the_version(db: Database) -> None:
    sid = _source(db)
    aid = f"{1:032x}"
    with db.begin() as conn:
        articles.insert_discovered(conn, [_new(1, sid)], now=NOW)
    versions = []
    for text_hash in ("a" * 64, "a" * 64, "b" * 64):  # first extraction, same text, new text
        with db.begin() as conn:
            (claim,) = articles.claim(conn, Stage.DISCOVERED, now=NOW, limit=1, lease_seconds=60)
            articles.save_extracted(conn, claim, {"text": "x", "content_hash": text_hash}, now=NOW)
            row = articles.get(conn, aid)
            assert row is not None
            versions.append(row.version)
            # the publisher updated the page: it goes through extraction again
            conn.execute(sa.update(articles_table).values(stage=Stage.DISCOVERED.value))
    assert versions == [1, 1, 2]


def test_vectors_round_trip_and_are_stored_once(db: Database) -> None:
    a = np.linspace(-1, 1, 384, dtype=np.float32)
    with db.begin() as conn:
        assert embeddings.put_many(conn, "m", [("k1", a), ("k2", -a)], now=NOW) == 2
        assert embeddings.put_many(conn, "m", [("k1", a * 0)], now=NOW) == 0  # first one stays
        got = embeddings.get_many(conn, "m", ["k1", "k2", "k3"])
        other_model = embeddings.get_many(conn, "other", ["k1"])
    assert sorted(got) == ["k1", "k2"]
    assert got["k1"].dtype == np.float32
    assert np.array_equal(got["k1"], a)
    assert np.array_equal(got["k2"], -a)
    assert other_model == {}

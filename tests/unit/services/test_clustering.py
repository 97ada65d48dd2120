"""Story placement through the service, as two processes sharing one database would run it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from broadsheet.config import Settings
from broadsheet.models import Stage
from broadsheet.pipeline.embed import Vectors, get_embedder
from broadsheet.pipeline.fetch import Fetcher
from broadsheet.services.ingest import CLUSTER_LOCK, Ingestor
from broadsheet.storage import Database, jobs, sources
from broadsheet.storage import articles as article_store
from broadsheet.storage.articles import NewArticle

NOW = datetime.now(UTC).replace(microsecond=0)
FLOOD = "Record flood swamps Port Haverly as the Calder River bursts its banks"


@pytest.fixture
def fetcher(settings: Settings) -> Iterator[Fetcher]:
    with Fetcher.from_settings(settings) as f:
        yield f


def _extracted(db: Database, i: int, title: str, source: str = "ledger") -> str:
    """An article already extracted, waiting to be placed in a story."""
    aid = f"{i:032x}"
    with db.begin() as conn:
        sid = sources.ensure(conn, slug=source, name=source, site_url=None, now=NOW)
        article_store.insert_discovered(
            conn,
            [NewArticle(aid, f"https://ex.com/{i}", f"https://ex.com/{i}", sid, None, None, title,
                        (), "", "", NOW + timedelta(minutes=i), None, ())],
            now=NOW,
        )  # fmt: skip
        (claim,) = article_store.claim(conn, Stage.DISCOVERED, now=NOW, limit=1, lease_seconds=60)
        article_store.save_extracted(conn, claim, {"text": title + "."}, now=NOW)
    return aid


def _story(db: Database, aid: str) -> int | None:
    with db.read() as conn:
        row = article_store.get(conn, aid)
    assert row is not None
    return row.story_id


def test_a_held_lock_defers_clustering(db: Database, settings: Settings, fetcher: Fetcher) -> None:
    ingestor = Ingestor(db, fetcher, settings, clock=lambda: NOW)
    a = _extracted(db, 1, FLOOD)
    with db.begin() as conn:  # another process is placing articles right now
        token = jobs.claim_due(conn, CLUSTER_LOCK, now=NOW, lease_seconds=60)
    assert token is not None
    assert ingestor.cluster_pending() == 0
    assert _story(db, a) is None
    with db.begin() as conn:
        jobs.finish(conn, CLUSTER_LOCK, token, now=NOW, every=timedelta(0))
    assert ingestor.cluster_pending() == 1
    assert _story(db, a) is not None


def test_two_processes_never_open_two_stories_for_one_event(
    db: Database, settings: Settings, fetcher: Fetcher
) -> None:
    clock = iter(NOW + timedelta(seconds=s) for s in range(10_000))
    first = Ingestor(db, fetcher, settings, clock=lambda: next(clock))
    second = Ingestor(db, fetcher, settings, clock=lambda: next(clock))
    a = _extracted(db, 1, "Central bank holds interest rates at 4.5 percent", "ledger")
    assert first.cluster_pending() == 1  # the first process now holds the window in memory
    b = _extracted(db, 2, FLOOD, "courier")
    assert second.cluster_pending() == 1  # the flood story exists only in the second's memory
    c = _extracted(db, 3, "Calder River flood swamps Port Haverly streets", "wire")
    assert first.cluster_pending() == 1  # must see what the second process placed
    assert _story(db, b) == _story(db, c) != _story(db, a)


class CountingEmbedder:
    """The real model, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        self.inner = get_embedder()
        self.texts: list[str] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.texts.extend(texts)
        return self.inner.embed(texts)


def test_the_same_text_is_never_embedded_twice(
    db: Database, settings: Settings, fetcher: Fetcher
) -> None:
    counting = CountingEmbedder()
    first = Ingestor(db, fetcher, settings, embedder=counting)
    texts = ["Calder River floods Port Haverly", "Central bank holds rates"]
    v1 = first.vectors(texts)
    v2 = first.vectors([*texts, "A third headline"])
    # a second process, with nothing in memory, reads the cache too
    second = Ingestor(db, fetcher, settings, embedder=counting)
    v3 = second.vectors(texts)
    assert counting.texts == [*texts, "A third headline"]
    assert all(np.array_equal(a, b) for a, b in zip(v1, v2[:2], strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(v1, v3, strict=True))
    assert v1[0].shape == (384,)
    assert abs(float(np.linalg.norm(v1[0])) - 1.0) < 1e-5

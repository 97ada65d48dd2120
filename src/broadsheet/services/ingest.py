"""The orchestrator of ingestion: moves feeds and articles through the stages.

Every step has the same shape, so that any runner (the in-process one, Celery workers later) can
call it and a crash anywhere loses nothing:

1. claim rows with a lease (a short transaction);
2. run one pipeline unit outside any transaction (network and CPU work);
3. commit the result and the move to the next stage in one transaction, only if the lease is
   still ours.

A crash between 1 and 3 leaves a lease that expires; the row is claimed again. Articles are
keyed by the hash of their canonical URL and inserted with ON CONFLICT DO NOTHING, so polling a
feed twice, or re-running after a crash, never duplicates an article.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Connection

from broadsheet import pipeline
from broadsheet.config import Settings
from broadsheet.errors import BroadsheetError, HTTPStatusError, InternalError
from broadsheet.models import ExtractedArticle, Stage
from broadsheet.pipeline.cluster import StoryGrouper, cluster_text
from broadsheet.pipeline.dedupe import (
    DuplicateIndex,
    Fingerprint,
    fingerprint,
    signature_bytes,
    signature_from,
)
from broadsheet.pipeline.embed import Embedder, get_embedder, text_key
from broadsheet.pipeline.entities import tag_article
from broadsheet.pipeline.fetch import Fetcher
from broadsheet.pipeline.isolate import Isolation
from broadsheet.pipeline.language import detect_language
from broadsheet.pipeline.schedule import adaptive_interval
from broadsheet.storage import Database
from broadsheet.storage import articles as article_store
from broadsheet.storage import embeddings as embedding_store
from broadsheet.storage import feeds as feed_store
from broadsheet.storage import jobs as job_store
from broadsheet.storage import stories as story_store
from broadsheet.storage import tags as tag_store
from broadsheet.storage.articles import ArticleClaim, NewArticle
from broadsheet.storage.embeddings import Vector
from broadsheet.storage.feeds import FeedClaim

log = logging.getLogger(__name__)

CLUSTER_LOCK = "cluster"  # the periodic_runs row that lets one process at a time cluster

# name -> (job over one transaction, period)
MAINTENANCE: dict[str, tuple[Callable[[Connection], None], timedelta]] = {
    "optimize": (job_store.optimize, timedelta(hours=6)),
}

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PollOutcome:
    feed_id: int
    new_articles: int = 0
    not_modified: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ExtractOutcome:
    article_id: str
    ok: bool
    error: str | None = None
    dead: bool = False


class Ingestor:
    """Runs the ingestion stages against one database with one HTTP client."""

    def __init__(
        self,
        db: Database,
        fetcher: Fetcher,
        settings: Settings,
        *,
        clock: Clock = utcnow,
        embedder: Embedder | None = None,
        isolation: Isolation | None = None,
    ) -> None:
        self.db = db
        self.fetcher = fetcher
        self.settings = settings
        self.clock = clock
        self._grouper: StoryGrouper | None = None
        self._grouper_loaded_at: datetime | None = None
        self._clustered_at: datetime | None = None  # when this process last released the lock
        self._embedder = embedder  # default: the configured model, loaded on first use
        self._dupes: DuplicateIndex | None = None
        # worker processes that parse feeds and extract pages under time and memory limits;
        # None: in this process (tests of other stages, one-off commands)
        self.isolation = isolation

    # -- feeds ---------------------------------------------------------------------------------

    def claim_feeds(self, limit: int) -> list[FeedClaim]:
        with self.db.begin() as conn:
            return feed_store.claim_due(
                conn, now=self.clock(), limit=limit, lease_seconds=self.settings.lease_seconds
            )

    def poll(self, claim: FeedClaim) -> PollOutcome:
        """Poll one claimed feed; store what it announces and its validators in one commit.
        Whatever goes wrong, from the network to the database, is recorded on the feed."""
        try:
            return self._poll(claim)
        except BroadsheetError as exc:
            self._feed_failed(claim, exc)
            return PollOutcome(claim.id, error=f"{exc.kind}: {exc}")
        except Exception as exc:  # a bug in a stage must not stall the feed: record it
            log.exception("unexpected error polling %s", claim.url)
            internal = InternalError(f"{type(exc).__name__}: {exc}")
            self._feed_failed(claim, internal)
            return PollOutcome(claim.id, error=f"{internal.kind}: {internal}")

    def _poll(self, claim: FeedClaim) -> PollOutcome:
        result = pipeline.poll_feed(
            self.fetcher,
            claim.url,
            etag=claim.etag,
            last_modified=claim.last_modified,
            isolation=self.isolation,
        )
        now = self.clock()
        next_check = now + timedelta(seconds=claim.interval_seconds)
        if result.feed is None:  # 304: nothing new, validators unchanged
            with self.db.begin() as conn:
                feed_store.record_success(
                    conn,
                    claim,
                    now=now,
                    next_check_at=next_check,
                    etag=result.response.etag or claim.etag,
                    last_modified=result.response.last_modified or claim.last_modified,
                )
            return PollOutcome(claim.id, not_modified=True)

        interval = adaptive_interval(
            [e.published_at for e in result.feed.entries],
            now=now,
            current=claim.interval_seconds,
            minimum=self.settings.poll_interval_min,
            maximum=self.settings.poll_interval_max,
        )
        next_check = now + timedelta(seconds=interval)
        records = pipeline.article_records(result.feed.entries)
        new = [
            NewArticle(
                id=r.id,
                url=r.url,
                link=r.entry.url,
                source_id=claim.source_id,
                feed_id=claim.id,
                guid=r.entry.guid,
                title=r.entry.title or r.url,
                authors=r.entry.authors,
                summary=r.entry.summary,
                feed_content=r.entry.content_html,
                published_at=r.entry.published_at,
                image_url=r.entry.image_url,
                keywords=r.entry.tags,
            )
            for r in records
        ]
        with self.db.begin() as conn:
            inserted = article_store.insert_discovered(conn, new, now=now)
            kept = feed_store.record_success(
                conn,
                claim,
                now=now,
                next_check_at=next_check,
                etag=result.response.etag,
                last_modified=result.response.last_modified,
                title=result.feed.title,
                websub_hub=result.feed.websub_hub,
                interval_seconds=interval,
            )
            if not kept:  # our lease was taken over: let the new holder store this poll
                conn.rollback()
                return PollOutcome(claim.id, error="lease lost")
        return PollOutcome(claim.id, new_articles=inserted)

    def _feed_failed(self, claim: FeedClaim, exc: BroadsheetError) -> None:
        now = self.clock()
        backoff = float(claim.interval_seconds * 2 ** min(claim.error_count + 1, 16))
        if isinstance(exc, HTTPStatusError) and exc.retry_after:
            backoff = max(backoff, exc.retry_after)
        # last, so that no server (a Retry-After of a century) silences a feed beyond the cap
        backoff = min(backoff, self.settings.error_backoff_max)
        log.warning("feed %s failed: %s: %s", claim.url, exc.kind, exc)
        with self.db.begin() as conn:
            feed_store.record_failure(
                conn,
                claim,
                now=now,
                next_check_at=now + timedelta(seconds=backoff),
                kind=exc.kind,
                message=str(exc),
            )

    # -- articles ------------------------------------------------------------------------------

    def claim_articles(self, stage: Stage, limit: int) -> list[ArticleClaim]:
        with self.db.begin() as conn:
            article_store.bury_exhausted(
                conn, stage, now=self.clock(), max_attempts=self.settings.max_attempts
            )
            return article_store.claim(
                conn,
                stage,
                now=self.clock(),
                limit=limit,
                lease_seconds=self.settings.lease_seconds,
            )

    def extract(self, claim: ArticleClaim) -> ExtractOutcome:
        """Fetch and extract one claimed article; commit it and its tags, or record the error."""
        try:
            return self._extract(claim)
        except BroadsheetError as exc:
            return self._article_failed(claim, f"{exc.kind}: {exc}")
        except Exception as exc:  # a bug in a stage must not kill the runner: record it
            log.exception("unexpected error extracting article %s", claim.id)
            return self._article_failed(claim, f"{InternalError.kind}: {type(exc).__name__}: {exc}")

    def _extract(self, claim: ArticleClaim) -> ExtractOutcome:
        with self.db.read() as conn:
            current = article_store.get(conn, claim.id)
            link, feed_title, feed_content = article_store.feed_content(conn, claim.id)
        article = pipeline.process_article(
            self.fetcher, link, feed_content=feed_content, isolation=self.isolation
        )
        # the enrichment that needs the text runs here, in the worker thread, off the write lock
        values = _extracted_values(article, feed_title=feed_title)
        keywords = list(article.keywords) or list(current.keywords if current else ())
        tags = tag_article(str(values["title"]), article.text, keywords)
        values["language"] = detect_language(article.text, declared=article.language)
        # what the page does not say, the feed may have said: keep the feed's value
        if not article.published_at:
            values.pop("published_at")
            values.pop("published_offset")
        if not article.keywords:
            values.pop("keywords")
        with self.db.begin() as conn:
            if not article_store.save_extracted(conn, claim, values, now=self.clock()):
                conn.rollback()
                return ExtractOutcome(claim.id, ok=False, error="lease lost")
            tag_store.tag_article(conn, claim.id, [t.as_tuple() for t in tags])
        return ExtractOutcome(claim.id, ok=True)

    def _article_failed(self, claim: ArticleClaim, error: str) -> ExtractOutcome:
        retry_in = timedelta(seconds=min(60 * 2**claim.attempts, 6 * 3600))
        log.warning("article %s failed (attempt %d): %s", claim.id, claim.attempts, error)
        with self.db.begin() as conn:
            dead = article_store.record_failure(
                conn,
                claim,
                error=error,
                now=self.clock(),
                retry_in=retry_in,
                max_attempts=self.settings.max_attempts,
            )
        return ExtractOutcome(claim.id, ok=False, error=error, dead=dead)

    # -- stories -------------------------------------------------------------------------------

    def cluster_pending(self, limit: int = 50) -> int:
        """Place extracted articles into stories, oldest first.

        One clusterer at a time across every process on the database: two would each open a
        story for the same event. The "cluster" row of the periodic jobs table is the lock; a
        process that finds it held does nothing now. The open window is kept in memory between
        calls and reloaded whenever another process has placed articles since."""
        with self.db.read() as conn:
            if not article_store.waiting(conn, Stage.EXTRACTED, now=self.clock()):
                return 0
        now = self.clock()
        with self.db.begin() as conn:
            token = job_store.claim_due(
                conn, CLUSTER_LOCK, now=now, lease_seconds=self.settings.lease_seconds
            )
            last = job_store.last_run(conn, CLUSTER_LOCK)
        if token is None:
            return 0
        if last != self._clustered_at:
            self._grouper = self._dupes = None
        placed = 0
        try:
            # small batches: each is one write transaction, and readers of pages never wait
            while claims := self.claim_articles(Stage.EXTRACTED, limit):
                placed += self._place(self._window_grouper(), claims)
        except BaseException:
            self._grouper = self._dupes = None  # memory may disagree with the rolled-back database
            raise
        finally:
            done = self.clock()
            with self.db.begin() as conn:
                if job_store.finish(conn, CLUSTER_LOCK, token, now=done, every=timedelta(0)):
                    self._clustered_at = done
        return placed

    def _place(self, grouper: StoryGrouper, claims: list[ArticleClaim]) -> int:
        """Place one batch, in publication order: a duplicate (a wire copy) joins its original's
        story without counting as coverage; any other article joins the best story or opens
        one."""
        with self.db.read() as conn:
            rows = {r.id: r for r in article_store.cluster_inputs(conn, [c.id for c in claims])}
        items = sorted(
            (
                (claim, rows[claim.id], story_store.lead_of(rows[claim.id].description,
                                                            rows[claim.id].text))
                for claim in claims
            ),
            key=lambda item: item[1].published_at or item[1].discovered_at,
        )  # fmt: skip
        # embedding is CPU work: done before the write transaction, so no one waits on it
        vectors = self.vectors([cluster_text(row.title, lead) for _, row, lead in items])
        dupes = self._dupes
        assert dupes is not None  # loaded with the grouper
        placed = 0
        with self.db.begin() as conn:
            for (claim, row, lead), vector in zip(items, vectors, strict=True):
                at = row.published_at or row.discovered_at
                if not article_store.holds(conn, claim):  # lease lost: leave it to its holder
                    continue
                fp = _stored_fingerprint(row.id, row.content_hash, row.minhash, at)
                match = dupes.find(fp) if fp else None
                story_id = article_store.story_of(conn, match.original) if match else None
                original = match.original if story_id is not None and match else None
                if story_id is None:
                    story_id = grouper.place(title=row.title, lead=lead, at=at, vector=vector)
                if story_id is None:
                    story_id = story_store.create(
                        conn, title=row.title, seen_at=at, now=self.clock()
                    )
                if not article_store.set_story(conn, claim, story_id, duplicate_of=original):
                    continue
                if fp is not None:
                    dupes.add(fp, original=original)
                if original is None:  # a copy adds nothing the grouper needs to know
                    grouper.add(
                        story_id, claim.id, title=row.title, lead=lead, at=at, vector=vector
                    )
                # a copy of an article whose story left the window keeps that story's headline
                title = grouper.representative_title(story_id) if story_id in grouper else None
                story_store.refresh(conn, story_id, title=title)
                placed += 1
        return placed

    def vectors(self, texts: Sequence[str]) -> list[Vector]:
        """The embedding of each text, from the cache where it is there; the rest are embedded
        (outside any transaction) and cached."""
        embedder = self.embedder
        keys = [text_key(t) for t in texts]
        with self.db.read() as conn:
            known = embedding_store.get_many(conn, embedder.name, keys)
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in known}
        if missing:
            fresh = embedder.embed(list(missing.values()))
            new = list(zip(missing, fresh, strict=True))
            with self.db.begin() as conn:
                embedding_store.put_many(conn, embedder.name, new, now=self.clock())
            known.update(new)
        return [known[k] for k in keys]

    def warm_up(self) -> None:
        """Start the parsing workers and load the embedding model now (seconds of work) rather
        than when the first feeds and articles wait for them."""
        if self.isolation is not None:
            self.isolation.start()
        self.embedder.embed(["warm up"])

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.settings.embedding_model)
        return self._embedder

    # -- maintenance ---------------------------------------------------------------------------

    def run_maintenance(self) -> list[str]:
        """Run the periodic jobs that are due (each at most once per period across runners);
        returns the names of those run."""
        ran = []
        for name, (job, every) in MAINTENANCE.items():
            with self.db.begin() as conn:
                token = job_store.claim_due(
                    conn, name, now=self.clock(), lease_seconds=self.settings.lease_seconds
                )
            if token is None:
                continue
            error = None
            try:
                with self.db.begin() as conn:
                    job(conn)
            except BroadsheetError as exc:
                log.warning("maintenance job %s failed: %s", name, exc)
                error = str(exc)
            with self.db.begin() as conn:
                job_store.finish(conn, name, token, now=self.clock(), every=every, error=error)
            ran.append(name)
        return ran

    def story_count(self) -> int:
        with self.db.read() as conn:
            return story_store.count(conn)

    def _window_grouper(self) -> StoryGrouper:
        """The open window (stories and the duplicate index), loaded from storage once and
        then kept up to date in memory."""
        now = self.clock()
        window = timedelta(hours=self.settings.story_window_hours)
        stale = self._grouper_loaded_at is None or now - self._grouper_loaded_at > window / 4
        if self._grouper is None or self._dupes is None or stale:
            grouper = StoryGrouper(threshold=self.settings.story_threshold, window=window)
            dupes = DuplicateIndex(window=window)
            with self.db.read() as conn:
                members = sorted(story_store.window(conn, since=now - 2 * window),
                                 key=lambda m: m.published_at)  # fmt: skip
            originals = [m for m in members if m.duplicate_of is None]
            vectors = self.vectors([cluster_text(m.title, m.lead) for m in originals])
            for m, vector in zip(originals, vectors, strict=True):
                grouper.add(m.story_id, m.article_id, title=m.title, lead=m.lead,
                            at=m.published_at, vector=vector)  # fmt: skip
            for m in members:
                fp = _stored_fingerprint(m.article_id, m.content_hash, m.minhash, m.published_at)
                if fp is not None:
                    dupes.add(fp, original=m.duplicate_of)
            self._grouper, self._dupes, self._grouper_loaded_at = grouper, dupes, now
        return self._grouper


def _extracted_values(article: ExtractedArticle, *, feed_title: str) -> dict[str, object]:
    offset = None
    if article.published_at is not None:
        delta = article.published_at.utcoffset()
        offset = int(delta.total_seconds() // 60) if delta is not None else None
    return {
        "title": article.title or feed_title,
        "text": article.text,
        "html": article.html,
        "authors": list(article.authors),
        "image_url": article.image_url,
        "description": article.description,
        "section": article.section,
        "language": article.language,
        "site_name": article.site_name,
        "keywords": list(article.keywords),
        "published_at": article.published_at,
        "published_offset": offset,
        "updated_at": article.updated_at,
    } | _fingerprint_values(article.text)


def _stored_fingerprint(
    article_id: str, content_hash: str | None, minhash: bytes | None, at: datetime
) -> Fingerprint | None:
    if content_hash is None:
        return None
    return Fingerprint(article_id, content_hash, signature_from(minhash), at)


def _fingerprint_values(text: str) -> dict[str, object]:
    """What duplicate detection stores of a text, so it never needs the text again."""
    fp = fingerprint("", text, datetime.now(UTC))
    return {"content_hash": fp.content_hash, "minhash": signature_bytes(fp.signature)}

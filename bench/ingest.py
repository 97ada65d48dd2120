"""Ingestion speed on loopback, against plain sequential fetching with the same client.

1. The sample publishers: a baseline of plain sequential ``Fetcher.get`` of every feed and
   article page; then Broadsheet's ingest path (``Ingestor.poll`` and ``Ingestor.extract``:
   fetch + parse + extract + store in SQLite) on a thread pool. Prints feeds/s and articles/s
   both ways and the ratio.
2. Isolation overhead: the same pages extracted in-process and through ``pipeline.isolate``
   (pages/s both ways).
3. 1,000 synthetic feeds: polled in full (fetch + parse), then again with their validators
   (304s); prints the second as a percentage of the first. Target: under 5%.

    python -m bench.ingest [--feeds 1000] [--workers 8] [--check]

``--check`` exits 1 when the 304 target is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from broadsheet.config import Settings
from broadsheet.demo.server import SamplePublishers
from broadsheet.errors import BroadsheetError
from broadsheet.models import Stage
from broadsheet.pipeline import poll_feed
from broadsheet.pipeline.extract import extract_article
from broadsheet.pipeline.fetch import Fetcher
from broadsheet.pipeline.isolate import Isolation
from broadsheet.services import subscriptions
from broadsheet.services.ingest import Ingestor
from broadsheet.storage import Database

TARGET_304 = 5.0  # percent


class _FeedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16  # headers and body in one segment: no Nagle/delayed-ACK 40 ms stall
    body: bytes = b""

    def do_GET(self) -> None:
        etag = f'"{self.path}"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        return


def _settings(data_dir: str) -> Settings:
    return Settings.load(
        env={},
        data_dir=data_dir,
        allow_hosts=("127.0.0.1",),
        per_host_delay=0.0,
        per_host_connections=64,
        respect_robots=False,
    )


def sample_publishers(settings: Settings, workers: int) -> tuple[float, float, float, float]:
    """(baseline feeds/s, baseline pages/s, ingest feeds/s, ingest articles/s)."""
    with SamplePublishers() as pubs, Fetcher.from_settings(settings) as fetcher:
        feeds = pubs.feed_urls()
        pages = [a.url for a in pubs.catalog()]
        for url in feeds[:1] + pages[:1]:
            fetcher.get(url)  # warm the connection
        start = time.perf_counter()
        for url in feeds:
            fetcher.get(url)
        middle = time.perf_counter()
        for url in pages:
            fetcher.get(url)
        end = time.perf_counter()
        base_feeds, base_pages = len(feeds) / (middle - start), len(pages) / (end - middle)

        db = Database(f"sqlite:///{settings.data_dir}/bench.db")
        db.migrate()
        now = datetime.now(UTC)
        for url in feeds:
            subscriptions.subscribe(db, settings, url=url, now=now)
        ingestor = Ingestor(db, fetcher, settings)
        with ThreadPoolExecutor(workers) as pool:
            start = time.perf_counter()
            polled = list(pool.map(ingestor.poll, ingestor.claim_feeds(len(feeds))))
            middle = time.perf_counter()
            claims = ingestor.claim_articles(Stage.DISCOVERED, 10_000)
            done = [o for o in pool.map(ingestor.extract, claims) if o.ok]
            end = time.perf_counter()
        db.dispose()
        assert not any(p.error for p in polled), polled
        return base_feeds, base_pages, len(polled) / (middle - start), len(done) / (end - middle)


def isolation_overhead(settings: Settings) -> tuple[float, float]:
    """(in-process pages/s, isolated pages/s), one thread, the sample publishers' pages."""
    with SamplePublishers() as pubs, Fetcher.from_settings(settings) as fetcher:
        pages = [(fetcher.get(a.url).content, a.url) for a in pubs.catalog()]
    with Isolation(1, timeout=30.0) as iso:
        iso.start()
        iso.run(partial(extract_article, *pages[0]))
        spent = {"in": 0.0, "iso": 0.0}
        for _ in range(3):
            for html, url in pages:
                start = time.perf_counter()
                with contextlib.suppress(BroadsheetError):
                    extract_article(html, url)
                middle = time.perf_counter()
                with contextlib.suppress(BroadsheetError):
                    iso.run(partial(extract_article, html, url))
                spent["in"] += middle - start
                spent["iso"] += time.perf_counter() - middle
    n = 3 * len(pages)
    return n / spent["in"], n / spent["iso"]


def unchanged_feeds(settings: Settings, count: int) -> tuple[float, float]:
    """(seconds to poll ``count`` feeds in full, seconds to poll them again: all 304)."""
    with SamplePublishers() as pubs, Fetcher.from_settings(settings) as fetcher:
        body = fetcher.get(pubs.feed_urls()[0]).content  # a real feed's size and shape
    handler = type("Handler", (_FeedHandler,), {"body": body})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with Fetcher.from_settings(settings) as fetcher:
            urls = [f"{base}/feeds/{i}.xml" for i in range(count)]
            poll_feed(fetcher, urls[0])
            start = time.perf_counter()
            etags = [poll_feed(fetcher, url).response.etag for url in urls]
            full = time.perf_counter() - start
            start = time.perf_counter()
            for url, etag in zip(urls, etags, strict=True):
                assert poll_feed(fetcher, url, etag=etag).feed is None
            conditional = time.perf_counter() - start
    finally:
        server.shutdown()
        server.server_close()
    return full, conditional


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--feeds", type=int, default=1000, help="synthetic feeds for the 304s")
    parser.add_argument("--workers", type=int, default=8, help="ingest threads")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(tmp)
        Path(tmp).mkdir(exist_ok=True)
        base_f, base_p, ing_f, ing_a = sample_publishers(settings, args.workers)
        print(f"baseline (sequential fetch)  feeds/s {base_f:8.1f}   pages/s {base_p:8.1f}")
        print(f"ingest ({args.workers} threads)  feeds/s {ing_f:8.1f}   articles/s {ing_a:8.1f}")
        print(
            f"ratio ingest/baseline   feeds {ing_f / base_f:6.2f}   articles {ing_a / base_p:6.2f}"
        )
        inproc, isolated = isolation_overhead(settings)
        overhead = (1 / isolated - 1 / inproc) * 1000
        print(
            f"extraction pages/s           in-process {inproc:6.1f}   isolated {isolated:6.1f}"
            f"   overhead {overhead:.2f} ms/page ({(inproc / isolated - 1) * 100:.1f}%)"
        )
        full, conditional = unchanged_feeds(settings, args.feeds)
        percent = 100 * conditional / full
        print(
            f"{args.feeds} unchanged feeds: full {full:.2f} s, 304s {conditional:.2f} s "
            f"= {percent:.1f}% (target < {TARGET_304:g}%)"
        )
    missed = percent >= TARGET_304
    if missed:
        print("TARGET MISSED: 304 polling", file=sys.stderr)
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())

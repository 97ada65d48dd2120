"""Sample publishers served over real HTTP on loopback, for the demo and the tests.

``SamplePublishers`` renders the packaged catalog (several fictional publishers, each with its own
page template and feed format) and serves it from a stdlib ``ThreadingHTTPServer`` in a daemon
thread. Run ``python -m broadsheet.demo.server --port 8765`` to browse it by hand.
"""

from __future__ import annotations

import argparse
import collections
import threading
import time
import zlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from broadsheet.demo.catalog import Publisher, SampleArticle, build_catalog, load_publishers
from broadsheet.demo.render import Feed, Renderer, placeholder_png

__all__ = ["SampleArticle", "SamplePublishers", "main"]

HTML = "text/html; charset=utf-8"


class SamplePublishers:
    """The sample publishers' web sites: home pages, article pages, feeds and images."""

    def __init__(
        self,
        *,
        now: datetime | None = None,
        page_delay: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if now is not None and now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self.now = (now or datetime.now(UTC)).astimezone(UTC).replace(second=0, microsecond=0)
        self.page_delay = page_delay
        self.host = host
        self.port = port
        self.publishers = load_publishers()
        self.requests: collections.Counter[str] = collections.Counter()  # path (no query) -> count
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._renderer: Renderer | None = None
        self._pages: dict[str, SampleArticle] = {}

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> str:
        if self._server is not None:
            return self.base_url
        server = _Server((self.host, self.port), _Handler)
        server.app = self
        host, port = server.server_address[:2]
        base_url = f"http://{host!s}:{port}"
        articles = build_catalog(self.publishers, self.now, base_url)
        self._renderer = Renderer(self.publishers, articles, base_url, self.now)
        self._pages = {a.path: a for a in articles}
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="sample-publishers",
            daemon=True,
        )
        self._thread.start()
        return base_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SamplePublishers:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what is published --------------------------------------------------------------------

    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:
            raise RuntimeError("SamplePublishers is not started")
        return self._renderer

    @property
    def base_url(self) -> str:
        return self.renderer.base_url

    def feed_urls(self) -> list[str]:
        return [self.renderer.feed_url(p) for p in self.publishers]

    def home_urls(self) -> list[str]:
        return [self.base_url + p.home_path for p in self.publishers]

    def catalog(self) -> list[SampleArticle]:
        """Every published article, newest first."""
        return list(self.renderer.articles)

    # -- routing --------------------------------------------------------------------------------

    def _count(self, path: str) -> None:
        with self._lock:
            self.requests[path] += 1

    def respond(self, path: str, query: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for one GET; the handler only does I/O."""
        self._count(path)
        r = self.renderer
        if path == "/":
            return 200, {"Content-Type": HTML}, r.index_page().encode()
        if path == "/robots.txt":
            return (
                200,
                {"Content-Type": "text/plain; charset=utf-8"},
                (b"User-agent: *\nDisallow: /*/search\nAllow: /\n"),
            )
        article = self._pages.get(path)
        if article is not None:
            if self.page_delay > 0:
                time.sleep(self.page_delay)
            return 200, {"Content-Type": HTML}, r.article_page(article).encode()
        for pub in self.publishers:
            if path == pub.feed_path:
                return _feed_response(r.feed(pub), headers)
            if path == pub.home_path:
                return 200, {"Content-Type": HTML}, r.home_page(pub).encode()
            if path == pub.home_path.rstrip("/"):
                return 301, {"Location": pub.home_path}, b""
        return self._image(path, query) or (
            404,
            {"Content-Type": HTML},
            b"<!DOCTYPE html><title>Not found</title><h1>404</h1>",
        )

    def _image(self, path: str, query: str) -> tuple[int, dict[str, str], bytes] | None:
        if path == "/pulse/_next/image":  # Next.js image optimiser: the real path is in ?url=
            url = parse_qs(query).get("url", [""])[0]
            path = urlsplit(url).path
        parts = path.split("/")
        pub_slugs = {p.slug for p in self.publishers}
        is_media = len(parts) > 3 and parts[2] == "media" and path.endswith(".png")
        is_logo = len(parts) == 3 and parts[2] == "logo.png"
        if parts[1:2] and parts[1] in pub_slugs and (is_media or is_logo):
            png = placeholder_png(zlib.crc32(path.encode()) & 0xFFFFFF)
            return 200, {"Content-Type": "image/png", "Cache-Control": "max-age=86400"}, png
        return None

    def publisher(self, slug: str) -> Publisher:
        return next(p for p in self.publishers if p.slug == slug)


def _feed_response(feed: Feed, headers: Any) -> tuple[int, dict[str, str], bytes]:
    out = {
        "Content-Type": feed.content_type,
        "ETag": feed.etag,
        "Last-Modified": format_datetime(feed.last_modified.astimezone(UTC), usegmt=True),
        "Cache-Control": "max-age=60",
    }
    inm = headers.get("If-None-Match")
    if inm is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return (304, out, b"") if "*" in tags or feed.etag in tags else (200, out, feed.body)
    ims = headers.get("If-Modified-Since")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            since = None
        if since is not None and since.tzinfo is not None and feed.last_modified <= since:
            return 304, out, b""
    return 200, out, feed.body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for a page that is sleeping in page_delay
    app: SamplePublishers


class _Handler(BaseHTTPRequestHandler):
    server_version = "SamplePublishers/1.0"
    protocol_version = "HTTP/1.1"
    # buffer the response: headers and body written apart stall ~40 ms each (Nagle with
    # delayed ACK), which made the sample publishers the bottleneck of every ingest
    wbufsize = 1 << 16

    def _serve(self, with_body: bool) -> None:
        app = cast(_Server, self.server).app
        split = urlsplit(self.path)
        try:
            status, headers, body = app.respond(split.path, split.query, self.headers)
        except Exception:  # a broken template must show up as a 500, not a hung client
            status, headers, body = 500, {"Content-Type": "text/plain"}, b"internal error"
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body and status not in (HTTPStatus.NOT_MODIFIED, HTTPStatus.MOVED_PERMANENTLY):
            self.wfile.write(body)

    def do_GET(self) -> None:
        self._serve(with_body=True)

    def do_HEAD(self) -> None:
        self._serve(with_body=False)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read stderr
        return


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve Broadsheet's sample publishers.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--page-delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    with SamplePublishers(host=args.host, port=args.port, page_delay=args.page_delay) as sp:
        print(f"Sample publishers at {sp.base_url}/ ({len(sp.catalog())} articles)", flush=True)
        for url in sp.feed_urls():
            print(f"  feed: {url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped")


if __name__ == "__main__":
    main()

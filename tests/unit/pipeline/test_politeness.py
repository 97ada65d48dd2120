"""Per-host limits and robots.txt, against a real loopback server that records what it saw."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from broadsheet.errors import BlockedByRobots
from broadsheet.pipeline.fetch import Fetcher
from broadsheet.pipeline.politeness import HostLimiter


class _Site(ThreadingHTTPServer):
    daemon_threads = True
    robots: tuple[int, bytes] = (200, b"User-agent: *\nDisallow: /private/\n")
    in_flight = 0
    peak = 0
    starts: list[float]
    robots_hits = 0
    lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Site

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        site = self.server
        if self.path == "/robots.txt":
            status, body = site.robots
            site.robots_hits += 1
        else:
            with site.lock:
                site.in_flight += 1
                site.peak = max(site.peak, site.in_flight)
                site.starts.append(time.monotonic())
            time.sleep(0.1)
            with site.lock:
                site.in_flight -= 1
            status, body = 200, b"<html><body>page</body></html>"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site() -> Iterator[_Site]:
    server = _Site(("127.0.0.1", 0), _Handler)
    server.starts = []
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(site: _Site, path: str) -> str:
    return f"http://127.0.0.1:{site.server_address[1]}{path}"


def _fetcher(**kw: object) -> Fetcher:
    return Fetcher(user_agent="Broadsheet/test", allow_hosts=("127.0.0.1",), **kw)  # type: ignore[arg-type]


def test_no_more_than_n_requests_in_flight_to_one_host(site: _Site) -> None:
    with _fetcher(per_host=2) as fetcher, ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: fetcher.get(_url(site, f"/p/{i}")), range(10)))
    assert site.peak == 2


def test_requests_to_one_host_start_apart(site: _Site) -> None:
    with _fetcher(per_host=4, per_host_delay=0.15) as fetcher, ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: fetcher.get(_url(site, f"/p/{i}")), range(5)))
    gaps = [b - a for a, b in zip(site.starts, site.starts[1:], strict=False)]
    assert min(gaps) >= 0.12


def test_robots_txt_is_honoured_for_pages_and_asked_once(site: _Site) -> None:
    with _fetcher() as fetcher:
        with pytest.raises(BlockedByRobots):
            fetcher.get(_url(site, "/private/page"), robots=True)
        assert fetcher.get(_url(site, "/public/page"), robots=True).status == 200
        # feeds are meant to be fetched: robots are not asked unless the caller says so
        assert fetcher.get(_url(site, "/private/feed.xml")).status == 200
    assert site.robots_hits == 1


@pytest.mark.parametrize(
    ("status", "allowed"),
    [(404, True), (403, True), (500, False), (503, False)],  # RFC 9309: 4xx no rules, 5xx none
)
def test_robots_answers_per_rfc_9309(site: _Site, status: int, allowed: bool) -> None:
    site.robots = (status, b"")
    with _fetcher() as fetcher:
        if allowed:
            assert fetcher.get(_url(site, "/a"), robots=True).status == 200
        else:
            with pytest.raises(BlockedByRobots):
                fetcher.get(_url(site, "/a"), robots=True)


def test_limiter_rejects_a_zero_limit() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        HostLimiter(per_host=0, min_delay=0)

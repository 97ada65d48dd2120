"""The fetcher against real HTTP servers on loopback (allowed explicitly: 127.0.0.1 only)."""

from __future__ import annotations

import gzip
import socket
import struct
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from broadsheet.config import Settings
from broadsheet.errors import (
    BlockedAddress,
    ConnectError,
    FetchTimeout,
    HTTPStatusError,
    InvalidURL,
    TLSError,
    TooLarge,
    TooManyRedirects,
)
from broadsheet.pipeline.fetch import Fetcher, parse_retry_after

pytestmark = pytest.mark.timeout(20)

BODY = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
CAP = 1_000_000


def _gzip_bomb(total: int = 1 << 30, piece: int = 1 << 24) -> bytes:
    """``total`` zero bytes gzipped (~1 MB), built from one repeated full-flushed block."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(piece)
    head = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)  # no history: repeatable
    crc = 0
    for _ in range(total // piece):
        crc = zlib.crc32(zeros, crc)
    tail = b"\x03\x00" + struct.pack("<II", crc, total & 0xFFFFFFFF)  # empty final block
    return head + block * (total // piece - 1) + tail


class Handler(BaseHTTPRequestHandler):
    bomb = b""
    seen: dict[str, str] = {}  # noqa: RUF012 - test-only record of the last request headers

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        if "Content_Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        routes: dict[str, Callable[[], None]] = {
            "/ok": self.ok,
            "/gzip": lambda: self._send(200, gzip.compress(BODY), Content_Encoding="gzip"),
            "/deflate": lambda: self._send(200, zlib.compress(BODY), Content_Encoding="deflate"),
            "/raw-deflate": lambda: self._send(
                200, zlib.compress(BODY)[2:-4], Content_Encoding="deflate"
            ),
            "/drip": self.drip,
            "/endless": self.endless,
            "/bomb": self.send_bomb,
            "/huge-length": lambda: self._send(200, b"x", Content_Length="999999999999"),
            "/loop": lambda: self._send(302, Location="/loop2"),
            "/loop2": lambda: self._send(302, Location="/loop"),
            "/hop": lambda: self._send(301, Location="/ok"),
            "/to-metadata": lambda: self._send(
                302, Location="http://169.254.169.254/latest/meta-data/"
            ),
            "/to-private": lambda: self._send(307, Location="http://10.0.0.1/admin"),
            "/to-ftp": lambda: self._send(302, Location="ftp://127.0.0.1/x"),
            "/busy": lambda: self._send(429, Retry_After="120"),
            "/busy-date": lambda: self._send(
                503,
                Retry_After=format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True),
            ),
            "/gone": lambda: self._send(410),
        }
        routes.get(self.path, lambda: self._send(404))()

    def ok(self) -> None:
        if self.headers.get("If-None-Match") == '"v1"':
            self._send(304, ETag='"v1"')
            return
        Handler.seen = dict(self.headers.items())
        self._send(
            200,
            BODY,
            ETag='"v1"',
            Last_Modified="Mon, 05 May 2025 10:00:00 GMT",
            Content_Type="application/rss+xml",
        )

    def drip(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(40):  # 2 bytes a second, for 20 s at most
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.5)
        except OSError:
            pass

    def endless(self) -> None:
        self.send_response(200)
        self.end_headers()  # no Content-Length: the body ends when the connection closes
        chunk = b"y" * 65536
        try:
            for _ in range(10_000):
                self.wfile.write(chunk)
        except OSError:
            pass

    def send_bomb(self) -> None:
        self.send_response(200)
        self.send_header("Content-Encoding", "gzip")
        self.end_headers()  # no Content-Length, so only the inflated size can stop it
        view = memoryview(self.bomb)
        try:
            for start in range(0, len(view), 65536):
                self.wfile.write(view[start : start + 65536])
        except OSError:
            pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    Handler.bomb = _gzip_bomb()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def only_loopback(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fails the test if anything tries to connect anywhere but loopback."""
    attempts: list[str] = []
    real = socket.create_connection

    def guarded(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        attempts.append(address[0])
        assert address[0] in ("127.0.0.1", "::1"), f"connection to {address[0]} attempted"
        return real(address, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "create_connection", guarded)
    return attempts


def make_fetcher(**overrides: object) -> Fetcher:
    params: dict[str, object] = {
        "user_agent": "BroadsheetTest/1.0 (+https://example.org)",
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
        "request_deadline": 5.0,
        "max_body_bytes": CAP,
        "max_redirects": 3,
        "allow_hosts": ["127.0.0.1"],
    }
    params.update(overrides)
    return Fetcher(**params)  # type: ignore[arg-type]


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with make_fetcher() as f:
        yield f


def test_ok_carries_validators_and_user_agent(server: str, fetcher: Fetcher) -> None:
    result = fetcher.get(server + "/ok")
    assert result.status == 200
    assert result.content == BODY
    assert result.etag == '"v1"'
    assert result.last_modified == "Mon, 05 May 2025 10:00:00 GMT"
    assert result.content_type == "application/rss+xml"
    assert result.url == server + "/ok"
    assert Handler.seen["User-Agent"] == "BroadsheetTest/1.0 (+https://example.org)"
    assert Handler.seen["Accept-Encoding"] == "gzip, deflate"


def test_from_settings(server: str) -> None:
    settings = Settings.load(env={}, allow_hosts=("127.0.0.0/8",), data_dir="/tmp/unused")
    with Fetcher.from_settings(settings) as f:
        assert f.get(server + "/ok").status == 200


def test_conditional_get_304(server: str, fetcher: Fetcher) -> None:
    result = fetcher.get(server + "/ok", etag='"v1"', last_modified="Mon, 05 May 2025 10:00:00 GMT")
    assert result.not_modified
    assert result.content == b""
    assert result.etag == '"v1"'
    assert result.last_modified == "Mon, 05 May 2025 10:00:00 GMT"  # kept from the request


@pytest.mark.parametrize("path", ["/gzip", "/deflate", "/raw-deflate"])
def test_compressed_bodies_are_decoded(server: str, fetcher: Fetcher, path: str) -> None:
    assert fetcher.get(server + path).content == BODY


def test_redirect_followed(server: str, fetcher: Fetcher) -> None:
    result = fetcher.get(server + "/hop")
    assert result.url == server + "/ok"
    assert Handler.seen["User-Agent"] == "BroadsheetTest/1.0 (+https://example.org)"
    assert Handler.seen["Accept-Encoding"] == "gzip, deflate"
    assert result.content == BODY


def test_slow_drip_hits_the_deadline(server: str) -> None:
    with make_fetcher(request_deadline=1.5, read_timeout=5.0) as f:
        start = time.monotonic()
        with pytest.raises(FetchTimeout) as info:
            f.get(server + "/drip")
        assert time.monotonic() - start < 2.5
        assert info.value.url == server + "/drip"


def test_endless_body_too_large(server: str, fetcher: Fetcher) -> None:
    with pytest.raises(TooLarge):
        fetcher.get(server + "/endless")


def test_content_length_over_cap_refused_up_front(server: str, fetcher: Fetcher) -> None:
    with pytest.raises(TooLarge):
        fetcher.get(server + "/huge-length")


def test_gzip_bomb_bounded_memory(server: str, fetcher: Fetcher) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge):
            fetcher.get(server + "/bomb")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000  # the bomb inflates to 1 GB; we hold the 1 MB cap plus chunks


def test_redirect_loop(server: str, fetcher: Fetcher) -> None:
    with pytest.raises(TooManyRedirects):
        fetcher.get(server + "/loop")


@pytest.mark.parametrize("path", ["/to-metadata", "/to-private"])
def test_redirect_to_private_address_refused_before_connecting(
    server: str, path: str, only_loopback: list[str]
) -> None:
    # "localhost" is allowed by name, 169.254.169.254 and 10.0.0.1 are not.
    with make_fetcher(allow_hosts=["localhost"]) as f:
        url = server.replace("127.0.0.1", "localhost") + path
        with pytest.raises(BlockedAddress) as info:
            f.get(url)
    assert set(only_loopback) <= {"127.0.0.1", "::1"}
    assert "169.254" in str(info.value.url) or "10.0.0.1" in str(info.value.url)


def test_redirect_to_ftp_refused(server: str, fetcher: Fetcher) -> None:
    with pytest.raises(InvalidURL):
        fetcher.get(server + "/to-ftp")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.1", "[::ffff:127.0.0.1]"])
def test_loopback_blocked_unless_allowed(server: str, host: str, only_loopback: list[str]) -> None:
    with make_fetcher(allow_hosts=[]) as f, pytest.raises(BlockedAddress):
        f.get(server.replace("127.0.0.1", host) + "/ok")
    assert only_loopback == []  # refused before any connection


def test_status_429_retry_after_seconds(server: str, fetcher: Fetcher) -> None:
    with pytest.raises(HTTPStatusError) as info:
        fetcher.get(server + "/busy")
    assert info.value.status == 429
    assert info.value.retry_after == 120
    assert info.value.url == server + "/busy"


def test_status_503_retry_after_date(server: str, fetcher: Fetcher) -> None:
    with pytest.raises(HTTPStatusError) as info:
        fetcher.get(server + "/busy-date")
    assert info.value.status == 503
    assert info.value.retry_after is not None
    assert 50 <= info.value.retry_after <= 61


def test_status_410(server: str, fetcher: Fetcher) -> None:
    with pytest.raises(HTTPStatusError) as info:
        fetcher.get(server + "/gone")
    assert info.value.status == 410
    assert info.value.retry_after is None


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://x/", "http://", "not a url"]
)
def test_invalid_urls(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(InvalidURL) as info:
        fetcher.get(url)
    assert info.value.url == url


def test_connection_refused(fetcher: Fetcher) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    with pytest.raises(ConnectError) as info:
        fetcher.get(url)
    assert info.value.url == url


def test_parse_retry_after() -> None:
    now = datetime(2025, 5, 5, 10, 0, tzinfo=UTC)
    assert parse_retry_after("30", now=now) == 30
    assert parse_retry_after("Mon, 05 May 2025 10:01:00 GMT", now=now) == 60
    assert parse_retry_after("Mon, 05 May 2025 09:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


def test_tls_failure_is_tls_error(server: str, fetcher: Fetcher) -> None:
    url = server.replace("http://", "https://") + "/ok"  # a TLS handshake against plain HTTP
    with pytest.raises(TLSError) as info:
        fetcher.get(url)
    assert info.value.url == url


def test_connects_to_the_address_it_checked(
    server: str, fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name answers loopback (allowed) once, then a private address."""
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1", "10.0.0.1", "10.0.0.1"])

    def rebinding(host: str, port: int, *args: object, **kwargs: object) -> object:
        return real(next(answers) if host == "rebind.test" else host, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = server.replace("127.0.0.1", "rebind.test")
    assert fetcher.get(url + "/ok").status == 200  # only_loopback fails it on any re-resolution
    with pytest.raises(BlockedAddress):
        fetcher.get(url + "/ok")  # a new connection: resolved and checked again

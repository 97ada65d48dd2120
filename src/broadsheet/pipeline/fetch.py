"""The one polite HTTP client of the pipeline.

Guards, each against a fault measured in KNOWN-FAULTS:

- address policy: every connection (first request and each redirect hop) goes through
  ``_PinnedBackend``, which resolves the host, checks every address with ``AddressPolicy`` and
  connects to an address it checked, so DNS rebinding between check and connect is impossible.
  The Host header and TLS SNI still carry the hostname (httpcore sends them from the URL).
- wall-clock deadline: httpx timeouts are per phase, so every socket operation is given at most
  the time left before the request's deadline (a 2-bytes-a-second drip ends on time).
- decompressed size cap: the body is read raw and inflated here with ``max_length``, so a gzip
  bomb never allocates more than the cap plus one chunk.
- manual redirects, so the limit and the policy apply to every hop.
"""

from __future__ import annotations

import contextvars
import email.utils
import ssl
import time
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import httpcore
import httpx

from broadsheet.config import Settings
from broadsheet.errors import (
    BlockedAddress,
    BlockedByRobots,
    ConnectError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    InvalidURL,
    TLSError,
    TooLarge,
    TooManyRedirects,
)
from broadsheet.models import FetchResult
from broadsheet.pipeline.addresses import AddressPolicy
from broadsheet.pipeline.politeness import ALLOW_ALL, HostLimiter, RobotsCache

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024

# Monotonic deadline of the request running in this thread (or task); read by the network streams.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "broadsheet_fetch_deadline", default=None
)


def _bounded(timeout: float | None, exc: type[Exception]) -> float | None:
    """``timeout`` shortened to the time left before the current request's deadline."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise exc("request deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation ends by the request deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(
            ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Resolves, checks, then connects to a checked address (never re-resolves)."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self._policy.resolve(host, port)  # DNSError / BlockedAddress pass through
        error: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(
                    str(address),
                    port,
                    _bounded(timeout, httpcore.ConnectTimeout),
                    local_address,
                    socket_options,
                )
            except httpcore.ConnectError as exc:
                error = exc
                continue
            return _DeadlineStream(stream)
        assert error is not None  # resolve() never returns an empty list
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _PinnedTransport(httpx.HTTPTransport):
    """httpx's transport with its connection pool rebuilt on ``_PinnedBackend``.

    httpx has no public hook for a network backend; it keeps the httpcore pool in ``_pool``. If
    that ever changes we fail loudly here instead of connecting unchecked.
    """

    def __init__(self, policy: AddressPolicy, *, limits: httpx.Limits) -> None:
        super().__init__(trust_env=False, limits=limits)
        pool = getattr(self, "_pool", None)
        if not isinstance(pool, httpcore.ConnectionPool):
            raise RuntimeError("httpx internals changed: cannot pin connections to checked IPs")
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PinnedBackend(policy),
        )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class _Inflater:
    """Decodes a Content-Encoding while never producing more than ``cap`` bytes in total."""

    def __init__(self, encoding: str, cap: int, url: str) -> None:
        self._cap = cap
        self._url = url
        self._total = 0
        self._raw = 0
        self._deflate = encoding == "deflate"
        self._obj: Any = None
        if encoding in ("gzip", "x-gzip"):
            self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding not in ("", "identity") and not self._deflate:
            raise FetchError(f"unsupported Content-Encoding {encoding!r}", url=url)

    def feed(self, data: bytes) -> bytes:
        self._raw += len(data)
        if self._raw > 2 * self._cap + _CHUNK:  # compressed bytes that inflate to nothing
            raise TooLarge(f"body over {self._cap} bytes", url=self._url)
        if self._deflate and self._obj is None:
            # "deflate" is meant to be zlib-wrapped, but many servers send raw deflate.
            wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._obj = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        if self._obj is None:
            out = data
        else:
            try:
                # max_length=left+1: one byte over the cap proves TooLarge, and the unconsumed
                # input stays compressed in unconsumed_tail (which we then drop).
                out = self._obj.decompress(data, self._cap - self._total + 1)
            except zlib.error as exc:
                raise FetchError(f"corrupt compressed body: {exc}", url=self._url) from exc
        self._total += len(out)
        if self._total > self._cap:
            raise TooLarge(f"body over {self._cap} bytes (decompressed)", url=self._url)
        return out


def _translate(exc: httpx.HTTPError, url: str) -> FetchError:
    if isinstance(exc, httpx.TimeoutException):
        return FetchTimeout(f"timed out: {exc}", url=url)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return InvalidURL(str(exc), url=url)
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return TLSError(f"TLS failed: {cause}", url=url)
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.NetworkError):
        return ConnectError(f"connection failed: {exc}", url=url)
    return FetchError(f"HTTP exchange failed: {exc}", url=url)


def _check_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise InvalidURL(f"invalid URL: {exc}", url=url) from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidURL(f"only http(s) URLs are fetched: {url!r}", url=url)
    return parsed


class Fetcher:
    """Fetches URLs with every guard on; thread-safe (one shared ``httpx.Client``)."""

    def __init__(
        self,
        *,
        user_agent: str,
        connect_timeout: float = 10.0,
        read_timeout: float = 15.0,
        request_deadline: float = 30.0,
        max_body_bytes: int = 10_000_000,
        max_redirects: int = 5,
        allow_hosts: Iterable[str] = (),
        max_connections: int = 100,
        per_host: int = 2,
        per_host_delay: float = 0.0,
        robots_ttl: float | None = 86_400.0,
    ) -> None:
        self.policy = AddressPolicy(allow_hosts)
        self.limiter = HostLimiter(per_host=per_host, min_delay=per_host_delay)
        self.robots = (
            RobotsCache(self._robots_text, user_agent=user_agent, ttl=robots_ttl)
            if robots_ttl is not None
            else None
        )
        self.request_deadline = request_deadline
        self.max_body_bytes = max_body_bytes
        self.max_redirects = max_redirects
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=20)
        self._client = httpx.Client(
            transport=_PinnedTransport(self.policy, limits=limits),
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout),
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
            follow_redirects=False,
            trust_env=False,  # no proxies from the environment: they would bypass the policy
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Fetcher:
        return cls(
            user_agent=settings.user_agent,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            request_deadline=settings.request_deadline,
            max_body_bytes=settings.max_body_bytes,
            max_redirects=settings.max_redirects,
            allow_hosts=settings.allow_hosts,
            per_host=settings.per_host_connections,
            per_host_delay=settings.per_host_delay,
            robots_ttl=86_400.0 if settings.respect_robots else None,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
        robots: bool = False,
    ) -> FetchResult:
        """GET ``url`` following redirects; 304 comes back as ``FetchResult(status=304)``.

        ``robots=True`` (article pages) first asks the site's robots.txt. Requests to one host
        wait for a free per-host slot. Raises a ``FetchError`` subclass (carrying the URL) for
        everything else that goes wrong.
        """
        if robots and self.robots is not None:
            target = _check_url(url)
            if not self.robots.allowed(f"{target.scheme}://{target.netloc.decode()}", url):
                raise BlockedByRobots("robots.txt disallows this page", url=url)
        headers = {"Accept": accept or "*/*"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        token = _DEADLINE.set(time.monotonic() + self.request_deadline)
        try:
            current = url
            for _ in range(self.max_redirects + 1):
                target = _check_url(current)
                try:
                    with (
                        self.limiter.slot(target.netloc.decode().lower()),
                        self._client.stream("GET", target, headers=headers) as response,
                    ):
                        location = self._redirect_location(response, target)
                        if location is None:
                            return self._finish(response, str(target), etag, last_modified)
                except httpx.HTTPError as exc:
                    raise _translate(exc, current) from exc
                except FetchError as exc:
                    exc.url = exc.url or current  # DNSError / BlockedAddress from the backend
                    raise
                current = location
            raise TooManyRedirects(f"more than {self.max_redirects} redirects", url=url)
        finally:
            _DEADLINE.reset(token)

    def _robots_text(self, robots_url: str) -> str | None:
        try:
            return self.get(robots_url, accept="text/plain").content.decode("utf-8", "replace")
        except HTTPStatusError as exc:
            return ALLOW_ALL if 400 <= exc.status < 500 else None
        except FetchError:
            return None

    def _redirect_location(self, response: httpx.Response, url: httpx.URL) -> str | None:
        self._check_peer(response, url)
        if response.status_code not in _REDIRECTS:
            return None
        location = response.headers.get("Location")
        if not location:
            raise HTTPStatusError(
                f"HTTP {response.status_code} without Location",
                status=response.status_code,
                url=str(url),
            )
        try:
            return str(url.join(location.strip()))
        except httpx.InvalidURL as exc:
            raise InvalidURL(f"bad redirect Location {location!r}", url=str(url)) from exc

    def _check_peer(self, response: httpx.Response, url: httpx.URL) -> None:
        # Belt and braces: the backend already pinned the connection to a checked address.
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if peer and not self.policy.host_allowed(url.host):
            try:
                self.policy.check_ip(str(peer[0]))
            except BlockedAddress as exc:
                exc.url = str(url)
                raise

    def _finish(
        self, response: httpx.Response, url: str, etag: str | None, last_modified: str | None
    ) -> FetchResult:
        status = response.status_code
        new_etag = response.headers.get("ETag")
        new_modified = response.headers.get("Last-Modified")
        if status == 304:
            return FetchResult(
                url=url,
                status=304,
                content=b"",
                content_type=response.headers.get("Content-Type", ""),
                etag=new_etag or etag,
                last_modified=new_modified or last_modified,
            )
        if status >= 400:
            raise HTTPStatusError(
                f"HTTP {status}",
                status=status,
                url=url,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            raise TooLarge(f"Content-Length {length} over {self.max_body_bytes} bytes", url=url)
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        inflater = _Inflater(encoding, self.max_body_bytes, url)
        content = b"".join(_inflate(response.iter_raw(_CHUNK), inflater))
        return FetchResult(
            url=url,
            status=status,
            content=content,
            content_type=response.headers.get("Content-Type", ""),
            etag=new_etag,
            last_modified=new_modified,
        )


def _inflate(chunks: Iterator[bytes], inflater: _Inflater) -> Iterator[bytes]:
    for chunk in chunks:
        yield inflater.feed(chunk)

"""Politeness towards publishers: a cap on concurrent requests per host, a minimum gap between
two requests to one host, and robots.txt for article pages.

These live beside the fetcher, not in the scheduler, so that every request (feed polls, page
fetches, discovery) is covered, whichever runner made it. The scale-out runner adds a shared
limit across machines on top.
"""

from __future__ import annotations

import contextlib
import threading
import time
import urllib.robotparser
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Host:
    slots: threading.BoundedSemaphore
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_start: float = 0.0


class HostLimiter:
    """At most ``per_host`` requests in flight to one host, started ``min_delay`` apart."""

    def __init__(self, *, per_host: int, min_delay: float) -> None:
        if per_host < 1:
            raise ValueError("per_host must be at least 1")
        self.per_host = per_host
        self.min_delay = min_delay
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    def _host(self, key: str) -> _Host:
        with self._lock:
            host = self._hosts.get(key)
            if host is None:
                host = self._hosts[key] = _Host(threading.BoundedSemaphore(self.per_host))
            return host

    @contextlib.contextmanager
    def slot(self, key: str) -> Iterator[None]:
        host = self._host(key)
        with host.slots:
            if self.min_delay > 0:
                with host.lock:  # reserve a start time, then wait for it outside the lock
                    start = max(time.monotonic(), host.next_start)
                    host.next_start = start + self.min_delay
                time.sleep(max(0.0, start - time.monotonic()))
            yield


# RFC 9309: a 4xx answer for robots.txt means there are no rules; a 5xx or no answer means the
# site is unreachable, and a crawler assumes everything is disallowed until it can ask again.
ALLOW_ALL = "User-agent: *\nAllow: /\n"
DISALLOW_ALL = "User-agent: *\nDisallow: /\n"


UNREACHABLE_TTL = 600.0  # retry an unreachable robots.txt sooner than a fetched one


class RobotsCache:
    """robots.txt per origin, fetched once and kept for ``ttl`` seconds."""

    def __init__(
        self, fetch_text: Callable[[str], str | None], *, user_agent: str, ttl: float
    ) -> None:
        # robots.txt URL -> its rules, or None when the site could not be reached
        self._fetch_text = fetch_text
        self._agent = user_agent.split("/", 1)[0]  # the product token, as robots.txt names it
        self._ttl = ttl
        self._rules: dict[str, tuple[urllib.robotparser.RobotFileParser, float]] = {}
        self._lock = threading.Lock()

    def allowed(self, origin: str, url: str) -> bool:
        now = time.monotonic()
        with self._lock:
            cached = self._rules.get(origin)
        if cached is None or cached[1] < now:
            text = self._fetch_text(origin + "/robots.txt")
            parser = urllib.robotparser.RobotFileParser()
            parser.parse((DISALLOW_ALL if text is None else text).splitlines())
            cached = (parser, now + (UNREACHABLE_TTL if text is None else self._ttl))
            with self._lock:
                self._rules[origin] = cached
        return cached[0].can_fetch(self._agent, url)

"""A tiny scripted HTTP server on 127.0.0.1 for tests that need hostile or broken publishers.

Each path answers with a fixed ``Reply`` (or one computed from the request headers); every request
is logged with its headers and the status sent, so tests can check what the client asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Hit:
    path: str
    headers: dict[str, str]
    status: int


Route = Reply | Callable[[Mapping[str, str]], Reply]

NOT_FOUND = Reply(
    404, b"<!doctype html><title>Not found</title><h1>404</h1>", {"Content-Type": "text/html"}
)


class ScriptedServer:
    def __init__(self, routes: Mapping[str, Route] | None = None) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.log: list[Hit] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.app = self
        self.port: int = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return self.base_url + path

    def hits(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.log if h.path == path]

    def answer(self, path: str, headers: Mapping[str, str]) -> Reply:
        route = self.routes.get(path, NOT_FOUND)
        reply = route if isinstance(route, Reply) else route(headers)
        with self._lock:
            self.log.append(Hit(path, dict(headers), reply.status))
        return reply

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    app: ScriptedServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        app = cast(_Server, self.server).app
        reply = app.answer(urlsplit(self.path).path, dict(self.headers.items()))
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        body = b"" if reply.status in (204, 304) else reply.body
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


def rss(title: str, items: list[dict[str, str]], *, link: str = "") -> bytes:
    """An RSS 2.0 document; each item dict holds ready-made XML for its child elements."""
    entries = "".join(
        "<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in item.items()) + "</item>" for item in items
    )
    channel_link = f"<link>{link}</link>" if link else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{title}</title>{channel_link}<description>test</description>"
        f"{entries}</channel></rss>"
    ).encode()


RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}
HTML_TYPE = {"Content-Type": "text/html; charset=utf-8"}

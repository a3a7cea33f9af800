"""A real HTTP server on loopback that answers like Discourse, from a SampleForum.

with SampleForumServer(forum) as server:
    server.fail("/t/", status=500, times=2)   # the next two topic fetches fail
    ... point a scraper at server.url ...
    assert server.requests[0] == "/latest.json"
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from forumwatch.sample_forum import render
from forumwatch.sample_forum.scenario import SampleForum

Route = Callable[[SampleForum, re.Match[str], dict[str, list[str]]], dict[str, Any]]


def _page(query: dict[str, list[str]]) -> int:
    return int(query.get("page", ["0"])[0])


def _post_ids(query: dict[str, list[str]]) -> list[int]:
    return [int(i) for i in query.get("post_ids[]", [])]


def _members(forum: SampleForum, name: str, query: dict[str, list[str]]) -> dict[str, Any]:
    offset = int(query.get("offset", ["0"])[0])
    limit = int(query.get("limit", ["50"])[0])  # Discourse's default
    return render.group_members(forum, unquote(name), offset, limit)


ROUTES: list[tuple[re.Pattern[str], Route]] = [
    (re.compile(r"/latest\.json"), lambda f, m, q: render.latest_page(f, _page(q))),
    (re.compile(r"/categories\.json"), lambda f, m, q: render.categories(f)),
    (re.compile(r"/c/([^/]+)\.json"), lambda f, m, q: render.category_page(f, m[1], _page(q))),
    (
        re.compile(r"/c/[^/]+/(\d+)(?:/l/latest)?\.json"),
        lambda f, m, q: render.category_page(f, m[1], _page(q)),
    ),
    (re.compile(r"/t/(\d+)\.json"), lambda f, m, q: render.topic_page(f, int(m[1]))),
    (re.compile(r"/t/[^/]+/(\d+)\.json"), lambda f, m, q: render.topic_page(f, int(m[1]))),
    (
        re.compile(r"/t/(\d+)/posts\.json"),
        lambda f, m, q: render.topic_posts(f, int(m[1]), _post_ids(q)),
    ),
    (re.compile(r"/groups/([^/]+)/members\.json"), lambda f, m, q: _members(f, m[1], q)),
]


@dataclass
class Fault:
    """What to do instead of (or before) answering requests whose path starts with `prefix`."""

    prefix: str
    status: int | None = None
    body: bytes | None = None
    delay: float = 0.0
    times: int | None = None  # None: every time
    headers: dict[str, str] = field(default_factory=dict)


class SampleForumServer:
    """A Discourse stand-in on 127.0.0.1, on `port` (0: an ephemeral one); a context manager."""

    def __init__(self, forum: SampleForum, port: int = 0) -> None:
        self.forum = forum
        self.requests: list[str] = []
        self.request_headers: list[dict[str, str]] = []  # lower-cased names, same order
        self.peak_concurrency = 0  # most requests ever in flight at once
        self._in_flight = 0
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        host, port = self._httpd.server_address[:2]
        self.url = f"http://{host!s}:{port}"

    def __enter__(self) -> SampleForumServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a `delay` fault
        self._httpd.shutdown()
        self._httpd.server_close()

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()
            self.request_headers.clear()
            self.peak_concurrency = 0

    def fail(
        self,
        path_prefix: str,
        *,
        status: int | None = None,
        body: bytes | None = None,
        delay: float = 0.0,
        times: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Inject a fault: a status, a raw body (e.g. truncated JSON) and/or a delay.

        A delay alone slows the real answer down; `status=200, body=...` replays a raw body.
        """
        fault = Fault(path_prefix, status, body, delay, times, dict(headers or {}))
        with self._lock:
            self._faults.append(fault)

    def heal(self) -> None:
        """Remove every injected fault."""
        with self._lock:
            self._faults.clear()

    def _begin(self, target: str, headers: dict[str, str]) -> Fault | None:
        """Record a request and pick (and use up) the fault that applies to it."""
        path = urlsplit(target).path
        with self._lock:
            self.requests.append(target)
            self.request_headers.append(headers)
            self._in_flight += 1
            self.peak_concurrency = max(self.peak_concurrency, self._in_flight)
            for fault in self._faults:
                if path.startswith(fault.prefix) and fault.times != 0:
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def _end(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def answer(
        self, target: str, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        """Status, body and extra headers for one request target (path and query)."""
        fault = self._begin(target, headers or {})
        try:
            if fault and fault.delay:
                self._stopping.wait(fault.delay)
            if fault and (fault.status is not None or fault.body is not None):
                status = fault.status if fault.status is not None else 200
                body = fault.body if fault.body is not None else _error_body(status)
                return status, body, fault.headers
            extra = fault.headers if fault else {}
            status, body = self._route(target)
            return status, body, extra
        finally:
            self._end()

    def _route(self, target: str) -> tuple[int, bytes]:
        parts = urlsplit(target)
        query = parse_qs(parts.query)
        for pattern, route in ROUTES:
            match = pattern.fullmatch(parts.path)
            if match:
                try:
                    data = route(self.forum, match, query)
                except (KeyError, ValueError):
                    return 404, _error_body(404)
                return 200, json.dumps(data).encode()
        return 404, _error_body(404)


def _error_body(status: int) -> bytes:
    messages = {404: "The requested URL or resource could not be found."}
    text = messages.get(status, f"HTTP {status}")
    return json.dumps({"errors": [text], "error_type": "sample_forum"}).encode()


def _handler_for(server: SampleForumServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            received = {name.lower(): value for name, value in self.headers.items()}
            status, body, headers = server.answer(self.path, received)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                self.close_connection = True  # the client gave up (timeout): nothing to do

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read `server.requests` instead."""

    return Handler

"""A loopback site that serves fixed pages by path, for HTML-forum tests: any body, any
Content-Type (or none), optional ETag answered with 304, and 404 for everything else.

    with HostileServer(site({"/forum/": Page(body, "text/html; charset=windows-1251")})) as s:
        ...
"""

from __future__ import annotations

from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from tests.hostile_server import Behaviour


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str | None = "text/html; charset=utf-8"
    etag: str | None = None
    status: int = 200


def site(pages: dict[str, Page]) -> Behaviour:
    """Serve `pages` by request path (query included when a key has one)."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        page = pages.get(handler.path) or pages.get(handler.path.split("?")[0])
        if page is None:
            page = Page(b"<html><body>not found</body></html>", status=404)
        if page.etag and handler.headers.get("If-None-Match") == page.etag:
            handler.send_response(304)
            handler.send_header("ETag", page.etag)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_response(page.status)
        if page.content_type:
            handler.send_header("Content-Type", page.content_type)
        if page.etag:
            handler.send_header("ETag", page.etag)
        handler.send_header("Content-Length", str(len(page.body)))
        handler.end_headers()
        handler.wfile.write(page.body)

    return behave

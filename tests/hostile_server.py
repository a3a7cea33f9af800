"""Loopback HTTP servers that misbehave on purpose: a gzip bomb, an endless body, a drip, a
redirect to another host. Each records the requests and headers it receives.

with HostileServer(gzip_bomb(1024)) as bomb:
    ... point a forum's url at bomb.url ...
"""

from __future__ import annotations

import functools
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

# A behaviour writes one whole response (status line, headers, body) for a request path.
Behaviour = Callable[[BaseHTTPRequestHandler], None]
MIB = 1024 * 1024
BOMB_SEGMENT_MIB = 16


@functools.cache
def gzip_bomb_bytes(inflated_mib: int) -> bytes:
    """A gzip body of `inflated_mib` MiB of zeros, about 1 KB per MiB.

    Built 16 MiB at a time, each ending with a full flush, which resets the compressor: every
    16 MiB after the first compress to the same bytes, so they are compressed once and repeated
    (0.5 s for 1 GiB, not 6 s), and the gzip trailer (CRC-32, length) covers the whole body.
    Its first 12 KB are byte for byte those of one unbroken stream: a client's first reads
    meet the same bytes."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MIB)

    def segment(mib: int) -> bytes:
        return b"".join(packer.compress(zeros) for _ in range(mib)) + packer.flush(
            zlib.Z_FULL_FLUSH
        )

    whole, rest = divmod(inflated_mib, BOMB_SEGMENT_MIB)
    body = segment(BOMB_SEGMENT_MIB) if whole else b""  # the first output holds the header
    if whole > 1:
        body += segment(BOMB_SEGMENT_MIB) * (whole - 1)
    if rest:
        body += segment(rest)
    final_block = packer.flush(zlib.Z_FINISH)[:-8]  # an empty last block, without its trailer
    crc = 0
    for _ in range(inflated_mib):
        crc = zlib.crc32(zeros, crc)
    return body + final_block + struct.pack("<II", crc, inflated_mib * MIB & 0xFFFFFFFF)


def gzip_bomb(inflated_mib: int) -> Behaviour:
    """Every request gets a small gzip body that inflates to `inflated_mib` MiB."""
    gzip_bomb_bytes(inflated_mib)  # built now, not while a client's deadline runs

    def behave(handler: BaseHTTPRequestHandler) -> None:
        body = gzip_bomb_bytes(inflated_mib)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return behave


def endless_body(mib: int, *, declare_length: bool) -> Behaviour:
    """A plain body of `mib` MiB of JSON-ish bytes, with or without a Content-Length."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        if declare_length:
            handler.send_header("Content-Length", str(mib * MIB))
        else:
            handler.send_header("Connection", "close")  # the body ends when we close
            handler.close_connection = True
        handler.end_headers()
        chunk = b" " * MIB
        for _ in range(mib):
            handler.wfile.write(chunk)

    return behave


def drip(every_seconds: float) -> Behaviour:
    """Headers at once, then one byte of body every `every_seconds`, for as long as anyone reads."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "1000000")
        handler.end_headers()
        handler.wfile.flush()
        stopping: threading.Event = handler.server.stopping  # type: ignore[attr-defined]
        while not stopping.is_set():
            handler.wfile.write(b" ")
            handler.wfile.flush()
            stopping.wait(every_seconds)

    return behave


def redirect_to(base: str) -> Behaviour:
    """A 302 to the same path on another server (`base` like http://127.0.0.2:8000)."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", base + handler.path)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return behave


def json_body(body: bytes, status: int = 200) -> Behaviour:
    def behave(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return behave


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        return None  # clients hanging up on a bomb or a drip is the point, not an error

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        # headers and body leave in two writes: without this, Nagle and delayed ACKs add 40 ms
        # to every keep-alive response
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


class HostileServer:
    """A threaded HTTP server on `host` (any 127.x.y.z) answering every GET with `behaviour`."""

    def __init__(self, behaviour: Behaviour, host: str = "127.0.0.1") -> None:
        self.requests: list[str] = []
        self.request_headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._httpd = _QuietServer((host, 0), _handler_for(self, behaviour))
        self._httpd.daemon_threads = True
        self._httpd.stopping = threading.Event()  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        bound_host, port = self._httpd.server_address[:2]
        self.url = f"http://{bound_host!s}:{port}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.stopping.set()  # type: ignore[attr-defined]
        self._httpd.shutdown()
        self._httpd.server_close()

    def record(self, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(path)
            self.request_headers.append(headers)


def _handler_for(server: HostileServer, behaviour: Behaviour) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            server.record(self.path, {k.lower(): v for k, v in self.headers.items()})
            try:
                behaviour(self)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client stopped reading: as it should

        def log_message(self, format: str, *args: object) -> None:
            return None

    return Handler


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()

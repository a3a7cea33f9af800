"""The HTTP client's own cost: CPU that httpx spends per GET on loopback, before any parsing.

A cold cycle fetches one topic per request, so this bounds its rate on one core: at 1 ms of
client CPU per request no parser, however fast, reaches 1,000 topics/s. The server runs in its own
thread; only the client's (main) thread's CPU is counted.

    .venv/bin/python -m bench.httpx_floor [--requests 2000] [--client aiohttp]

`--client aiohttp` measures aiohttp's client the same way, for comparison only: forumwatch does
not depend on it (install it by hand to run this).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

BODY = json.dumps({"post_stream": {"posts": [{"id": i, "cooked": "x" * 300} for i in range(10)]}})


class _Topic(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        body = BODY.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


async def _measure_aiohttp(url: str, requests: int) -> tuple[float, float]:
    import aiohttp  # type: ignore[import-not-found]  # a comparison only, not a dependency

    async with aiohttp.ClientSession(base_url=url) as session:
        for n in range(50):
            async with session.get(f"/t/{n}.json") as response:
                await response.read()
        cpu, wall = time.thread_time(), time.perf_counter()
        for n in range(requests):
            async with session.get(f"/t/{n}.json") as response:
                await response.read()
        return (time.thread_time() - cpu) / requests, requests / (time.perf_counter() - wall)


async def _measure(url: str, requests: int) -> tuple[float, float]:
    async with httpx.AsyncClient(base_url=url) as client:
        for n in range(50):  # warm up: connection, imports, caches
            await client.get(f"/t/{n}.json")
        cpu, wall = time.thread_time(), time.perf_counter()
        for n in range(requests):
            (await client.get(f"/t/{n}.json")).read()
        return (time.thread_time() - cpu) / requests, requests / (time.perf_counter() - wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--client", choices=["httpx", "aiohttp"], default="httpx")
    args = parser.parse_args()
    measure = _measure_aiohttp if args.client == "aiohttp" else _measure
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Topic)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    cpu, rate = asyncio.run(measure(f"http://{host!s}:{port}", args.requests))
    server.shutdown()
    print(
        f"{args.client} GET on loopback: {cpu * 1000:.2f} ms of client CPU per request "
        f"(at most {1 / cpu:,.0f} requests/s on one core before any parsing); "
        f"{rate:,.0f} requests/s wall with the server on the other core"
    )


if __name__ == "__main__":
    main()

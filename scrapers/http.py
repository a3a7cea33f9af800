"""The polite HTTP client every scraper uses: one User-Agent, explicit timeouts, per-host pacing and
concurrency limits, bounded retries with backoff, and errors that say what to do.

It is also the one place that distrusts forums: every request has a total deadline (a server that
drips a byte at a time cannot hold a run), every body is capped after decompression (see
`scrapers.bounded`), and redirects are followed only within the forum's own scheme, host and port,
so credentials in the headers never reach another host.

Options read from `ForumSettings.options` (all optional, mostly for tests):
`backoff_base` (s, default 1.0), `backoff_max` (s, default 30), `retry_after_max` (s, default 120).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from types import TracebackType
from typing import Any

import httpx

from scrapers.base import BadResponse, ForumSettings, ForumUnavailable
from scrapers.bounded import (
    ACCEPT_ENCODING,
    BodyTooLarge,
    UnsupportedEncoding,
    read_capped,
    size_text,
)

Params = Mapping[str, str | int] | Sequence[tuple[str, str | int]]
Query = list[tuple[str, str | int | float | bool | None]]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
UP_FIX = "check that the forum is up; forumwatch retries next run"
RATE_FIX = "lower requests_per_second for this forum; forumwatch retries next run"
AUTH_FIX = "check api_key/api_username in the forum's config"
JSON_FIX = "the forum or a proxy returned a broken page; retried next run"
SIZE_FIX = "raise max_response_size for this forum if its pages really are that large"
REDIRECT_FIX = "set the forum's url to the address it now redirects to"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
# a path that httpx would join to the base URL unchanged: no quoting, no dot segments, no
# "//host" (see PoliteClient.absolute)
_PLAIN_PATH = re.compile(r"/|(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+/?")


def user_agent() -> str:
    try:
        ours = version("forumwatch")
    except PackageNotFoundError:  # running from a source tree that is not installed
        ours = "0"
    return f"forumwatch/{ours} (+https://github.com/forumwatch/forumwatch)"


Validators = tuple[str | None, str | None] | None  # ETag, Last-Modified of an earlier response


@dataclass(frozen=True)
class Page:
    """One response worth reading: where it came from (after redirects), its body and headers."""

    url: str
    content: bytes
    headers: httpx.Headers
    not_modified: bool = False  # a conditional request's 304: the earlier copy still holds

    @property
    def validators(self) -> Validators:
        """What makes the next request for this page conditional, if the server gave anything."""
        etag, modified = self.headers.get("etag"), self.headers.get("last-modified")
        return (etag, modified) if etag or modified else None


@dataclass
class _HostGate:
    """Per-host politeness: at most `slots` requests at once, starts spaced by `interval`."""

    slots: asyncio.Semaphore
    interval: float
    next_start: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def wait_turn(self) -> None:
        if self.interval <= 0:  # unpaced (intervals only grow): nothing to wait for
            return
        async with self.lock:
            now = time.monotonic()
            start = max(now, self.next_start)
            self.next_start = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


@dataclass
class _Failure:
    """One failed attempt: what to tell people, and how long the server asked us to wait."""

    problem: str
    fix: str = UP_FIX
    retry_after: float | None = None


class PoliteClient:
    """An httpx.AsyncClient wrapper bound to one forum's settings; an async context manager."""

    def __init__(
        self, settings: ForumSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        options = settings.options
        self.backoff_base = float(options.get("backoff_base", 1.0))
        self.backoff_max = float(options.get("backoff_max", 30.0))
        self.retry_after_max = float(options.get("retry_after_max", 120.0))
        self._gates: dict[str, _HostGate] = {}
        self._min_interval = 0.0  # raised by a robots.txt Crawl-delay
        self._client = httpx.AsyncClient(
            base_url=settings.url.rstrip("/"),
            headers={
                "User-Agent": user_agent(),
                "Accept": "application/json",
                "Accept-Encoding": ACCEPT_ENCODING,
                **settings.headers,
            },
            timeout=httpx.Timeout(settings.timeout_seconds),
            follow_redirects=False,  # see _fetch: only within the forum's own origin
            transport=transport,
            # An https:// forum's certificates are always verified. An http:// forum's pages are
            # unauthenticated already (redirects never leave that origin, and any link it gives
            # came over plain HTTP), so a certificate check would add no trust there: its client
            # skips loading the CA bundle, a tenth of a second of each nothing-changed run.
            verify=not settings.url.lower().startswith("http://"),
        )
        self._origin = _origin(httpx.URL(settings.url))
        self._base = str(self._client.build_request("GET", "/").url)  # ends in "/"

    async def __aenter__(self) -> PoliteClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def absolute(self, url_or_path: str, params: Params | None = None) -> str:
        """The full URL a request goes to (also for messages)."""
        if params is None and _PLAIN_PATH.fullmatch(url_or_path):  # the common case, cheaply
            return self._base + url_or_path[1:]
        request = self._client.build_request("GET", url_or_path, params=_query(params))
        return str(request.url)

    async def get_json(self, url_or_path: str, params: Params | None = None) -> Any:
        """GET and decode JSON, retrying what may pass; raises ForumUnavailable or BadResponse."""
        url = self.absolute(url_or_path, params)
        page = await self._get(url, {})
        return self._decode(page.content, url)

    async def get_page(
        self, url_or_path: str, params: Params | None = None, *, validators: Validators = None
    ) -> Page:
        """GET a page (HTML, robots.txt) as bytes with the headers that matter for reading it.

        `validators` (an earlier response's ETag and Last-Modified) make the request conditional:
        a 304 comes back as a Page with `not_modified` set and no content.
        """
        url = self.absolute(url_or_path, params)
        headers = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"}
        if validators is not None:
            etag, modified = validators
            if etag:
                headers["If-None-Match"] = etag
            if modified:
                headers["If-Modified-Since"] = modified
        return await self._get(url, headers)

    async def _get(self, url: str, headers: dict[str, str]) -> Page:
        """GET with retries of what may pass; raises ForumUnavailable or BadResponse."""
        attempts = max(0, self.settings.max_retries) + 1
        failure = _Failure("no attempt made")
        target = httpx.URL(url)  # parsed once for every attempt
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(self._pause(attempt, failure))
            outcome = await self._attempt(target, url, headers)
            if not isinstance(outcome, _Failure):
                return outcome
            failure = outcome
        raise ForumUnavailable(
            self.settings.forum_id,
            url,
            f"{failure.problem} (gave up after {attempts} tries)",
            failure.fix,
        )

    async def _attempt(
        self, target: httpx.URL, url: str, headers: dict[str, str]
    ) -> Page | _Failure:
        """One polite request: a body worth decoding, or a failure worth retrying."""
        gate = self._gate(target.host)
        deadline = self.settings.timeout_seconds
        async with gate.slots:
            await gate.wait_turn()
            try:
                async with asyncio.timeout(deadline):  # the whole exchange, not each read
                    return await self._fetch(target, url, headers)
            except (TimeoutError, httpx.TimeoutException):
                return _Failure(f"no complete response within {deadline:g} s")
            except httpx.TransportError as exc:
                return _Failure(f"network error ({type(exc).__name__}: {exc})")

    async def _fetch(self, target: httpx.URL, url: str, headers: dict[str, str]) -> Page | _Failure:
        """GET `target` (`url`, parsed), following same-origin redirects, and read the body
        within the cap."""
        for _ in range(MAX_REDIRECTS + 1):
            request = self._client.build_request("GET", target, headers=headers)
            response = await self._client.send(request, stream=True)
            try:
                if response.status_code in REDIRECT_STATUSES and "location" in response.headers:
                    target = self._redirect_target(response, url)
                    continue
                if response.status_code in RETRY_STATUSES:
                    return self._retryable(response)
                if response.status_code >= 400:
                    raise self._client_error(response, url)
                if response.status_code == 304:
                    return Page(str(target), b"", response.headers, not_modified=True)
                return Page(str(target), await self._body(response, url), response.headers)
            finally:
                await response.aclose()
        problem = f"more than {MAX_REDIRECTS} redirects"
        raise BadResponse(self.settings.forum_id, url, problem, REDIRECT_FIX)

    def _redirect_target(self, response: httpx.Response, url: str) -> httpx.URL:
        """Where a redirect points, if it stays on the forum's origin; otherwise BadResponse."""
        target = response.url.join(response.headers["location"])
        if _origin(target) != self._origin:
            problem = (
                f"redirected to {target.scheme}://{target.host}, outside the configured "
                f"{self._origin[0]}://{self._origin[1]}; not followed, so no credentials left it"
            )
            raise BadResponse(self.settings.forum_id, url, problem, REDIRECT_FIX)
        return target

    async def _body(self, response: httpx.Response, url: str) -> bytes:
        forum, limit = self.settings.forum_id, self.settings.max_response_bytes
        try:
            return await read_capped(response, limit)
        except BodyTooLarge:
            problem = f"response from {url} exceeds {size_text(limit)} after decompression"
            raise BadResponse(forum, url, problem, SIZE_FIX) from None
        except UnsupportedEncoding as exc:
            problem = f"response uses Content-Encoding '{exc}', which was not asked for"
            raise BadResponse(forum, url, problem, JSON_FIX) from None
        except zlib.error as exc:
            problem = f"compressed response is corrupt ({exc})"
            raise BadResponse(forum, url, problem, JSON_FIX) from None

    def _retryable(self, response: httpx.Response) -> _Failure:
        status = response.status_code
        wait = _retry_after(response.headers.get("Retry-After"))
        if status == 429:
            return _Failure("rate limited (HTTP 429)", RATE_FIX, wait)
        return _Failure(f"HTTP {status}", UP_FIX, wait if status == 503 else None)

    def _client_error(self, response: httpx.Response, url: str) -> BadResponse:
        status = response.status_code
        forum = self.settings.forum_id
        if status in (401, 403):
            return BadResponse(forum, url, f"HTTP {status}: access denied", AUTH_FIX, status=status)
        if status == 404:
            fix = "check the forum's url and category names"
            return BadResponse(forum, url, "HTTP 404: not found", fix, status=status)
        if status == 410:
            return BadResponse(forum, url, "HTTP 410: gone", "check the forum's url", status=status)
        return BadResponse(forum, url, f"HTTP {status}", "check the forum's config", status=status)

    def _decode(self, content: bytes, url: str) -> Any:
        try:
            return json.loads(content)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            problem = f"response is not valid JSON (truncated or malformed): {exc}"
            raise BadResponse(self.settings.forum_id, url, problem, JSON_FIX) from exc

    def _pause(self, attempt: int, failure: _Failure) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        if failure.retry_after is not None:
            return min(failure.retry_after, self.retry_after_max)
        backoff = self.backoff_base * 2.0 ** (attempt - 1) * random.uniform(0.5, 1.5)
        return min(backoff, self.backoff_max)

    def slow_down(self, interval: float) -> None:
        """Space requests at least `interval` seconds apart (a robots.txt Crawl-delay)."""
        self._min_interval = max(self._min_interval, interval)
        for gate in self._gates.values():
            gate.interval = max(gate.interval, interval)

    def _gate(self, host: str) -> _HostGate:
        if host not in self._gates:
            rate = self.settings.requests_per_second
            interval = max(1.0 / rate if rate > 0 else 0.0, self._min_interval)
            slots = asyncio.Semaphore(max(1, self.settings.max_concurrency))
            self._gates[host] = _HostGate(slots, interval)
        return self._gates[host]


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """Scheme, host and port (default ports spelled out): what a redirect may not leave."""
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


def _query(params: Params | None) -> Query | None:
    if params is None:
        return None
    pairs = params.items() if isinstance(params, Mapping) else params
    return [(name, value) for name, value in pairs]


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, given as seconds or as an HTTP date; None when absent or garbled."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())

"""robots.txt, read once per run and honoured for every page an HTML scraper fetches (RFC 9309:
a missing file allows everything, an unreachable one allows nothing)."""

from __future__ import annotations

import asyncio

import httpx
from protego import Protego

from scrapers.base import BadResponse, ForumSettings, ForumUnavailable
from scrapers.encoding import decode_page
from scrapers.http import PoliteClient

AGENT = "forumwatch"  # the product token robots.txt groups are matched against
ROBOTS_FIX = (
    "ask the forum's owner to allow forumwatch, or set respect_robots: false for this forum "
    "if they agree"
)


class RobotsRules:
    """The rules of one forum's robots.txt, fetched on first use."""

    def __init__(self, http: PoliteClient, settings: ForumSettings) -> None:
        self.http = http
        self.settings = settings
        self._rules: Protego | None = None
        self._lock = asyncio.Lock()

    async def check(self, url: str) -> None:
        """Raise BadResponse when robots.txt disallows `url` for forumwatch."""
        rules = await self._load()
        if not rules.can_fetch(url, AGENT):
            problem = f"robots.txt disallows {url} for {AGENT}"
            raise BadResponse(self.settings.forum_id, url, problem, ROBOTS_FIX)

    async def _load(self) -> Protego:
        async with self._lock:
            if self._rules is None:
                self._rules = await self._fetch()
                delay = self._rules.crawl_delay(AGENT)
                if delay:
                    self.http.slow_down(float(delay))
            return self._rules

    async def _fetch(self) -> Protego:
        target = httpx.URL(self.settings.url).copy_with(path="/robots.txt", query=None)
        try:
            page = await self.http.get_page(str(target))
        except BadResponse as err:
            if err.status is not None and 400 <= err.status < 500:
                return Protego.parse("")  # no robots.txt: everything is allowed
            raise
        except ForumUnavailable as err:
            problem = f"robots.txt could not be read ({err.problem}), so no page may be fetched"
            raise ForumUnavailable(err.forum_id, err.url, problem, err.fix) from err
        text = decode_page(page.content, page.headers.get("content-type"))
        return Protego.parse(text)

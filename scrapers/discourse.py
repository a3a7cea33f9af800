"""Discourse through its JSON API: /latest.json or category lists, /t/{id}.json, posts.json."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from forumwatch.model import Topic
from scrapers import discourse_parse as parse
from scrapers.base import ForumSettings, ScrapeError, TopicSummary, register
from scrapers.http import PoliteClient

POSTS_PER_REQUEST = 20  # Discourse's chunk size for /t/{id}/posts.json


@register("discourse")
class DiscourseScraper:
    """Lists topics newest-bump first and fetches them whole, politely and incrementally."""

    engine: ClassVar[str] = "discourse"

    def __init__(
        self, settings: ForumSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.base_url = settings.url.rstrip("/")
        self.http = PoliteClient(settings, transport=transport)
        self._category_slugs: dict[int, str] | None = None
        self._category_lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self.http.aclose()

    def _lists(self) -> list[str]:
        """The first page of every topic list to scan."""
        if not self.settings.categories:
            return ["/latest.json"]
        return [f"/c/{ref.strip('/')}.json" for ref in self.settings.categories]

    def _cutoff(self, since: datetime | None) -> datetime:
        if since is not None:  # the caller's clock decides (`--now` must work everywhere)
            return since
        return datetime.now(UTC) - timedelta(days=self.settings.lookback_days)

    async def list_topics(
        self, known: dict[str, str], since: datetime | None
    ) -> AsyncIterator[TopicSummary]:
        """Yield topics bumped after `since`, each once, stopping at the first page with nothing
        new (every non-pinned topic known with an unchanged marker, or bumped too long ago)."""
        cutoff = self._cutoff(since)
        seen: set[str] = set()
        for first_page in self._lists():
            async for summary in self._walk(first_page, known, cutoff):
                if summary.topic_id not in seen:
                    seen.add(summary.topic_id)
                    yield summary

    async def _walk(
        self, first_page: str, known: dict[str, str], cutoff: datetime
    ) -> AsyncIterator[TopicSummary]:
        """Every fresh-enough row of one topic list, page after page, until nothing new."""
        url: str | None = first_page
        for _ in range(max(1, self.settings.max_pages)):
            if url is None:
                return
            data = await self.http.get_json(url)
            where = parse.Where(self.settings.forum_id, self.http.absolute(url))
            listing = parse.need(data, "topic_list", dict, where)
            rows = parse.need(listing, "topics", list, where, "topic_list.")
            summaries = [parse.summary_from_row(row, where) for row in rows]
            for summary in summaries:
                if summary.bumped_at is None or summary.bumped_at >= cutoff:
                    yield summary
            if _nothing_new(summaries, known, cutoff):
                return
            url = self._next_page(listing.get("more_topics_url"))

    def _next_page(self, more_topics_url: Any) -> str | None:
        """The next page's path: absent means last page; pages are fetched as .json."""
        if not isinstance(more_topics_url, str) or not more_topics_url:
            return None
        parts = urlsplit(more_topics_url)
        path = parts.path
        base_path = urlsplit(self.base_url).path
        if base_path and path.startswith(base_path + "/"):  # forum in a subfolder
            path = path[len(base_path) :]
        if not path.endswith(".json"):  # newer servers link the HTML page
            path += ".json"
        return f"{path}?{parts.query}" if parts.query else path

    async def fetch_topic(self, summary: TopicSummary) -> Topic:
        """GET /t/{id}.json and every post not inlined there, mapped to the model."""
        url = f"/t/{summary.topic_id}.json"
        data = await self.http.get_json(url)
        where = parse.Where(self.settings.forum_id, self.http.absolute(url))
        stream = parse.need(data, "post_stream", dict, where)
        posts = _post_dicts(parse.need(stream, "posts", list, where, "post_stream."), where)
        ids = parse.need(stream, "stream", list, where, "post_stream.")
        inlined = {p.get("id") for p in posts}
        missing = [i for i in ids if i not in inlined]
        posts += await self._fetch_posts(summary.topic_id, missing)
        ctx = parse.TopicContext(self.base_url, await self.category_slugs(), summary)
        return parse.topic_from_json(data, posts, ctx, where)

    async def _fetch_posts(self, topic_id: str, post_ids: list[Any]) -> list[dict[str, Any]]:
        """Posts by id through /t/{id}/posts.json, POSTS_PER_REQUEST at a time."""
        url = f"/t/{topic_id}/posts.json"
        chunks = [
            post_ids[i : i + POSTS_PER_REQUEST] for i in range(0, len(post_ids), POSTS_PER_REQUEST)
        ]
        pages = await asyncio.gather(
            *(self.http.get_json(url, [("post_ids[]", str(i)) for i in chunk]) for chunk in chunks)
        )
        posts: list[dict[str, Any]] = []
        for page in pages:
            where = parse.Where(self.settings.forum_id, self.http.absolute(url))
            stream = parse.need(page, "post_stream", dict, where)
            posts += _post_dicts(parse.need(stream, "posts", list, where, "post_stream."), where)
        return posts

    async def category_slugs(self) -> dict[int, str]:
        """id → slug, fetched once per scraper; {} when /categories.json cannot be read."""
        async with self._category_lock:
            if self._category_slugs is None:
                try:
                    data = await self.http.get_json("/categories.json")
                except ScrapeError:
                    data = None  # topics keep their category_id; the slug is a nicety
                self._category_slugs = parse.category_slugs(data)
            return self._category_slugs


def _nothing_new(summaries: list[TopicSummary], known: dict[str, str], cutoff: datetime) -> bool:
    """True when a page's non-pinned topics are all too old or all known and unchanged."""
    regular = [s for s in summaries if not s.pinned]
    if not regular:
        return False  # only pinned topics (or none): the next page decides
    return all(
        (s.bumped_at is not None and s.bumped_at < cutoff) or known.get(s.topic_id) == s.marker
        for s in regular
    )


def _post_dicts(posts: list[Any], where: parse.Where) -> list[dict[str, Any]]:
    for post in posts:
        if not isinstance(post, dict):
            raise where.bad(f"post_stream.posts[] holds a {type(post).__name__}, not an object")
    return posts

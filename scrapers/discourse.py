"""Discourse through its JSON API: /latest.json or category lists, /t/{id}.json, posts.json."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx

from forumwatch.model import Post, Topic
from scrapers import discourse_parse as parse
from scrapers.base import (
    BadResponse,
    ForumSettings,
    ScrapeError,
    TopicSummary,
    all_known,
    all_too_old,
    list_cutoff,
    max_pages_reached,
    register,
    rows_as_summaries,
)
from scrapers.http import PoliteClient
from scrapers.validate import check_topic, latest_plausible

POSTS_PER_REQUEST = 20  # Discourse's chunk size for /t/{id}/posts.json
MEMBERS_PER_REQUEST = 50  # Discourse's default `limit` for /groups/{name}/members.json
MAX_MEMBER_PAGES = 200  # a safety net: a "developer group" of 10,000 is a config mistake
GROUP_FIX = (
    "check developer_groups/staff_groups in the config, "
    "or set api_key so private groups can be read"
)


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
        # id → slug as the last run read it, kept between runs by the pipeline (None: unknown):
        # trusted until a topic names a category it lacks, or the pipeline clears it on a full
        # scan, so a quiet run costs no /categories.json
        self.category_cache: dict[int, str] | None = None
        self._category_lock = asyncio.Lock()
        self.warnings: list[str] = []  # rows skipped as malformed; the pipeline reports them
        # topics dated after this are refused; the pipeline may set max(clock, --now) + slack
        self.not_after: datetime | None = None
        # topic id → its posts as stored, by post id: posts of a long topic read before are
        # not fetched again (the pipeline sets it; None fetches every post)
        self.known_posts: Callable[[str], Mapping[str, Post]] | None = None

    async def aclose(self) -> None:
        await self.http.aclose()

    def _lists(self) -> list[str]:
        """The first page of every topic list to scan."""
        if not self.settings.categories:
            return ["/latest.json"]
        return [f"/c/{ref.strip('/')}.json" for ref in self.settings.categories]

    async def list_topics(
        self, known: Mapping[str, str], since: datetime | None, *, exhaustive: bool = False
    ) -> AsyncIterator[TopicSummary]:
        """Yield topics bumped after `since`, each once, stopping at the first page with nothing
        new (every non-pinned topic known with an unchanged marker, or bumped too long ago).

        With `exhaustive`, known and unchanged pages do not stop the walk, only too old ones,
        the last page or max_pages: closing or solving a topic changes it without a bump.
        """
        cutoff = list_cutoff(self.settings, since)
        seen: set[str] = set()
        for first_page in self._lists():
            async for summary in self._walk(first_page, known, cutoff, exhaustive):
                if summary.topic_id not in seen:
                    seen.add(summary.topic_id)
                    yield summary

    async def _walk(
        self, first_page: str, known: Mapping[str, str], cutoff: datetime, exhaustive: bool
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
            summaries = self._summaries(rows, where)
            for summary in summaries:
                if summary.bumped_at is None or summary.bumped_at >= cutoff:
                    yield summary
            if all_too_old(summaries, cutoff):
                return
            if not exhaustive and all_known(summaries, known, cutoff):
                return
            url = self._next_page(listing.get("more_topics_url"))
        if url is not None:
            self.warnings.append(max_pages_reached(self.settings))

    def _summaries(self, rows: list[Any], where: parse.Where) -> list[TopicSummary]:
        def read(row: Any) -> TopicSummary:
            return parse.summary_from_row(row, where)

        return rows_as_summaries(rows, read, self.settings, where.url, self.warnings)

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
        """GET /t/{id}.json and every post not inlined there, mapped to the model.

        Anything wrong inside the topic's JSON is MalformedTopic, so the caller skips this topic
        only; HTTP, network and not-JSON failures (truncated bodies, a proxy's HTML error page:
        transient, and the forum's) stay as PoliteClient raised them.
        """
        url = f"/t/{summary.topic_id}.json"
        data = await self.http.get_json(url)
        where = parse.Where(self.settings.forum_id, self.http.absolute(url), summary.topic_id)
        stream = parse.need(data, "post_stream", dict, where)
        posts = _post_dicts(parse.need(stream, "posts", list, where, "post_stream."), where)
        ids = _stream_ids(parse.need(stream, "stream", list, where, "post_stream."), where)
        inlined = {parse.int_like(p.get("id")) for p in posts}
        missing = [i for i in ids if i not in inlined]
        known = self.known_posts(summary.topic_id) if self.known_posts and missing else {}
        reused = [known[str(i)] for i in missing if str(i) in known]
        unread = [i for i in missing if str(i) not in known]
        posts += await self._fetch_posts(summary.topic_id, unread)
        category = parse.int_like(data.get("category_id")) if isinstance(data, dict) else None
        ctx = parse.TopicContext(self.base_url, await self.category_slugs(category), summary)
        kept = [p for p in posts if not _deleted(p, where)]
        topic = parse.topic_from_json(data, kept, ctx, where)
        if reused:  # posts still in the stream, as stored: only the new ones were fetched
            fresh = {p.id for p in topic.posts}
            merged = [*topic.posts, *(p for p in reused if p.id not in fresh)]
            topic = replace(topic, posts=tuple(sorted(merged, key=lambda p: p.number)))
        check_topic(topic, latest_plausible(self.not_after))
        return topic

    async def _fetch_posts(self, topic_id: str, post_ids: list[int]) -> list[dict[str, Any]]:
        """Posts by id through /t/{id}/posts.json, POSTS_PER_REQUEST at a time."""
        url = f"/t/{topic_id}/posts.json"
        where = parse.Where(self.settings.forum_id, self.http.absolute(url), topic_id)
        chunks = [
            post_ids[i : i + POSTS_PER_REQUEST] for i in range(0, len(post_ids), POSTS_PER_REQUEST)
        ]
        pages = await asyncio.gather(
            *(self.http.get_json(url, [("post_ids[]", str(i)) for i in chunk]) for chunk in chunks)
        )
        posts: list[dict[str, Any]] = []
        for page in pages:
            stream = parse.need(page, "post_stream", dict, where)
            posts += _post_dicts(parse.need(stream, "posts", list, where, "post_stream."), where)
        return posts

    async def group_members(self, group: str) -> frozenset[str]:
        """Usernames of a group's members and owners, paging /groups/{name}/members.json by
        offset until meta.total is reached or a page brings no new member."""
        members: set[str] = set()
        owners: set[str] = set()  # kept apart: owners also page by as members
        offset = 0
        for _ in range(MAX_MEMBER_PAGES):
            page = await self._members_page(group, offset)
            new_members = set(page.members) - members
            members.update(page.members)
            owners.update(page.owners)
            offset += len(page.members)
            if not new_members or (page.total is not None and offset >= page.total):
                return frozenset(members | owners)
        url = self.http.absolute(_members_path(group))
        problem = f"group '{group}' has over {len(members)} members: is it the right group?"
        raise BadResponse(self.settings.forum_id, url, problem, GROUP_FIX)

    async def _members_page(self, group: str, offset: int) -> parse.MembersPage:
        """One page of a group's members; an unknown or hidden group says so."""
        path = _members_path(group)
        params = {"offset": offset, "limit": MEMBERS_PER_REQUEST}
        try:
            data = await self.http.get_json(path, params)
        except BadResponse as exc:
            if exc.status != 404:
                raise
            problem = f"group '{group}' not found or not visible"
            raise BadResponse(exc.forum_id, exc.url, problem, GROUP_FIX) from exc
        where = parse.Where(self.settings.forum_id, self.http.absolute(path, params))
        return parse.members_page(data, where)

    async def category_slugs(self, needed: int | None = None) -> dict[int, str]:
        """id → slug: the cached map while it knows `needed`, else /categories.json, read at
        most once per scraper; {} when it cannot be read."""
        async with self._category_lock:
            cache = self.category_cache
            if self._category_slugs is None and cache and (needed is None or needed in cache):
                return cache
            if self._category_slugs is None:
                try:
                    data = await self.http.get_json("/categories.json")
                except ScrapeError:
                    data = None  # topics keep their category_id; the slug is a nicety
                self._category_slugs = parse.category_slugs(data)
                self.category_cache = self._category_slugs or cache
            return self._category_slugs


def _members_path(group: str) -> str:
    return f"/groups/{quote(group, safe='')}/members.json"


def _deleted(post: dict[str, Any], where: parse.Where) -> bool:
    """A deleted post (an API key with staff rights still sees it) answers and masks nothing."""
    return bool(post.get("deleted_at")) or parse.flag(
        post, "user_deleted", where, "post_stream.posts[]."
    )


def _stream_ids(ids: list[Any], where: parse.Where) -> list[int]:
    """post_stream.stream: the ids of every post, ints or digit strings."""
    numbers = []
    for value in ids:
        number = parse.int_like(value)
        if number is None:
            raise where.bad(f"field 'post_stream.stream' holds {value!r}, not a post id")
        numbers.append(number)
    return numbers


def _post_dicts(posts: list[Any], where: parse.Where) -> list[dict[str, Any]]:
    for post in posts:
        if not isinstance(post, dict):
            raise where.bad(f"post_stream.posts[] holds a {type(post).__name__}, not an object")
    return posts

"""Misago (0.39) through its JSON API: /api/threads/ lists, /api/threads/{id}/posts/ pages.

Lists are ordered by each thread's last post, events included (closing a thread adds a
"closed" event, so it bumps), and paged by a cursor (`next`, sent back as `start`). Marking a
best answer does not bump: the exhaustive scans catch it, as they catch Discourse's solutions.
`categories` in the config are Misago category ids (the number in /c/<slug>/<id>/); a category's
list includes its subcategories. Without categories the whole forum's list is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any, ClassVar

import httpx

from forumwatch.model import Topic
from scrapers import misago_parse as parse
from scrapers.base import (
    BadResponse,
    ForumSettings,
    TopicSummary,
    all_known,
    all_too_old,
    list_cutoff,
    max_pages_reached,
    register,
    rows_as_summaries,
)
from scrapers.discourse_parse import Where, int_like, need
from scrapers.http import Params, PoliteClient
from scrapers.validate import check_topic, latest_plausible

THREADS = "/api/threads/"
MAX_POST_PAGES = 500  # a safety net: Misago's default 18 posts a page makes 9,000 posts
MAX_MEMBER_PAGES = 200
CATEGORY_FIX = "use Misago category ids: the number at the end of /c/<slug>/<id>/"
RANK_FIX = (
    "Misago has no API for group members; list the developers' (or staff's) usernames under "
    "`developers:` / `staff:` instead, or name a rank shown as a tab on the forum's users page"
)


@register("misago")
class MisagoScraper:
    """Lists threads newest activity first and fetches them whole, politely and incrementally."""

    engine: ClassVar[str] = "misago"

    def __init__(
        self, settings: ForumSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.base_url = settings.url.rstrip("/")
        self.http = PoliteClient(settings, transport=transport)
        self.warnings: list[str] = []  # rows skipped as malformed; the pipeline reports them
        # threads dated after this are refused; the pipeline may set max(clock, --now) + slack
        self.not_after: datetime | None = None

    async def aclose(self) -> None:
        await self.http.aclose()

    def _lists(self) -> list[list[tuple[str, str | int]]]:
        """The query of the first page of every thread list to read."""
        if not self.settings.categories:
            return [[("list", "all")]]
        queries: list[list[tuple[str, str | int]]] = []
        for ref in self.settings.categories:
            number = int_like(ref)
            if number is None:
                url = self.http.absolute(THREADS)
                problem = f"category {ref!r} is not a Misago category id"
                raise BadResponse(self.settings.forum_id, url, problem, CATEGORY_FIX)
            queries.append([("category", number), ("list", "all")])
        return queries

    async def list_topics(
        self, known: Mapping[str, str], since: datetime | None, *, exhaustive: bool = False
    ) -> AsyncIterator[TopicSummary]:
        """Yield threads with activity after `since`, each once, stopping at the first page with
        nothing new (every non-pinned thread known with an unchanged marker, or too old).

        With `exhaustive`, known and unchanged pages do not stop the walk, only too old ones,
        the last page or max_pages: marking a best answer changes a thread without a bump.
        """
        cutoff = list_cutoff(self.settings, since)
        seen: set[str] = set()
        for query in self._lists():
            async for summary in self._walk(query, known, cutoff, exhaustive):
                if summary.topic_id not in seen:
                    seen.add(summary.topic_id)
                    yield summary

    async def _walk(
        self,
        query: list[tuple[str, str | int]],
        known: Mapping[str, str],
        cutoff: datetime,
        exhaustive: bool,
    ) -> AsyncIterator[TopicSummary]:
        """Every fresh-enough row of one thread list, page after page, until nothing new."""
        start: int | None = 0
        for _ in range(max(1, self.settings.max_pages)):
            params = [*query, ("start", start)] if start else query
            data = await self.http.get_json(THREADS, params)
            where = Where(self.settings.forum_id, self.http.absolute(THREADS, params))
            rows = need(data, "results", list, where)
            summaries = self._summaries(rows, where)
            for summary in summaries:
                if summary.bumped_at is None or summary.bumped_at >= cutoff:
                    yield summary
            following = parse.next_cursor(data, where)
            if following is None or following == start:  # the last page (or a stuck cursor)
                return
            if all_too_old(summaries, cutoff):
                return
            if not exhaustive and all_known(summaries, known, cutoff):
                return
            start = following
        self.warnings.append(max_pages_reached(self.settings))

    def _summaries(self, rows: list[Any], where: Where) -> list[TopicSummary]:
        def read(row: Any) -> TopicSummary:
            return parse.summary_from_row(row, where)

        warnings = self.warnings
        return rows_as_summaries(rows, read, self.settings, where.url, warnings, "thread-list")

    async def fetch_topic(self, summary: TopicSummary) -> Topic:
        """Every page of /api/threads/{id}/posts/ (posts and events), mapped to the model.

        Anything wrong inside the thread's JSON is MalformedTopic, so the caller skips this
        thread only; HTTP, network and not-JSON failures stay as PoliteClient raised them
        (a 404 tells the pipeline that the thread is gone).
        """
        url = f"{THREADS}{summary.topic_id}/posts/"
        where = Where(self.settings.forum_id, self.http.absolute(url), summary.topic_id)
        first = parse.posts_page(await self.http.get_json(url), where)
        if first.pages > MAX_POST_PAGES:
            raise where.bad(f"{first.pages} pages of posts, over {MAX_POST_PAGES}")
        rest = await asyncio.gather(
            *(self.http.get_json(url, {"page": page}) for page in range(2, first.pages + 1))
        )
        posts = list(first.posts)
        for page in rest:
            posts += parse.posts_page(page, where).posts
        ctx = parse.TopicContext(self.base_url, summary)
        topic = parse.topic_from_json(first.thread, posts, ctx, where)
        check_topic(topic, latest_plausible(self.not_after))
        return topic

    async def group_members(self, group: str) -> frozenset[str]:
        """Usernames of one rank's members (a rank shown on the users page: /api/ranks/),
        paging /api/users/?rank=ID. Misago has no other public list of a group's members."""
        ranks_url = "/api/ranks/"
        where = Where(self.settings.forum_id, self.http.absolute(ranks_url))
        rank = parse.find_rank(await self._members_json(ranks_url, group), group, where)
        if rank is None:
            problem = f"no rank '{group}' among the ranks listed on the forum's users page"
            raise BadResponse(self.settings.forum_id, where.url, problem, RANK_FIX)
        members: set[str] = set()
        page: int | None = 1
        for _ in range(MAX_MEMBER_PAGES):
            if page is None:
                return frozenset(members)
            params = {"rank": rank, "page": page}
            data = await self._members_json("/api/users/", group, params)
            at = Where(where.forum_id, self.http.absolute("/api/users/", params))
            found = parse.users_page(data, at)
            members.update(found.usernames)
            page = found.next_page
        problem = f"rank '{group}' has over {len(members)} members: is it the right rank?"
        raise BadResponse(self.settings.forum_id, where.url, problem, RANK_FIX)

    async def _members_json(self, path: str, group: str, params: Params | None = None) -> Any:
        """GET for group_members; a refusal (the users list closed to guests) says what to do."""
        try:
            return await self.http.get_json(path, params)
        except BadResponse as exc:
            if exc.status not in (401, 403, 404):
                raise
            problem = f"rank '{group}' cannot be read (HTTP {exc.status})"
            raise BadResponse(exc.forum_id, exc.url, problem, RANK_FIX) from exc

"""Polling one forum: list its recently bumped topics, fetch the changed ones (a few at a time,
paced by the scraper's client) and store them as they arrive, so a crash keeps what was read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from forumwatch.config.models import ForumConfig
from forumwatch.cycle.results import ForumResult, Progress
from forumwatch.model import (
    Post,
    Topic,
    TopicKey,
)
from forumwatch.store import Store, StoreError
from scrapers.base import (
    BadResponse,
    ForumSettings,
    MalformedTopic,
    ScrapeError,
    Scraper,
    TopicSummary,
    scraper_for,
)
from scrapers.validate import FUTURE_SLACK

GONE_STATUSES = (404, 410)  # the topic was deleted (or hidden) on the forum


def settings_for(forum: ForumConfig) -> ForumSettings:
    headers = {}
    if forum.api_key:
        headers["Api-Key"] = forum.api_key
        headers["Api-Username"] = forum.api_username or "system"
    return ForumSettings(
        forum_id=forum.id,
        url=forum.url,
        categories=tuple(forum.categories),
        headers=headers,
        lookback_days=forum.lookback.total_seconds() / 86400,
        max_pages=forum.max_pages,
        requests_per_second=forum.requests_per_second,
        max_concurrency=forum.max_concurrency,
        timeout_seconds=forum.timeout.total_seconds(),
        max_retries=forum.max_retries,
        max_response_bytes=forum.max_response_size,
        options={"backoff_base": forum.retry_backoff.total_seconds()},
        language=forum.language,
        timezone=forum.timezone,
        encoding=forum.encoding,
        respect_robots=forum.respect_robots,
        profile=forum.profile if isinstance(forum.profile, dict) else {},
    )


SAVE_EVERY = 100  # fetched topics stored per transaction: memory holds no more than these


class TopicSink:
    """Stores fetched topics as they arrive, SAVE_EVERY per transaction, so a poll of a big
    forum never holds it in memory and a crash keeps what was fetched before it."""

    def __init__(self, store: Store | None) -> None:
        self.store = store
        self.pending: list[tuple[Topic, str]] = []  # (topic, change marker)
        self.changed = 0

    def add(self, topic: Topic, marker: str) -> None:
        self.pending.append((topic, marker))
        if len(self.pending) >= SAVE_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.store is None or not self.pending:
            return
        with self.store.transaction():
            self.changed += sum(self.store.save_topic(t, m) for t, m in self.pending)
        self.pending.clear()


@dataclass
class Scraped:
    """What one poll of one forum brought back (its topics went to `sink` as they came)."""

    result: ForumResult
    sink: TopicSink = field(default_factory=lambda: TopicSink(None))
    gone: list[str] = field(default_factory=list)  # topic ids the forum answers 404/410 for
    members: dict[str, frozenset[str]] = field(default_factory=dict)  # looked-up groups only
    # URL → [ETag, Last-Modified] of list pages (HTML engines), for the next run's requests
    page_validators: dict[str, list[str | None]] | None = None
    category_slugs: dict[int, str] | None = None  # as the scraper last read them (Discourse)


async def scrape_forum(
    forum: ForumConfig,
    known: Mapping[str, str],
    now: datetime,
    progress: Progress,
    *,
    exhaustive: bool = False,
    time_limit: float | None = None,
    watched: Mapping[str, str] | None = None,
    page_validators: dict[str, list[str | None]] | None = None,
    category_slugs: dict[int, str] | None = None,
    sink: TopicSink | None = None,
    known_posts: Callable[[str], Mapping[str, Post]] | None = None,
) -> Scraped:
    """List the forum's recently bumped topics and fetch those whose marker changed.

    An exhaustive poll reads the whole list (within lookback), refreshes group members and
    fetches each `watched` topic (one with an open finding) that the list no longer shows, to
    learn whether it was deleted.
    On a scrape error, or when `time_limit` seconds run out, keeps the topics fetched completely
    before it, and the error.
    """
    scraped = Scraped(ForumResult(forum.id), sink or TopicSink(None))
    scraper = scraper_for(forum.engine, settings_for(forum))
    if hasattr(scraper, "not_after"):  # dates past the (simulated) clock mean broken data
        scraper.not_after = max(datetime.now(UTC), now) + FUTURE_SLACK
    if hasattr(scraper, "page_validators"):  # conditional requests for unchanged list pages
        scraper.page_validators = dict(page_validators or {})
        scraped.page_validators = scraper.page_validators
    if hasattr(scraper, "known_posts"):  # a long topic's posts read before are not fetched again
        scraper.known_posts = known_posts
    if hasattr(scraper, "category_cache") and not exhaustive:  # a full scan reads them afresh
        scraper.category_cache = category_slugs
    try:
        async with asyncio.timeout(time_limit):
            await _poll(scraper, forum, known, now, progress, scraped, exhaustive, watched or {})
    except ScrapeError as err:
        scraped.result.error = str(err)
    except TimeoutError:
        scraped.result.error = (
            f"forum '{forum.id}': the run reached max_run_time while polling it; the topics "
            "read so far are kept and the rest are read next run (raise max_run_time if this "
            "forum is simply large)"
        )
    except StoreError:
        raise  # the database failed storing a topic: the run stops with its one-line reason
    except Exception as err:  # one forum's surprise must not stop the other forums
        scraped.result.error = (
            f"forum '{forum.id}': unexpected {type(err).__name__}: {err}; "
            "this is a forumwatch bug, please report it with this line"
        )
    finally:
        scraped.result.warnings += getattr(scraper, "warnings", [])
        scraped.category_slugs = getattr(scraper, "category_cache", None)
        await scraper.aclose()
    return scraped


async def _poll(
    scraper: Scraper,
    forum: ForumConfig,
    known: Mapping[str, str],
    now: datetime,
    progress: Progress,
    scraped: Scraped,
    exhaustive: bool,
    watched: Mapping[str, str],
) -> None:
    """The poll itself: group members (exhaustive only), the list, then each changed topic."""
    result = scraped.result
    if exhaustive:
        for group in sorted(forum.member_groups()):
            scraped.members[group] = await scraper.group_members(group)
    changed: list[TopicSummary] = []
    listed: set[str] = set()
    listing = scraper.list_topics(known, now - forum.lookback, exhaustive=exhaustive)
    async for summary in listing:
        result.topics_listed += 1
        listed.add(summary.topic_id)
        progress(forum.id, "listing", result.topics_listed, None)
        if known.get(summary.topic_id) != summary.marker:
            changed.append(summary)
    if exhaustive:  # a watched topic missing from the whole list may have been deleted
        changed += [
            TopicSummary(i, known.get(i, ""), extra={"url": watched[i]})
            for i in sorted(watched.keys() - listed)
        ]
    await _fetch_all(scraper, forum, changed, scraped, progress)


async def _fetch_all(
    scraper: Scraper,
    forum: ForumConfig,
    changed: list[TopicSummary],
    scraped: Scraped,
    progress: Progress,
) -> None:
    """Fetch the changed topics, up to the forum's `max_concurrency` at a time (the scraper's
    HTTP client still paces every request), each stored as it arrives. The first error stops
    the others; the topics fetched before it are kept."""
    result = scraped.result
    queue = iter(changed)  # shared: each worker takes the next topic in list order

    async def worker() -> None:
        for summary in queue:
            topic = await _fetch(scraper, summary, scraped)
            if topic is not None:
                scraped.sink.add(topic, summary.marker)
                result.topics_fetched += 1
            progress(forum.id, "fetching", result.topics_fetched, len(changed))

    workers = [asyncio.ensure_future(worker()) for _ in range(max(1, forum.max_concurrency))]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


async def _fetch(scraper: Scraper, summary: TopicSummary, scraped: Scraped) -> Topic | None:
    """One topic, or None when it is gone (noted) or malformed (warned; fetched again next run)."""
    try:
        return await scraper.fetch_topic(summary)
    except MalformedTopic as err:
        scraped.result.warnings.append(
            f"{err}; this topic is skipped (its stored version and findings are kept) "
            "and read again next run"
        )
    except BadResponse as err:
        if err.status not in GONE_STATUSES:
            raise
        scraped.result.topics_gone += 1
        scraped.gone.append(summary.topic_id)
    return None


def stored_posts(store: Store, forum_id: str, topic_id: str) -> dict[str, Post]:
    return store.reusable_posts(TopicKey(forum_id, topic_id))


def watched_topics(store: Store, forum: ForumConfig, now: datetime) -> dict[str, str]:
    """Topics with an open finding, active within lookback, with their URLs: the full scan must
    see each one (an HTML forum's topic is fetched by its URL)."""
    cutoff = now - forum.lookback
    watched = [
        topic_id
        for topic_id, last_activity in store.open_finding_topics(forum.id).items()
        if last_activity is None or last_activity >= cutoff
    ]
    return store.topic_urls(forum.id, watched)

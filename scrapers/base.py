"""What every forum engine provides, the errors it raises, and the registry of engines."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol

from forumwatch.model import Topic

# A post's text is kept as an excerpt of this many characters: messages quote the customer's
# question (a few hundred characters) and the repost rule looks for a link in the opening post;
# nothing reads further, so no engine extracts or stores more (see scrapers.text).
EXCERPT_CHARS = 1000


class ScrapeError(Exception):
    """A forum could not be read; the message names the forum, the URL and what to do."""

    def __init__(
        self, forum_id: str, url: str, problem: str, fix: str = "", *, status: int | None = None
    ) -> None:
        self.forum_id = forum_id
        self.url = url
        self.problem = problem
        self.fix = fix
        self.status = status  # the HTTP status behind the error, when there was one
        text = f"forum '{forum_id}': {problem} ({url})"
        super().__init__(f"{text}; {fix}" if fix else text)


class ForumUnavailable(ScrapeError):
    """Network error, timeout, 5xx or rate limit that outlasted our retries."""


class BadResponse(ScrapeError):
    """The forum answered, but not with what its API promises (malformed or truncated JSON, 4xx)."""


class MalformedTopic(BadResponse):
    """One topic (or list row) holds a field that cannot be trusted: it is skipped with a warning
    and fetched again next run, while the rest of the forum is still watched."""


class LayoutChanged(ScrapeError):
    """An HTML page no longer matches its selector profile."""


@dataclass(frozen=True)
class TopicSummary:
    """One row of a forum's topic list: enough to decide whether the topic changed."""

    topic_id: str
    marker: str  # opaque change detector; equal markers mean nothing to re-fetch
    bumped_at: datetime | None = None
    pinned: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class ForumSettings:
    """What a scraper needs to know of its forum's config, free of the config module."""

    forum_id: str
    url: str
    categories: tuple[str, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)  # e.g. Api-Key / Api-Username
    lookback_days: float = 90.0  # topics not bumped for longer are not listed
    max_pages: int = 50  # a safety net against endless paging
    requests_per_second: float = 1.0
    max_concurrency: int = 2
    timeout_seconds: float = 20.0
    max_retries: int = 3
    max_response_bytes: int = 8 * 1024 * 1024  # after decompression; larger bodies are refused
    options: dict[str, Any] = field(default_factory=dict)  # engine-specific extras
    language: str = "en"  # the forum's language: how its dates are written (uk, ru, en, ...)
    timezone: str = "Europe/Kyiv"  # the zone its pages' dates are written in
    encoding: str | None = None  # forced page encoding; None: header, <meta>, then detection
    respect_robots: bool = True  # honour robots.txt (HTML engines)
    profile: dict[str, Any] = field(default_factory=dict)  # a selector profile (engine: html)


class Scraper(Protocol):
    """A forum engine: lists topics (newest activity first) and fetches one topic in full."""

    engine: ClassVar[str]

    def list_topics(
        self, known: Mapping[str, str], since: datetime | None, *, exhaustive: bool = False
    ) -> AsyncIterator[TopicSummary]:
        """Yield topics bumped after `since`; may stop early once a page brings nothing new.

        `known` maps topic ids to the markers stored at the last poll. `exhaustive` forbids that
        early stop (closing or solving a topic does not bump it, so it may sit further down):
        paging then ends only at the last page, at `max_pages`, or at topics older than `since`.
        """
        ...

    async def group_members(self, group: str) -> frozenset[str]:
        """Usernames of every member (owners included) of one forum group."""
        ...

    async def fetch_topic(self, summary: TopicSummary) -> Topic:
        """The whole topic, every post included."""
        ...

    async def aclose(self) -> None: ...


def list_cutoff(settings: ForumSettings, since: datetime | None) -> datetime:
    """Topics last active before this are not listed: `since` when the caller gives it (its
    clock decides: `--now` must work everywhere), else the forum's lookback from now."""
    if since is not None:
        return since
    return datetime.now(UTC) - timedelta(days=settings.lookback_days)


def rows_as_summaries(
    rows: list[Any],
    parse_row: Callable[[Any], TopicSummary],
    settings: ForumSettings,
    where: str,
    warnings: list[str],
    noun: str = "topic-list",
) -> list[TopicSummary]:
    """A list page's rows as summaries; a malformed row is skipped with a warning, not the
    page (`where` is the page's URL)."""
    summaries = []
    for number, row in enumerate(rows, 1):
        try:
            summaries.append(parse_row(row))
        except BadResponse as err:
            warnings.append(
                f"forum '{settings.forum_id}': {noun} row {number} of {where} "
                f"skipped: {err.problem}; the rest of the list is read"
            )
    return summaries


def max_pages_reached(settings: ForumSettings) -> str:
    """The warning when a topic list goes on past `max_pages`: never a silent cap."""
    return (
        f"forum '{settings.forum_id}': its topic list goes on past max_pages "
        f"({settings.max_pages} pages), so older topics were not read; raise max_pages"
    )


def too_old(summary: TopicSummary, cutoff: datetime) -> bool:
    return summary.bumped_at is not None and summary.bumped_at < cutoff


def all_too_old(summaries: list[TopicSummary], cutoff: datetime) -> bool:
    """True when every non-pinned topic of a page was bumped before the cutoff."""
    regular = [s for s in summaries if not s.pinned]
    # only pinned topics (or none): the next page decides
    return bool(regular) and all(too_old(s, cutoff) for s in regular)


def all_known(summaries: list[TopicSummary], known: Mapping[str, str], cutoff: datetime) -> bool:
    """True when a page's non-pinned topics are each too old or known with an unchanged marker."""
    regular = [s for s in summaries if not s.pinned]
    return bool(regular) and all(
        too_old(s, cutoff) or known.get(s.topic_id) == s.marker for s in regular
    )


ScraperFactory = Callable[[ForumSettings], Scraper]
# engine name → the module that registers it, imported only when a forum uses the engine
ENGINE_MODULES = {
    "discourse": "scrapers.discourse",
    "html": "scrapers.html",
    "misago": "scrapers.misago",
}
_ENGINES: dict[str, ScraperFactory] = {}


def register(engine: str) -> Callable[[ScraperFactory], ScraperFactory]:
    """Class decorator: make a scraper available under its config `engine:` name."""

    def wrap(factory: ScraperFactory) -> ScraperFactory:
        _ENGINES[engine] = factory
        return factory

    return wrap


def engine_names() -> list[str]:
    """The `engine:` names a config may use (nothing is imported to list them)."""
    return sorted(ENGINE_MODULES)


def scraper_for(engine: str, settings: ForumSettings) -> Scraper:
    if engine not in ENGINE_MODULES:
        raise KeyError(engine)
    importlib.import_module(ENGINE_MODULES[engine])  # the engine registers itself on import
    return _ENGINES[engine](settings)

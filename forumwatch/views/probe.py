"""`check-config --probe`: read one list page and one topic of each forum and show what the
scraper made of them, so an admin can write or fix a profile in minutes."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from forumwatch.config.models import ForumConfig
from forumwatch.cycle.poll import settings_for
from forumwatch.model import PostKind, Topic
from forumwatch.roles import responders_for
from scrapers.base import ScrapeError, TopicSummary, scraper_for

LISTED = 10  # list rows shown; the probe never pages past what it needs
ENDS = 3  # a long topic shows its first and last posts this many each, and what lies between


@dataclass
class Probe:
    forum: ForumConfig
    listed: list[TopicSummary] = field(default_factory=list)
    topic: Topic | None = None
    error: str | None = None


async def probe_forum(forum: ForumConfig) -> Probe:
    """The first rows of the forum's topic list and its first non-pinned topic, fetched whole."""
    probe = Probe(forum)
    scraper = scraper_for(forum.engine, settings_for(forum))
    try:
        listing = scraper.list_topics({}, None)
        async for summary in listing:
            probe.listed.append(summary)
            if len(probe.listed) >= LISTED:
                break
        await listing.aclose()  # type: ignore[attr-defined]
        first = next((s for s in probe.listed if not s.pinned), None) or next(
            iter(probe.listed), None
        )
        if first is not None:
            probe.topic = await scraper.fetch_topic(first)
    except ScrapeError as err:
        probe.error = str(err)
    finally:
        await scraper.aclose()
    return probe


def show_probe(probe: Probe, out: Console) -> None:
    """The probe as two tables: the list rows, then the topic's posts with parsed dates."""
    forum = probe.forum
    listed = Table(title=f"{forum.id}: topic list ({len(probe.listed)} rows read)")
    zone = ZoneInfo(forum.timezone)
    for column in ("id", "title", f"last activity ({forum.timezone})", "url"):
        listed.add_column(column, overflow="fold")
    for row in probe.listed:  # the change marker is the scraper's own business: not shown
        when = f"{row.bumped_at.astimezone(zone):%Y-%m-%d %H:%M}" if row.bumped_at else "-"
        title = str(row.extra.get("title", "")) + (" 📌" if row.pinned else "")
        cells = (row.topic_id, title, when, str(row.extra.get("url", "")))
        listed.add_row(*map(escape, cells))
    out.print(listed)
    if probe.topic is not None:
        out.print(_topic_table(forum, probe.topic))
    if probe.error is not None:
        out.print(f"[red]{escape(probe.error)}[/red]")


def _topic_table(forum: ForumConfig, topic: Topic) -> Table:
    zone = ZoneInfo(forum.timezone)
    responders = responders_for(forum, topic)
    table = Table(
        title=escape(
            f"{topic.title!r} ({topic.state}, category {topic.category or '-'}) {topic.url}"
        )
    )
    for column in ("#", "author", "forum roles", "role here", f"date ({forum.timezone})", "kind"):
        table.add_column(column)
    table.add_column("text", overflow="fold", max_width=50)
    posts = list(topic.posts)
    shown = posts if len(posts) <= 2 * ENDS + 1 else [*posts[:ENDS], None, *posts[-ENDS:]]
    for post in shown:
        if post is None:  # the middle of a long topic: what a profile author needs is the ends
            table.add_row("…", f"{len(posts) - 2 * ENDS} more posts", "", "", "", "", "")
            continue
        role = responders.role_of(post.author, topic)
        cells = (
            str(post.number),
            post.author.username,
            ", ".join(sorted(post.author.forum_roles)) or "-",
            role.value,
            f"{post.created_at.astimezone(zone):%Y-%m-%d %H:%M}",
            "opening post" if post.number == 1 and post.kind is PostKind.REPLY else post.kind.value,
            post.body_text[:120],
        )
        table.add_row(*map(escape, cells))
    return table

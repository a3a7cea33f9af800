"""Checks on a parsed topic that no single field shows: dates that cannot be true, posts twice.

A topic that fails is skipped with a warning (MalformedTopic) rather than judged: a post dated
2999 would sit "in the future" and silently keep a finding from ever opening.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from forumwatch.model import Topic
from scrapers.base import MalformedTopic

EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)  # before any forum engine we read existed
FUTURE_SLACK = timedelta(days=1)  # server clocks and time zones may be off, never by a day
FIX = "the topic is skipped (its stored version kept) until the forum sends sane dates"


def latest_plausible(not_after: datetime | None) -> datetime:
    """The latest plausible date of a post: tomorrow, or later when the pipeline says so (a
    scraper's `not_after`, set from a `--now` ahead of the clock)."""
    tomorrow = datetime.now(UTC) + FUTURE_SLACK
    return max(tomorrow, not_after) if not_after is not None else tomorrow


def check_topic(topic: Topic, not_after: datetime) -> None:
    """Raise MalformedTopic when a date is before 1995 or after `not_after`, or a post number
    repeats."""
    dated = [("the topic", topic.created_at)] + [
        (f"post {p.number}", p.created_at) for p in topic.posts
    ]
    for what, moment in dated:
        if moment < EARLIEST or moment > not_after:
            problem = (
                f"topic {topic.id}: {what} is dated {moment:%Y-%m-%d %H:%M} UTC, which cannot be"
            )
            raise MalformedTopic(topic.forum_id, topic.url, problem, FIX)
    numbers = [p.number for p in topic.posts]
    if len(numbers) != len(set(numbers)):
        repeated = sorted({n for n in numbers if numbers.count(n) > 1})
        problem = f"topic {topic.id}: post numbers {repeated} appear twice"
        raise MalformedTopic(topic.forum_id, topic.url, problem, FIX)

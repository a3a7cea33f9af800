"""Scraper health for the admins: told once when a forum starts failing, reminded at growing
intervals while it stays broken, told when it recovers; never once per run, never to anyone else.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta

from rules.clock import wait_text

FIRST_REMINDER = timedelta(hours=1)  # then 2 h, 4 h, ... up to a day
LONGEST_REMINDER = timedelta(days=1)


@dataclass(frozen=True)
class ForumHealth:
    failing_since: datetime | None = None
    told_at: datetime | None = None  # the last notice to the admins about this failure
    times_told: int = 0


def next_health(
    forum_id: str, health: ForumHealth, error: str | None, now: datetime
) -> tuple[ForumHealth, str | None]:
    """The forum's health after a poll that ended with `error` (None: fine), and the HTML notice
    the admins get now, if any."""
    name = html.escape(forum_id)
    if error is None:
        if health.failing_since is None or not health.times_told:
            return ForumHealth(), None
        failed_for = wait_text(now - health.failing_since)
        return (
            ForumHealth(),
            f"✅ Forum <b>{name}</b> is polled again (it failed for {failed_for}).",
        )
    problem = html.escape(error)
    if health.failing_since is None or health.told_at is None:
        return ForumHealth(now, now, 1), f"⚠️ Forum <b>{name}</b> cannot be polled:\n{problem}"
    wait = min(FIRST_REMINDER * 2 ** (health.times_told - 1), LONGEST_REMINDER)
    if now - health.told_at < wait:
        return health, None
    since = wait_text(now - health.failing_since)
    text = f"⚠️ Forum <b>{name}</b> still cannot be polled, for {since} now:\n{problem}"
    return ForumHealth(health.failing_since, now, health.times_told + 1), text

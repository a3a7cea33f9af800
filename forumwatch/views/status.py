"""`forumwatch status`: is everything well? Per forum its last good poll and open topics, the
outbox's undelivered messages and the bot's chats, the last run; one verdict for scripts and
monitors (healthy or not), read from the store without writing to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from forumwatch.config.models import Config
from forumwatch.store import Store
from forumwatch.views.freshness import WINDOW, stale_line
from rules.clock import wait_text

# an undelivered message older than this many poll intervals means delivery is stuck
STUCK_AFTER_POLLS = 2


@dataclass
class Status:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # empty: all is well

    @property
    def healthy(self) -> bool:
        return not self.problems


def status(store: Store, config: Config, now: datetime) -> Status:
    found = Status()
    last = store.last_run()
    if last is None:
        found.problems.append("no run stored yet: start `forumwatch run` from cron, or the daemon")
    else:
        moment, outcome = last
        found.lines.append(f"last run: {moment:%Y-%m-%d %H:%M} UTC, {_ago(now, moment)}, {outcome}")
    for forum in config.forums:
        interval = forum.poll or config.poll_every
        record = store.poll_record(forum.id, now - WINDOW)
        stale = stale_line(forum.id, record, interval, now) if last is not None else None
        read = (
            f"last good poll {record.last_ok:%Y-%m-%d %H:%M} UTC ({_ago(now, record.last_ok)})"
            if record.last_ok
            else "no good poll in the last 30 days"
        )
        topics = store.ignored_topic_count(forum.id)
        found.lines.append(f"{forum.id}: {read}; {topics} open ignored topic(s)")
        if stale:
            found.problems.append(stale)
    stuck_after = STUCK_AFTER_POLLS * config.poll_every
    for waiting in store.waiting():
        age = f", oldest queued {_ago(now, waiting.oldest)}" if waiting.oldest else ""
        error = f"; last error: {waiting.last_error}" if waiting.last_error else ""
        found.lines.append(f"outbox {waiting.channel}: {waiting.count} undelivered{age}{error}")
        if waiting.oldest is not None and now - waiting.oldest > stuck_after:
            found.problems.append(
                f"{waiting.count} {waiting.channel} message(s) undelivered for "
                f"{wait_text(now - waiting.oldest)}{error}"
            )
    if not any(line.startswith("outbox") for line in found.lines):
        found.lines.append("outbox: every message delivered")
    if config.telegram is not None:
        found.lines.append(f"telegram: {store.active_chat_count()} chat(s) connected")
    return found


def _ago(now: datetime, moment: datetime) -> str:
    return "just now" if now - moment < timedelta(minutes=1) else f"{wait_text(now - moment)} ago"

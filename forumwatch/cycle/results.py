"""What one cycle did, forum by forum: the report the CLI prints and the runs table keeps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from forumwatch.config.models import Config, ForumConfig
from forumwatch.model import (
    Change,
    OutboxMessage,
    TopicKey,
    Transition,
)

# progress(forum_id, what, done, total): what is "listing" or "fetching"
Progress = Callable[[str, str, int, int | None], None]


def no_progress(forum_id: str, what: str, done: int, total: int | None) -> None:
    return None


@dataclass
class ForumResult:
    forum_id: str
    topics_listed: int = 0
    topics_fetched: int = 0
    topics_changed: int = 0
    topics_gone: int = 0
    topics_judged: int = 0  # the rules ran over these: changed, due, or their authors' others
    error: str | None = None
    skipped: bool = False  # not polled at all: the run had reached max_run_time
    warnings: list[str] = field(default_factory=list)  # e.g. one malformed topic, skipped
    grouped: frozenset[TopicKey] = frozenset()  # topics of an open burst: told with the burst


@dataclass
class CycleReport:
    now: datetime
    dry_run: bool
    dry_run_reason: str = "nothing was stored or sent; the database is unchanged"  # see why_dry_run
    forums: list[ForumResult] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    messages_sent: int = 0
    delivery_errors: list[str] = field(default_factory=list)
    delivery_notes: list[str] = field(default_factory=list)  # e.g. a chat that blocked the bot
    would_send: dict[int, OutboxMessage] = field(default_factory=dict)  # dry runs: by outbox id

    @property
    def eventful(self) -> bool:
        """Whether anything happened that cron should mail: a change, a message, a problem."""
        return bool(
            self.dry_run
            or any(t.notifies for t in self.transitions)
            or self.messages_sent
            or self.delivery_errors
            or self.delivery_notes
            or any(f.error or f.warnings for f in self.forums)
        )

    def count(self, change: Change) -> int:
        return sum(1 for t in self.transitions if t.change is change)

    @property
    def exit_code(self) -> int:
        """0 all fine, 1 some forum or notifier failed (the others still ran)."""
        failed = any(f.error for f in self.forums) or self.delivery_errors
        return 1 if failed else 0


def skipped(forum: ForumConfig, config: Config, stopping: bool = False) -> ForumResult:
    if stopping:
        error = f"forum '{forum.id}': skipped, forumwatch is stopping; it is polled next start"
        return ForumResult(forum.id, error=error, skipped=True)
    error = (
        f"forum '{forum.id}': skipped, the run reached max_run_time "
        f"({config.max_run_time}) before this forum; it is polled next run"
    )
    return ForumResult(forum.id, error=error, skipped=True)


def summary(report: CycleReport) -> dict[str, object]:
    return {
        "forums": len(report.forums),
        "polled_forums": [f.forum_id for f in report.forums if not f.skipped],
        "failed_forums": [f.forum_id for f in report.forums if f.error and not f.skipped],
        "skipped_forums": [f.forum_id for f in report.forums if f.skipped],
        "topics_listed": sum(f.topics_listed for f in report.forums),
        "topics_fetched": sum(f.topics_fetched for f in report.forums),
        "opened": report.count(Change.OPENED),
        "escalated": report.count(Change.ESCALATED),
        "resolved": report.count(Change.RESOLVED),
        "messages_sent": report.messages_sent,
    }

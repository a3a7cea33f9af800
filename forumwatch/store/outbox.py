"""The store's outbox: every notification, one row per (finding episode, stage, channel,
recipient), queued in the transaction of the change that caused it and marked sent as it goes out.

Part of `Store` (mixed in).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from forumwatch.model import OutboxMessage, Stage, StoredFinding, TopicKey
from forumwatch.store.db import Database, _translating
from forumwatch.store.rows import iso, parse_iso


@dataclass(frozen=True)
class Waiting:
    """A channel's messages not delivered yet (see `OutboxMixin.waiting`)."""

    channel: str
    count: int
    oldest: datetime | None  # when the oldest of them was queued
    last_error: str | None  # the latest delivery error among them


class OutboxMixin(Database):
    # --- outbox -------------------------------------------------------------------------------

    @_translating
    def enqueue(
        self,
        stored: StoredFinding,
        stage: Stage,
        channel: str,
        recipient: str,
        message: str,
        now: datetime,
    ) -> None:
        """One outbox row per (finding episode, stage, recipient); a second enqueue is a no-op."""
        f = stored.finding
        self._enqueue_row(
            (f.key.forum_id, f.key.topic_id, f.rule, stored.episode, stage.value),
            channel,
            recipient,
            message,
            now,
        )

    @_translating
    def enqueue_extra(
        self,
        stored: StoredFinding,
        kind: str,
        channel: str,
        recipient: str,
        message: str,
        now: datetime,
    ) -> None:
        """A message about a finding beside its transitions (a reminder, a heads-up): unique per
        (finding episode, `kind`, recipient); `told` does not count it."""
        f = stored.finding
        about = (f.key.forum_id, f.key.topic_id, kind, stored.episode, Stage.DUE.value)
        self._enqueue_row(about, channel, recipient, message, now)

    @_translating
    def has_outbox_row(self, stored: StoredFinding, kind: str) -> bool:
        f = stored.finding
        row = self._row(
            "SELECT 1 AS found FROM outbox WHERE forum_id = ? AND topic_id = ? AND rule = ? "
            "AND episode = ? LIMIT 1",
            f.key.forum_id,
            f.key.topic_id,
            kind,
            stored.episode,
        )
        return row is not None

    @_translating
    def enqueue_note(
        self, forum_id: str, kind: str, channel: str, recipient: str, message: str, now: datetime
    ) -> None:
        """A message about a forum rather than one finding (e.g. "37 topics already ignored");
        one per (forum, kind, recipient), ever."""
        self._enqueue_row(
            (forum_id, "", kind, 1, Stage.DUE.value), channel, recipient, message, now
        )

    def _enqueue_row(
        self,
        about: tuple[str, str, str, int, str],  # forum, topic, rule, episode, stage
        channel: str,
        recipient: str,
        message: str,
        now: datetime,
    ) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO outbox (forum_id, topic_id, rule, episode, stage, channel, "
            "recipient, message, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [*about, channel, recipient, message, iso(now)],
        )

    @_translating
    def told(self, stored: StoredFinding) -> list[tuple[str, str]]:
        """(channel, recipient) pairs already told about this finding episode."""
        f = stored.finding
        rows = self.db.query(
            "SELECT DISTINCT channel, recipient FROM outbox WHERE forum_id = ? AND topic_id = ? "
            "AND rule = ? AND episode = ? AND stage != 'resolved' ORDER BY channel, recipient",
            [f.key.forum_id, f.key.topic_id, f.rule, stored.episode],
        )
        return [(r["channel"], r["recipient"]) for r in rows]

    @_translating
    def waiting(self) -> list[Waiting]:
        """Undelivered messages per channel (outbox_pending index); the never-sent rows that
        mark held alerts are left out."""
        rows = self.db.query(
            "SELECT channel, count(*) AS n, min(created_at) AS oldest, "
            "(SELECT last_error FROM outbox e WHERE e.sent_at IS NULL AND e.channel = o.channel "
            " AND e.last_error IS NOT NULL ORDER BY e.id DESC LIMIT 1) AS error "
            "FROM outbox o WHERE sent_at IS NULL AND channel != 'held' "
            "GROUP BY channel ORDER BY channel"
        )
        return [Waiting(r["channel"], r["n"], parse_iso(r["oldest"]), r["error"]) for r in rows]

    @_translating
    def pending(self, channel: str) -> list[OutboxMessage]:
        rows = self.db.query(
            "SELECT * FROM outbox WHERE sent_at IS NULL AND channel = ? ORDER BY id", [channel]
        )
        return [
            OutboxMessage(
                r["id"],
                TopicKey(r["forum_id"], r["topic_id"]),
                r["rule"],
                Stage(r["stage"]),
                r["channel"],
                r["recipient"],
                r["message"],
            )
            for r in rows
        ]

    @_translating
    def mark_sent(self, message_id: int, now: datetime, ref: str | None = None) -> None:
        """The message went out (`ref`: the channel's id for it, e.g. Telegram's message_id)."""
        self.db.execute(
            "UPDATE outbox SET sent_at = ?, sent_ref = ?, attempts = attempts + 1 WHERE id = ?",
            [iso(now), ref, message_id],
        )
        self.db.conn.commit()

    @_translating
    def topic_notifications(self, key: TopicKey) -> list[dict[str, Any]]:
        """What was queued and sent about the topic: rule, episode, stage, channel, recipient,
        created_at, sent_at, last_error (through the outbox's unique index)."""
        return list(
            self.db.query(
                "SELECT rule, episode, stage, channel, recipient, created_at, sent_at, "
                "last_error FROM outbox WHERE forum_id = ? AND topic_id = ? ORDER BY id",
                [key.forum_id, key.topic_id],
            )
        )

    # --- alerts that are held -----------------------------------------------------------------

    def hold(self, stored: StoredFinding, reason: str, now: datetime) -> None:
        """Mark the finding's episode as held by the storm guard: an outbox row on the `held`
        channel, never sent, so every later stage knows nobody was told (and tells nobody)."""
        f = stored.finding
        self.db.execute(
            "INSERT OR IGNORE INTO outbox (forum_id, topic_id, rule, episode, stage, channel, "
            "recipient, message, created_at, sent_at, last_error) "
            "VALUES (?, ?, ?, ?, ?, 'held', '', ?, ?, 'never', 'held by the storm guard')",
            [
                f.key.forum_id,
                f.key.topic_id,
                f.rule,
                stored.episode,
                f.stage.value,
                reason,
                iso(now),
            ],
        )

    def is_held(self, stored: StoredFinding) -> bool:
        f = stored.finding
        row = self.db.execute(
            "SELECT 1 FROM outbox WHERE forum_id = ? AND topic_id = ? AND rule = ? "
            "AND episode = ? AND channel = 'held' LIMIT 1",
            [f.key.forum_id, f.key.topic_id, f.rule, stored.episode],
        ).fetchone()
        return row is not None

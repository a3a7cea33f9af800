"""The store's findings (the latest episode of each, with its stage and times) and the credits
ledger.

Part of `Store` (mixed in). The outbox rows a finding caused are in `outbox.py`, the streamed
listings of open findings in `listings.py`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from forumwatch.model import Credit, StoredFinding, TopicKey, TopicState
from forumwatch.store.db import Database, _translating, chunks, marks
from forumwatch.store.rows import finding_row, iso, parse_iso, stored_finding_from_row


class FindingsMixin(Database):
    # --- findings -----------------------------------------------------------------------------

    @_translating
    def open_finding_topics(self, forum_id: str) -> dict[str, datetime | None]:
        """Topic id → last activity of the open topics that have an unresolved finding.

        Uses the `findings_open` index and reads two columns, however many topics are stored.
        """
        rows = self.db.query(
            "SELECT DISTINCT t.topic_id, t.last_activity_at FROM findings f "
            "JOIN topics t USING (forum_id, topic_id) "
            "WHERE f.forum_id = ? AND f.resolved_at IS NULL AND t.state = ?",
            [forum_id, TopicState.OPEN.value],
        )
        return {r["topic_id"]: parse_iso(r["last_activity_at"]) for r in rows}

    @_translating
    def topic_findings(self, key: TopicKey) -> list[StoredFinding]:
        """The topic's stored findings (open and resolved), by the primary key's prefix."""
        rows = self.db.query(
            "SELECT * FROM findings WHERE forum_id = ? AND topic_id = ? ORDER BY opened_at",
            [key.forum_id, key.topic_id],
        )
        return [stored_finding_from_row(r) for r in rows]

    @_translating
    def findings(self, forum_id: str | None = None) -> dict[tuple[TopicKey, str], StoredFinding]:
        """Every stored finding (open and resolved), by (topic key, rule)."""
        sql, params = "SELECT * FROM findings", []
        if forum_id is not None:
            sql, params = sql + " WHERE forum_id = ?", [forum_id]
        found = (stored_finding_from_row(r) for r in self.db.query(sql, params))
        return {(s.finding.key, s.finding.rule): s for s in found}

    @_translating
    def rename_finding(self, key: TopicKey, old_rule: str, stored: StoredFinding) -> None:
        """Move a finding episode (and who was told of it) from `old_rule` to its successor's
        rule, so the successor resolves to the same people; see escalation.CONTINUES."""
        new_rule, episode = stored.finding.rule, stored.episode
        where = "WHERE forum_id = ? AND topic_id = ? AND rule = ?"
        self.db.execute(
            f"DELETE FROM findings {where}", [key.forum_id, key.topic_id, new_rule]
        )  # a long-resolved episode of the new rule: its outbox rows keep the history
        self.db.execute(
            f"UPDATE findings SET rule = ? {where}",
            [new_rule, key.forum_id, key.topic_id, old_rule],
        )
        self.db.execute(
            f"UPDATE OR IGNORE outbox SET rule = ? {where} AND episode = ?",
            [new_rule, key.forum_id, key.topic_id, old_rule, episode],
        )

    @_translating
    def findings_between(
        self, forum_id: str, column: str, start: datetime, end: datetime
    ) -> list[StoredFinding]:
        """Findings whose `column` (resolved_at, escalated_at, first_seen_at) is in [start, end)."""
        if column not in ("resolved_at", "escalated_at", "first_seen_at"):
            raise ValueError(column)
        rows = self.db.query(
            f"SELECT * FROM findings WHERE forum_id = ? AND {column} >= ? AND {column} < ? "
            f"ORDER BY {column}",
            [forum_id, iso(start), iso(end)],
        )
        return [stored_finding_from_row(r) for r in rows]

    @_translating
    def ignored_topics_counts_at(self, forum_id: str, moments: Sequence[datetime]) -> list[int]:
        """How many topics forumwatch held ignored at each of `moments`: topics with a finding
        seen by then and not yet resolved (a topic with two findings is one topic; a burst only
        groups topics that have their own). One pass over the findings seen by the last moment
        and open at the first."""
        if not moments:
            return []
        marks = sorted({iso(m) or "" for m in moments})  # ISO texts in UTC sort as moments do
        rows = self.db.execute(
            "SELECT topic_id, first_seen_at, resolved_at FROM findings WHERE forum_id = ? "
            "AND rule != 'burst' AND first_seen_at <= ? "
            "AND (resolved_at IS NULL OR resolved_at > ?)",
            [forum_id, marks[-1], marks[0]],
        )
        open_at: dict[str, set[int]] = {}  # topic → the marks it is open at
        for topic_id, seen, resolved in rows:  # open from `seen` up to before `resolved`
            first = bisect.bisect_left(marks, seen)
            until = bisect.bisect_left(marks, resolved) if resolved else len(marks)
            if first < until:
                open_at.setdefault(topic_id, set()).update(range(first, until))
        counts = [0] * len(marks)
        for indices in open_at.values():
            for index in indices:
                counts[index] += 1
        held = dict(zip(marks, counts, strict=True))
        return [held[iso(m) or ""] for m in moments]

    @_translating
    def save_finding(self, stored: StoredFinding) -> None:
        self.db.upsert("findings", finding_row(stored), pk=("forum_id", "topic_id", "rule"))

    def findings_of(
        self, forum_id: str, topic_ids: Iterable[str]
    ) -> dict[tuple[TopicKey, str], StoredFinding]:
        """The stored findings (open and resolved) of the given topics, by (key, rule)."""
        found: dict[tuple[TopicKey, str], StoredFinding] = {}
        for part in chunks(sorted(set(topic_ids))):
            for r in self.db.query(
                f"SELECT * FROM findings WHERE forum_id = ? AND topic_id IN ({marks(len(part))})",
                [forum_id, *part],
            ):
                stored = stored_finding_from_row(r)
                found[stored.finding.key, stored.finding.rule] = stored
        return found

    def findings_by_rule(
        self, forum_id: str, rule: str
    ) -> dict[tuple[TopicKey, str], StoredFinding]:
        """Every stored finding of one rule (e.g. the forum's bursts), through findings_rule."""
        rows = self.db.query(
            "SELECT * FROM findings WHERE forum_id = ? AND rule = ?", [forum_id, rule]
        )
        found = (stored_finding_from_row(r) for r in rows)
        return {(s.finding.key, s.finding.rule): s for s in found}

    # --- credits ------------------------------------------------------------------------------

    @_translating
    def book_credit(self, credit: Credit) -> bool:
        """Book one breached stage of one wait; False when it was booked before (never twice,
        and never taken back when the topic is answered later)."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO credits (forum_id, topic_id, stage, wait_began, customer, "
            "app_id, developers, amount, unit, booked_at, title, url) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                credit.key.forum_id,
                credit.key.topic_id,
                credit.stage,
                iso(credit.wait_began),
                credit.customer,
                credit.app_id,
                ", ".join(credit.developers),
                credit.amount,
                credit.unit,
                iso(credit.booked_at),
                credit.title,
                credit.url,
            ],
        )
        return bool(cursor.rowcount)

    @_translating
    def waits_without_credit(
        self, forum_id: str, stage: str, rules: Sequence[str], began_by: datetime
    ) -> list[dict[str, Any]]:
        """Open findings of `rules` whose wait began by `began_by` and has no `stage` credit
        booked on its topic yet (findings_rule index, then the credits' key), each with its
        topic's `author` and `app_id` as last judged. Once booked, a wait is never read again."""
        return list(
            self.db.query(
                "SELECT f.*, coalesce(t.author, '') AS author, coalesce(t.app_id, '') AS app_id "
                "FROM findings f LEFT JOIN topics t "
                "ON t.forum_id = f.forum_id AND t.topic_id = f.topic_id "
                f"WHERE f.forum_id = ? AND f.rule IN ({marks(len(rules))}) "
                "AND f.resolved_at IS NULL AND f.opened_at <= ? AND NOT EXISTS ("
                "SELECT 1 FROM credits c WHERE c.forum_id = f.forum_id "
                "AND c.topic_id = f.topic_id AND c.stage = ? AND c.wait_began = f.opened_at) "
                "ORDER BY f.opened_at, f.topic_id, f.rule",
                [forum_id, *rules, iso(began_by), stage],
            )
        )

    @_translating
    def credit_booked_elsewhere(self, credit: Credit) -> bool:
        """True when another topic of the forum booked this stage of a wait that began at the
        same moment for the same customer: a re-posted request's earlier topic."""
        row = self.db.execute(
            "SELECT 1 FROM credits WHERE forum_id = ? AND stage = ? AND wait_began = ? "
            "AND customer = ? AND topic_id != ? LIMIT 1",
            [
                credit.key.forum_id,
                credit.stage,
                iso(credit.wait_began),
                credit.customer,
                credit.key.topic_id,
            ],
        ).fetchone()
        return row is not None

    @_translating
    def credits_between(self, start: datetime | None, end: datetime | None) -> list[Credit]:
        """Credits booked in [start, end), oldest first (either bound may be open)."""
        rows = self.db.query(
            "SELECT * FROM credits WHERE booked_at >= ? AND booked_at < ? ORDER BY booked_at",
            [iso(start) or "", iso(end) or "9999"],
        )
        return [
            Credit(
                TopicKey(r["forum_id"], r["topic_id"]),
                r["stage"],
                parse_iso(r["wait_began"]) or datetime.min.replace(tzinfo=UTC),
                r["customer"],
                r["app_id"] or "",
                tuple(d for d in (r["developers"] or "").split(", ") if d),
                float(r["amount"]),
                r["unit"],
                parse_iso(r["booked_at"]) or datetime.min.replace(tzinfo=UTC),
                r["title"] or "",
                r["url"] or "",
            )
            for r in rows
        ]

    @_translating
    def topic_credits(self, key: TopicKey) -> list[dict[str, Any]]:
        """Credits booked for the topic: stage, amount, unit, customer, booked_at."""
        return list(
            self.db.query(
                "SELECT stage, amount, unit, customer, booked_at FROM credits "
                "WHERE forum_id = ? AND topic_id = ? ORDER BY booked_at",
                [key.forum_id, key.topic_id],
            )
        )

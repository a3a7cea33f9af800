"""The store's listings of findings: open findings streamed a row at a time in listing order,
findings judged read-only and parked for listing, and the counts and reads of digests and
reminders.

Part of `Store` (mixed in). Every query goes through an index; a listing holds one row at a time,
not the forum.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from forumwatch.model import StoredFinding, TopicKey
from forumwatch.store.db import Database, chunks, marks
from forumwatch.store.rows import finding_row, insert_sql, iso, stored_finding_from_row

LISTING_ORDER = "opened_at, forum_id, topic_id, rule"  # oldest wait first: listings' order


class ListingsMixin(Database):
    def open_findings_in_order(
        self, forum_ids: Sequence[str], *, evidence: bool = True
    ) -> Iterator[StoredFinding]:
        """The forums' unresolved findings, oldest wait first (then topic, rule), one row at a
        time: `findings` streams thousands without holding them (`evidence=False`: without
        their evidence, which is most of the reading)."""
        for row in self.open_finding_rows(forum_ids):
            yield stored_finding_from_row(row, evidence=evidence)

    def park_findings(self, found: Iterable[tuple[StoredFinding, str, str]]) -> int:
        """Findings judged now that are not to be stored (a read-only judgement), each with
        its topic's app and author, kept in this connection's temporary table `parked` until
        `parked_finding_rows` lists them; works on a read-only store too. Returns how many
        were parked."""
        rows = [
            {**finding_row(stored), "app_id": app_id, "author": author}
            for stored, app_id, author in found
        ]
        if not rows:
            return 0
        sql = insert_sql("temp.parked", tuple(rows[0]))
        with self.db.atomic():  # its own commit outside `transaction()`, a savepoint inside
            self.db.conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS parked AS "
                "SELECT *, '' AS app_id, '' AS author FROM findings WHERE 0"
            )
            self.db.conn.executemany(sql, [tuple(r.values()) for r in rows])
        return len(rows)

    def clear_parked(self) -> None:
        """Forget what earlier judgements parked on this connection."""
        with self.db.atomic():
            self.db.conn.execute("DROP TABLE IF EXISTS temp.parked")

    def parked_finding_rows(self, columns: Sequence[str] = ()) -> Iterator[sqlite3.Row]:
        """The parked findings (of `columns`, default all) in listing order, each with its
        topic's `app_id` and `author`."""
        chosen = ", ".join((*columns, "app_id", "author")) if columns else "*"
        return self._named_rows(f"SELECT {chosen} FROM temp.parked ORDER BY {LISTING_ORDER}")

    def open_finding_rows(
        self, forum_ids: Sequence[str], columns: Sequence[str] = (), *, topic: bool = False
    ) -> Iterator[sqlite3.Row]:
        """`open_findings_in_order` as the stored rows (of `columns`, default all) themselves,
        for callers that print stored text as it is; with `topic`, each also with its topic's
        `app_id` (as last judged, "" when none) and `author` (one primary-key lookup a row)."""
        if not forum_ids:
            return iter(())
        chosen = ", ".join(f"f.{c}" for c in columns) if columns else "f.*"
        joined = ""
        if topic:
            chosen += ", coalesce(t.app_id, '') AS app_id, coalesce(t.author, '') AS author"
            joined = "LEFT JOIN topics t ON t.forum_id = f.forum_id AND t.topic_id = f.topic_id "
        order = ", ".join(f"f.{c.strip()}" for c in LISTING_ORDER.split(","))
        return self._named_rows(
            f"SELECT {chosen} FROM findings f {joined}WHERE f.resolved_at IS NULL "
            f"AND f.forum_id IN ({marks(len(forum_ids))}) ORDER BY {order}",
            list(forum_ids),
        )

    def _named_rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[sqlite3.Row]:
        """The query's rows a row at a time, by column name (sqlite3.Row, made in C)."""
        cursor = self.db.conn.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute(sql, params)

    def count_topics_created(self, forum_id: str, start: datetime, end: datetime) -> int:
        """Topics started in [start, end), any state (the topics_created index)."""
        row = self.db.execute(
            "SELECT count(*) FROM topics WHERE forum_id = ? AND created_at >= ? AND created_at < ?",
            [forum_id, iso(start), iso(end)],
        ).fetchone()
        return int(row[0])

    def count_open_findings(
        self,
        forum_ids: Sequence[str],
        *,
        on: Sequence[TopicKey] | None = None,
        bursts_of: Sequence[str] = (),
    ) -> int:
        """How many unresolved findings the forums hold (findings_open index); with `on`, only
        those of the given topics but bursts, plus the bursts of the `bursts_of` forums."""
        if not forum_ids:
            return 0
        within = f"resolved_at IS NULL AND forum_id IN ({marks(len(forum_ids))})"
        if on is None:
            row = self.db.execute(f"SELECT count(*) FROM findings WHERE {within}", forum_ids)
            return int(row.fetchone()[0])
        count = 0
        for part in chunks(list(on)):
            pairs = " OR ".join("(forum_id = ? AND topic_id = ?)" for _ in part)
            params = [value for key in part for value in (key.forum_id, key.topic_id)]
            count += self.db.execute(
                f"SELECT count(*) FROM findings WHERE {within} AND rule != 'burst' AND ({pairs})",
                [*forum_ids, *params],
            ).fetchone()[0]
        for forum_id in bursts_of:
            count += self.db.execute(
                "SELECT count(*) FROM findings WHERE resolved_at IS NULL AND forum_id = ? "
                "AND rule = 'burst'",
                [forum_id],
            ).fetchone()[0]
        return count

    def findings_open_at(self, forum_id: str, moment: datetime) -> Iterator[sqlite3.Row]:
        """The findings forumwatch held open at `moment` (seen by then, not yet resolved),
        oldest wait first, a row at a time, each with its topic's app as last judged
        (`topic_app`)."""
        return self._named_rows(
            "SELECT f.*, t.app_id AS topic_app FROM findings f LEFT JOIN topics t "
            "ON t.forum_id = f.forum_id AND t.topic_id = f.topic_id "
            "WHERE f.forum_id = ? AND f.first_seen_at <= ? "
            "AND (f.resolved_at IS NULL OR f.resolved_at > ?) "
            "ORDER BY f.opened_at, f.topic_id, f.rule",
            [forum_id, iso(moment), iso(moment)],
        )

    def told_escalations(
        self, forum_id: str, channel: str, escalated_before: datetime
    ) -> list[StoredFinding]:
        """Open escalated findings, escalated before the moment, that somebody on `channel`
        was told of (the outbox's unique index answers each): those reminders may be owed to.
        A backlog nobody was told of one by one is never read."""
        rows = self.db.query(
            "SELECT * FROM findings f WHERE f.forum_id = ? AND f.resolved_at IS NULL "
            "AND f.stage = 'escalated' AND f.escalated_at <= ? AND EXISTS (SELECT 1 FROM outbox o "
            "WHERE o.forum_id = f.forum_id AND o.topic_id = f.topic_id AND o.rule = f.rule "
            "AND o.episode = f.episode AND o.stage != 'resolved' AND o.channel = ?)",
            [forum_id, iso(escalated_before), channel],
        )
        return [stored_finding_from_row(r) for r in rows]

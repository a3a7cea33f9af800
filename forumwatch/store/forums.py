"""The store's forums: each forum's row (its polls, health, page validators, category slugs),
the members of its groups, and the log of runs.

Part of `Store` (mixed in).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from forumwatch.health import ForumHealth
from forumwatch.store.db import Database, _translating
from forumwatch.store.rows import iso, parse_iso


@dataclass(frozen=True)
class PollRecord:
    """How fresh a forum's stored data is: see `Store.poll_record`."""

    last_ok: datetime | None  # the last run that read it without error (within the window)
    failed_since: int  # runs that failed on it after that
    last_run: datetime | None  # the last stored run of any kind
    last_error: str | None
    ever_read: bool = True  # False: no run ever read it completely (a forum just configured)


# a run that failed on the forum; a run that polled it (the daemon polls one forum a run: only
# runs that polled it say anything about it; runs stored before `polled_forums` polled all)
_FAILED_ON_IT = "EXISTS (SELECT 1 FROM json_each(r.summary, '$.failed_forums') WHERE value = ?)"
_POLLED_IT = (
    "(json_type(r.summary, '$.polled_forums') IS NULL OR EXISTS "
    "(SELECT 1 FROM json_each(r.summary, '$.polled_forums') WHERE value = ?))"
)


class ForumsMixin(Database):
    # --- forums -------------------------------------------------------------------------------

    @_translating
    def note_forum(self, forum_id: str, engine: str, url: str) -> None:
        existing = self._row("SELECT engine, url FROM forums WHERE id = ?", forum_id)
        if existing != {"engine": engine, "url": url}:
            self.db.upsert("forums", {"id": forum_id, "engine": engine, "url": url}, pk="id")

    @_translating
    def forum_poll_result(self, forum_id: str, error: str | None, now: datetime) -> None:
        """Remember the forum's last success, or its current error (kept until it recovers)."""
        row = self._row("SELECT last_error FROM forums WHERE id = ?", forum_id) or {}
        if error is None and row.get("last_error") is None:
            return  # nothing new to say: keep re-runs write-free
        if error is None:
            values = {"last_ok_at": iso(now), "last_error": None, "last_error_at": None}
        else:
            values = {"last_error": error, "last_error_at": iso(now)}
        self.db.update("forums", forum_id, values)

    @_translating
    def poll_record(self, forum_id: str, since: datetime) -> PollRecord:
        """The forum's polls in stored runs after `since` (through the runs_now index): when it
        was last read completely, and how many runs failed on it after that."""
        failed_on_it, polled_it = _FAILED_ON_IT, _POLLED_IT
        row = self.db.execute(
            f"SELECT max(r.now) FROM runs r WHERE r.now > ? AND {polled_it} AND NOT {failed_on_it}",
            [iso(since), forum_id, forum_id],
        ).fetchone()
        last_ok = parse_iso(row[0]) if row else None
        failed = self.db.execute(
            f"SELECT count(*) FROM runs r WHERE r.now > ? AND {failed_on_it}",
            [iso(last_ok or since), forum_id],
        ).fetchone()
        last_run = self.db.execute("SELECT max(now) FROM runs").fetchone()[0]
        error = self._row("SELECT last_error, last_ok_at FROM forums WHERE id = ?", forum_id) or {}
        ever_read = (
            last_ok is not None
            or error.get("last_ok_at") is not None
            or self._row("SELECT 1 AS read FROM topics WHERE forum_id = ? LIMIT 1", forum_id)
            is not None
        )
        return PollRecord(
            last_ok, failed[0], parse_iso(last_run), error.get("last_error"), ever_read
        )

    @_translating
    def first_good_poll(self, forum_id: str) -> datetime | None:
        """The `now` of the first stored run that read the forum without error; None before
        one did (the runs_now index, earliest first: usually one row read)."""
        row = self.db.execute(
            f"SELECT r.now FROM runs r WHERE {_POLLED_IT} AND NOT {_FAILED_ON_IT} "
            "ORDER BY r.now LIMIT 1",
            [forum_id, forum_id],
        ).fetchone()
        return parse_iso(row[0]) if row else None

    @_translating
    def forum_health(self, forum_id: str) -> ForumHealth:
        row = self._row(
            "SELECT failing_since, health_told_at, health_times_told FROM forums WHERE id = ?",
            forum_id,
        )
        if row is None:
            return ForumHealth()
        return ForumHealth(
            parse_iso(row["failing_since"]),
            parse_iso(row["health_told_at"]),
            row["health_times_told"] or 0,
        )

    @_translating
    def save_forum_health(self, forum_id: str, health: ForumHealth) -> None:
        if self.forum_health(forum_id) == health:
            return  # keep re-runs write-free
        self.db.update(
            "forums",
            forum_id,
            {
                "failing_since": iso(health.failing_since),
                "health_told_at": iso(health.told_at),
                "health_times_told": health.times_told,
            },
        )

    @_translating
    def page_validators(self, forum_id: str) -> dict[str, list[str | None]]:
        """URL → [ETag, Last-Modified] of the forum's list pages as last read."""
        stored = self._forum_json(forum_id, "page_validators")
        return stored if isinstance(stored, dict) else {}

    @_translating
    def save_page_validators(self, forum_id: str, validators: dict[str, list[str | None]]) -> None:
        self._save_forum_json(forum_id, "page_validators", validators or None)

    @_translating
    def category_slugs(self, forum_id: str) -> dict[int, str] | None:
        """The forum's category id → slug map as last read, or None."""
        stored = self._forum_json(forum_id, "category_slugs")
        return {int(k): v for k, v in stored.items()} if isinstance(stored, dict) else None

    @_translating
    def save_category_slugs(self, forum_id: str, slugs: dict[int, str] | None) -> None:
        if slugs:  # an unknown map never clears a known one
            self._save_forum_json(forum_id, "category_slugs", {str(k): v for k, v in slugs.items()})

    def _forum_json(self, forum_id: str, column: str) -> Any:
        """A JSON column of the forum's row, decoded (None when empty)."""
        row = self._row(f"SELECT {column} FROM forums WHERE id = ?", forum_id) or {}
        return json.loads(row.get(column) or "null")

    def _save_forum_json(self, forum_id: str, column: str, value: Any) -> None:
        """Store `value` as JSON in the forum's row (None clears it); re-runs stay write-free."""
        if self._forum_json(forum_id, column) == value:
            return
        text = json.dumps(value, sort_keys=True) if value is not None else None
        self.db.update("forums", forum_id, {column: text})

    @_translating
    def last_full_scan(self, forum_id: str) -> datetime | None:
        row = self._row("SELECT last_full_scan_at FROM forums WHERE id = ?", forum_id) or {}
        return parse_iso(row.get("last_full_scan_at"))

    @_translating
    def full_scan_done(self, forum_id: str, now: datetime) -> None:
        self.db.update("forums", forum_id, {"last_full_scan_at": iso(now)})

    @_translating
    def group_members(self, forum_id: str) -> dict[str, frozenset[str]]:
        """Group name → member usernames, as last looked up."""
        members: dict[str, set[str]] = {}
        for r in self.db.query(
            "SELECT group_name, username FROM group_members WHERE forum_id = ?", [forum_id]
        ):
            members.setdefault(r["group_name"], set()).add(r["username"])
        return {group: frozenset(names) for group, names in members.items()}

    @_translating
    def save_group_members(self, forum_id: str, group: str, usernames: frozenset[str]) -> None:
        stored = self.db.query(
            "SELECT username FROM group_members WHERE forum_id = ? AND group_name = ?",
            [forum_id, group],
        )
        if frozenset(r["username"] for r in stored) == usernames:
            return  # unchanged: keep re-runs write-free
        self.db.execute(
            "DELETE FROM group_members WHERE forum_id = ? AND group_name = ?", [forum_id, group]
        )
        self.db.insert_all(
            "group_members",
            [{"forum_id": forum_id, "group_name": group, "username": u} for u in sorted(usernames)],
        )

    # --- runs ---------------------------------------------------------------------------------

    @_translating
    def record_run(
        self, started_at: datetime, now: datetime, status: str, summary: dict[str, Any]
    ) -> None:
        self.db.insert(
            "runs",
            {
                "started_at": iso(started_at),
                "finished_at": iso(datetime.now(UTC)),
                "now": iso(now),
                "status": status,
                "summary": json.dumps(summary, ensure_ascii=False),
            },
        )
        self.db.conn.commit()

    @_translating
    def ignored_topic_count(self, forum_id: str) -> int:
        """Distinct topics of the forum with an open finding (a burst groups topics: not one
        more), through the findings_open index."""
        row = self.db.execute(
            "SELECT count(DISTINCT topic_id) FROM findings "
            "WHERE forum_id = ? AND resolved_at IS NULL AND rule != 'burst'",
            [forum_id],
        ).fetchone()
        return int(row[0])

    @_translating
    def last_run(self) -> tuple[datetime, str] | None:
        """The latest stored run's moment and status ("ok", "failed"...), None before the first."""
        row = self._row("SELECT now, status FROM runs ORDER BY now DESC LIMIT 1")
        moment = parse_iso(row["now"]) if row else None
        return (moment, str(row["status"])) if row and moment else None

    @_translating
    def last_run_now(self) -> datetime | None:
        """The (possibly simulated) `now` of the latest recorded run, None before the first.

        ISO texts in UTC sort like the moments they name, so the `runs_now` index answers it.
        """
        row = self._row("SELECT max(now) AS now FROM runs") or {}
        return parse_iso(row.get("now"))

    @_translating
    def failed_forums_between(self, start: datetime, end: datetime) -> dict[str, int]:
        """Forum id → how many runs (judging a moment in [start, end)) could not poll it."""
        failed: dict[str, int] = {}
        for r in self.db.query(
            "SELECT summary FROM runs WHERE now >= ? AND now < ?", [iso(start), iso(end)]
        ):
            for forum_id in json.loads(r["summary"] or "{}").get("failed_forums", []):
                failed[forum_id] = failed.get(forum_id, 0) + 1
        return failed

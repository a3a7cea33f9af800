"""The SQLite store: the only module that writes SQL.

Topics and posts as last seen, findings with their stage, the outbox of notifications (one row per
finding, stage and recipient) and a log of runs. WAL mode; read-then-write work happens inside
`BEGIN IMMEDIATE` so two processes can never interleave their decisions.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import sqlite_utils

from forumwatch.model import Author, Post, Stage, Topic, TopicKey, TopicState
from forumwatch.store_rows import (
    OutboxMessage,
    StoredFinding,
    author_from_row,
    author_row,
    finding_row,
    iso,
    parse_iso,
    post_from_row,
    post_row,
    stored_finding_from_row,
    topic_from_row,
    topic_row,
)

__all__ = [
    "AlreadyRunning",
    "OutboxMessage",
    "Store",
    "StoreError",
    "StoredFinding",
    "iso",
    "parse_iso",
    "run_lock",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS forums (
    id TEXT PRIMARY KEY, engine TEXT, url TEXT,
    last_ok_at TEXT, last_error TEXT, last_error_at TEXT, last_full_scan_at TEXT
);
CREATE TABLE IF NOT EXISTS group_members (
    forum_id TEXT, group_name TEXT, username TEXT,
    PRIMARY KEY (forum_id, group_name, username)
);
CREATE TABLE IF NOT EXISTS authors (
    forum_id TEXT, username TEXT, display_name TEXT, forum_roles TEXT,
    PRIMARY KEY (forum_id, username)
);
CREATE TABLE IF NOT EXISTS topics (
    forum_id TEXT, topic_id TEXT, url TEXT, title TEXT, category TEXT, category_id TEXT,
    tags TEXT, author TEXT, created_at TEXT, state TEXT, last_activity_at TEXT, marker TEXT,
    PRIMARY KEY (forum_id, topic_id)
);
CREATE TABLE IF NOT EXISTS posts (
    forum_id TEXT, topic_id TEXT, number INTEGER, post_id TEXT, author TEXT, created_at TEXT,
    kind TEXT, reply_to INTEGER, body_text TEXT,
    PRIMARY KEY (forum_id, topic_id, number)
);
CREATE TABLE IF NOT EXISTS findings (
    forum_id TEXT, topic_id TEXT, rule TEXT, episode INTEGER, stage TEXT,
    opened_at TEXT, due_at TEXT, escalate_at TEXT,
    first_seen_at TEXT, escalated_at TEXT, resolved_at TEXT,
    evidence TEXT, summary TEXT, silent TEXT, title TEXT, url TEXT,
    PRIMARY KEY (forum_id, topic_id, rule)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY, forum_id TEXT, topic_id TEXT, rule TEXT, episode INTEGER,
    stage TEXT, channel TEXT, recipient TEXT, message TEXT, created_at TEXT,
    sent_at TEXT, attempts INTEGER DEFAULT 0, last_error TEXT,
    UNIQUE (forum_id, topic_id, rule, episode, stage, channel, recipient)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started_at TEXT, finished_at TEXT, now TEXT, status TEXT,
    summary TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (sent_at, channel);
"""


class AlreadyRunning(Exception):
    """Another forumwatch process holds the run lock of this database."""


class StoreError(Exception):
    """The database file cannot be used (not SQLite, unwritable, ...)."""


@contextmanager
def run_lock(database: Path) -> Iterator[None]:
    """Hold `<database>.lock` for a whole cycle; a second holder gets `AlreadyRunning` at once."""
    lock_path = Path(f"{database}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle: TextIO = lock_path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise AlreadyRunning(
                f"{database}: another forumwatch run is in progress ({holder}); "
                "this one exits without touching the database; try again when it has finished"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the flock


class Store:
    """A forumwatch database file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite_utils.Database(path)
            self.db.conn.execute("PRAGMA busy_timeout = 5000")
            self.db.enable_wal()
            self.db.conn.executescript(SCHEMA)
        except (sqlite3.DatabaseError, OSError) as err:
            raise StoreError(
                f"{path}: cannot use it as a forumwatch database ({err}); "
                "point `database:` in the config at a new or existing forumwatch file"
            ) from None

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any error."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.rollback()
            raise
        self.db.commit()

    def rollback(self) -> None:
        self.db.rollback()

    # --- forums -------------------------------------------------------------------------------

    def note_forum(self, forum_id: str, engine: str, url: str) -> None:
        existing = self._row("SELECT engine, url FROM forums WHERE id = ?", forum_id)
        if existing != {"engine": engine, "url": url}:
            self.db.table("forums").upsert({"id": forum_id, "engine": engine, "url": url}, pk="id")

    def forum_poll_result(self, forum_id: str, error: str | None, now: datetime) -> None:
        """Remember the forum's last success, or its current error (kept until it recovers)."""
        row = self._row("SELECT last_error FROM forums WHERE id = ?", forum_id) or {}
        if error is None and row.get("last_error") is None:
            return  # nothing new to say: keep re-runs write-free
        if error is None:
            values = {"last_ok_at": iso(now), "last_error": None, "last_error_at": None}
        else:
            values = {"last_error": error, "last_error_at": iso(now)}
        self.db.table("forums").update(forum_id, values)

    def last_full_scan(self, forum_id: str) -> datetime | None:
        row = self._row("SELECT last_full_scan_at FROM forums WHERE id = ?", forum_id) or {}
        return parse_iso(row.get("last_full_scan_at"))

    def full_scan_done(self, forum_id: str, now: datetime) -> None:
        self.db.table("forums").update(forum_id, {"last_full_scan_at": iso(now)})

    def group_members(self, forum_id: str) -> dict[str, frozenset[str]]:
        """Group name → member usernames, as last looked up."""
        members: dict[str, set[str]] = {}
        for r in self.db.query(
            "SELECT group_name, username FROM group_members WHERE forum_id = ?", [forum_id]
        ):
            members.setdefault(r["group_name"], set()).add(r["username"])
        return {group: frozenset(names) for group, names in members.items()}

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
        self.db.table("group_members").insert_all(
            {"forum_id": forum_id, "group_name": group, "username": u} for u in sorted(usernames)
        )

    # --- topics -------------------------------------------------------------------------------

    def markers(self, forum_id: str) -> dict[str, str]:
        """Topic id → the change marker stored at its last fetch."""
        rows = self.db.query("SELECT topic_id, marker FROM topics WHERE forum_id = ?", [forum_id])
        return {r["topic_id"]: r["marker"] for r in rows}

    def save_topic(self, topic: Topic, marker: str) -> bool:
        """Store a freshly fetched topic; returns False (and writes nothing) if nothing changed."""
        row = topic_row(topic, marker)
        posts = [post_row(topic, p) for p in topic.posts]
        stored = self._row(
            "SELECT * FROM topics WHERE forum_id = ? AND topic_id = ?", topic.forum_id, topic.id
        )
        stored_posts = list(
            self.db.query(
                "SELECT * FROM posts WHERE forum_id = ? AND topic_id = ? ORDER BY number",
                [topic.forum_id, topic.id],
            )
        )
        if stored == row and stored_posts == posts:
            return False
        with self.db.atomic():
            self.db.table("topics").upsert(row, pk=("forum_id", "topic_id"))
            self.db.execute(
                "DELETE FROM posts WHERE forum_id = ? AND topic_id = ?", [topic.forum_id, topic.id]
            )
            self.db.table("posts").insert_all(posts)
            for author in {p.author for p in topic.posts} | {topic.author}:
                self._save_author(topic.forum_id, author)
        return True

    def _save_author(self, forum_id: str, author: Author) -> None:
        row = author_row(forum_id, author)
        stored = self._row(
            "SELECT * FROM authors WHERE forum_id = ? AND username = ?", forum_id, author.username
        )
        if stored != row:
            self.db.table("authors").upsert(row, pk=("forum_id", "username"))

    def topics(self, forum_id: str, state: TopicState | None = None) -> list[Topic]:
        """Every stored topic of a forum (optionally only those in `state`), posts included."""
        where, params = "forum_id = ?", [forum_id]
        if state is not None:
            where += " AND state = ?"
            params.append(state.value)
        authors = {
            r["username"]: author_from_row(r)
            for r in self.db.query("SELECT * FROM authors WHERE forum_id = ?", [forum_id])
        }
        posts: dict[str, list[Post]] = {}
        for r in self.db.query(
            f"SELECT p.* FROM posts p JOIN topics t USING (forum_id, topic_id) WHERE t.{where} "
            "ORDER BY p.topic_id, p.number",
            params,
        ):
            posts.setdefault(r["topic_id"], []).append(post_from_row(r, authors))
        return [
            topic_from_row(r, authors, posts.get(r["topic_id"], []))
            for r in self.db.query(f"SELECT * FROM topics WHERE {where} ORDER BY topic_id", params)
        ]

    # --- findings -----------------------------------------------------------------------------

    def findings(self, forum_id: str | None = None) -> dict[tuple[TopicKey, str], StoredFinding]:
        """Every stored finding (open and resolved), by (topic key, rule)."""
        sql, params = "SELECT * FROM findings", []
        if forum_id is not None:
            sql, params = sql + " WHERE forum_id = ?", [forum_id]
        found = (stored_finding_from_row(r) for r in self.db.query(sql, params))
        return {(s.finding.key, s.finding.rule): s for s in found}

    def save_finding(self, stored: StoredFinding) -> None:
        self.db.table("findings").upsert(finding_row(stored), pk=("forum_id", "topic_id", "rule"))

    # --- outbox -------------------------------------------------------------------------------

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
        self.db.execute(
            "INSERT OR IGNORE INTO outbox (forum_id, topic_id, rule, episode, stage, channel, "
            "recipient, message, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                f.key.forum_id,
                f.key.topic_id,
                f.rule,
                stored.episode,
                stage.value,
                channel,
                recipient,
                message,
                iso(now),
            ],
        )

    def told(self, stored: StoredFinding) -> list[tuple[str, str]]:
        """(channel, recipient) pairs already told about this finding episode."""
        f = stored.finding
        rows = self.db.query(
            "SELECT DISTINCT channel, recipient FROM outbox WHERE forum_id = ? AND topic_id = ? "
            "AND rule = ? AND episode = ? AND stage != 'resolved' ORDER BY channel, recipient",
            [f.key.forum_id, f.key.topic_id, f.rule, stored.episode],
        )
        return [(r["channel"], r["recipient"]) for r in rows]

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

    def mark_sent(self, message_id: int, now: datetime) -> None:
        self.db.execute(
            "UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE id = ?",
            [iso(now), message_id],
        )
        self.db.conn.commit()

    # --- runs ---------------------------------------------------------------------------------

    def record_run(
        self, started_at: datetime, now: datetime, status: str, summary: dict[str, Any]
    ) -> None:
        self.db.table("runs").insert(
            {
                "started_at": iso(started_at),
                "finished_at": iso(datetime.now(UTC)),
                "now": iso(now),
                "status": status,
                "summary": json.dumps(summary, ensure_ascii=False),
            }
        )
        self.db.conn.commit()

    def _row(self, sql: str, *params: Any) -> dict[str, Any] | None:
        return next(iter(self.db.query(sql, list(params))), None)

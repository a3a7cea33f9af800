"""The SQLite store: the only module that writes SQL.

Topics and posts as last seen, findings with their stage, the outbox of notifications (one row per
finding, stage and recipient) and a log of runs. WAL mode; read-then-write work happens inside
`BEGIN IMMEDIATE` so two processes can never interleave their decisions.

A database file is never damaged or silently misused: before opening a file for writing, the store
looks at it read-only and refuses another application's database, a newer schema or a damaged
file; every SQLite or OS failure leaves as a one-line `StoreError` naming the file and the fix.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import fcntl
import functools
import itertools
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, Literal, ParamSpec, TextIO, TypeVar
from urllib.parse import quote

import sqlite_utils

from forumwatch.health import ForumHealth
from forumwatch.model import (
    Credit,
    OutboxMessage,
    Post,
    Stage,
    StoredFinding,
    Topic,
    TopicKey,
    TopicState,
)
from forumwatch.store_chats import ChatsMixin
from forumwatch.store_eval import EvalMixin, StoredMarkers, topic_conditions
from forumwatch.store_rows import (
    AUTHOR_KEY,
    TOPIC_KEY,
    author_row,
    finding_row,
    insert_sql,
    iso,
    parse_iso,
    post_row,
    stored_finding_from_row,
    topic_row,
    upsert_sql,
)

__all__ = [
    "SCHEMA_VERSION",
    "AlreadyRunning",
    "Store",
    "StoreError",
    "iso",
    "parse_iso",
    "run_lock",
]

# PRAGMA user_version of our files; 0 = written before versioning, 1 = before Telegram (both
# are migrated on first open: columns and tables are only ever added)
# 3: credits ledger; 4: HTML list validators; 5: cached category slugs; 6: incremental evaluation
SCHEMA_VERSION = 6
SCHEMA = """
CREATE TABLE IF NOT EXISTS forums (
    id TEXT PRIMARY KEY, engine TEXT, url TEXT,
    last_ok_at TEXT, last_error TEXT, last_error_at TEXT, last_full_scan_at TEXT,
    failing_since TEXT, health_told_at TEXT, health_times_told INTEGER DEFAULT 0,
    page_validators TEXT, category_slugs TEXT, eval_fingerprint TEXT, evaluated_at TEXT
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
    author_fold TEXT, next_check TEXT, app_id TEXT, customer INTEGER, repost INTEGER,
    first_ack_at TEXT, first_dev_at TEXT,
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
    evidence TEXT, summary TEXT, silent TEXT, title TEXT, url TEXT, resolution TEXT,
    PRIMARY KEY (forum_id, topic_id, rule)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY, forum_id TEXT, topic_id TEXT, rule TEXT, episode INTEGER,
    stage TEXT, channel TEXT, recipient TEXT, message TEXT, created_at TEXT,
    sent_at TEXT, attempts INTEGER DEFAULT 0, last_error TEXT, sent_ref TEXT,
    UNIQUE (forum_id, topic_id, rule, episode, stage, channel, recipient)
);
CREATE TABLE IF NOT EXISTS chats (
    chat_id INTEGER PRIMARY KEY, role TEXT, forum_id TEXT, app_id TEXT, title TEXT,
    active INTEGER DEFAULT 1, bound_at TEXT, invite TEXT
);
CREATE TABLE IF NOT EXISTS invites (
    code TEXT PRIMARY KEY, role TEXT, forum_id TEXT, app_id TEXT, created_at TEXT,
    expires_at TEXT, used_at TEXT, used_by INTEGER
);
CREATE TABLE IF NOT EXISTS subscriptions (
    chat_id INTEGER, forum_id TEXT, app_id TEXT DEFAULT '',
    PRIMARY KEY (chat_id, forum_id, app_id)
);
CREATE TABLE IF NOT EXISTS bot_state (name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS credits (
    forum_id TEXT, topic_id TEXT, stage TEXT, wait_began TEXT, customer TEXT, app_id TEXT,
    developers TEXT, amount REAL, unit TEXT, booked_at TEXT, title TEXT, url TEXT,
    PRIMARY KEY (forum_id, topic_id, stage, wait_began)
);
CREATE TABLE IF NOT EXISTS mutes (
    chat_id INTEGER, forum_id TEXT, topic_id TEXT, until TEXT,
    PRIMARY KEY (chat_id, forum_id, topic_id)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started_at TEXT, finished_at TEXT, now TEXT, status TEXT,
    summary TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (sent_at, channel);
CREATE INDEX IF NOT EXISTS findings_open ON findings (forum_id, resolved_at);
CREATE INDEX IF NOT EXISTS runs_now ON runs (now);
CREATE INDEX IF NOT EXISTS credits_booked ON credits (booked_at);
CREATE INDEX IF NOT EXISTS topics_next_check ON topics (forum_id, next_check);
CREATE INDEX IF NOT EXISTS topics_author ON topics (forum_id, author_fold, state);
CREATE INDEX IF NOT EXISTS topics_created ON topics (forum_id, created_at);
CREATE INDEX IF NOT EXISTS findings_rule ON findings (forum_id, rule, resolved_at);
"""
OUR_TABLES = frozenset({"forums", "topics", "findings", "outbox", "runs"})
MEMORY = Path(":memory:")
_MAGIC = b"SQLite format 3\x00"
_P = ParamSpec("_P")
_R = TypeVar("_R")


class AlreadyRunning(Exception):
    """Another forumwatch process holds the run lock of this database."""


@dataclass(frozen=True)
class PollRecord:
    """How fresh a forum's stored data is: see `Store.poll_record`."""

    last_ok: datetime | None  # the last run that read it without error (within the window)
    failed_since: int  # runs that failed on it after that
    last_run: datetime | None  # the last stored run of any kind
    last_error: str | None


class StoreError(Exception):
    """The database file cannot be used (not SQLite, unwritable, ...); one line with the fix."""


def _damaged(path: Path, detail: str) -> str:
    return (
        f"{path}: cannot use it as a forumwatch database: the file is damaged or not SQLite "
        f"({detail}); restore it from a backup or move it aside and let forumwatch start a new one"
    )


def _explain(
    path: Path, err: BaseException, *, read_only: bool = False, thing: str = "the database"
) -> str:
    """One line saying what went wrong with `path` and what the user can do about it.

    SQLite's result code (not its wording) tells the cases apart; OS errors by errno.
    """
    code = getattr(err, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    number = err.errno if isinstance(err, OSError) else None
    if primary == sqlite3.SQLITE_FULL or number in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"{path}: the disk holding {thing} is full; free space there "
            "(nothing of this run was stored; the next run redoes it)"
        )
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return _damaged(path, str(err))
    if read_only and primary == sqlite3.SQLITE_READONLY:
        return (
            f"{path}: opened read-only (dry run or `findings`), yet forumwatch tried to write it; "
            "nothing was written; please report this forumwatch bug"
        )
    if (
        primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM)
        or isinstance(err, PermissionError)
        or number in (errno.EACCES, errno.EPERM, errno.EROFS)
    ):
        return (
            f"{path}: cannot write {thing} (read-only file or folder); give the user running "
            "forumwatch write access to the file and its folder"
        )
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return (
            f"{path}: another program keeps {thing} locked ({err}); close it (a database "
            "browser?) and run forumwatch again"
        )
    return f"{path}: {thing} failed ({err}); check the disk and the file, then run forumwatch again"


@contextmanager
def _translated(
    path: Path, *, read_only: bool = False, thing: str = "the database"
) -> Iterator[None]:
    """Turn SQLite and OS errors inside the block into a one-line `StoreError`."""
    try:
        yield
    except (sqlite3.Error, OSError) as err:
        raise StoreError(_explain(path, err, read_only=read_only, thing=thing)) from err


def _header(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(100)


def _read_only_uri(path: Path, header: bytes) -> str:
    """A URI that reads `path` without creating or changing any file.

    SQLite reads a WAL-mode file read-only by creating `-wal` and `-shm` next to it and leaves them
    behind. Without a `-wal` file everything is in the main file, so `immutable=1` reads it with no
    side file (and no locking: readers that may meet a writer hold `run_lock(write=False)`). With
    a `-wal` present its pages are needed, and the side files exist already.
    """
    uri = f"file:{quote(str(path.absolute()))}?mode=ro"
    in_wal_mode = header.startswith(_MAGIC) and header[18:19] == b"\x02"
    if in_wal_mode and not Path(f"{path}-wal").exists():
        uri += "&immutable=1"
    return uri


def _truncation(path: Path, header: bytes) -> str | None:
    """Why the file is cut short, if its header says it is longer than it is.

    SQLite itself notices a truncated file only when it reads a missing page, possibly mid-run.
    The header's page count is trustworthy when its version-valid-for number matches the change
    counter; a pending `-wal` may legitimately hold pages the main file lacks.
    """
    if len(header) < 100 or not header.startswith(_MAGIC) or Path(f"{path}-wal").exists():
        return None
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    expected = page_size * int.from_bytes(header[28:32], "big")
    size = path.stat().st_size
    if header[24:28] == header[92:96] and expected > size:
        return f"the file has {size} bytes, its header says {expected}"
    return None


def _inspect(path: Path) -> Literal["new", "ours", "legacy"]:
    """What `path` holds, found without writing a byte or creating a side file.

    "new": missing, empty, or SQLite without tables; "ours": this schema version; "legacy": our
    tables from before `user_version` was set. Raises `StoreError` for what forumwatch must not
    touch: another application's database, a newer schema, a damaged or non-SQLite file.
    """
    if path == MEMORY:
        return "new"
    if path.is_dir():
        raise StoreError(f"{path}: is a folder; point `database:` at a file inside it")
    try:
        if not path.exists() or path.stat().st_size == 0:
            return "new"
        header = _header(path)
    except PermissionError:
        raise StoreError(
            f"{path}: cannot read the database (no permission); give the user running "
            "forumwatch read and write access to the file and its folder"
        ) from None
    if cut := _truncation(path, header):
        raise StoreError(_damaged(path, cut))
    with _translated(path):
        conn = sqlite3.connect(_read_only_uri(path, header), uri=True)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = sorted(
                name
                for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                if not name.startswith("sqlite_")
            )
        finally:
            conn.close()
    ours = set(tables) >= OUR_TABLES
    if ours and version == SCHEMA_VERSION:
        return "ours"
    if ours and 0 <= version < SCHEMA_VERSION:
        return "legacy"
    if not tables and version == 0:
        return "new"
    if ours and version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: written by a newer forumwatch (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); upgrade forumwatch"
        )
    raise StoreError(
        f"{path}: this is another application's SQLite database (tables: "
        f"{', '.join(tables) or 'none'}); forumwatch leaves it untouched; "
        "point `database:` at a new file"
    )


def _check_writable(path: Path) -> None:
    """Refuse a file or folder we may not write before SQLite opens it.

    SQLite opens a read-only file read-only without a word, and then leaves `-wal` and `-shm`
    files behind that it may not remove.
    """
    for target in (path, path.parent) if path.exists() else (path.parent,):
        if not os.access(target, os.W_OK):
            raise StoreError(_explain(path, PermissionError(errno.EACCES, "not writable")))


def _missing_columns(conn: sqlite3.Connection) -> list[str]:
    """ALTER TABLE statements adding the columns SCHEMA has and the file's tables lack."""
    model = sqlite3.connect(":memory:")
    try:
        model.executescript(SCHEMA)
        alters = []
        for (table,) in model.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            for _, column, declared, _, default, _ in model.execute(f"PRAGMA table_info({table})"):
                if have and column not in have:  # a missing table comes whole from SCHEMA
                    alters.append(
                        f"ALTER TABLE {table} ADD COLUMN {column} {declared}"
                        + ("" if default is None else f" DEFAULT {default}")
                    )
        return alters
    finally:
        model.close()


def _open_lock(lock_path: Path, write: bool) -> TextIO | None:
    """The lock file, opened for `write` (created if need be) or to read; None if absent."""
    with _translated(lock_path, thing="the run lock"):
        if write:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            return lock_path.open("a+")
        try:
            return lock_path.open("r")
        except FileNotFoundError:
            return None  # no run ever held it: nobody can be running


@contextmanager
def run_lock(database: Path, *, write: bool = True) -> Iterator[None]:
    """Hold `<database>.lock` for a whole cycle; a second holder gets `AlreadyRunning` at once.

    `write=False` (dry runs, readers) neither creates nor writes the lock file: it takes a shared
    lock on an existing one, which detects a running cycle and keeps one from starting meanwhile.
    """
    lock_path = Path(f"{database}.lock")
    handle = _open_lock(lock_path, write)
    if handle is None:
        yield
        return
    try:
        try:
            fcntl.flock(handle, (fcntl.LOCK_EX if write else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise AlreadyRunning(
                f"{database}: another forumwatch run is in progress ({holder}); "
                "this one exits without touching the database; try again when it has finished"
            ) from None
        if write:
            with _translated(lock_path, thing="the run lock"):
                handle.seek(0)
                handle.truncate()
                handle.write(f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
                handle.flush()
        yield
    finally:
        handle.close()  # closing releases the flock


def _translating(
    method: Callable[Concatenate[Store, _P], _R],
) -> Callable[Concatenate[Store, _P], _R]:
    """Store method whose SQLite/OS errors become a one-line `StoreError` (see `_translated`)."""

    @functools.wraps(method)
    def wrapper(self: Store, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._translated():
            return method(self, *args, **kwargs)

    return wrapper


class Store(ChatsMixin, EvalMixin):
    """A forumwatch database file (or, for dry runs, a throwaway copy in memory)."""

    def __init__(self, path: Path, *, create: bool = True, read_only: bool = False) -> None:
        """Open `path` after checking read-only that it is ours (see `_inspect`).

        `create=False` refuses to start a new database; `read_only=True` never creates, migrates,
        switches to WAL or writes anything (`findings`, dry runs).
        """
        self.path = path
        self.read_only = read_only
        self._depth = 0  # open `transaction()` blocks
        self._failed: BaseException | None = None  # a store error inside the open transaction
        kind = _inspect(path)
        if kind == "new" and (read_only or not create):
            raise StoreError(
                f"{path}: no forumwatch database here yet; run `forumwatch run` first "
                "(or check `database:` in the config)"
            )
        with _translated(path):
            if read_only:
                conn = sqlite3.connect(_read_only_uri(path, _header(path)), uri=True)
            else:
                if path != MEMORY:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    _check_writable(path)
                conn = sqlite3.connect(path)
        try:
            with _translated(path, read_only=read_only):
                self.db = sqlite_utils.Database(conn)
                conn.execute("PRAGMA busy_timeout = 5000")
            if not read_only:
                with self._translated():
                    self.db.enable_wal()
                self._migrate()
        except BaseException:
            conn.close()
            raise

    @classmethod
    def in_memory(cls, copy_of: Path | None = None) -> Store:
        """A store in RAM for dry runs: empty, or a copy of the database at `copy_of`.

        The copy is read without writing a byte; the dry run may then store whatever it likes,
        nothing reaches the disk. (It costs memory the size of the database.)
        """
        store = cls(MEMORY)
        if copy_of is not None:
            source = cls(copy_of, read_only=True)
            try:
                with _translated(copy_of):
                    source.db.conn.backup(store.db.conn)
                store._migrate()  # a legacy file's copy gets the current schema
            finally:
                source.close()
        return store

    def _migrate(self) -> None:
        """Bring a new or legacy database to SCHEMA_VERSION in one transaction: all or nothing."""
        conn = self.db.conn
        if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            # Fail now, not mid-run, if the file or its folder cannot be written: SQLite opens a
            # read-only file silently read-only. A rolled-back write reaches no file.
            with self._translated():
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                finally:
                    conn.rollback()
            return
        with self.transaction():  # BEGIN IMMEDIATE: a concurrent opener waits, then sees it done
            for statement in [*_missing_columns(conn), *SCHEMA.split(";")]:
                conn.execute(statement)
            conn.create_function("casefold", 1, lambda text: (text or "").casefold())
            conn.execute(
                "UPDATE topics SET author_fold = casefold(author) WHERE author_fold IS NULL"
            )
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """`_translated` for this file; outside a transaction, also undo a half-done statement."""
        try:
            with _translated(self.path, read_only=self.read_only):
                yield
        except StoreError as err:
            if self._depth:
                self._failed = err  # the transaction must not commit what came after
            else:
                self._rollback_quietly()
            raise

    def _rollback_quietly(self) -> None:
        with contextlib.suppress(sqlite3.Error):  # the original error says more
            self.db.conn.rollback()

    @_translating
    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE … COMMIT: all of the block is stored or none of it.

        Rolled back on any error, also when COMMIT itself fails (disk full) or a store error was
        caught inside the block. Read-only stores use a plain BEGIN, which takes no write lock.
        """
        with self._translated():
            self.db.execute("BEGIN" if self.read_only else "BEGIN IMMEDIATE")
        self._depth += 1
        try:
            yield
            if self._failed is not None:
                raise StoreError(str(self._failed))
            with self._translated():
                self.db.conn.commit()
        except BaseException:
            self._rollback_quietly()
            raise
        finally:
            self._depth -= 1
            self._failed = None

    @_translating
    def rollback(self) -> None:
        self.db.rollback()

    # --- forums -------------------------------------------------------------------------------

    @_translating
    def note_forum(self, forum_id: str, engine: str, url: str) -> None:
        existing = self._row("SELECT engine, url FROM forums WHERE id = ?", forum_id)
        if existing != {"engine": engine, "url": url}:
            self.db.table("forums").upsert({"id": forum_id, "engine": engine, "url": url}, pk="id")

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
        self.db.table("forums").update(forum_id, values)

    @_translating
    def poll_record(self, forum_id: str, since: datetime) -> PollRecord:
        """The forum's polls in stored runs after `since` (through the runs_now index): when it
        was last read completely, and how many runs failed on it after that."""
        failed_on_it = (
            "EXISTS (SELECT 1 FROM json_each(r.summary, '$.failed_forums') WHERE value = ?)"
        )
        # the daemon polls one forum a run: only runs that polled it say anything about it
        # (runs stored before `polled_forums` existed polled every forum)
        polled_it = (
            "(json_type(r.summary, '$.polled_forums') IS NULL OR EXISTS "
            "(SELECT 1 FROM json_each(r.summary, '$.polled_forums') WHERE value = ?))"
        )
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
        error = self._row("SELECT last_error FROM forums WHERE id = ?", forum_id) or {}
        return PollRecord(last_ok, failed[0], parse_iso(last_run), error.get("last_error"))

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
        self.db.table("forums").update(
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
        self.db.table("forums").update(forum_id, {column: text})

    @_translating
    def last_full_scan(self, forum_id: str) -> datetime | None:
        row = self._row("SELECT last_full_scan_at FROM forums WHERE id = ?", forum_id) or {}
        return parse_iso(row.get("last_full_scan_at"))

    @_translating
    def full_scan_done(self, forum_id: str, now: datetime) -> None:
        self.db.table("forums").update(forum_id, {"last_full_scan_at": iso(now)})

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
        self.db.table("group_members").insert_all(
            {"forum_id": forum_id, "group_name": group, "username": u} for u in sorted(usernames)
        )

    # --- topics -------------------------------------------------------------------------------

    @_translating
    def markers(self, forum_id: str) -> StoredMarkers:
        """Topic id → the change marker stored at its last fetch, read per topic asked for."""
        return StoredMarkers(self.db, forum_id)

    @_translating
    def save_topic(self, topic: Topic, marker: str) -> bool:
        """Store a freshly fetched topic; returns False (and writes nothing) if nothing changed.

        Plain prepared statements, not sqlite-utils' upsert: a first cycle stores every topic
        of a forum, and building each statement anew cost more than parsing the topic."""
        row = topic_row(topic, marker)
        posts = [post_row(topic, p) for p in topic.posts]
        stored = self._row(
            f"SELECT {', '.join(row)} FROM topics WHERE forum_id = ? AND topic_id = ?",
            topic.forum_id,
            topic.id,
        )
        if stored == row and self._stored_posts(topic) == posts:
            return False
        changed = {**row, "next_check": None}  # judged again by the next evaluation
        writers = {p.author for p in topic.posts} | {topic.author}
        authors = [author_row(topic.forum_id, a) for a in writers]
        with self.db.atomic():
            conn = self.db.conn
            conn.execute(upsert_sql("topics", tuple(changed), TOPIC_KEY), tuple(changed.values()))
            conn.execute(
                "DELETE FROM posts WHERE forum_id = ? AND topic_id = ?", [topic.forum_id, topic.id]
            )
            conn.executemany(
                insert_sql("posts", tuple(posts[0])), [tuple(p.values()) for p in posts]
            )
            conn.executemany(
                upsert_sql("authors", tuple(authors[0]), AUTHOR_KEY, when_changed=True),
                [tuple(a.values()) for a in authors],
            )
        return True

    def _stored_posts(self, topic: Topic) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT * FROM posts WHERE forum_id = ? AND topic_id = ? ORDER BY number",
                [topic.forum_id, topic.id],
            )
        )

    @_translating
    def topics(
        self,
        forum_id: str,
        state: TopicState | None = None,
        *,
        created_from: datetime | None = None,
        created_until: datetime | None = None,
    ) -> list[Topic]:
        """The forum's stored topics, posts included: those in `state`, started within
        [created_from, created_until) when given; every one otherwise."""
        conditions, params = topic_conditions(forum_id, state, created_from, created_until)
        rows = self.db.execute(
            f"SELECT topic_id FROM topics WHERE {' AND '.join(conditions)}", params
        )
        return self.topics_by_id(forum_id, [r[0] for r in rows])

    @_translating
    def topic(self, key: TopicKey) -> Topic | None:
        """One stored topic with its posts, or None; reads only that topic's rows."""
        found = self.topics_by_id(key.forum_id, [key.topic_id])
        return found[0] if found else None

    @_translating
    def reusable_posts(self, key: TopicKey) -> dict[str, Post]:
        """The stored posts of an open topic, by post id, for a scraper that fetches only a long
        topic's new posts; none for a topic not open (its state may hang on an old post)."""
        topic = self.topic(key)
        if topic is None or topic.state is not TopicState.OPEN:
            return {}
        return {post.id: post for post in topic.posts}

    @_translating
    def mark_topic_deleted(self, key: TopicKey) -> None:
        """The topic is gone from the forum (404/410): nobody can answer it any more."""
        with self.db.atomic():  # its own commit outside `transaction()`, a savepoint inside
            self.db.execute(
                "UPDATE topics SET state = ?, next_check = NULL "
                "WHERE forum_id = ? AND topic_id = ?",
                [TopicState.DELETED.value, key.forum_id, key.topic_id],
            )

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
    def topic_urls(self, forum_id: str, topic_ids: Iterable[str]) -> dict[str, str]:
        """Topic id → URL of the given stored topics (by primary key, a row each)."""
        urls = {}
        for topic_id in topic_ids:
            row = self.db.execute(
                "SELECT url FROM topics WHERE forum_id = ? AND topic_id = ?", [forum_id, topic_id]
            ).fetchone()
            if row is not None:
                urls[topic_id] = row[0]
        return urls

    @_translating
    def topic_key_by_url(self, url: str) -> TopicKey | None:
        """The stored topic at `url` (with or without a trailing slash)."""
        row = self.db.execute(
            "SELECT forum_id, topic_id FROM topics WHERE url IN (?, ?, ?) LIMIT 1",
            [url, url.rstrip("/"), url.rstrip("/") + "/"],
        ).fetchone()
        return TopicKey(row[0], row[1]) if row else None

    @_translating
    def open_topics_by(self, forum_id: str, username: str) -> list[Topic]:
        """One author's open topics in a forum, whole (for re-post links of one request)."""
        rows = self.db.execute(
            "SELECT topic_id FROM topics WHERE forum_id = ? AND author = ? AND state = ?",
            [forum_id, username, TopicState.OPEN.value],
        ).fetchall()
        return self.topics_by_id(forum_id, [row[0] for row in rows])

    @_translating
    def topic_findings(self, key: TopicKey) -> list[StoredFinding]:
        """The topic's stored findings (open and resolved), by the primary key's prefix."""
        rows = self.db.query(
            "SELECT * FROM findings WHERE forum_id = ? AND topic_id = ? ORDER BY opened_at",
            [key.forum_id, key.topic_id],
        )
        return [stored_finding_from_row(r) for r in rows]

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
    def open_findings_counts_at(self, forum_id: str, moments: Sequence[datetime]) -> list[int]:
        """How many findings forumwatch held open at each of `moments` (seen by then, not yet
        resolved), in one pass over the findings seen by the last and open at the first."""
        if not moments:
            return []
        marks = sorted({iso(m) or "" for m in moments})  # ISO texts in UTC sort as moments do
        changes = [0] * (len(marks) + 1)
        rows = self.db.execute(
            "SELECT first_seen_at, resolved_at FROM findings WHERE forum_id = ? "
            "AND first_seen_at <= ? AND (resolved_at IS NULL OR resolved_at > ?)",
            [forum_id, marks[-1], marks[0]],
        )
        for seen, resolved in rows:  # open at the marks from `seen` up to before `resolved`
            changes[bisect.bisect_left(marks, seen)] += 1
            changes[bisect.bisect_left(marks, resolved) if resolved else len(marks)] -= 1
        held = dict(zip(marks, itertools.accumulate(changes), strict=False))
        return [held[iso(m) or ""] for m in moments]

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
    def failed_forums_between(self, start: datetime, end: datetime) -> dict[str, int]:
        """Forum id → how many runs (judging a moment in [start, end)) could not poll it."""
        failed: dict[str, int] = {}
        for r in self.db.query(
            "SELECT summary FROM runs WHERE now >= ? AND now < ?", [iso(start), iso(end)]
        ):
            for forum_id in json.loads(r["summary"] or "{}").get("failed_forums", []):
                failed[forum_id] = failed.get(forum_id, 0) + 1
        return failed

    @_translating
    def save_finding(self, stored: StoredFinding) -> None:
        self.db.table("findings").upsert(finding_row(stored), pk=("forum_id", "topic_id", "rule"))

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

    # --- runs ---------------------------------------------------------------------------------

    @_translating
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

    @_translating
    def last_run_now(self) -> datetime | None:
        """The (possibly simulated) `now` of the latest recorded run, None before the first.

        ISO texts in UTC sort like the moments they name, so the `runs_now` index answers it.
        """
        row = self._row("SELECT max(now) AS now FROM runs") or {}
        return parse_iso(row.get("now"))

    def _row(self, sql: str, *params: Any) -> dict[str, Any] | None:
        return next(iter(self.db.query(sql, list(params))), None)

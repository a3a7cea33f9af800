"""Opening a database file (read-only, immutable, in memory), transactions, and the base class
`Database` that `Store`'s per-aggregate mixins build on.

WAL mode; read-then-write work happens inside `BEGIN IMMEDIATE` so two processes can never
interleave their decisions.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

from forumwatch.store.files import (
    MEMORY,
    StoreError,
    _check_writable,
    _header,
    _inspect,
    _read_only_uri,
    _translated,
)
from forumwatch.store.schema import SCHEMA, SCHEMA_VERSION, _missing_columns
from forumwatch.store.sql import SQLite

_P = ParamSpec("_P")
_R = TypeVar("_R")
_S = TypeVar("_S", bound="Database")
CHUNK = 500  # ids per `IN (...)`: well under SQLite's bound on parameters
_T = TypeVar("_T")


def chunks(items: Sequence[_T], size: int = CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def marks(count: int) -> str:
    return ", ".join("?" * count)


def _translating(
    method: Callable[Concatenate[_S, _P], _R],
) -> Callable[Concatenate[_S, _P], _R]:
    """Store method whose SQLite/OS errors become a one-line `StoreError` (see `_translated`)."""

    @functools.wraps(method)
    def wrapper(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._translated():
            return method(self, *args, **kwargs)

    return wrapper


class Database:
    """An open forumwatch database: opening, transactions and the helpers every aggregate
    (`Store`'s mixins) builds on."""

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
                self.db = SQLite(conn)
                conn.execute("PRAGMA busy_timeout = 5000")
            if not read_only:
                with self._translated():  # a full disk or a dying one says so in one line
                    self.db.enable_wal()
                    self._migrate()
        except BaseException:
            conn.close()
            raise

    @classmethod
    def in_memory(cls, copy_of: Path | None = None) -> Self:
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

    def _row(self, sql: str, *params: Any) -> dict[str, Any] | None:
        return next(iter(self.db.query(sql, list(params))), None)

"""The few things the store asks of a SQLite connection beyond `sqlite3` itself: rows as dicts,
statements that commit on their own outside a transaction, savepoint blocks, and upsert, update
and insert by column name.

This was sqlite-utils' `Database`; the store used eight of its methods, and importing it (with
click, pluggy and dateutil behind it) cost a nothing-changed `forumwatch run` about a tenth of a
second, a fifth of its start-up. Its semantics are kept where the store relies on them.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

Params = Sequence[Any] | Mapping[str, Any]
_CONTROL = ("BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SQLite:
    """One connection. `conn` is the `sqlite3.Connection` for what needs it directly."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        """Run one statement. Outside a transaction a write commits at once; a failed statement
        never leaves an implicit transaction open to capture later writes."""
        conn = self.conn
        was_open = conn.in_transaction
        try:
            cursor = conn.execute(sql, params)
        except Exception:
            if not was_open and conn.in_transaction:
                conn.rollback()
            raise
        if (
            not was_open
            and conn.in_transaction
            and cursor.description is None
            and not sql.lstrip().upper().startswith(_CONTROL)
        ):
            conn.commit()
        return cursor

    def query(self, sql: str, params: Params = ()) -> Iterator[dict[str, Any]]:
        """The rows of a SELECT as dicts, fetched as they are iterated."""
        cursor = self.execute(sql, params)
        keys = [d[0] for d in cursor.description or ()]
        return (dict(zip(keys, row, strict=True)) for row in cursor)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """All of the block or none of it: a transaction of its own, or a savepoint inside one."""
        conn = self.conn
        if conn.in_transaction:
            savepoint = f"fw_{secrets.token_hex(8)}"
            conn.execute(f"SAVEPOINT {savepoint}")
            try:
                yield
            except BaseException:
                if conn.in_transaction:  # an error may have ended the transaction already
                    conn.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                    conn.execute(f"RELEASE SAVEPOINT {savepoint}")
                raise
            conn.execute(f"RELEASE SAVEPOINT {savepoint}")
            return
        conn.execute("BEGIN")
        try:
            yield
        except BaseException:
            conn.rollback()
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            conn.rollback()
            raise

    def upsert(self, table: str, row: Mapping[str, Any], pk: str | tuple[str, ...]) -> None:
        """Insert `row`, or update the row with its primary key `pk` (one column or several)."""
        keys = (pk,) if isinstance(pk, str) else pk
        columns = list(row)
        updates = [c for c in columns if c not in keys]
        action = (
            "DO UPDATE SET " + ", ".join(f"{_quoted(c)} = excluded.{_quoted(c)}" for c in updates)
            if updates
            else "DO NOTHING"
        )
        self.execute(
            f"INSERT INTO {_quoted(table)} ({', '.join(map(_quoted, columns))}) "
            f"VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT({', '.join(map(_quoted, keys))}) {action}",
            list(row.values()),
        )

    def update(self, table: str, id_: Any, values: Mapping[str, Any]) -> None:
        """Set `values` on the row whose `id` is `id_`."""
        sets = ", ".join(f"{_quoted(c)} = ?" for c in values)
        self.execute(f"UPDATE {_quoted(table)} SET {sets} WHERE id = ?", [*values.values(), id_])

    def insert(self, table: str, row: Mapping[str, Any]) -> None:
        self.insert_all(table, [row])

    def insert_all(self, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Insert rows that all have the same columns, in one transaction (or savepoint)."""
        rows = list(rows)
        if not rows:
            return
        columns = list(rows[0])
        sql = (
            f"INSERT INTO {_quoted(table)} ({', '.join(map(_quoted, columns))}) "
            f"VALUES ({', '.join('?' * len(columns))})"
        )
        with self.atomic():
            self.conn.executemany(sql, [[r[c] for c in columns] for r in rows])

    def enable_wal(self) -> None:
        """Write-ahead logging: readers never wait for the writer (outside any transaction)."""
        if self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self.conn.execute("PRAGMA journal_mode=wal")

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.conn.close()

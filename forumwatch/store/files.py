"""File safety: what a database file holds, looked at before SQLite opens it, and the run lock.

A database file is never damaged or silently misused: before opening a file for writing, the store
looks at it read-only and refuses another application's database, a newer schema or a damaged
file; every SQLite or OS failure leaves as a one-line `StoreError` naming the file and the fix.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TextIO
from urllib.parse import quote

from forumwatch.store.schema import OUR_TABLES, SCHEMA_VERSION

MEMORY = Path(":memory:")
_MAGIC = b"SQLite format 3\x00"


class AlreadyRunning(Exception):
    """Another forumwatch process holds the run lock of this database."""


class StoreError(Exception):
    """The database file cannot be used (not SQLite, unwritable, ...); one line with the fix."""


def _damaged(path: Path, detail: str) -> str:
    return (
        f"{path}: cannot use it as a forumwatch database: the file is damaged or not SQLite "
        f"({detail}); restore it from a backup or move it aside and let forumwatch start a new one"
    )


def _no_room(path: Path) -> bool:
    """True when the folder holding `path` has (next to) no free space left."""
    try:
        return shutil.disk_usage(path.parent).free < 64 * 1024
    except OSError:
        return False


def _explain(
    path: Path, err: BaseException, *, read_only: bool = False, thing: str = "the database"
) -> str:
    """One line saying what went wrong with `path` and what the user can do about it.

    SQLite's result code (not its wording) tells the cases apart; OS errors by errno.
    """
    code = getattr(err, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    number = err.errno if isinstance(err, OSError) else None
    if (
        primary == sqlite3.SQLITE_FULL
        or number in (errno.ENOSPC, errno.EDQUOT)
        or (primary == sqlite3.SQLITE_IOERR and _no_room(path))  # a full disk under -shm
    ):
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


def unfinished(path: Path) -> bool:
    """True when `path` holds a forumwatch database that was begun and never finished (a first
    run cut off by a full disk or a kill): the next writing run finishes it. Never raises: what
    is not ours is `_inspect`'s to refuse, with its own message."""
    try:
        return path.exists() and path.stat().st_size > 0 and _inspect(path) == "new"
    except (StoreError, OSError):
        return False


def _inspect(path: Path) -> Literal["new", "ours", "legacy"]:
    """What `path` holds, found without writing a byte or creating a side file.

    "new": missing, empty, or SQLite with some of our tables at most (a cut-off first run);
    "ours": this schema version; "legacy": our tables from before `user_version` was set.
    Raises `StoreError` for what forumwatch must not touch: another application's database, a
    newer schema, a damaged or non-SQLite file.
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
    if version == 0 and set(tables) <= OUR_TABLES:
        return "new"  # nothing yet, or a first run cut off before its schema was whole
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

    def refused(holder: str) -> str:
        return (
            f"{database}: another forumwatch run is in progress ({holder}); "
            "this one exits without touching the database; try again when it has finished"
        )

    with _holding(handle, lock_path, exclusive=write, refused=refused, thing="the run lock"):
        yield


@contextmanager
def daemon_lock(database: Path) -> Iterator[None]:
    """Held for the daemon's whole life (`<database>.daemon`): while it is, a `forumwatch run`
    refuses (see `daemon_holding`) instead of doing the daemon's work a second time, and a
    second daemon refuses to start."""
    lock_path = Path(f"{database}.daemon")
    handle = _open_lock(lock_path, write=True)
    assert handle is not None

    def refused(holder: str) -> str:
        return (
            f"{database}: a forumwatch daemon already watches this database ({holder}); "
            "stop it before starting another"
        )

    with _holding(handle, lock_path, exclusive=True, refused=refused, thing="the daemon lock"):
        yield


@contextmanager
def _holding(
    handle: TextIO, lock_path: Path, *, exclusive: bool, refused: Callable[[str], str], thing: str
) -> Iterator[None]:
    """Hold an flock on `handle` (exclusive: the holder also writes who it is into the file)
    until the block ends; `AlreadyRunning(refused(holder))` when somebody else holds it."""
    try:
        try:
            fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise AlreadyRunning(refused(handle.read().strip() or "another process")) from None
        if exclusive:
            with _translated(lock_path, thing=thing):
                handle.seek(0)
                handle.truncate()
                handle.write(f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
                handle.flush()
        yield
    finally:
        handle.close()  # closing releases the flock


def daemon_holding(database: Path) -> str | None:
    """Who holds the daemon lock of `database` ("pid 123 since …"), or None when no daemon runs."""
    handle = _open_lock(Path(f"{database}.daemon"), write=False)
    if handle is None:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "another process"
        return None

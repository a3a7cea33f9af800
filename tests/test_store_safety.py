"""A database file is never damaged or silently misused, and every store problem is one line naming
the file and the fix. Real SQLite files on disk, real permissions, a real full disk; no mocks."""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import NOW, forumwatch, write_config

from forumwatch.model import (
    Author,
    Evidence,
    Finding,
    Post,
    Role,
    Stage,
    StoredFinding,
    Topic,
    TopicKey,
    TopicState,
)
from forumwatch.sample_forum.server import SampleForumServer
from forumwatch.store import SCHEMA, SCHEMA_VERSION, AlreadyRunning, Store, StoreError, run_lock

CUSTOMER = Author("olena_k", "Olena")


def make_topic(
    n: int, *, body: str = "Signing fails", state: TopicState = TopicState.OPEN
) -> Topic:
    return Topic(
        forum_id="market",
        id=str(n),
        url=f"https://forum.example/t/{n}",
        title=f"Topic {n}",
        author=CUSTOMER,
        created_at=NOW,
        posts=(Post(f"p{n}", 1, CUSTOMER, NOW, body_text=body),),
        state=state,
        last_activity_at=NOW + timedelta(minutes=n),
    )


def make_finding(n: int, *, resolved: bool = False, resolution: str = "") -> StoredFinding:
    finding = Finding(
        key=TopicKey("market", str(n)),
        rule="unanswered",
        stage=Stage.RESOLVED if resolved else Stage.DUE,
        opened_at=NOW,
        due_at=NOW + timedelta(hours=2),
        escalate_at=NOW + timedelta(hours=24),
        evidence=(Evidence(1, CUSTOMER.username, Role.AUTHOR, NOW),),
        summary="nobody answered",
        silent=("dev_ivan",),
    )
    resolved_at = NOW + timedelta(hours=11) if resolved else None
    return StoredFinding(finding, 1, NOW, None, resolved_at, f"Topic {n}", "u", resolution)


def filled_database(path: Path, topics: int = 3) -> Path:
    """A real forumwatch database with topics, findings and a run, closed again."""
    store = Store(path)
    with store.transaction():
        for n in range(1, topics + 1):
            store.save_topic(make_topic(n, body="x" * 2000), f"m{n}")
            store.save_finding(make_finding(n))
    store.record_run(NOW, NOW, "ok", {})
    store.close()
    return path


def folder_state(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file in the folder with a hash of its bytes and its mtime."""
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def store_error(open_store: Callable[[], object]) -> str:
    with pytest.raises(StoreError) as caught:
        open_store()
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- files forumwatch must not touch --------------------------------------------------------------


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_another_applications_database_is_refused_and_left_byte_identical(
    tmp_path: Path, journal_mode: str
) -> None:
    database = tmp_path / "forumwatch.db"
    with sqlite3.connect(database) as conn:
        conn.execute(f"PRAGMA journal_mode = {journal_mode}")
        conn.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO contacts VALUES ('Petro', '+380')")
    conn.close()
    before = folder_state(tmp_path)

    messages = [
        store_error(lambda: Store(database)),
        store_error(lambda: Store(database, read_only=True)),
        store_error(lambda: Store.in_memory(copy_of=database)),
    ]

    for message in messages:
        assert message == (
            f"{database}: this is another application's SQLite database (tables: contacts, "
            "notes); forumwatch leaves it untouched; point `database:` at a new file"
        )
    assert folder_state(tmp_path) == before  # same bytes, no -wal/-shm/-journal


def test_database_of_a_newer_forumwatch_is_refused(tmp_path: Path) -> None:
    database = filled_database(tmp_path / "forumwatch.db")
    with sqlite3.connect(database) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = folder_state(tmp_path)

    message = store_error(lambda: Store(database))

    assert message.startswith(
        f"{database}: written by a newer forumwatch (schema {SCHEMA_VERSION + 1}"
    )
    assert message.endswith("upgrade forumwatch")
    assert folder_state(tmp_path) == before


def test_truncated_database_is_reported_damaged_not_used(tmp_path: Path) -> None:
    database = filled_database(tmp_path / "forumwatch.db", topics=40)
    data = database.read_bytes()
    database.write_bytes(data[: len(data) // 2])
    before = folder_state(tmp_path)

    for read_only in (False, True):
        message = store_error(lambda: Store(database, read_only=read_only))  # noqa: B023

        assert message.startswith(
            f"{database}: cannot use it as a forumwatch database: the file is damaged or not SQLite"
        )
        assert message.endswith(
            "restore it from a backup or move it aside and let forumwatch start a new one"
        )
    assert folder_state(tmp_path) == before


def test_file_that_is_not_sqlite_is_reported_and_kept(tmp_path: Path) -> None:
    database = tmp_path / "forumwatch.db"
    database.write_text("my notes, not a database\n" * 20, encoding="utf-8")
    before = folder_state(tmp_path)

    message = store_error(lambda: Store(database))

    assert message.startswith(f"{database}: cannot use it as a forumwatch database")
    assert "(file is not a database)" in message
    assert folder_state(tmp_path) == before


# --- permissions ----------------------------------------------------------------------------------


@pytest.fixture
def open_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder an unprivileged user can reach: tmp_path, or under /tmp when running as root
    (pytest's root-owned base folder is closed to others)."""
    if os.geteuid() != 0:
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="forumwatch-test-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o700)
        shutil.rmtree(folder)


def as_unprivileged(action: Callable[[], str], *paths: Path) -> str:
    """`action()` run by a user that file permissions apply to; `paths` become that user's.

    As root, permissions do not stop us, so a forked child drops to `nobody` (no exec: the
    interpreter lives under /root, which `nobody` cannot read) and pipes back the result.
    """
    if os.geteuid() != 0:
        return action()
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root and there is no user `nobody` to drop privileges to")
    for path in paths:
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            text = action()
        except BaseException as err:
            text = f"{type(err).__name__}: {err}"
        os.write(write_end, text.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        text = pipe.read().decode()
    os.waitpid(pid, 0)
    return text


def store_message(path: Path) -> Callable[[], str]:
    def attempt() -> str:
        try:
            Store(path).close()
        except StoreError as err:
            return str(err)
        return "opened"

    return attempt


def lock_message(path: Path) -> Callable[[], str]:
    def attempt() -> str:
        try:
            with run_lock(path):
                return "locked"
        except StoreError as err:
            return str(err)

    return attempt


CANNOT_WRITE = (
    "cannot write the database (read-only file or folder); give the user running forumwatch "
    "write access to the file and its folder"
)


def test_read_only_database_file_is_a_clear_error(open_folder: Path) -> None:
    database = filled_database(open_folder / "forumwatch.db")
    database.chmod(0o444)
    before = folder_state(open_folder)

    message = as_unprivileged(store_message(database), open_folder, database)

    assert message == f"{database}: {CANNOT_WRITE}"
    assert folder_state(open_folder) == before


def test_read_only_folder_is_a_clear_error_for_database_and_lock(open_folder: Path) -> None:
    database = filled_database(open_folder / "forumwatch.db")
    missing = open_folder / "new.db"
    open_folder.chmod(0o555)
    before = folder_state(open_folder)

    existing_message = as_unprivileged(store_message(database), open_folder, database)
    new_message = as_unprivileged(store_message(missing), open_folder, database)
    lock = as_unprivileged(lock_message(database), open_folder, database)

    assert existing_message == f"{database}: {CANNOT_WRITE}"
    assert new_message == f"{missing}: {CANNOT_WRITE}"
    assert lock == (
        f"{database}.lock: cannot write the run lock (read-only file or folder); give the user "
        "running forumwatch write access to the file and its folder"
    )
    assert folder_state(open_folder) == before


# --- a full disk ----------------------------------------------------------------------------------

DISK_FULL = (
    "the disk holding the database is full; free space there "
    "(nothing of this run was stored; the next run redoes it)"
)


def fill_until_full(store: Store) -> str:
    """Store ever more topics in one transaction until the disk is full; the error message."""

    def fill() -> None:
        with store.transaction():
            store.save_finding(make_finding(1, resolved=True, resolution="answered"))
            for n in range(2, 100_000):
                store.save_topic(make_topic(n, body="x" * 4000), f"m{n}")

    return store_error(fill)


def test_full_disk_stores_nothing_of_the_transaction_and_keeps_earlier_data(
    tmp_path: Path,
) -> None:
    database = filled_database(tmp_path / "forumwatch.db", topics=1)
    store = Store(database)
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages + 4}")  # SQLite's own "disk full"

    message = fill_until_full(store)
    store.close()

    assert message == f"{database}: {DISK_FULL}"
    reopened = Store(database)
    assert [t.id for t in reopened.topics("market")] == ["1"]
    assert [s.is_open for s in reopened.findings().values()] == [True]
    reopened.close()


def test_full_tmpfs_disk_is_a_clear_error(tmp_path: Path) -> None:
    """The same with the operating system's ENOSPC, on a tiny tmpfs (needs root and mount)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; the max_page_count test covers SQLite")
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(small)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        database = filled_database(small / "forumwatch.db", topics=1)
        store = Store(database)

        message = fill_until_full(store)
        store.close()

        assert message == f"{database}: {DISK_FULL}"
        reopened = Store(database, read_only=True)  # the full disk has no room to write
        assert [t.id for t in reopened.topics("market")] == ["1"]
        assert [s.is_open for s in reopened.findings().values()] == [True]
        reopened.close()
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_a_first_run_cut_off_by_a_full_disk_is_finished_by_the_next_run(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    """A first `run` on a tmpfs too small for the schema leaves a 4 KB file behind; once the
    disk has room, the next `run` finishes that database instead of refusing it."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; the unfinished-file test covers the rest")
    small = tmp_path / "small"
    small.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(small)]
    mounted = subprocess.run(mount, capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        config = write_config(tmp_path, forum.url)
        text = config.read_text(encoding="utf-8").replace(
            str(tmp_path / "forumwatch.db"), str(small / "forumwatch.db")
        )
        config.write_text(text, encoding="utf-8")

        first = forumwatch("run", "-c", str(config), "--now", NOW.isoformat())
        assert first.returncode == 2
        assert "is full; free space there" in first.stderr
        assert (small / "forumwatch.db").exists()  # the cut-off file the old code refused

        subprocess.run(["mount", "-o", "remount,size=20m", str(small)], check=True)
        second = forumwatch("run", "-c", str(config), "--now", NOW.isoformat())

        assert second.returncode == 0, second.stderr
        assert "9 topics listed, 9 fetched" in second.stdout
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_someone_elses_database_is_still_refused_untouched(tmp_path: Path) -> None:
    other = tmp_path / "forumwatch.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    before = hashlib.sha256(other.read_bytes()).hexdigest()

    with pytest.raises(StoreError, match="another application's SQLite database"):
        Store(other)
    assert hashlib.sha256(other.read_bytes()).hexdigest() == before


def test_a_schema_begun_but_unfinished_is_completed(tmp_path: Path) -> None:
    begun = tmp_path / "forumwatch.db"
    with sqlite3.connect(begun) as db:  # our first tables, then the process died
        db.execute("CREATE TABLE forums (id TEXT PRIMARY KEY)")

    store = Store(begun)
    store.close()

    with sqlite3.connect(begun) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


# --- schema versions ------------------------------------------------------------------------------


def legacy_database(path: Path) -> Path:
    """A database as forumwatch wrote it before schema versioning: no user_version, no
    `resolution` column, no newer indexes; WAL mode."""
    old_schema = SCHEMA.replace(" resolution TEXT,", "").split("CREATE INDEX")[0]
    old_schema += "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (sent_at, channel);"
    store = Store.in_memory()
    with store.transaction():
        store.save_topic(make_topic(1), "m1")
        store.save_finding(make_finding(1))
    row = {k: v for k, v in next(iter(store.db.query("SELECT * FROM findings"))).items()}
    topic_rows = list(store.db.query("SELECT * FROM topics"))
    store.close()
    row.pop("resolution")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = wal")
        conn.executescript(old_schema)
        conn.execute(
            f"INSERT INTO findings ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
        topic = topic_rows[0]
        conn.execute(
            f"INSERT INTO topics ({', '.join(topic)}) VALUES ({', '.join('?' * len(topic))})",
            list(topic.values()),
        )
    conn.close()
    return path


def test_legacy_database_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    database = legacy_database(tmp_path / "forumwatch.db")

    store = Store(database)
    found = store.findings()
    store.close()

    assert [(key.topic_id, s.resolution, s.is_open) for (key, _), s in found.items()] == [
        ("1", "", True)
    ]
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        columns = [r[1] for r in conn.execute("PRAGMA table_info(findings)")]
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    conn.close()
    assert columns[-1] == "resolution"
    assert {"findings_open", "runs_now", "outbox_pending"} <= indexes


def test_legacy_database_is_readable_read_only_without_migrating(tmp_path: Path) -> None:
    database = legacy_database(tmp_path / "forumwatch.db")
    before = folder_state(tmp_path)

    store = Store(database, read_only=True)
    found = [s.resolution for s in store.findings().values()]
    store.close()

    assert found == [""]
    assert folder_state(tmp_path) == before


def test_new_database_gets_the_schema_version(tmp_path: Path) -> None:
    database = tmp_path / "sub" / "forumwatch.db"

    Store(database).close()

    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    conn.close()


# --- opening without creating or writing ----------------------------------------------------------


def test_create_false_on_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    database = tmp_path / "data" / "forumwatch.db"

    for options in ({"create": False}, {"read_only": True}):
        message = store_error(lambda: Store(database, **options))  # noqa: B023

        assert message == (
            f"{database}: no forumwatch database here yet; run `forumwatch run` first "
            "(or check `database:` in the config)"
        )
    assert list(tmp_path.iterdir()) == []


def test_read_only_store_reads_and_writes_nothing(tmp_path: Path) -> None:
    database = filled_database(tmp_path / "forumwatch.db")
    before = folder_state(tmp_path)

    store = Store(database, read_only=True)
    topics = store.topics("market")
    last = store.last_run_now()
    message = store_error(lambda: store.mark_topic_deleted(TopicKey("market", "1")))
    with pytest.raises(StoreError), store.transaction():  # a caught store error fails the block
        store_error(lambda: store.mark_topic_deleted(TopicKey("market", "1")))
    store.close()

    assert [t.id for t in topics] == ["1", "2", "3"]
    assert last == NOW
    assert message.startswith(f"{database}: opened read-only (dry run or `findings`)")
    assert folder_state(tmp_path) == before  # same bytes and mtimes, no -wal/-shm


def test_in_memory_copy_takes_writes_that_never_reach_the_file(tmp_path: Path) -> None:
    database = filled_database(tmp_path / "forumwatch.db")
    before = folder_state(tmp_path)

    copy = Store.in_memory(copy_of=database)
    copy.mark_topic_deleted(TopicKey("market", "1"))
    copy.record_run(NOW, NOW + timedelta(days=1), "ok", {})
    states = [t.state for t in copy.topics("market")]
    copy.close()
    empty = Store.in_memory()
    empty_topics = empty.topics("market")
    empty.close()

    assert states == [TopicState.DELETED, TopicState.OPEN, TopicState.OPEN]
    assert empty_topics == []
    assert folder_state(tmp_path) == before
    assert not Path(":memory:").exists()


def test_dry_run_lock_creates_no_lock_file_and_sees_a_running_cycle(tmp_path: Path) -> None:
    database = tmp_path / "forumwatch.db"
    lock = tmp_path / "forumwatch.db.lock"

    with run_lock(database, write=False):
        assert not lock.exists()
    with run_lock(database), pytest.raises(AlreadyRunning), run_lock(database, write=False):
        pass
    before = folder_state(tmp_path)
    with run_lock(database, write=False), pytest.raises(AlreadyRunning), run_lock(database):
        pass

    assert folder_state(tmp_path) == before


# --- resolution and the new queries ---------------------------------------------------------------


def test_resolution_round_trips(tmp_path: Path) -> None:
    store = Store(tmp_path / "forumwatch.db")
    ended = make_finding(
        1, resolved=True, resolution="closed without an answer after 11 h of waiting"
    )
    with store.transaction():
        store.save_finding(ended)

    assert list(store.findings("market").values()) == [ended]
    store.close()


def test_last_run_now_is_the_latest_simulated_moment(tmp_path: Path) -> None:
    store = Store(tmp_path / "forumwatch.db")
    assert store.last_run_now() is None

    store.record_run(NOW, NOW + timedelta(hours=19), "ok", {})
    store.record_run(NOW, NOW, "ok", {})

    assert store.last_run_now() == NOW + timedelta(hours=19)
    store.close()


def test_topic_open_findings_and_deletion(tmp_path: Path) -> None:
    store = Store(tmp_path / "forumwatch.db")
    with store.transaction():
        store.save_topic(make_topic(1), "m1")  # open, open finding
        store.save_topic(make_topic(2), "m2")  # open, resolved finding
        store.save_topic(make_topic(3, state=TopicState.CLOSED), "m3")  # closed, open finding
        store.save_topic(make_topic(4), "m4")  # open, no finding
        for stored in (make_finding(1), make_finding(2, resolved=True), make_finding(3)):
            store.save_finding(stored)
    key = TopicKey("market", "1")

    assert store.topic(key) == make_topic(1)
    assert store.topic(TopicKey("market", "404")) is None
    assert store.open_finding_topics("market") == {"1": NOW + timedelta(minutes=1)}
    assert store.open_finding_topics("other") == {}

    store.mark_topic_deleted(key)
    store.close()
    reopened = Store(tmp_path / "forumwatch.db")

    assert reopened.topic(key) == replace(make_topic(1), state=TopicState.DELETED)
    assert reopened.open_finding_topics("market") == {}
    reopened.close()

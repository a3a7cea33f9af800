"""Fill a real forumwatch store with the synthetic forum's N topics, fast, and cache it.

Rows are made with forumwatch's own mapping (store.rows.topic_row/post_row/author_row) from the
Topic objects the Discourse parser would build, written with executemany in big transactions.
Findings, group members, the full-scan mark and a run row then come from the product itself
(cycle.run.judge_and_tell over the stored topics at the forum's `BASE`, as a first cycle
would), so the store looks like one that has been polling the forum: a later cycle against
bench.synthetic at the same N finds every marker unchanged.

Cached as bench/.cache/store-<N>-v<VERSION>.db; topic URLs name PLACEHOLDER, which
`copy_store` replaces with the server's URL.

    .venv/bin/python -m bench.store_fill --topics 100000       # build (or reuse) the cache
    .venv/bin/python -m bench.store_fill --verify 300          # equal to a real cold cycle?
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from bench.synthetic import (
    APPS,
    BASE,
    DEV_GROUP,
    FORUM_ID,
    STAFF,
    Model,
    SyntheticForum,
    SynTopic,
    developer,
    display_name,
    iso_z,
    marker,
    post_id,
    slug,
    user_flags,
)
from forumwatch.config.load import load_config
from forumwatch.config.models import Config, ForumConfig
from forumwatch.model import Author, Post, PostKind, Topic, TopicState
from forumwatch.store import Store
from forumwatch.store.rows import author_row, post_row, topic_row
from scrapers.base import ForumSettings

VERSION = 2  # bump when the model or the mapping changes: old caches are ignored
CACHE = Path(__file__).resolve().parent / ".cache"
PLACEHOLDER = "http://forum.bench.invalid"
BATCH = 5_000


def write_config(
    folder: Path,
    url: str,
    *,
    rps: float = 20,
    console: bool = True,
    extra: str = "",
    sla: str = "",
) -> Path:
    """A config for the synthetic forum in `folder` (database forumwatch.db next to it)."""
    apps = "\n".join(
        f"      - {{id: app-{c}, categories: [app-{c}], developers: [{developer(c)}]}}"
        for c in range(1, APPS + 1)
    )
    text = f"""database: forumwatch.db
notify: {{console: {"true" if console else "false"}}}
{sla}
{extra}
forums:
  - id: {FORUM_ID}
    engine: discourse
    url: {url}
    staff: [{", ".join(STAFF)}]
    developer_groups: [{DEV_GROUP}]
    requests_per_second: {rps}
    max_pages: 1000  # the default 50 pages (1,500 topics) would cut a 10,000-topic list
    apps:
{apps}
"""
    path = folder / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def pacing_off() -> None:
    """In this process only: forumwatch polls without the politeness delay (the config's
    floor is 20 requests/s; `requests_per_second: 0` means no spacing in PoliteClient)."""
    from forumwatch.cycle import poll

    if getattr(poll.settings_for, "bench_unpaced", False):
        return
    original = poll.settings_for

    def unpaced(forum: ForumConfig) -> ForumSettings:
        return dataclasses.replace(original(forum), requests_per_second=0.0)

    unpaced.bench_unpaced = True  # type: ignore[attr-defined]
    poll.settings_for = unpaced


def author(username: str) -> Author:
    """The Author the Discourse parser makes of this user's posts."""
    flags = user_flags(username)
    roles = {r for r in ("staff", "moderator", "admin") if flags[r]}
    if flags["primary_group_name"]:
        roles.add(flags["primary_group_name"])
    return Author(username, display_name(username), frozenset(roles))


def parsed(moment: datetime) -> datetime:
    return datetime.fromisoformat(iso_z(moment)).astimezone(UTC)


def model_topic(t: SynTopic, base_url: str) -> Topic:
    """The Topic forumwatch would build from the synthetic forum's JSON for `t`."""
    posts = []
    for p in t.posts:
        kind = PostKind.REPLY
        if p.post_type in (2, 3) or p.action_code:
            kind = PostKind.SYSTEM
        elif p.post_type == 4:
            kind = PostKind.WHISPER
        posts.append(
            Post(
                str(post_id(t.id, p.number)),
                p.number,
                author(p.username),
                parsed(p.created_at),
                kind,
                None,
                p.body,
            )
        )
    state = TopicState.OPEN
    if t.archived:
        state = TopicState.ARCHIVED
    elif t.closed:
        state = TopicState.CLOSED
    elif t.solved:
        state = TopicState.SOLVED
    return Topic(
        forum_id=FORUM_ID,
        id=str(t.id),
        url=f"{base_url}/t/{slug(t)}/{t.id}",
        title=t.title,
        author=posts[0].author,
        created_at=parsed(t.created_at),
        posts=tuple(posts),
        state=state,
        category=f"app-{t.category_id}",
        category_id=str(t.category_id),
        tags=(),
        last_activity_at=parsed(t.bumped_at),
    )


def _batches(model: Model) -> Iterator[range]:
    for start in range(1, model.n + 1, BATCH):
        yield range(start, min(model.n, start + BATCH - 1) + 1)


def fill(path: Path, topics: int, base_url: str = PLACEHOLDER) -> dict[str, int]:
    """Write the forum's topics, posts and authors, then let forumwatch judge them once."""
    from forumwatch.cycle import results, run  # the product's own first-cycle bookkeeping

    model = Model(topics)
    store = Store(path)
    conn = store.db.conn
    counts = {"topics": 0, "posts": 0}
    authors: dict[str, Author] = {}
    with store.transaction():
        store.note_forum(FORUM_ID, "discourse", base_url)
        for batch in _batches(model):
            topic_rows, post_rows = [], []
            for i in batch:
                syn = model.topic(i)
                topic = model_topic(syn, base_url)
                topic_rows.append(topic_row(topic, marker(syn)))
                post_rows += [post_row(topic, p) for p in topic.posts]
                for p in topic.posts:
                    authors[p.author.username] = p.author
            _insert(conn, "topics", topic_rows)
            _insert(conn, "posts", post_rows)
            counts["topics"] += len(topic_rows)
            counts["posts"] += len(post_rows)
        _insert(conn, "authors", [author_row(FORUM_ID, a) for a in authors.values()])
        members = frozenset([developer(c) for c in range(1, APPS + 1)] + ["dev_lead"])
        store.save_group_members(FORUM_ID, DEV_GROUP, members)
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(write_config(Path(tmp), base_url, console=False))
    forum = config.forums[0]
    started = datetime.now(UTC)
    with store.transaction():
        changes = run.judge_and_tell(store, forum, config, BASE, [], backlog=True)
        store.full_scan_done(FORUM_ID, BASE)
        # what the real first (full) cycle keeps for the next ones: the category slugs
        store.save_category_slugs(FORUM_ID, {c: f"app-{c}" for c in range(1, APPS + 1)})
    counts["findings"] = sum(1 for c in changes if c.stored.is_open)
    report = results.CycleReport(now=BASE, dry_run=False)
    report.forums.append(results.ForumResult(FORUM_ID, topics_listed=topics))
    store.record_run(started, BASE, "ok", results.summary(report))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return counts


def _insert(conn: sqlite3.Connection, table: str, rows: list[dict[str, object]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    conn.executemany(sql, [tuple(r[c] for c in columns) for r in rows])


def cached_store(topics: int, say: bool = True) -> Path:
    """The cached store of N topics, built on first use."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"store-{topics}-v{VERSION}.db"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".partial")
        for leftover in CACHE.glob(partial.name + "*"):
            leftover.unlink()
        counts = fill(partial, topics)
        partial.rename(path)
        if say:
            print(
                f"built {path.name}: {counts['topics']:,} topics, {counts['posts']:,} posts, "
                f"{counts['findings']:,} open findings in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
    return path


def copy_store(topics: int, folder: Path, url: str) -> Path:
    """A private copy of the cached store in `folder` whose forum and topics point at `url`."""
    target = folder / "forumwatch.db"
    shutil.copyfile(cached_store(topics), target)
    conn = sqlite3.connect(target)
    with conn:
        conn.execute("UPDATE forums SET url = ?", [url])
        conn.execute("UPDATE topics SET url = replace(url, ?, ?)", [PLACEHOLDER, url])
    conn.close()
    return target


def verify(topics: int) -> None:
    """Compare the filled store with one a real cold cycle wrote from the server."""
    from forumwatch.cycle.run import run_cycle

    with tempfile.TemporaryDirectory() as tmp, SyntheticForum(topics) as server:
        folder = Path(tmp)
        (folder / "real").mkdir()
        config: Config = load_config(write_config(folder / "real", server.url, console=False))
        real = Store(config.database)
        pacing_off()
        run_cycle(real, config, BASE, active=[])
        real.close()
        fill(folder / "filled.db", topics, server.url)
        a = sqlite3.connect(config.database)
        b = sqlite3.connect(folder / "filled.db")
        for table, order in (
            ("topics", "topic_id"),
            ("posts", "topic_id, number"),
            ("authors", "username"),
            ("group_members", "username"),
            ("findings", "topic_id, rule"),
        ):
            skip = "first_seen_at" if table == "findings" else ""
            sql = f"SELECT * FROM {table} ORDER BY {order}"
            cols = [d[0] for d in a.execute(sql).description]
            keep = [n for n, c in enumerate(cols) if c != skip]
            rows_a = [tuple(r[n] for n in keep) for r in a.execute(sql)]
            rows_b = [tuple(r[n] for n in keep) for r in b.execute(sql)]
            same = rows_a == rows_b
            print(f"{table:14} real {len(rows_a):7,}  filled {len(rows_b):7,}  equal: {same}")
            if not same:
                diff = next((x, y) for x, y in zip(rows_a, rows_b, strict=False) if x != y)
                print("  first difference:\n   ", diff[0], "\n   ", diff[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=100_000)
    parser.add_argument("--verify", type=int, metavar="N", help="compare with a real cycle")
    args = parser.parse_args()
    if args.verify:
        verify(args.verify)
    else:
        cached_store(args.topics)


if __name__ == "__main__":
    main()

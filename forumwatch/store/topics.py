"""The store's topics: each topic as last fetched, its posts and their authors.

Part of `Store` (mixed in). A topic is read by its primary key, a forum's topics through an
index: reading one topic of a forum of 100,000 costs what that topic costs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from forumwatch.model import Post, Topic, TopicKey, TopicState
from forumwatch.store.db import Database, _translating, chunks, marks
from forumwatch.store.rows import (
    AUTHOR_KEY,
    TOPIC_KEY,
    author_from_row,
    author_row,
    insert_sql,
    iso,
    post_from_row,
    post_row,
    topic_from_row,
    topic_row,
    upsert_sql,
)
from forumwatch.store.sql import SQLite


def topic_conditions(
    forum_id: str,
    state: TopicState | None,
    created_from: datetime | None,
    created_until: datetime | None,
) -> tuple[list[str], list[str]]:
    """WHERE conditions (joined by AND) and their parameters for a forum's topics: in `state`,
    started within [created_from, created_until), each bound when given."""
    conditions, params = ["forum_id = ?"], [forum_id]
    if state is not None:
        conditions.append("state = ?")
        params.append(state.value)
    if created_from is not None:
        conditions.append("created_at >= ?")
        params.append(iso(created_from) or "")
    if created_until is not None:
        conditions.append("created_at < ?")
        params.append(iso(created_until) or "")
    return conditions, params


class StoredMarkers(Mapping[str, str]):
    """Topic id → the marker stored at its last fetch, looked up by primary key as a listing
    asks (a steady poll reads one page of a forum of 100,000 topics)."""

    def __init__(self, db: SQLite, forum_id: str) -> None:
        self.db, self.forum_id = db, forum_id

    def __getitem__(self, topic_id: str) -> str:
        row = self.db.execute(
            "SELECT marker FROM topics WHERE forum_id = ? AND topic_id = ?",
            [self.forum_id, topic_id],
        ).fetchone()
        if row is None:
            raise KeyError(topic_id)
        return str(row[0] or "")

    def __iter__(self) -> Iterator[str]:
        rows = self.db.execute("SELECT topic_id FROM topics WHERE forum_id = ?", [self.forum_id])
        return (r[0] for r in rows)

    def __len__(self) -> int:
        query = "SELECT count(*) FROM topics WHERE forum_id = ?"
        return int(self.db.execute(query, [self.forum_id]).fetchone()[0])


class TopicsMixin(Database):
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

    def topics_by_id(self, forum_id: str, topic_ids: Sequence[str]) -> list[Topic]:
        """The given topics whole (posts and their authors), in id order; only their rows."""
        result: list[Topic] = []
        for part in chunks(sorted(topic_ids)):
            where = f"forum_id = ? AND topic_id IN ({marks(len(part))})"
            params = [forum_id, *part]
            rows = list(self.db.query(f"SELECT * FROM topics WHERE {where}", params))
            post_rows = list(
                self.db.query(
                    f"SELECT * FROM posts WHERE {where} ORDER BY topic_id, number", params
                )
            )
            names = sorted({r["author"] for r in rows} | {r["author"] for r in post_rows})
            authors = {}
            for names_part in chunks(names):
                for r in self.db.query(
                    f"SELECT * FROM authors WHERE forum_id = ? "
                    f"AND username IN ({marks(len(names_part))})",
                    [forum_id, *names_part],
                ):
                    authors[r["username"]] = author_from_row(r)
            posts: dict[str, list[Post]] = {}
            for r in post_rows:
                posts.setdefault(r["topic_id"], []).append(post_from_row(r, authors))
            result += [topic_from_row(r, authors, posts.get(r["topic_id"], [])) for r in rows]
        return sorted(result, key=lambda t: t.id)

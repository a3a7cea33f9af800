"""The store's side of incremental evaluation: which topics a cycle must judge, and what it
learnt of each (when to look again, its app, who answered first).

Part of `Store` (mixed in). Every query goes through an index and reads the rows and columns it
needs: a forum of 100,000 topics costs what its changed and due topics cost.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from forumwatch.model import TopicKey, TopicState
from forumwatch.store.db import Database, chunks, marks
from forumwatch.store.rows import iso, parse_iso
from forumwatch.store.topics import topic_conditions

_STATES = {state.value: state for state in TopicState}  # by value, without Enum.__call__
NEVER = "9999"  # a `next_check` that no moment reaches: nothing will change without a new post


@dataclass(frozen=True)
class TopicFacts:
    """What one evaluation learnt of a topic, stored beside it (see `Store.save_facts`)."""

    topic_id: str
    next_check: datetime | None  # None: nothing changes until the topic does
    app_id: str = ""
    customer: bool = False  # started by a customer (not a responder): silence rules apply
    repost: bool = False  # the latest topic of a re-posted request
    first_ack_at: datetime | None = None  # the first public developer or staff reply
    first_dev_at: datetime | None = None  # the first public developer reply


@dataclass(frozen=True, slots=True)
class LightTopic:
    """A topic's row without its posts: what lists, bursts and digests read."""

    key: TopicKey
    title: str
    url: str
    created_at: datetime
    state: TopicState
    author: str
    app_id: str
    customer: bool
    first_ack_at: datetime | None
    first_dev_at: datetime | None
    judged: bool  # its facts are current (it was evaluated since it last changed)
    category: str = ""  # what SLA policies match on
    category_id: str = ""
    tags: tuple[str, ...] = ()


class EvaluationMixin(Database):
    # --- what to judge ---------------------------------------------------------------------

    def eval_state(self, forum_id: str) -> tuple[str | None, datetime | None]:
        """(fingerprint, now) of the forum's last evaluation; (None, None) before the first."""
        row = (
            self._row("SELECT eval_fingerprint, evaluated_at FROM forums WHERE id = ?", forum_id)
            or {}
        )
        return row.get("eval_fingerprint"), parse_iso(row.get("evaluated_at"))

    def save_eval_state(self, forum_id: str, fingerprint: str, now: datetime) -> None:
        self.db.execute(
            "UPDATE forums SET eval_fingerprint = ?, evaluated_at = ? WHERE id = ?",
            [fingerprint, iso(now), forum_id],
        )

    def invalidate_evaluation(self, forum_id: str) -> None:
        """Every topic of the forum is judged again (the config or the groups changed)."""
        self.db.execute("UPDATE topics SET next_check = NULL WHERE forum_id = ?", [forum_id])

    def due_topics(self, forum_id: str, now: datetime) -> tuple[list[str], list[str]]:
        """(changed, due): ids of topics changed since they were last judged, and of those whose
        `next_check` has come (the topics_next_check index; any state)."""
        changed = [
            r[0]
            for r in self.db.execute(
                "SELECT topic_id FROM topics WHERE forum_id = ? AND next_check IS NULL",
                [forum_id],
            )
        ]
        due = [
            r[0]
            for r in self.db.execute(
                "SELECT topic_id FROM topics WHERE forum_id = ? AND next_check <= ?",
                [forum_id, iso(now)],
            )
        ]
        return changed, due

    def with_their_authors(self, forum_id: str, topic_ids: Iterable[str]) -> dict[str, list[str]]:
        """Author (casefolded) → ids of their open topics and of the given ones: a re-posted
        request spans one author's topics, so they are judged together."""
        ids = sorted(set(topic_ids))
        groups: dict[str, set[str]] = {}
        for part in chunks(ids):
            for author, topic_id in self.db.execute(
                f"SELECT author_fold, topic_id FROM topics WHERE forum_id = ? "
                f"AND topic_id IN ({marks(len(part))})",
                [forum_id, *part],
            ):
                groups.setdefault(author or "", set()).add(topic_id)
        authors = sorted(groups)
        for part in chunks(authors):
            for author, topic_id in self.db.execute(
                f"SELECT author_fold, topic_id FROM topics WHERE forum_id = ? AND state = ? "
                f"AND author_fold IN ({marks(len(part))})",
                [forum_id, TopicState.OPEN.value, *part],
            ):
                groups[author or ""].add(topic_id)
        return {author: sorted(found) for author, found in groups.items()}

    def open_topics_by_author(self, forum_id: str) -> list[list[str]]:
        """Ids of every open topic, an author's together (the topics_author index)."""
        groups: list[list[str]] = []
        last: str | None = None
        for author, topic_id in self.db.execute(
            "SELECT author_fold, topic_id FROM topics WHERE forum_id = ? AND state = ? "
            "ORDER BY author_fold",
            [forum_id, TopicState.OPEN.value],
        ):
            if author != last or not groups:
                groups.append([])
                last = author
            groups[-1].append(topic_id)
        return groups

    def open_topic_count(self, forum_id: str) -> int:
        row = self.db.execute(
            "SELECT count(*) FROM topics WHERE forum_id = ? AND state = ?",
            [forum_id, TopicState.OPEN.value],
        ).fetchone()
        return int(row[0])

    # --- what was learnt -------------------------------------------------------------------

    def save_facts(self, forum_id: str, facts: Iterable[TopicFacts]) -> None:
        """Store each judged topic's facts, and when it must be judged again."""
        self.db.conn.executemany(
            "UPDATE topics SET next_check = ?, app_id = ?, customer = ?, repost = ?, "
            "first_ack_at = ?, first_dev_at = ? WHERE forum_id = ? AND topic_id = ?",
            [
                (
                    iso(f.next_check) or NEVER,
                    f.app_id,
                    int(f.customer),
                    int(f.repost),
                    iso(f.first_ack_at),
                    iso(f.first_dev_at),
                    forum_id,
                    f.topic_id,
                )
                for f in facts
            ],
        )

    def policy_sightings(
        self, forum_id: str, topic_ids: Iterable[str]
    ) -> dict[str, dict[str, datetime]]:
        """Topic id → {SLA policy ("" = the default) → when forumwatch first saw it apply}."""
        found: dict[str, dict[str, datetime]] = {}
        for part in chunks(list(topic_ids), 500):
            try:
                rows = self.db.execute(
                    "SELECT topic_id, policy, since FROM topic_policies WHERE forum_id = ? "
                    f"AND topic_id IN ({marks(len(part))})",
                    [forum_id, *part],
                ).fetchall()
            except sqlite3.OperationalError:  # a file read-only before its migration: none
                return {}
            for topic_id, policy, since in rows:
                found.setdefault(topic_id, {})[policy] = datetime.fromisoformat(since)
        return found

    def save_sightings(self, forum_id: str, seen: Iterable[tuple[str, str, datetime]]) -> None:
        """(topic id, policy, since): kept only where none is stored yet (the first sighting
        stands: a clock never moves back)."""
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO topic_policies (forum_id, topic_id, policy, since) "
            "VALUES (?, ?, ?, ?)",
            [(forum_id, topic_id, policy, iso(since)) for topic_id, policy, since in seen],
        )

    def light_topics(
        self,
        forum_id: str,
        *,
        state: TopicState | None = None,
        created_from: datetime | None = None,
        created_until: datetime | None = None,
        customers_only: bool = False,
        without_reposts: bool = False,
    ) -> list[LightTopic]:
        """Topics' rows without posts (the topics_created index for a time window)."""
        conditions, params = topic_conditions(forum_id, state, created_from, created_until)
        if customers_only:
            conditions.append("customer = 1")
        if without_reposts:
            conditions.append("NOT repost")
        rows = self.db.execute(
            "SELECT topic_id, title, url, created_at, state, author, app_id, customer, "
            "first_ack_at, first_dev_at, next_check IS NOT NULL, category, category_id, tags "
            "FROM topics "
            f"WHERE {' AND '.join(conditions)} ORDER BY created_at, topic_id",
            params,
        )
        return [
            LightTopic(
                TopicKey(forum_id, r[0]),
                r[1] or "",
                r[2] or "",
                datetime.fromisoformat(r[3]),
                _STATES[r[4]],
                r[5] or "",
                r[6] or "",
                bool(r[7]),
                parse_iso(r[8]),
                parse_iso(r[9]),
                bool(r[10]),
                r[11] or "",
                r[12] or "",
                tuple(json.loads(r[13] or "[]")),
            )
            for r in rows
        ]

    def apps_of(self, forum_id: str, topic_ids: Iterable[str]) -> dict[str, str | None]:
        """Topic id → its app as last judged ("" for none; None: not judged yet)."""
        apps = {}
        for part in chunks(sorted(set(topic_ids))):
            for topic_id, app_id in self.db.execute(
                f"SELECT topic_id, app_id FROM topics WHERE forum_id = ? "
                f"AND topic_id IN ({marks(len(part))})",
                [forum_id, *part],
            ):
                apps[topic_id] = app_id
        return apps

    # --- bursts that end ----------------------------------------------------------------------

    def burst_may_end(self, forum_id: str, opened_before: datetime) -> bool:
        """True when an open burst began before the moment: it may have run its course (a burst
        ends at the latest a day after its last topic), so the forum's bursts are judged again."""
        row = self.db.execute(
            "SELECT 1 FROM findings WHERE forum_id = ? AND rule = 'burst' "
            "AND resolved_at IS NULL AND opened_at <= ? LIMIT 1",
            [forum_id, iso(opened_before)],
        ).fetchone()
        return row is not None

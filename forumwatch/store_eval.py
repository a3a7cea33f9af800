"""The store's side of incremental evaluation: which topics a cycle must judge, and what it
learnt of each (when to look again, its app, who answered first).

Part of `Store` (mixed in). Every query goes through an index and reads the rows and columns it
needs: a forum of 100,000 topics costs what its changed and due topics cost.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlite_utils

from forumwatch.model import Post, StoredFinding, Topic, TopicKey, TopicState
from forumwatch.store_rows import (
    author_from_row,
    finding_row,
    insert_sql,
    iso,
    parse_iso,
    post_from_row,
    stored_finding_from_row,
    topic_from_row,
)

_STATES = {state.value: state for state in TopicState}  # by value, without Enum.__call__
NEVER = "9999"  # a `next_check` that no moment reaches: nothing will change without a new post
LISTING_ORDER = "opened_at, forum_id, topic_id, rule"  # oldest wait first: listings' order
CHUNK = 500  # ids per `IN (...)`: well under SQLite's bound on parameters
_T = TypeVar("_T")


def chunks(items: Sequence[_T], size: int = CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def marks(count: int) -> str:
    return ", ".join("?" * count)


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

    def __init__(self, db: sqlite_utils.Database, forum_id: str) -> None:
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


class EvalMixin:
    db: sqlite_utils.Database

    def _row(self, sql: str, *params: Any) -> dict[str, Any] | None:
        raise NotImplementedError  # provided by Store

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

    def findings_of(
        self, forum_id: str, topic_ids: Iterable[str]
    ) -> dict[tuple[TopicKey, str], StoredFinding]:
        """The stored findings (open and resolved) of the given topics, by (key, rule)."""
        found: dict[tuple[TopicKey, str], StoredFinding] = {}
        for part in chunks(sorted(set(topic_ids))):
            for r in self.db.query(
                f"SELECT * FROM findings WHERE forum_id = ? AND topic_id IN ({marks(len(part))})",
                [forum_id, *part],
            ):
                stored = stored_finding_from_row(r)
                found[stored.finding.key, stored.finding.rule] = stored
        return found

    def findings_by_rule(
        self, forum_id: str, rule: str
    ) -> dict[tuple[TopicKey, str], StoredFinding]:
        """Every stored finding of one rule (e.g. the forum's bursts), through findings_rule."""
        rows = self.db.query(
            "SELECT * FROM findings WHERE forum_id = ? AND rule = ?", [forum_id, rule]
        )
        found = (stored_finding_from_row(r) for r in rows)
        return {(s.finding.key, s.finding.rule): s for s in found}

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
            "first_ack_at, first_dev_at, next_check IS NOT NULL FROM topics "
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
            )
            for r in rows
        ]

    def open_findings_in_order(
        self, forum_ids: Sequence[str], *, evidence: bool = True
    ) -> Iterator[StoredFinding]:
        """The forums' unresolved findings, oldest wait first (then topic, rule), one row at a
        time: `findings` streams thousands without holding them (`evidence=False`: without
        their evidence, which is most of the reading)."""
        for row in self.open_finding_rows(forum_ids):
            yield stored_finding_from_row(row, evidence=evidence)

    def park_findings(self, found: Iterable[tuple[StoredFinding, str]]) -> int:
        """Findings judged now that are not to be stored (a read-only judgement), each with
        its topic's app, kept in this connection's temporary table `parked` until
        `parked_finding_rows` lists them; works on a read-only store too. Returns how many
        were parked."""
        rows = [{**finding_row(stored), "app_id": app_id} for stored, app_id in found]
        if not rows:
            return 0
        sql = insert_sql("temp.parked", tuple(rows[0]))
        with self.db.atomic():  # its own commit outside `transaction()`, a savepoint inside
            self.db.conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS parked AS "
                "SELECT *, '' AS app_id FROM findings WHERE 0"
            )
            self.db.conn.executemany(sql, [tuple(r.values()) for r in rows])
        return len(rows)

    def clear_parked(self) -> None:
        """Forget what earlier judgements parked on this connection."""
        with self.db.atomic():
            self.db.conn.execute("DROP TABLE IF EXISTS temp.parked")

    def parked_finding_rows(self, columns: str = "*") -> Iterator[sqlite3.Row]:
        """The parked findings (of `columns`) in listing order."""
        return self._named_rows(f"SELECT {columns} FROM temp.parked ORDER BY {LISTING_ORDER}")

    def open_finding_rows(
        self, forum_ids: Sequence[str], columns: str = "*"
    ) -> Iterator[sqlite3.Row]:
        """`open_findings_in_order` as the stored rows (of `columns`) themselves, for callers
        that print stored text as it is."""
        if not forum_ids:
            return iter(())
        return self._named_rows(
            f"SELECT {columns} FROM findings WHERE resolved_at IS NULL "
            f"AND forum_id IN ({marks(len(forum_ids))}) ORDER BY {LISTING_ORDER}",
            list(forum_ids),
        )

    def _named_rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[sqlite3.Row]:
        """The query's rows a row at a time, by column name (sqlite3.Row, made in C)."""
        cursor = self.db.conn.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute(sql, params)

    def count_topics_created(self, forum_id: str, start: datetime, end: datetime) -> int:
        """Topics started in [start, end), any state (the topics_created index)."""
        row = self.db.execute(
            "SELECT count(*) FROM topics WHERE forum_id = ? AND created_at >= ? AND created_at < ?",
            [forum_id, iso(start), iso(end)],
        ).fetchone()
        return int(row[0])

    def count_open_findings(
        self,
        forum_ids: Sequence[str],
        *,
        on: Sequence[TopicKey] | None = None,
        bursts_of: Sequence[str] = (),
    ) -> int:
        """How many unresolved findings the forums hold (findings_open index); with `on`, only
        those of the given topics but bursts, plus the bursts of the `bursts_of` forums."""
        if not forum_ids:
            return 0
        within = f"resolved_at IS NULL AND forum_id IN ({marks(len(forum_ids))})"
        if on is None:
            row = self.db.execute(f"SELECT count(*) FROM findings WHERE {within}", forum_ids)
            return int(row.fetchone()[0])
        count = 0
        for part in chunks(list(on)):
            pairs = " OR ".join("(forum_id = ? AND topic_id = ?)" for _ in part)
            params = [value for key in part for value in (key.forum_id, key.topic_id)]
            count += self.db.execute(
                f"SELECT count(*) FROM findings WHERE {within} AND rule != 'burst' AND ({pairs})",
                [*forum_ids, *params],
            ).fetchone()[0]
        for forum_id in bursts_of:
            count += self.db.execute(
                "SELECT count(*) FROM findings WHERE resolved_at IS NULL AND forum_id = ? "
                "AND rule = 'burst'",
                [forum_id],
            ).fetchone()[0]
        return count

    def findings_open_at(self, forum_id: str, moment: datetime) -> Iterator[sqlite3.Row]:
        """The findings forumwatch held open at `moment` (seen by then, not yet resolved),
        oldest wait first, a row at a time, each with its topic's app as last judged
        (`topic_app`)."""
        return self._named_rows(
            "SELECT f.*, t.app_id AS topic_app FROM findings f LEFT JOIN topics t "
            "ON t.forum_id = f.forum_id AND t.topic_id = f.topic_id "
            "WHERE f.forum_id = ? AND f.first_seen_at <= ? "
            "AND (f.resolved_at IS NULL OR f.resolved_at > ?) "
            "ORDER BY f.opened_at, f.topic_id, f.rule",
            [forum_id, iso(moment), iso(moment)],
        )

    def told_escalations(
        self, forum_id: str, channel: str, escalated_before: datetime
    ) -> list[StoredFinding]:
        """Open escalated findings, escalated before the moment, that somebody on `channel`
        was told of (the outbox's unique index answers each): those reminders may be owed to.
        A backlog nobody was told of one by one is never read."""
        rows = self.db.query(
            "SELECT * FROM findings f WHERE f.forum_id = ? AND f.resolved_at IS NULL "
            "AND f.stage = 'escalated' AND f.escalated_at <= ? AND EXISTS (SELECT 1 FROM outbox o "
            "WHERE o.forum_id = f.forum_id AND o.topic_id = f.topic_id AND o.rule = f.rule "
            "AND o.episode = f.episode AND o.stage != 'resolved' AND o.channel = ?)",
            [forum_id, iso(escalated_before), channel],
        )
        return [stored_finding_from_row(r) for r in rows]

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

    # --- bursts that end, alerts that are held -----------------------------------------------

    def burst_may_end(self, forum_id: str, opened_before: datetime) -> bool:
        """True when an open burst began before the moment: it may have run its course (a burst
        ends at the latest a day after its last topic), so the forum's bursts are judged again."""
        row = self.db.execute(
            "SELECT 1 FROM findings WHERE forum_id = ? AND rule = 'burst' "
            "AND resolved_at IS NULL AND opened_at <= ? LIMIT 1",
            [forum_id, iso(opened_before)],
        ).fetchone()
        return row is not None

    def hold(self, stored: StoredFinding, reason: str, now: datetime) -> None:
        """Mark the finding's episode as held by the storm guard: an outbox row on the `held`
        channel, never sent, so every later stage knows nobody was told (and tells nobody)."""
        f = stored.finding
        self.db.execute(
            "INSERT OR IGNORE INTO outbox (forum_id, topic_id, rule, episode, stage, channel, "
            "recipient, message, created_at, sent_at, last_error) "
            "VALUES (?, ?, ?, ?, ?, 'held', '', ?, ?, 'never', 'held by the storm guard')",
            [
                f.key.forum_id,
                f.key.topic_id,
                f.rule,
                stored.episode,
                f.stage.value,
                reason,
                iso(now),
            ],
        )

    def is_held(self, stored: StoredFinding) -> bool:
        f = stored.finding
        row = self.db.execute(
            "SELECT 1 FROM outbox WHERE forum_id = ? AND topic_id = ? AND rule = ? "
            "AND episode = ? AND channel = 'held' LIMIT 1",
            [f.key.forum_id, f.key.topic_id, f.rule, stored.episode],
        ).fetchone()
        return row is not None

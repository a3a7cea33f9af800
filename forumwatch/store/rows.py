"""Rows of the SQLite store ↔ the model: how topics, posts and findings are written down."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from functools import cache
from typing import Any

from forumwatch.model import (
    Author,
    Evidence,
    Finding,
    Post,
    PostKind,
    Role,
    Stage,
    StoredFinding,
    Topic,
    TopicKey,
    TopicState,
)


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def parse_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


TOPIC_KEY = ("forum_id", "topic_id")
AUTHOR_KEY = ("forum_id", "username")


@cache
def insert_sql(table: str, columns: tuple[str, ...]) -> str:
    """INSERT of one row of `columns` (our own column names, never user text)."""
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


@cache
def upsert_sql(
    table: str, columns: tuple[str, ...], key: tuple[str, ...], *, when_changed: bool = False
) -> str:
    """INSERT of a row that updates the stored one with the same `key` instead; columns the
    row does not name keep their values. `when_changed`: a row equal to the stored one is
    not written at all."""
    values = [c for c in columns if c not in key]
    update = ", ".join(f"{c} = excluded.{c}" for c in values)
    sql = f"{insert_sql(table, columns)} ON CONFLICT ({', '.join(key)}) DO UPDATE SET {update}"
    if when_changed:
        sql += " WHERE " + " OR ".join(f"{table}.{c} IS NOT excluded.{c}" for c in values)
    return sql


def topic_row(topic: Topic, marker: str) -> dict[str, Any]:
    return {
        "forum_id": topic.forum_id,
        "topic_id": topic.id,
        "url": topic.url,
        "title": topic.title,
        "category": topic.category,
        "category_id": topic.category_id,
        "tags": json.dumps(list(topic.tags), ensure_ascii=False),
        "author": topic.author.username,
        "created_at": iso(topic.created_at),
        "state": topic.state.value,
        "last_activity_at": iso(topic.last_activity_at),
        "marker": marker,
        "author_fold": topic.author.username.casefold(),  # re-posts join an author's topics
    }


def post_row(topic: Topic, post: Post) -> dict[str, Any]:
    return {
        "forum_id": topic.forum_id,
        "topic_id": topic.id,
        "number": post.number,
        "post_id": post.id,
        "author": post.author.username,
        "created_at": iso(post.created_at),
        "kind": post.kind.value,
        "reply_to": post.reply_to,
        "body_text": post.body_text,
    }


def author_named(username: str, authors: dict[str, Author]) -> Author:
    return authors.get(username) or Author(username)


def post_from_row(r: dict[str, Any], authors: dict[str, Author]) -> Post:
    return Post(
        id=r["post_id"],
        number=r["number"],
        author=author_named(r["author"], authors),
        created_at=datetime.fromisoformat(r["created_at"]),
        kind=PostKind(r["kind"]),
        reply_to=r["reply_to"],
        body_text=r["body_text"] or "",
    )


def topic_from_row(r: dict[str, Any], authors: dict[str, Author], posts: list[Post]) -> Topic:
    return Topic(
        forum_id=r["forum_id"],
        id=r["topic_id"],
        url=r["url"],
        title=r["title"],
        author=author_named(r["author"], authors),
        created_at=datetime.fromisoformat(r["created_at"]),
        posts=tuple(posts),
        state=TopicState(r["state"]),
        category=r["category"] or "",
        category_id=r["category_id"] or "",
        tags=tuple(json.loads(r["tags"] or "[]")),
        last_activity_at=parse_iso(r["last_activity_at"]),
    )


def evidence_json(e: Evidence) -> dict[str, Any]:
    row = {
        "post_number": e.post_number,
        "username": e.username,
        "role": e.role.value,
        "created_at": iso(e.created_at),
        "kind": e.kind.value,
        "note": e.note,
    }
    if e.topic_id:  # only a burst's evidence names other topics
        row["topic_id"] = e.topic_id
    return row


# enum members by value: a dict lookup, not Enum.__call__ (a listing reads 300,000 of them)
_ROLES = {role.value: role for role in Role}
_KINDS = {kind.value: kind for kind in PostKind}
_STAGES = {stage.value: stage for stage in Stage}


def evidence_from_json(d: dict[str, Any]) -> Evidence:
    return Evidence(
        post_number=d["post_number"],
        username=d["username"],
        role=_ROLES[d["role"]],
        created_at=datetime.fromisoformat(d["created_at"]),
        kind=_KINDS[d["kind"]],
        note=d.get("note", ""),
        topic_id=d.get("topic_id", ""),
    )


def stored_finding_from_row(
    r: dict[str, Any] | sqlite3.Row, *, evidence: bool = True
) -> StoredFinding:
    """The stored finding of a row; `evidence=False` leaves its evidence out (counting and
    tab-separated listings never show it)."""
    finding = Finding(
        key=TopicKey(r["forum_id"], r["topic_id"]),
        rule=r["rule"],
        stage=_STAGES[r["stage"]],
        opened_at=datetime.fromisoformat(r["opened_at"]),
        due_at=datetime.fromisoformat(r["due_at"]),
        escalate_at=datetime.fromisoformat(r["escalate_at"]),
        evidence=tuple(evidence_from_json(e) for e in json.loads(r["evidence"]))
        if evidence
        else (),
        summary=r["summary"] or "",
        silent=tuple(json.loads(r["silent"] or "[]")),
        policy=_optional(r, "policy") or "",  # absent before its migration
    )
    return StoredFinding(
        finding=finding,
        episode=r["episode"],
        first_seen_at=datetime.fromisoformat(r["first_seen_at"]),
        escalated_at=parse_iso(r["escalated_at"]),
        resolved_at=parse_iso(r["resolved_at"]),
        title=r["title"] or "",
        url=r["url"] or "",
        resolution=_optional(r, "resolution") or "",  # absent before its migration
    )


def _optional(r: Any, column: str) -> Any:
    """A column a dict or sqlite3.Row may lack (a file read before its migration)."""
    try:
        return r[column]
    except (KeyError, IndexError):
        return None


def author_row(forum_id: str, author: Author) -> dict[str, Any]:
    return {
        "forum_id": forum_id,
        "username": author.username,
        "display_name": author.display_name,
        "forum_roles": json.dumps(sorted(author.forum_roles)),
    }


def author_from_row(r: dict[str, Any]) -> Author:
    return Author(r["username"], r["display_name"], frozenset(json.loads(r["forum_roles"])))


def finding_row(stored: StoredFinding) -> dict[str, Any]:
    f = stored.finding
    return {
        "forum_id": f.key.forum_id,
        "topic_id": f.key.topic_id,
        "rule": f.rule,
        "episode": stored.episode,
        "stage": f.stage.value,
        "opened_at": iso(f.opened_at),
        "due_at": iso(f.due_at),
        "escalate_at": iso(f.escalate_at),
        "first_seen_at": iso(stored.first_seen_at),
        "escalated_at": iso(stored.escalated_at),
        "resolved_at": iso(stored.resolved_at),
        "evidence": json.dumps([evidence_json(e) for e in f.evidence]),
        "summary": f.summary,
        "silent": json.dumps(list(f.silent)),
        "title": stored.title,
        "url": stored.url,
        "resolution": stored.resolution,
        "policy": f.policy,
    }

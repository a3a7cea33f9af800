"""The SQLite store: the only package that writes SQL.

Topics and posts as last seen, findings with their stage, the outbox of notifications (one row per
finding, stage and recipient) and a log of runs. WAL mode; read-then-write work happens inside
`BEGIN IMMEDIATE` so two processes can never interleave their decisions.

A database file is never damaged or silently misused: before opening a file for writing, the store
looks at it read-only and refuses another application's database, a newer schema or a damaged
file; every SQLite or OS failure leaves as a one-line `StoreError` naming the file and the fix.

One module per concern: `files` (file safety, the run lock), `schema` (tables, version,
migrations), `db` (opening, transactions: the base class `Database`), `rows` (rows ↔ model), and
one mixin per aggregate, which `Store` is composed of: `topics`, `findings` (and credits),
`outbox`, `chats` (the bot's side), `forums` (and runs), `evaluation` (incremental evaluation)
and `listings` (streamed lists of findings).
"""

from __future__ import annotations

from forumwatch.store.chats import ChatsMixin
from forumwatch.store.db import Database
from forumwatch.store.evaluation import EvaluationMixin
from forumwatch.store.files import (
    AlreadyRunning,
    StoreError,
    daemon_holding,
    daemon_lock,
    run_lock,
    unfinished,
)
from forumwatch.store.findings import FindingsMixin
from forumwatch.store.forums import ForumsMixin, PollRecord
from forumwatch.store.listings import ListingsMixin
from forumwatch.store.outbox import OutboxMixin
from forumwatch.store.rows import iso, parse_iso
from forumwatch.store.schema import SCHEMA, SCHEMA_VERSION
from forumwatch.store.topics import TopicsMixin

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "AlreadyRunning",
    "PollRecord",
    "Store",
    "StoreError",
    "daemon_holding",
    "daemon_lock",
    "iso",
    "parse_iso",
    "run_lock",
    "unfinished",
]


class Store(
    TopicsMixin,
    FindingsMixin,
    OutboxMixin,
    ChatsMixin,
    ForumsMixin,
    EvaluationMixin,
    ListingsMixin,
    Database,
):
    """A forumwatch database file (or, for dry runs, a throwaway copy in memory)."""

"""The store's schema: its tables, their version, and the columns a legacy file lacks.

Migrations only ever add: a legacy file gets the missing columns (`_missing_columns`), then
every `CREATE … IF NOT EXISTS` of `SCHEMA`; `Database._migrate` runs them in one transaction.
"""

from __future__ import annotations

import sqlite3

# PRAGMA user_version of our files; 0 = written before versioning, 1 = before Telegram (both
# are migrated on first open: columns and tables are only ever added)
# 3: credits ledger; 4: HTML list validators; 5: cached category slugs; 6: incremental evaluation
# 7: the SLA policy a finding's clock runs on; 8: when each topic was first seen under a policy
SCHEMA_VERSION = 8
SCHEMA = """
CREATE TABLE IF NOT EXISTS forums (
    id TEXT PRIMARY KEY, engine TEXT, url TEXT,
    last_ok_at TEXT, last_error TEXT, last_error_at TEXT, last_full_scan_at TEXT,
    failing_since TEXT, health_told_at TEXT, health_times_told INTEGER DEFAULT 0,
    page_validators TEXT, category_slugs TEXT, eval_fingerprint TEXT, evaluated_at TEXT
);
CREATE TABLE IF NOT EXISTS group_members (
    forum_id TEXT, group_name TEXT, username TEXT,
    PRIMARY KEY (forum_id, group_name, username)
);
CREATE TABLE IF NOT EXISTS authors (
    forum_id TEXT, username TEXT, display_name TEXT, forum_roles TEXT,
    PRIMARY KEY (forum_id, username)
);
CREATE TABLE IF NOT EXISTS topics (
    forum_id TEXT, topic_id TEXT, url TEXT, title TEXT, category TEXT, category_id TEXT,
    tags TEXT, author TEXT, created_at TEXT, state TEXT, last_activity_at TEXT, marker TEXT,
    author_fold TEXT, next_check TEXT, app_id TEXT, customer INTEGER, repost INTEGER,
    first_ack_at TEXT, first_dev_at TEXT,
    PRIMARY KEY (forum_id, topic_id)
);
CREATE TABLE IF NOT EXISTS posts (
    forum_id TEXT, topic_id TEXT, number INTEGER, post_id TEXT, author TEXT, created_at TEXT,
    kind TEXT, reply_to INTEGER, body_text TEXT,
    PRIMARY KEY (forum_id, topic_id, number)
);
CREATE TABLE IF NOT EXISTS findings (
    forum_id TEXT, topic_id TEXT, rule TEXT, episode INTEGER, stage TEXT,
    opened_at TEXT, due_at TEXT, escalate_at TEXT,
    first_seen_at TEXT, escalated_at TEXT, resolved_at TEXT,
    evidence TEXT, summary TEXT, silent TEXT, title TEXT, url TEXT, resolution TEXT,
    policy TEXT DEFAULT '',
    PRIMARY KEY (forum_id, topic_id, rule)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY, forum_id TEXT, topic_id TEXT, rule TEXT, episode INTEGER,
    stage TEXT, channel TEXT, recipient TEXT, message TEXT, created_at TEXT,
    sent_at TEXT, attempts INTEGER DEFAULT 0, last_error TEXT, sent_ref TEXT,
    UNIQUE (forum_id, topic_id, rule, episode, stage, channel, recipient)
);
CREATE TABLE IF NOT EXISTS chats (
    chat_id INTEGER PRIMARY KEY, role TEXT, forum_id TEXT, app_id TEXT, title TEXT,
    active INTEGER DEFAULT 1, bound_at TEXT, invite TEXT
);
CREATE TABLE IF NOT EXISTS invites (
    code TEXT PRIMARY KEY, role TEXT, forum_id TEXT, app_id TEXT, created_at TEXT,
    expires_at TEXT, used_at TEXT, used_by INTEGER
);
CREATE TABLE IF NOT EXISTS subscriptions (
    chat_id INTEGER, forum_id TEXT, app_id TEXT DEFAULT '',
    PRIMARY KEY (chat_id, forum_id, app_id)
);
CREATE TABLE IF NOT EXISTS bot_state (name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS credits (
    forum_id TEXT, topic_id TEXT, stage TEXT, wait_began TEXT, customer TEXT, app_id TEXT,
    developers TEXT, amount REAL, unit TEXT, booked_at TEXT, title TEXT, url TEXT,
    PRIMARY KEY (forum_id, topic_id, stage, wait_began)
);
CREATE TABLE IF NOT EXISTS mutes (
    chat_id INTEGER, forum_id TEXT, topic_id TEXT, until TEXT,
    PRIMARY KEY (chat_id, forum_id, topic_id)
);
CREATE TABLE IF NOT EXISTS topic_policies (
    forum_id TEXT, topic_id TEXT, policy TEXT, since TEXT,
    PRIMARY KEY (forum_id, topic_id, policy)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started_at TEXT, finished_at TEXT, now TEXT, status TEXT,
    summary TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (sent_at, channel);
CREATE INDEX IF NOT EXISTS findings_open ON findings (forum_id, resolved_at);
CREATE INDEX IF NOT EXISTS runs_now ON runs (now);
CREATE INDEX IF NOT EXISTS credits_booked ON credits (booked_at);
CREATE INDEX IF NOT EXISTS topics_next_check ON topics (forum_id, next_check);
CREATE INDEX IF NOT EXISTS topics_author ON topics (forum_id, author_fold, state);
CREATE INDEX IF NOT EXISTS topics_created ON topics (forum_id, created_at);
CREATE INDEX IF NOT EXISTS findings_rule ON findings (forum_id, rule, resolved_at);
"""
OUR_TABLES = frozenset({"forums", "topics", "findings", "outbox", "runs"})


def _missing_columns(conn: sqlite3.Connection) -> list[str]:
    """ALTER TABLE statements adding the columns SCHEMA has and the file's tables lack."""
    model = sqlite3.connect(":memory:")
    try:
        model.executescript(SCHEMA)
        alters = []
        for (table,) in model.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            for _, column, declared, _, default, _ in model.execute(f"PRAGMA table_info({table})"):
                if have and column not in have:  # a missing table comes whole from SCHEMA
                    alters.append(
                        f"ALTER TABLE {table} ADD COLUMN {column} {declared}"
                        + ("" if default is None else f" DEFAULT {default}")
                    )
        return alters
    finally:
        model.close()

"""The store's Telegram side: invites, bound chats, their subscriptions and the bot's update offset.

Part of `Store` (mixed in). Every query reads one chat's or one forum's rows, never whole
tables. A write commits at once, unless it runs inside `Store.transaction()`: then it is part of
that transaction (a bot command's effect is stored with the update offset that marks it handled,
both or neither).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from forumwatch.model import TopicKey
from forumwatch.store.db import Database
from forumwatch.store.rows import iso, parse_iso

REMEMBERED_BASES = 5  # earlier forum URLs kept for rebasing old links
_BASES = "forum_bases "  # bot_state name prefix: a forum's earlier URLs, as JSON


class ChatRole(StrEnum):
    PARTNER = "partner"  # an implementation partner: chooses forums/apps to follow
    DEVELOPER = "developer"  # an app's developer: told when they owe an answer
    QUALITY = "quality"  # the rights-holder's quality staff: told of escalations


@dataclass(frozen=True)
class Invite:
    code: str
    role: ChatRole
    forum_id: str  # "" = every forum (quality staff only)
    app_id: str  # "" = the whole forum
    expires_at: datetime


@dataclass(frozen=True)
class Chat:
    chat_id: int
    role: ChatRole
    forum_id: str
    app_id: str
    title: str
    active: bool


@dataclass(frozen=True)
class Subscription:
    forum_id: str
    app_id: str  # "" = every topic of the forum


class ChatsMixin(Database):
    """Methods `Store` gains for the bot; `db` and `_translated` come from `Database`."""

    def _commit(self) -> None:
        """Commit now, unless an enclosing `transaction()` commits (or rolls back) it all."""
        if not self._depth:
            self.db.conn.commit()

    # --- invites ------------------------------------------------------------------------------

    def create_invite(self, invite: Invite, now: datetime) -> None:
        with self._translated():
            self.db.execute(
                "INSERT INTO invites (code, role, forum_id, app_id, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    invite.code,
                    invite.role.value,
                    invite.forum_id,
                    invite.app_id,
                    iso(now),
                    iso(invite.expires_at),
                ],
            )
            self._commit()

    def redeem_invite(self, code: str, chat_id: int, title: str, now: datetime) -> Chat | None:
        """Bind `chat_id` with the invite's role and scope; None if the code is unknown, used or
        expired (a code works once, so a leaked link cannot enrol a second chat)."""
        with self._translated():
            row = self._one(
                "SELECT role, forum_id, app_id, expires_at FROM invites "
                "WHERE code = ? AND used_at IS NULL",
                code,
            )
            expires = parse_iso(row["expires_at"]) if row else None
            if row is None or expires is None or expires <= now:
                return None
            chat = Chat(chat_id, ChatRole(row["role"]), row["forum_id"], row["app_id"], title, True)
            self.db.execute(
                "UPDATE invites SET used_at = ?, used_by = ? WHERE code = ?",
                [iso(now), chat_id, code],
            )
            self.db.execute(
                "INSERT OR REPLACE INTO chats (chat_id, role, forum_id, app_id, title, active, "
                "bound_at, invite) VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
                [chat_id, chat.role.value, chat.forum_id, chat.app_id, title, iso(now), code],
            )
            if chat.role is ChatRole.PARTNER and chat.forum_id:
                self._subscribe(chat_id, chat.forum_id, chat.app_id)
            self._commit()
        return chat

    # --- chats --------------------------------------------------------------------------------

    def chat(self, chat_id: int) -> Chat | None:
        row = self._one(
            "SELECT chat_id, role, forum_id, app_id, title, active FROM chats WHERE chat_id = ?",
            chat_id,
        )
        if row is None:
            return None
        return Chat(
            row["chat_id"],
            ChatRole(row["role"]),
            row["forum_id"] or "",
            row["app_id"] or "",
            row["title"] or "",
            bool(row["active"]),
        )

    def deactivate_chat(self, chat_id: int) -> None:
        """The bot was blocked or removed: stop writing to this chat (a new invite revives it)."""
        with self._translated():
            self.db.execute("UPDATE chats SET active = 0 WHERE chat_id = ?", [chat_id])
            self.db.execute(
                "UPDATE outbox SET last_error = 'chat deactivated', sent_at = 'never' "
                "WHERE channel = 'telegram' AND recipient = ? AND sent_at IS NULL",
                [str(chat_id)],
            )
            self._commit()

    def migrate_chat(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup: its binding, subscriptions and pending messages move."""
        with self._translated():
            self.db.execute("UPDATE chats SET chat_id = ? WHERE chat_id = ?", [new_id, old_id])
            self.db.execute(
                "UPDATE OR IGNORE subscriptions SET chat_id = ? WHERE chat_id = ?", [new_id, old_id]
            )
            self.db.execute(
                "UPDATE OR IGNORE outbox SET recipient = ? "
                "WHERE channel = 'telegram' AND recipient = ? AND sent_at IS NULL",
                [str(new_id), str(old_id)],
            )
            self._commit()

    def chats_to_tell(self, forum_id: str, app_id: str, roles: tuple[ChatRole, ...]) -> set[int]:
        """Active bound chats of `roles` whose scope holds a topic of (forum, app)."""
        wanted = [r.value for r in roles]
        marks = ", ".join("?" for _ in wanted)
        rows = self.db.query(
            f"SELECT chat_id FROM chats WHERE active = 1 AND role IN ({marks}) "
            "AND role != 'partner' AND (forum_id = '' OR forum_id = ?) "
            "AND (app_id = '' OR app_id = ?) "
            "UNION SELECT s.chat_id FROM subscriptions s JOIN chats c USING (chat_id) "
            f"WHERE c.active = 1 AND c.role IN ({marks}) AND s.forum_id = ? "
            "AND (s.app_id = '' OR s.app_id = ?)",
            [*wanted, forum_id, app_id, *wanted, forum_id, app_id],
        )
        return {r["chat_id"] for r in rows}

    def active_chat_count(self) -> int:
        """Chats bound to the bot and still reachable."""
        with self._translated():
            return int(self.db.execute("SELECT count(*) FROM chats WHERE active = 1").fetchone()[0])

    def chats_with_role(self, role: ChatRole) -> list[int]:
        rows = self.db.query(
            "SELECT chat_id FROM chats WHERE active = 1 AND role = ? ORDER BY chat_id", [role.value]
        )
        return [r["chat_id"] for r in rows]

    # --- subscriptions ------------------------------------------------------------------------

    def subscribe(self, chat_id: int, forum_id: str, app_id: str = "") -> bool:
        """False when the chat already had exactly this subscription."""
        with self._translated():
            added = self._subscribe(chat_id, forum_id, app_id)
            self._commit()
        return added

    def _subscribe(self, chat_id: int, forum_id: str, app_id: str) -> bool:
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO subscriptions (chat_id, forum_id, app_id) VALUES (?, ?, ?)",
            [chat_id, forum_id, app_id],
        )
        return bool(cursor.rowcount)

    def unsubscribe(self, chat_id: int, forum_id: str | None = None, app_id: str = "") -> int:
        """Drop one subscription, or every one of the chat (forum_id None); returns how many."""
        with self._translated():
            if forum_id is None:
                cursor = self.db.execute("DELETE FROM subscriptions WHERE chat_id = ?", [chat_id])
            else:
                cursor = self.db.execute(
                    "DELETE FROM subscriptions WHERE chat_id = ? AND forum_id = ? AND app_id = ?",
                    [chat_id, forum_id, app_id],
                )
            self._commit()
        return cursor.rowcount

    def subscriptions(self, chat_id: int) -> list[Subscription]:
        rows = self.db.query(
            "SELECT forum_id, app_id FROM subscriptions WHERE chat_id = ? "
            "ORDER BY forum_id, app_id",
            [chat_id],
        )
        return [Subscription(r["forum_id"], r["app_id"] or "") for r in rows]

    # --- mutes -------------------------------------------------------------------------------

    def mute(self, chat_id: int, key: TopicKey, until: datetime) -> None:
        with self._translated():
            self.db.execute(
                "INSERT OR REPLACE INTO mutes (chat_id, forum_id, topic_id, until) "
                "VALUES (?, ?, ?, ?)",
                [chat_id, key.forum_id, key.topic_id, iso(until)],
            )
            self._commit()

    def muted_chats(self, key: TopicKey, now: datetime) -> set[str]:
        """Chat ids (as outbox recipients) that muted this topic until after `now`."""
        rows = self.db.query(
            "SELECT chat_id FROM mutes WHERE forum_id = ? AND topic_id = ? AND until > ?",
            [key.forum_id, key.topic_id, iso(now)],
        )
        return {str(r["chat_id"]) for r in rows}

    def muted_topics(self, chat_id: int, now: datetime) -> set[TopicKey]:
        """The topics this chat muted until after `now` (/status leaves them out)."""
        rows = self.db.query(
            "SELECT forum_id, topic_id FROM mutes WHERE chat_id = ? AND until > ?",
            [chat_id, iso(now)],
        )
        return {TopicKey(r["forum_id"], r["topic_id"]) for r in rows}

    # --- where forums lived -------------------------------------------------------------------

    def forum_bases(self, forum_id: str) -> list[str]:
        """The URLs the forum was polled under, newest first: the last used (the `forums` table
        keeps only that one) and those remembered from earlier moves."""
        row = self._one("SELECT url FROM forums WHERE id = ?", forum_id)
        last = [row["url"]] if row and row["url"] else []
        return list(dict.fromkeys([*last, *self._remembered_bases(forum_id)]))

    def remember_forum_bases(self, forum_id: str, configured: str) -> None:
        """Keep the URLs the forum lived under before `configured`: the next poll overwrites
        the `forums` table's url, but topics not fetched since still link under the old one.
        Writes only when something changed (a run with the same config writes nothing)."""
        older = [url for url in self.forum_bases(forum_id) if url != configured]
        older = older[:REMEMBERED_BASES]
        if self.read_only or older == self._remembered_bases(forum_id):
            return
        with self._translated():
            self.db.execute(
                "INSERT OR REPLACE INTO bot_state (name, value) VALUES (?, ?)",
                [_BASES + forum_id, json.dumps(older)],
            )
            self._commit()

    def _remembered_bases(self, forum_id: str) -> list[str]:
        row = self._one("SELECT value FROM bot_state WHERE name = ?", _BASES + forum_id)
        return [str(url) for url in json.loads(row["value"])] if row else []

    # --- bot updates --------------------------------------------------------------------------

    def bot_offset(self) -> int:
        """The next Telegram update id to ask for: every lower one has been handled."""
        row = self._one("SELECT value FROM bot_state WHERE name = 'update_offset'")
        return int(row["value"]) if row else 0

    def set_bot_offset(self, offset: int) -> None:
        with self._translated():
            self.db.execute(
                "INSERT OR REPLACE INTO bot_state (name, value) VALUES ('update_offset', ?)",
                [str(offset)],
            )
            self._commit()

    def _one(self, sql: str, *params: object) -> dict[str, Any] | None:
        rows: Iterator[dict[str, Any]] = self.db.query(sql, list(params))
        return next(iter(rows), None)

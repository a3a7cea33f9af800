"""A Telegram Bot API stand-in on loopback: python-telegram-bot talks real HTTP to it.

It answers `/bot<token>/<method>` as Telegram does (`{"ok": true, "result": ...}`), records every
message sent, queues updates for getUpdates, and misbehaves on demand: 429 with retry_after, 403
(bot blocked), a group migrated to a supergroup, a reply held in flight (to kill its sender), a
token revoked mid-run. Another token is answered as the real Bot API answers an unknown one: 401
Unauthorized when it has a token's shape (`123456:ABC...`), 404 Not Found when it has not.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

BOT_ID = 123456
BOT_USERNAME = "forumwatch_test_bot"
HOLD_LIMIT = 30.0  # seconds a held sendMessage waits for its release at most
_NUMERIC = {"chat_id", "offset", "timeout", "limit", "user_id", "message_id"}
_TOKEN_SHAPE = re.compile(r"\d+:[\w-]+")  # the bot's id, a colon, the secret


class BotApiStandIn:
    def __init__(self, token: str) -> None:
        self.token = token
        self.sent: list[dict[str, Any]] = []  # sendMessage params, chat_id as int
        self.calls: list[str] = []  # method names, in order
        self.refused: list[str] = []  # the methods asked with a refused token, in order
        self._revoked: set[str] | None = None  # methods whose token is refused; empty: all
        self._updates: list[dict[str, Any]] = []
        self._next_update = 1
        self._next_message = 1
        self._admins: set[tuple[int, int]] = set()
        self._rate_limits: dict[int, list[int]] = {}  # chat → [retry_after, times]
        self._blocked: set[int] = set()
        self._migrated: dict[int, int] = {}
        self.send_delay = 0.0  # seconds each sendMessage takes after it was recorded
        self._held: dict[int, threading.Event] = {}  # chat → its sendMessage answers wait
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        host, port = self._httpd.server_address[:2]
        self.url = f"http://{host!s}:{port}"

    def __enter__(self) -> BotApiStandIn:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- what tests arrange -------------------------------------------------------------------

    def push_message(
        self, chat_id: int, text: str, *, user_id: int | None = None, chat_type: str = "private"
    ) -> None:
        """A message a user sends to the bot, delivered by the next getUpdates."""
        sender = user_id if user_id is not None else chat_id
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = f"user{sender}"
        else:
            chat["title"] = f"group {chat_id}"
        message: dict[str, Any] = {
            "message_id": self._next_message,
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": sender, "is_bot": False, "first_name": f"user{sender}"},
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        with self._lock:
            self._next_message += 1
            self._updates.append({"update_id": self._next_update, "message": message})
            self._next_update += 1

    def make_admin(self, chat_id: int, user_id: int) -> None:
        self._admins.add((chat_id, user_id))

    def rate_limit(self, chat_id: int, *, retry_after: int = 1, times: int = 1) -> None:
        self._rate_limits[chat_id] = [retry_after, times]

    def block(self, chat_id: int) -> None:
        self._blocked.add(chat_id)

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        self._migrated[chat_id] = new_chat_id

    def revoke_token(self, *methods: str) -> None:
        """From now on refuse the right token too (401), for `methods` only (e.g. "sendMessage":
        getMe still answers) or, without any, for every method: a token revoked in BotFather."""
        self._revoked = set(methods)

    def hold(self, chat_id: int) -> None:
        """Record each sendMessage to `chat_id`, then answer it only after `release` (or
        HOLD_LIMIT): the message is in flight while the test kills its sender."""
        with self._lock:
            self._held[chat_id] = threading.Event()

    def release(self, chat_id: int) -> None:
        with self._lock:
            gate = self._held.pop(chat_id, None)
        if gate is not None:
            gate.set()

    def wait_for(self, chat_id: int, count: int, timeout: float = 60.0) -> list[str]:
        """The messages to `chat_id` once there are `count` of them (or `timeout` passed)."""
        deadline = time.monotonic() + timeout
        while len(self.sent_to(chat_id)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.sent_to(chat_id)

    def sent_to(self, chat_id: int) -> list[str]:
        with self._lock:
            return [m["text"] for m in self.sent if m["chat_id"] == chat_id]

    # --- what the handler calls ---------------------------------------------------------------

    def answer(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        revoked = self._revoked is not None and (not self._revoked or method in self._revoked)
        if token != self.token or revoked:
            with self._lock:
                self.refused.append(method)
            if not _TOKEN_SHAPE.fullmatch(token):
                return 404, _error(404, "Not Found")
            return 401, _error(401, "Unauthorized")
        with self._lock:
            self.calls.append(method)
        handler = getattr(self, f"_{method.lower()}", None)
        if handler is None:
            return 200, {"ok": True, "result": True}
        result: tuple[int, dict[str, Any]] = handler(params)
        return result

    def _getme(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        bot = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "forumwatch",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        return 200, {"ok": True, "result": bot}

    def _getupdates(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        with self._lock:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            pending = list(self._updates)
        return 200, {"ok": True, "result": pending}

    def _getchatmember(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        status = "administrator" if (chat_id, user_id) in self._admins else "member"
        member: dict[str, Any] = {
            "status": status,
            "user": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"},
        }
        if status == "administrator":
            member.update(
                {
                    flag: True
                    for flag in (
                        "can_be_edited",
                        "is_anonymous",
                        "can_manage_chat",
                        "can_delete_messages",
                        "can_manage_video_chats",
                        "can_restrict_members",
                        "can_promote_members",
                        "can_change_info",
                        "can_invite_users",
                        "can_post_stories",
                        "can_edit_stories",
                        "can_delete_stories",
                    )
                }
            )
        return 200, {"ok": True, "result": member}

    def _sendmessage(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat_id = int(params["chat_id"])
        with self._lock:
            limit = self._rate_limits.get(chat_id)
            if limit and limit[1] > 0:
                limit[1] -= 1
                return 429, _error(429, "Too Many Requests", retry_after=limit[0])
            if chat_id in self._blocked:
                return 403, _error(403, "Forbidden: bot was blocked by the user")
            if chat_id in self._migrated:
                return 400, _error(
                    400,
                    "Bad Request: group chat was upgraded to a supergroup chat",
                    migrate_to_chat_id=self._migrated[chat_id],
                )
            self.sent.append({**params, "chat_id": chat_id})
            message_id = self._next_message
            self._next_message += 1
            gate = self._held.get(chat_id)
        time.sleep(self.send_delay)  # recorded, not yet answered: a message in flight
        if gate is not None:
            gate.wait(HOLD_LIMIT)
        chat_type = "private" if chat_id > 0 else "supergroup"
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type},
            "text": params.get("text", ""),
        }
        return 200, {"ok": True, "result": message}


def _error(code: int, description: str, **parameters: int) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def _params(content_type: str, body: bytes) -> dict[str, Any]:
    """PTB posts form-encoded parameters (JSON for nested values); JSON bodies also work."""
    if not body:
        return {}
    if "json" in content_type:
        return dict(json.loads(body))
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
    for key in _NUMERIC & params.keys():
        params[key] = json.loads(params[key])
    return params


def _handler_for(standin: BotApiStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            parts = self.path.strip("/").split("/")
            if len(parts) != 2 or not parts[0].startswith("bot"):
                self._reply(404, _error(404, "Not Found"))
                return
            params = _params(self.headers.get("Content-Type", ""), body)
            status, payload = standin.answer(parts[0][3:], parts[1], params)
            self._reply(status, payload)

        do_GET = do_POST

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client was killed mid-request
                self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return None

    return Handler

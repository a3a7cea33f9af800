"""The bot's commands: what a chat may ask and change, decided over the store, free of Telegram.

/start CODE binds a chat with an invite's role; partners choose their scope with /subscribe;
/status lists the open findings in a chat's scope. A chat without a valid invite can read /help
and nothing else; in a group only the group's admins change anything.
"""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from forumwatch.config.models import Config
from forumwatch.config.values import local_time, parse_duration
from forumwatch.model import TopicKey
from forumwatch.store import Store
from forumwatch.store.chats import Chat, ChatRole, Invite, Subscription
from forumwatch.telegram_bot.phrases import REPLIES
from forumwatch.telegram_bot.status import by_topic, open_in_scope, status_reply
from forumwatch.telegram_bot.text import summary_message

CHANGING = frozenset({"/start", "/subscribe", "/unsubscribe", "/mute"})
TOPIC_IN_URL = re.compile(r"/t/(?:[^/?#]+/)?(\d+)(?:[/?#]|$)")
LONGEST_MUTE = timedelta(days=90)


@dataclass(frozen=True)
class Incoming:
    """One command as a chat sent it."""

    chat_id: int
    text: str
    chat_title: str = ""
    is_group: bool = False
    from_admin: bool = True  # in a group: whether the sender is one of its admins


def new_invite(config: Config, role: ChatRole, forum_id: str, app_id: str, now: datetime) -> Invite:
    """A fresh one-time invite; `forum_id`/`app_id` must name configured ones (checked here)."""
    if app_id and not forum_id:
        forum_id = _forum_of_app(config, app_id) or ""
    if forum_id and config.forum(forum_id) is None:
        raise ValueError(f"no forum '{forum_id}' in the config; known: {_forum_ids(config)}")
    forum = config.forum(forum_id) if forum_id else None
    if app_id and (forum is None or app_id not in {a.id for a in forum.apps}):
        raise ValueError(f"no app '{app_id}' in the config; known: {_app_ids(config)}")
    if role is ChatRole.DEVELOPER and not forum_id:
        raise ValueError("a developer invite needs --forum (and --app for one app's developer)")
    assert config.telegram is not None
    expires = now + config.telegram.invite_valid_for
    return Invite(secrets.token_urlsafe(12), role, forum_id, app_id, expires)


def handle(store: Store, config: Config, message: Incoming, now: datetime) -> list[str]:
    """The replies (HTML) to one command; changes the store as the command asks."""
    command, args = command_of(message.text), message.text.split()[1:]
    if not command:
        return []
    say = _phrases(config)
    if command == "/help":
        return [say["help"]]
    if command in CHANGING and message.is_group and not message.from_admin:
        return [say["admins_only"]]
    if command == "/start":
        return _start(store, config, message, args, now)
    chat = bound_chat(store, config, message.chat_id)
    if chat is None:
        return [say["not_bound"]]
    if command == "/subscribe":
        return [_subscribe(store, config, chat, args)]
    if command == "/unsubscribe":
        return [_unsubscribe(store, config, chat, args)]
    if command == "/list":
        return [_list(store, config, chat)]
    if command == "/status":
        return status_reply(store, config, chat, now)
    if command == "/mute":
        return [_mute(store, config, chat, args, now)]
    return [say["unknown_command"]]


def command_of(text: str) -> str:
    """The command a message starts with: '/status@forumwatch_bot x' (in groups) → '/status'."""
    words = text.split()
    return words[0].split("@")[0].lower() if words else ""


def bound_chat(store: Store, config: Config, chat_id: int) -> Chat | None:
    """The chat's binding: from an invite, or from the config's developer/quality chat lists."""
    chat = store.chat(chat_id)
    if chat is not None:
        return chat if chat.active else None
    for forum in config.forums:
        if chat_id in forum.quality_chats:
            return Chat(chat_id, ChatRole.QUALITY, forum.id, "", "", True)
        if chat_id in forum.developer_chats:
            return Chat(chat_id, ChatRole.DEVELOPER, forum.id, "", "", True)
        for app in forum.apps:
            if chat_id in app.developer_chats:
                return Chat(chat_id, ChatRole.DEVELOPER, forum.id, app.id, "", True)
            if chat_id in app.quality_chats:
                return Chat(chat_id, ChatRole.QUALITY, forum.id, app.id, "", True)
    return None


def _start(
    store: Store, config: Config, message: Incoming, args: list[str], now: datetime
) -> list[str]:
    say = _phrases(config)
    if not args:
        chat = bound_chat(store, config, message.chat_id)
        return [say["help"]] if chat else [say["not_bound"]]
    chat = store.redeem_invite(args[0], message.chat_id, message.chat_title, now)
    if chat is None:
        return [say["bad_code"]]
    scope = _scope_words(config, chat.forum_id, chat.app_id)
    bound_scope = say["bound_scope"].format(scope=scope) if scope else ""
    replies = [say["bound"].format(role=_role_words(config, chat.role), scope=bound_scope)]
    backlog = len(by_topic(open_in_scope(store, config, chat)))  # topics, not findings
    if backlog:  # one summary, never a flood of old findings
        replies.append(summary_message(backlog, _language(config)))
    return replies


def _subscribe(store: Store, config: Config, chat: Chat, args: list[str]) -> str:
    say = _phrases(config)
    if chat.role is not ChatRole.PARTNER:
        return say["partners_only"].format(scope=_chat_scope(config, chat))
    target = _target(config, args)
    if isinstance(target, str):
        return target
    scope = _scope_words(config, target.forum_id, target.app_id)
    added = store.subscribe(chat.chat_id, target.forum_id, target.app_id)
    return (say["subscribed"] if added else say["already"]).format(scope=scope)


def _unsubscribe(store: Store, config: Config, chat: Chat, args: list[str]) -> str:
    say = _phrases(config)
    if chat.role is not ChatRole.PARTNER:
        return say["partners_only"].format(scope=_chat_scope(config, chat))
    if not args:
        return say["unsubscribed"].format(count=store.unsubscribe(chat.chat_id))
    target = _target(config, args)
    if isinstance(target, str):
        return target
    count = store.unsubscribe(chat.chat_id, target.forum_id, target.app_id)
    return say["unsubscribed"].format(count=count)


def _list(store: Store, config: Config, chat: Chat) -> str:
    say = _phrases(config)
    if chat.role is not ChatRole.PARTNER:
        return say["follows"].format(
            role=_role_words(config, chat.role), scopes=_chat_scope(config, chat)
        )
    subscriptions = store.subscriptions(chat.chat_id)
    if not subscriptions:
        return say["nothing"]
    scopes = "; ".join(_scope_words(config, s.forum_id, s.app_id) for s in subscriptions)
    return say["follows"].format(role=_role_words(config, chat.role), scopes=scopes)


def _mute(store: Store, config: Config, chat: Chat, args: list[str], now: datetime) -> str:
    """/mute <topic url> <duration>: no messages about that topic to this chat for a while."""
    say = _phrases(config)
    if len(args) != 2:
        return say["mute_usage"]
    key = _topic_key(config, args[0])
    try:
        duration = parse_duration(args[1])
    except ValueError:
        duration = timedelta(0)
    if key is None or not timedelta(0) < duration <= LONGEST_MUTE:
        return say["mute_usage"]
    until = now + duration
    store.mute(chat.chat_id, key, until)
    return say["muted"].format(
        topic=f"{key.forum_id} #{key.topic_id}", until=local_time(until, config.timezone)
    )


def _topic_key(config: Config, url: str) -> TopicKey | None:
    """The configured forum and topic id a topic URL points at, if any."""
    match = TOPIC_IN_URL.search(url)
    forum = next((f for f in config.forums if url.startswith(f.url + "/")), None)
    return TopicKey(forum.id, match[1]) if forum and match else None


def _target(config: Config, args: list[str]) -> Subscription | str:
    """(forum, app) named by `forum ID` or `app ID`, or the reply explaining what is wrong."""
    say = _phrases(config)
    if len(args) != 2 or args[0].lower() not in ("forum", "app"):
        return say["usage"]
    kind, ref = args[0].lower(), html.escape(args[1])
    if kind == "forum":
        if config.forum(ref) is None:
            return say["unknown_forum"].format(ref=ref, known=_forum_ids(config))
        return Subscription(ref, "")
    forum_id = _forum_of_app(config, ref)
    if forum_id is None:
        return say["unknown_app"].format(ref=ref, known=_app_ids(config))
    return Subscription(forum_id, ref)


def _forum_of_app(config: Config, app_id: str) -> str | None:
    return next((f.id for f in config.forums for a in f.apps if a.id == app_id), None)


def _forum_ids(config: Config) -> str:
    return ", ".join(f.id for f in config.forums)


def _app_ids(config: Config) -> str:
    return ", ".join(a.id for f in config.forums for a in f.apps) or "-"


def _scope_words(config: Config, forum_id: str, app_id: str) -> str:
    say = _phrases(config)
    if app_id:
        return say["scope_app"].format(app=app_id, forum=forum_id)
    return say["scope_forum"].format(forum=forum_id) if forum_id else ""


def _role_words(config: Config, role: ChatRole) -> str:
    return _phrases(config)[f"role_{role.value}"]


def _chat_scope(config: Config, chat: Chat) -> str:
    return _scope_words(config, chat.forum_id, chat.app_id) or _phrases(config)["everything"]


def _language(config: Config) -> str:
    return config.bot_language


def _phrases(config: Config) -> dict[str, str]:
    return REPLIES.get(_language(config), REPLIES["en"])

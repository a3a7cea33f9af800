"""The bot's commands: what a chat may ask and change, decided over the store, free of Telegram.

/start CODE binds a chat with an invite's role; partners choose their scope with /subscribe;
/status lists the open findings in a chat's scope. A chat without a valid invite can read /help
and nothing else; in a group only the group's admins change anything.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from forumwatch.config import Config, ForumConfig, parse_duration
from forumwatch.model import Finding, StoredFinding, TopicKey
from forumwatch.notify.telegram import forum_homes
from forumwatch.roles import app_of
from forumwatch.store import Store
from forumwatch.store_chats import Chat, ChatRole, Invite, Subscription
from forumwatch.telegram_text import (
    Links,
    StatusTopic,
    burst_topics,
    status_messages,
    summary_message,
)

CHANGING = frozenset({"/start", "/subscribe", "/unsubscribe", "/mute"})
TOPIC_IN_URL = re.compile(r"/t/(?:[^/?#]+/)?(\d+)(?:[/?#]|$)")
LONGEST_MUTE = timedelta(days=90)

_TEXT = {
    "en": {
        "help": (
            "forumwatch tells you about forum topics nobody responsible has answered.\n"
            "/subscribe forum ID or /subscribe app ID: follow a forum or an app (partners)\n"
            "/unsubscribe [forum ID | app ID]: stop following one, or everything\n"
            "/list: what this chat follows\n/status: open findings in this chat's scope\n"
            "/mute TOPIC-LINK 3d: no messages about one topic for a while\n"
            "/help: this text"
        ),
        "not_bound": (
            "This chat is not connected to forumwatch. Ask the forumwatch admin for an invite "
            "link and open it here."
        ),
        "bad_code": "This invite code is unknown, already used or expired; ask for a new one.",
        "bound": "Connected as {role}{scope}.",
        "admins_only": "Only this group's admins can change what it follows.",
        "partners_only": "Only partner chats choose what they follow; yours follows {scope}.",
        "usage": "Write /subscribe forum ID or /subscribe app ID.",
        "unknown_forum": "There is no forum '{ref}'. Known forums: {known}.",
        "unknown_app": "There is no app '{ref}'. Known apps: {known}.",
        "subscribed": "Following {scope}.",
        "already": "This chat already follows {scope}.",
        "unsubscribed": "Stopped following {count} scope(s).",
        "nothing": "This chat follows nothing yet: /subscribe forum ID.",
        "follows": "This chat ({role}) follows: {scopes}.",
        "unknown_command": "Unknown command. /help lists what I understand.",
        "everything": "every forum",
        "mute_usage": (
            "Write /mute followed by a topic's link on a watched forum and how long, e.g. "
            "/mute https://forum.example.com/t/some-topic/123 3d (at most 90d)."
        ),
        "muted": "No messages about {topic} to this chat until {until} UTC.",
    },
    "uk": {
        "help": (
            "forumwatch повідомляє про теми форуму, на які ніхто відповідальний не відповів.\n"
            "/subscribe forum ID або /subscribe app ID: стежити за форумом чи застосунком "
            "(партнери)\n/unsubscribe [forum ID | app ID]: припинити стежити за одним або за "
            "всім\n/list: за чим стежить цей чат\n/status: відкриті порушення в межах чату\n"
            "/mute ПОСИЛАННЯ 3d: тимчасово без повідомлень про одну тему\n"
            "/help: ця довідка"
        ),
        "not_bound": (
            "Цей чат не під'єднано до forumwatch. Попросіть в адміністратора forumwatch "
            "посилання-запрошення і відкрийте його тут."
        ),
        "bad_code": "Код запрошення невідомий, уже використаний або прострочений; попросіть новий.",
        "bound": "Під'єднано як {role}{scope}.",
        "admins_only": "Змінювати підписки групи можуть лише її адміністратори.",
        "partners_only": "Підписки обирають лише чати партнерів; ваш чат стежить за {scope}.",
        "usage": "Напишіть /subscribe forum ID або /subscribe app ID.",
        "unknown_forum": "Форуму '{ref}' немає. Відомі форуми: {known}.",
        "unknown_app": "Застосунку '{ref}' немає. Відомі застосунки: {known}.",
        "subscribed": "Тепер чат стежить за {scope}.",
        "already": "Чат уже стежить за {scope}.",
        "unsubscribed": "Підписок скасовано: {count}.",
        "nothing": "Чат ще ні за чим не стежить: /subscribe forum ID.",
        "follows": "Цей чат ({role}) стежить за: {scopes}.",
        "unknown_command": "Невідома команда. /help перелічує, що я розумію.",
        "everything": "усіма форумами",
        "mute_usage": (
            "Напишіть /mute, посилання на тему форуму, за яким стежимо, і на скільки, напр. "
            "/mute https://forum.example.com/t/some-topic/123 3d (щонайбільше 90d)."
        ),
        "muted": "Повідомлень про {topic} у цей чат не буде до {until} UTC.",
    },
    "ru": {
        "help": (
            "forumwatch сообщает о темах форума, на которые никто из ответственных не ответил.\n"
            "/subscribe forum ID или /subscribe app ID: следить за форумом или приложением "
            "(партнёры)\n/unsubscribe [forum ID | app ID]: перестать следить за одним или за "
            "всем\n/list: за чем следит этот чат\n/status: открытые нарушения в пределах чата\n"
            "/mute ССЫЛКА 3d: временно без сообщений об одной теме\n"
            "/help: эта справка"
        ),
        "not_bound": (
            "Этот чат не подключён к forumwatch. Попросите у администратора forumwatch "
            "ссылку-приглашение и откройте её здесь."
        ),
        "bad_code": "Код приглашения неизвестен, уже использован или истёк; попросите новый.",
        "bound": "Подключено как {role}{scope}.",
        "admins_only": "Менять подписки группы могут только её администраторы.",
        "partners_only": "Подписки выбирают только чаты партнёров; ваш чат следит за {scope}.",
        "usage": "Напишите /subscribe forum ID или /subscribe app ID.",
        "unknown_forum": "Форума '{ref}' нет. Известные форумы: {known}.",
        "unknown_app": "Приложения '{ref}' нет. Известные приложения: {known}.",
        "subscribed": "Теперь чат следит за {scope}.",
        "already": "Чат уже следит за {scope}.",
        "unsubscribed": "Подписок отменено: {count}.",
        "nothing": "Чат пока ни за чем не следит: /subscribe forum ID.",
        "follows": "Этот чат ({role}) следит за: {scopes}.",
        "unknown_command": "Неизвестная команда. /help перечисляет, что я понимаю.",
        "everything": "всеми форумами",
        "mute_usage": (
            "Напишите /mute, ссылку на тему форума, за которым следим, и на сколько, напр. "
            "/mute https://forum.example.com/t/some-topic/123 3d (не больше 90d)."
        ),
        "muted": "Сообщений о {topic} в этот чат не будет до {until} UTC.",
    },
}


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
        return _status(store, config, chat, now)
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
    replies = [say["bound"].format(role=chat.role.value, scope=f": {scope}" if scope else "")]
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
        return say["follows"].format(role=chat.role.value, scopes=_chat_scope(config, chat))
    subscriptions = store.subscriptions(chat.chat_id)
    if not subscriptions:
        return say["nothing"]
    scopes = "; ".join(_scope_words(config, s.forum_id, s.app_id) for s in subscriptions)
    return say["follows"].format(role=chat.role.value, scopes=scopes)


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
        topic=f"{key.forum_id} #{key.topic_id}", until=f"{until:%Y-%m-%d %H:%M}"
    )


def _topic_key(config: Config, url: str) -> TopicKey | None:
    """The configured forum and topic id a topic URL points at, if any."""
    match = TOPIC_IN_URL.search(url)
    forum = next((f for f in config.forums if url.startswith(f.url + "/")), None)
    return TopicKey(forum.id, match[1]) if forum and match else None


STATUS_LISTED = 50  # /status names the longest waits; the rest are counted


def _status(store: Store, config: Config, chat: Chat, now: datetime) -> list[str]:
    """One line per topic, longest wait first, topics this chat muted left out; only the
    STATUS_LISTED named are read with their evidence (what their counts come from)."""
    found = open_in_scope(store, config, chat)
    muted = store.muted_topics(chat.chat_id, now)
    topics = by_topic(s for s in found if s.finding.key not in muted)
    listed = list(topics)[:STATUS_LISTED]
    whole = _with_evidence(store, listed)
    bursts = _bursts_by_topic(store, found)
    items = [_status_topic(topics[key], whole, bursts.get(key)) for key in listed]
    links = Links(forum_homes(store, config))
    return status_messages(items, now, _language(config), total=len(topics), links=links)


def by_topic(found: Iterable[StoredFinding]) -> dict[TopicKey, list[StoredFinding]]:
    """The findings grouped by topic, in the order their topics first appear (for findings
    sorted by wait: the topic's longest wait first)."""
    topics: dict[TopicKey, list[StoredFinding]] = {}
    for stored in found:
        topics.setdefault(stored.finding.key, []).append(stored)
    return topics


def _with_evidence(store: Store, keys: Sequence[TopicKey]) -> dict[tuple[TopicKey, str], Finding]:
    """The stored findings of a few topics with their evidence, by (topic, rule): one query a
    forum through the primary key, however many findings the forum holds."""
    whole: dict[tuple[TopicKey, str], Finding] = {}
    for forum_id in sorted({key.forum_id for key in keys}):
        ids = [key.topic_id for key in keys if key.forum_id == forum_id]
        for found_key, stored in store.findings_of(forum_id, ids).items():
            whole[found_key] = stored.finding
    return whole


def _bursts_by_topic(store: Store, found: Sequence[StoredFinding]) -> dict[TopicKey, Finding]:
    """Topic → the open burst grouping it (from the bursts' evidence; bursts are few)."""
    bursts = [s.finding.key for s in found if s.finding.rule == "burst"]
    grouped: dict[TopicKey, Finding] = {}
    for (key, rule), burst in _with_evidence(store, bursts).items():
        if rule != "burst":
            continue
        for topic in burst_topics(burst):
            grouped.setdefault(TopicKey(key.forum_id, topic.topic_id), burst)
        grouped.setdefault(key, burst)
    return grouped


def _status_topic(
    group: list[StoredFinding],
    whole: dict[tuple[TopicKey, str], Finding],
    burst: Finding | None,
) -> StatusTopic:
    """A topic's /status line: its open findings (with evidence) and the burst grouping it."""
    findings = tuple(whole.get((s.finding.key, s.finding.rule), s.finding) for s in group)
    title = next((s.title for s in group if s.title), "")
    url = next((s.url for s in group if s.url), "")
    hosted = burst is not None and burst.key == group[0].finding.key
    return StatusTopic(findings, title, url, None if hosted else burst)


def open_in_scope(store: Store, config: Config, chat: Chat) -> list[StoredFinding]:
    """Open findings a chat would be told about, oldest wait first (without their evidence:
    a forum may hold tens of thousands)."""
    scopes = _scopes(store, chat)
    found: list[StoredFinding] = []
    for forum_id in sorted({s.forum_id for s in scopes} if scopes else _all_forums(config, chat)):
        forum = config.forum(forum_id)
        if forum is None:
            continue
        apps = {s.app_id for s in scopes if s.forum_id == forum_id} or {""}
        stream = store.open_findings_in_order([forum_id], evidence=False)
        if "" in apps:
            found += stream
            continue
        held = list(stream)
        judged = store.apps_of(forum_id, [s.finding.key.topic_id for s in held])
        for stored in held:
            app_id = judged.get(stored.finding.key.topic_id)
            if (app_id if app_id is not None else _app_id(store, forum, stored)) in apps:
                found.append(stored)
    return sorted(found, key=lambda s: (s.finding.opened_at, s.finding.key))


def _scopes(store: Store, chat: Chat) -> list[Subscription]:
    if chat.role is ChatRole.PARTNER:
        return store.subscriptions(chat.chat_id) or [Subscription("\0none", "")]
    return [Subscription(chat.forum_id, chat.app_id)] if chat.forum_id else []


def _all_forums(config: Config, chat: Chat) -> set[str]:
    return {f.id for f in config.forums}


def _app_id(store: Store, forum: ForumConfig, stored: StoredFinding) -> str:
    topic = store.topic(stored.finding.key)
    app = app_of(forum, topic) if topic else None
    return app.id if app else ""


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
    if app_id:
        return f"app {app_id} ({forum_id})"
    return f"forum {forum_id}" if forum_id else ""


def _chat_scope(config: Config, chat: Chat) -> str:
    return _scope_words(config, chat.forum_id, chat.app_id) or _phrases(config)["everything"]


def _language(config: Config) -> str:
    return config.telegram.language if config.telegram else "uk"


def _phrases(config: Config) -> dict[str, str]:
    return _TEXT.get(_language(config), _TEXT["en"])

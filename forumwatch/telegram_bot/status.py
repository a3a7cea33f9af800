"""/status: a chat's open findings, one line per topic, longest wait first, with the burst a
topic belongs to; read cheaply (evidence only for the topics named) from a store of 100,000."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from forumwatch.config.models import Config, ForumConfig
from forumwatch.model import Finding, StoredFinding, TopicKey
from forumwatch.roles import app_of
from forumwatch.store import Store
from forumwatch.store.chats import Chat, ChatRole, Subscription
from forumwatch.telegram_bot.links import Links
from forumwatch.telegram_bot.notifier import forum_homes
from forumwatch.telegram_bot.text import StatusTopic, burst_topics, status_messages

STATUS_LISTED = 50  # /status names the longest waits; the rest are counted


def status_reply(store: Store, config: Config, chat: Chat, now: datetime) -> list[str]:
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
    language = config.bot_language
    return status_messages(items, now, language, total=len(topics), links=links)


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

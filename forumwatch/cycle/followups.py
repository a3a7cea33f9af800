"""Messages beside a finding's own transitions: reminders of escalations still open, and
heads-ups to the developer shortly before a deadline (as Zammad and Znuny warn before an SLA).

Both are outbox rows unique per wait, so a message goes out once whatever the cycle rate:
reminder n of an episode once, one heads-up per wait.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from forumwatch.config.models import ForumConfig
from forumwatch.model import Change, Finding, Stage, StoredFinding, Topic, TopicKey, Transition
from forumwatch.notify.base import FollowUps
from forumwatch.store import Store

REMINDER_MARK = "🔁 "


def remind(store: Store, notifier: FollowUps, forum_id: str, now: datetime) -> None:
    """Remind whoever was told of a still-open escalated finding, once per `remind_every`."""
    every = notifier.remind_every
    for stored in store.told_escalations(forum_id, notifier.channel, now - every):
        escalated_at = stored.escalated_at
        if stored.finding.stage is not Stage.ESCALATED or escalated_at is None:
            continue
        round_ = int((now - escalated_at) / every)
        kind = f"{stored.finding.rule} reminder {round_}"
        if round_ < 1 or store.has_outbox_row(stored, kind):
            continue
        muted = store.muted_chats(stored.finding.key, now)
        told = [r for c, r in store.told(stored) if c == notifier.channel and r not in muted]
        if not told:
            continue  # a backlog finding nobody was told of one by one: no reminders either
        text = REMINDER_MARK + notifier.render(Transition(Change.ESCALATED, stored), now)
        for recipient in told:
            store.enqueue_extra(stored, kind, notifier.channel, recipient, text, now)


def warn(
    store: Store,
    notifier: FollowUps,
    forum: ForumConfig,
    upcoming: Iterable[Finding],
    topics: dict[TopicKey, Topic],
    app_ids: dict[TopicKey, str],
    now: datetime,
) -> None:
    """A heads-up to the developers for each finding that will hold within `warn_before`."""
    upcoming = list(upcoming)
    stored = store.findings_of(forum.id, [f.key.topic_id for f in upcoming])
    for finding in upcoming:
        earlier = stored.get((finding.key, finding.rule))
        if earlier is not None and earlier.is_open:
            continue  # already overdue and told
        episode = earlier.episode + 1 if earlier else 1
        topic = topics[finding.key]
        future = StoredFinding(finding, episode, now, None, None, topic.title, topic.url)
        kind = f"{finding.rule} heads-up"
        if store.has_outbox_row(future, kind):
            continue
        developers = notifier.developer_recipients(forum, app_ids.get(finding.key, ""))
        developers = [d for d in developers if d not in store.muted_chats(finding.key, now)]
        if not developers:
            continue
        text = notifier.render(Transition(Change.OPENED, future), now, heads_up=True)
        for recipient in developers:
            store.enqueue_extra(future, kind, notifier.channel, recipient, text, now)

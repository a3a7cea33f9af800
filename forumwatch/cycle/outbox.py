"""Who hears what of one forum's changes: the backlog as one summary per recipient, an alert storm
held, a burst's topics told in its one message (and handed back when it ends), resolutions to
whoever heard of a finding, reminders; and notes to the admins.
"""

from __future__ import annotations

import html
from collections.abc import Collection
from datetime import datetime

from forumwatch.config.models import Config, ForumConfig
from forumwatch.cycle.followups import remind
from forumwatch.cycle.record import Judging
from forumwatch.cycle.results import ForumResult
from forumwatch.health import next_health
from forumwatch.model import (
    Change,
    Stage,
    StoredFinding,
    TopicKey,
    Transition,
)
from forumwatch.notify.base import TELEGRAM, Notifier, follow_ups_channel
from forumwatch.store import Store, iso

STORM_MIN_FINDINGS = 5  # fewer new findings never count as an alert storm


def told_with_its_burst(change: Transition, grouped: Collection[TopicKey]) -> bool:
    """True for a new finding of a topic inside an open burst (`grouped`): the burst's one
    message tells it, with all the others."""
    finding = change.stored.finding
    return change.change is Change.OPENED and finding.rule != "burst" and finding.key in grouped


def storm_reason(forum: ForumConfig, changes: list[Transition], open_topics: int) -> str | None:
    """Why this cycle's new findings must not be sent, or None: when they cover more than
    `hold_alerts_above` of the forum's open topics at once (and at least STORM_MIN_FINDINGS),
    a changed page layout or a misconfigured responder is far likelier than a sudden mass
    silence."""
    opened = sum(1 for change in changes if change.change is Change.OPENED)
    if opened < STORM_MIN_FINDINGS or opened <= forum.hold_alerts_above * open_topics:
        return None
    share = opened / max(1, open_topics)
    return (
        f"forum '{forum.id}': this run would open findings on {opened} of {open_topics} open "
        f"topics ({share:.0%}, over hold_alerts_above {forum.hold_alerts_above:.0%}); they are "
        "stored but not sent. Check the forum's responders and its profile (`forumwatch "
        "check-config --probe`); `forumwatch findings` lists them"
    )


def _hold(
    store: Store,
    config: Config,
    forum: ForumConfig,
    reason: str,
    now: datetime,
    result: ForumResult | None,
) -> None:
    """Tell the console (as a warning) and the Telegram admins why notifications are held."""
    if result is not None:
        result.warnings.append(reason)
    note_admins(store, config, forum.id, "held", f"⏸ {html.escape(reason)}", now)


def _enqueue(
    store: Store,
    forum: ForumConfig,
    change: Transition,
    now: datetime,
    notifier: Notifier,
    app_id: str,
) -> None:
    stored: StoredFinding = change.stored
    stage = stored.finding.stage
    muted = store.muted_chats(stored.finding.key, now) if notifier.follows_up else set()
    if change.change is Change.RESOLVED:  # those who heard of it hear how it ended
        recipients = [r for c, r in store.told(stored) if c == notifier.channel]
        if not recipients and notifier.summarises_backlog:
            # told of it in a backlog summary or a burst's message, not one by one
            was = Stage.ESCALATED if stored.escalated_at is not None else Stage.DUE
            recipients = notifier.recipients(forum, stored.finding, was, app_id)
        stage = Stage.RESOLVED
    else:
        recipients = notifier.recipients(forum, stored.finding, stage, app_id)
    recipients = [r for r in recipients if r not in muted]
    if not recipients:
        return
    text = notifier.render(change, now)
    for recipient in recipients:
        store.enqueue(stored, stage, notifier.channel, recipient, text, now)


def tell_admins(
    store: Store, config: Config, forum_id: str, result: ForumResult, now: datetime
) -> None:
    """Queue a health notice for the Telegram admins when the forum's health calls for one."""
    if config.telegram is None or not config.telegram.admins or result.skipped:
        return
    health, text = next_health(forum_id, store.forum_health(forum_id), result.error, now)
    with store.transaction():
        store.save_forum_health(forum_id, health)
        if text is not None:
            note_admins(store, config, forum_id, "health", text, now)


def note_admins(
    store: Store, config: Config, forum_id: str, kind: str, text: str, now: datetime
) -> None:
    """Queue `text` (HTML) for every Telegram admin, once per (kind, moment)."""
    admins = config.telegram.admins if config.telegram is not None else []
    for admin in admins:
        store.enqueue_note(forum_id, f"{kind} {iso(now)}", TELEGRAM, str(admin), text, now)


def tell(
    store: Store,
    forum: ForumConfig,
    config: Config,
    now: datetime,
    active: list[Notifier],
    judging: Judging,
    backlog: bool = False,
    result: ForumResult | None = None,
) -> list[Transition]:
    """Queue who hears what of the forum's changes, in the same transaction.

    `backlog`: the forum's first cycle; what it finds is old news, told as one summary per
    recipient by the notifiers that summarise backlogs. A cycle that would open findings on
    too many topics at once (see `storm_reason`) stores them but holds their notifications,
    and says why in `result`'s warnings and to the Telegram admins.
    """
    changes = sorted(
        judging.changes, key=lambda pair: (pair[0].stored.finding.key, pair[0].stored.finding.rule)
    )
    transitions_only = [change for change, _ in changes]
    # a burst's topics are told in its one message: the burst counts once toward a storm, so a
    # real outage on a small forum is told, not held
    alone = [c for c in transitions_only if not told_with_its_burst(c, judging.grouped)]
    opened = sum(1 for change in alone if change.change is Change.OPENED)
    held = None  # counting the open topics is only worth it when enough findings opened
    if not backlog and opened >= STORM_MIN_FINDINGS:
        held = storm_reason(forum, alone, store.open_topic_count(forum.id))
    if held is not None:
        _hold(store, config, forum, held, now, result)
    # a backlog summary counts topics (a burst stands for the topics it groups), not findings
    backlog_topics: dict[tuple[int, str], set[TopicKey]] = {}
    for change, app_id in changes:
        if not change.notifies:
            continue
        if held and change.change is Change.OPENED:
            store.hold(change.stored, held, now)
            continue
        if change.change is not Change.OPENED and store.is_held(change.stored):
            continue  # nobody was told it opened: its later stages are not told either
        if told_with_its_burst(change, judging.grouped):
            continue
        for index, notifier in enumerate(active):
            if backlog and notifier.summarises_backlog and change.change is Change.OPENED:
                stage = change.stored.finding.stage
                topics = topics_of(change.stored)
                for recipient in notifier.recipients(forum, change.stored.finding, stage, app_id):
                    backlog_topics.setdefault((index, recipient), set()).update(topics)
                continue
            _enqueue(store, forum, change, now, notifier, app_id)
    if not backlog:
        for change, app_id in judging.handed_back:  # a burst ended: its topics on their own
            for notifier in active:
                _enqueue(store, forum, change, now, notifier, app_id)
    for (index, recipient), keys in sorted(backlog_topics.items()):
        notifier = active[index]
        text = notifier.backlog_text(forum, len(keys))
        store.enqueue_note(forum.id, "backlog", notifier.channel, recipient, text, now)
    follow_ups = follow_ups_channel(active)
    if follow_ups is not None and not backlog:
        remind(store, follow_ups, forum.id, now)
    return transitions_only


def topics_of(stored: StoredFinding) -> set[TopicKey]:
    """The topics a finding speaks for: its own, or for a burst each topic it groups."""
    finding = stored.finding
    if finding.rule != "burst":
        return {finding.key}
    grouped = {TopicKey(finding.key.forum_id, e.topic_id) for e in finding.evidence if e.topic_id}
    return grouped or {finding.key}

"""What the rules flag at a moment, read from the store: `findings`, the demo, the digest.

At or after a forum's last evaluation, and with the config it was judged by, its stored open
findings are current for every topic that has neither changed nor come due since; only those few
topics are judged again (see forumwatch.incremental). Otherwise (no cycle yet, a changed config, a
moment before the last evaluation) every open topic is judged, as a full cycle would.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Protocol

from forumwatch import incremental
from forumwatch.config import Config, ForumConfig
from forumwatch.model import Finding, TopicKey, TopicState
from forumwatch.pipeline import evaluate_forum, evaluate_topics
from forumwatch.roles import GroupMembers
from forumwatch.store import Store
from rules.silence import summary_at


class Titled(Protocol):
    """What a listing shows of a finding's topic (a Topic or a StoredFinding has both)."""

    @property
    def title(self) -> str: ...

    @property
    def url(self) -> str: ...


Listed = tuple[Finding, Titled]


def order(listed: Listed) -> tuple[datetime, TopicKey, str]:
    finding = listed[0]
    return finding.opened_at, finding.key, finding.rule


def judged_by(store: Store, forum: ForumConfig, config: Config, members: GroupMembers) -> bool:
    """True when the forum's stored judgements (findings, topic facts) were made under what
    this config says (see incremental.fingerprint)."""
    stamp, _ = store.eval_state(forum.id)
    return stamp == incremental.fingerprint(forum, config, members)


def judged_up_to(
    store: Store, forum: ForumConfig, config: Config, members: GroupMembers, now: datetime
) -> bool:
    """True when the forum's stored findings may stand for `now`: judged by this config, at
    `now` or before."""
    _, evaluated_at = store.eval_state(forum.id)
    if evaluated_at is None or now < evaluated_at:
        return False
    return judged_by(store, forum, config, members)


def current_findings(
    store: Store,
    config: Config,
    now: datetime,
    forums: Iterable[ForumConfig] | None = None,
    *,
    evidence: bool = True,
) -> Iterator[Listed]:
    """Every finding at `now` (of `forums`, default all), oldest wait first (then topic and
    rule), streamed: the stored ones are read a row at a time, never the topics whole.
    `evidence=False` may leave the stored ones' evidence out (for counts and tsv)."""
    fresh: list[Listed] = []
    judged: set[TopicKey] = set()
    bursts_judged: set[str] = set()  # forums whose bursts were found again
    kept: list[str] = []  # forums whose stored findings stand (but for the judged topics)
    for forum in config.forums if forums is None else forums:
        members = store.group_members(forum.id)
        if not judged_up_to(store, forum, config, members, now):
            topics = {t.key: t for t in store.topics(forum.id, TopicState.OPEN)}
            found = evaluate_topics(topics.values(), forum, config, now, members)
            fresh += [(f, topics[f.key]) for f in found]
            continue
        kept.append(forum.id)
        plan = incremental.due_at(store, forum.id, now)
        for batch in incremental.batches(store, forum.id, plan.groups):
            by_key = {t.key: t for t in batch}
            evaluation = evaluate_forum(batch, forum, config, now, members, bursts=False)
            fresh += [(f, by_key[f.key]) for f in evaluation.findings]
            judged |= set(by_key)
        if plan.changed:  # only a new or changed topic makes or ends a burst
            bursts = incremental.current_bursts(store, forum, now, members)
            fresh += [(f, bursts.topics[f.key]) for f in bursts.findings]
            bursts_judged.add(forum.id)
    fresh.sort(key=order)

    def standing() -> Iterable[Listed]:
        for stored in store.open_findings_in_order(kept, evidence=evidence):
            finding = stored.finding
            if finding.rule == "burst":
                if finding.key.forum_id in bursts_judged:
                    continue
            elif finding.key in judged:
                continue
            yield summary_at(finding, now), stored

    return heapq.merge(fresh, standing(), key=order)

"""Incremental evaluation: a cycle judges only the topics whose findings may have changed.

A topic's findings change only when the topic does (a new post, a new state) or when one of its
deadlines passes. So every judged topic stores `next_check`: the earliest moment its findings could
change with no new post (a due time, an escalation, a heads-up before a due time). A cycle judges
the topics that changed since they were last judged and those whose `next_check` has come, with
every open topic of the same authors (a re-posted request spans one author's topics), batch by
batch; everything else keeps its stored findings, which are exactly what a full evaluation would
find again. When what the rules depend on changes (the config, the forum's group members, the rules
themselves), the forum's topics are all judged again once.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from importlib import resources

from forumwatch.config.models import Config, ForumConfig
from forumwatch.model import Author, Finding, Responders, Sla, Topic, TopicKey, TopicState
from forumwatch.roles import GroupMembers, ResponderLookup
from forumwatch.store import Store
from forumwatch.store.evaluation import LightTopic, TopicFacts
from rules.answers import ACKNOWLEDGERS, DIAGNOSERS, first_answer, started_by_responder
from rules.base import Rule, as_of
from rules.bursts import BurstSettings, burst_finding, find_bursts

RULES_VERSION = 2  # bump when a rule's meaning changes: stored judgements are then redone
BATCH_TOPICS = 1_000  # topics held in memory at once while judging
# the forum settings the rules read (its address, pace and chats change no judgement)
JUDGED_BY = {
    "developers",
    "developer_groups",
    "staff",
    "staff_groups",
    "ignore_users",
    "repost_window",
    "closing_words",
    "burst_topics",
    "burst_window",
    "burst_factor",
    "apps",
    "business_hours",
}
FAR = timedelta(days=3650)  # "some day": every deadline of the topic as it stands has passed


def fingerprint(forum: ForumConfig, config: Config, members: GroupMembers) -> str:
    """What the forum's judgements depend on besides its topics and the clock."""
    basis = {
        "rules": RULES_VERSION,
        "closing_phrases": closing_phrases_digest() if forum.closing_words.enabled else "",
        "forum": forum.model_dump(mode="json", include=JUDGED_BY),
        "sla": repr(config.sla_for(forum)),
        # the forum's own policies, then the top-level ones: their order decides, too
        "sla_policies": [
            p.model_dump(mode="json") for p in (*forum.sla_policies, *config.sla_policies)
        ],
        "warn_before": repr(warn_before_of(config)),
        "members": {group: sorted(names) for group, names in sorted(members.items())},
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()


@functools.cache
def closing_phrases_digest() -> str:
    """The bundled closing-word lists as one hash: a phrase added there changes judgements."""
    folder = resources.files("rules") / "closing_words"
    digest = hashlib.sha256()
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            digest.update(entry.name.encode() + b"\0" + entry.read_bytes())
    return digest.hexdigest()


def warn_before_of(config: Config) -> timedelta | None:
    return config.telegram.warn_before if config.telegram else None


def next_check(
    judged: Topic,
    responders: Responders,
    sla: Sla,
    now: datetime,
    rules: Iterable[Rule],
    warn_before: timedelta | None,
) -> datetime | None:
    """The earliest moment after `now` when the rules could say something else of `judged` with
    no new post: a due or escalation time of what the rules will find once every deadline has
    passed (the heads-up `warn_before` it, too), or a post dated later than `now`."""
    then = as_of(judged, now)
    moments = [judged.created_at] + [p.created_at for p in judged.posts]
    if then is not None:
        for rule in rules:
            finding = rule(then, responders, sla, now + FAR)
            if finding is not None:
                moments += [finding.due_at, finding.escalate_at]
    if warn_before is not None:
        moments += [moment - warn_before for moment in moments]
    return min((moment for moment in moments if moment > now), default=None)


def facts_of(
    topic: Topic, responders: Responders, repost: bool, check: datetime | None
) -> TopicFacts:
    """What digests and bursts need of a topic without reading its posts again."""
    ack = first_answer(topic, responders, ACKNOWLEDGERS)
    dev = first_answer(topic, responders, DIAGNOSERS)
    return TopicFacts(
        topic_id=topic.id,
        next_check=check,
        app_id=responders.app_id,
        customer=not started_by_responder(topic, responders),
        repost=repost,
        first_ack_at=ack.created_at if ack else None,
        first_dev_at=dev.created_at if dev else None,
    )


@dataclass(frozen=True)
class Plan:
    """The topics one cycle judges, grouped by author."""

    groups: list[list[str]]  # topic ids, an author's together
    changed: int  # topics changed since they were last judged (new posts, new state)
    full: bool  # every topic is judged (first cycle, new config or groups, a moment gone back)
    stamp: str = ""  # the fingerprint judged under, stored once the cycle is done

    @property
    def topics(self) -> int:
        return sum(len(group) for group in self.groups)


def plan(
    store: Store,
    forum: ForumConfig,
    config: Config,
    members: GroupMembers,
    now: datetime,
    *,
    everything: bool = False,
) -> Plan:
    """Which topics to judge at `now`: marks every topic for judging first when asked to
    (`everything`), when the forum's fingerprint changed or when `now` lies before its last
    evaluation (a backdated dry run)."""
    stamp = fingerprint(forum, config, members)
    stored_stamp, evaluated_at = store.eval_state(forum.id)
    went_back = evaluated_at is not None and now < evaluated_at
    full = everything or stored_stamp != stamp or went_back
    if full:
        store.invalidate_evaluation(forum.id)
    return replace(due_at(store, forum.id, now), full=full, stamp=stamp)


def due_at(store: Store, forum_id: str, now: datetime) -> Plan:
    """The topics changed or due at `now`, with every open topic of their authors. Reads only.

    (A topic closed or deleted since it was judged is a changed one: its findings resolve.)"""
    changed, due = store.due_topics(forum_id, now)
    groups = store.with_their_authors(forum_id, [*changed, *due])
    return Plan([groups[author] for author in sorted(groups)], len(changed), False)


def batches(store: Store, forum_id: str, groups: list[list[str]]) -> Iterator[list[Topic]]:
    """The planned topics, whole, about BATCH_TOPICS at a time (an author's never split)."""
    batch: list[str] = []
    for group in groups:
        batch += group
        if len(batch) >= BATCH_TOPICS:
            yield store.topics_by_id(forum_id, batch)
            batch = []
    if batch:
        yield store.topics_by_id(forum_id, batch)


def light_topic(topic: Topic, facts: TopicFacts) -> LightTopic:
    """A topic's row as `Store.light_topics` reads it once `facts` are stored beside it."""
    return LightTopic(
        topic.key,
        topic.title,
        topic.url,
        topic.created_at,
        topic.state,
        topic.author.username,
        facts.app_id,
        facts.customer,
        facts.first_ack_at,
        facts.first_dev_at,
        judged=True,
        category=topic.category,
        category_id=topic.category_id,
        tags=topic.tags,
    )


def burst_settings(forum: ForumConfig) -> BurstSettings:
    return BurstSettings(forum.burst_topics, forum.burst_window, forum.burst_factor)


@dataclass(frozen=True)
class Bursts:
    """The forum's bursts at a moment: their findings, the topics in them, those topics whole."""

    findings: list[Finding]
    grouped: frozenset[TopicKey]  # topics of a burst with a finding: told with it
    topics: dict[TopicKey, Topic]


def current_bursts(
    store: Store,
    forum: ForumConfig,
    now: datetime,
    members: GroupMembers,
    rows: list[LightTopic] | None = None,
) -> Bursts:
    """Bursts over the rows of the forum's open customer topics that are no re-post (no
    posts: their stored facts say whose they are and which app's; or `rows`, those rows as a
    read-only judgement learnt them); only a burst's own topics are read whole."""
    if rows is None:
        rows = store.light_topics(
            forum.id,
            state=TopicState.OPEN,
            created_until=now + timedelta(microseconds=1),
            customers_only=True,
            without_reposts=True,
        )
    app_of_key = {r.key: r.app_id for r in rows}
    stubs = [
        Topic(forum.id, r.key.topic_id, r.url, r.title, Author(r.author), r.created_at, ())
        for r in rows
    ]
    del rows
    responders_of = ResponderLookup(forum, members)

    found: list[Finding] = []
    grouped: set[TopicKey] = set()
    whole: dict[TopicKey, Topic] = {}
    for burst in find_bursts(stubs, lambda t: app_of_key[t.key], burst_settings(forum), now):
        read = {t.key: t for t in store.topics_by_id(forum.id, [t.id for t in burst.topics])}
        burst = replace(burst, topics=tuple(read[t.key] for t in burst.topics))
        whole |= read
        finding = burst_finding(burst, responders_of, now)
        if finding is not None:
            found.append(finding)
            grouped |= burst.keys
    return Bursts(found, frozenset(grouped), whole)

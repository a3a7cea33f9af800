"""The rules over a forum's open topics at one moment (pure): re-posted requests judged as one
topic, bursts found over the customers' first tries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from forumwatch.config.models import Config, ForumConfig
from forumwatch.cycle import incremental
from forumwatch.model import (
    Finding,
    Topic,
    TopicKey,
    TopicState,
)
from forumwatch.roles import GroupMembers, ResponderLookup
from rules.answers import awaits_answers
from rules.base import all_rules
from rules.bursts import burst_finding, find_bursts
from rules.policies import Applied, Sightings
from rules.reposts import Request, find_requests


@dataclass(frozen=True)
class Evaluation:
    """What the rules say of a forum's open topics at one moment."""

    findings: list[Finding]
    requests: dict[TopicKey, Request]  # re-posted requests, by their latest topic
    superseded: dict[TopicKey, Topic]  # an earlier topic → the topic that re-posts it
    grouped: frozenset[TopicKey] = frozenset()  # topics of an open burst: told together
    applied: dict[TopicKey, Applied] = field(default_factory=dict)  # each judged topic's SLA


def evaluate_forum(
    topics: Iterable[Topic],
    forum: ForumConfig,
    config: Config,
    now: datetime,
    members: GroupMembers | None = None,
    *,
    bursts: bool = True,
    responders: ResponderLookup | None = None,
    seen: Mapping[str, Sightings] | None = None,
) -> Evaluation:
    """Every rule over every open topic; a re-posted request is judged once, as one topic.

    `bursts=False` leaves bursts out (an incremental cycle finds them over the whole forum's
    rows, see `incremental.current_bursts`); `responders` shares the caller's lookups; `seen`
    (topic id → when each SLA policy was first seen to apply) times a policy a topic began to
    match mid-wait from then (rules.policies.applied_policy).
    """
    clocks = config.policies_for(forum)
    rules = all_rules()
    open_topics = [t for t in topics if t.state is TopicState.OPEN]
    existing = [t for t in open_topics if t.created_at <= now]  # a backdated view: as it was
    responders_of = responders or ResponderLookup(forum, members)

    requests, superseded = find_requests(existing, responders_of, forum.repost_window)
    findings = []
    applied_to: dict[TopicKey, Applied] = {}
    for topic in open_topics:
        if topic.key in superseded:
            continue  # its request is judged on the topic that re-posts it
        request = requests.get(topic.key)
        judged = request.as_one_topic() if request else topic
        answering = responders_of(judged)
        sightings = seen.get(topic.id, {}) if seen is not None else None
        applied = clocks.applied(judged, answering.app_id, sightings, now)
        applied_to[topic.key] = applied
        for rule in rules.values():
            finding = rule(judged, answering, applied.sla, now)
            if finding is not None:
                finding = replace(finding, policy=applied.name)
                findings.append(request.reposted(finding) if request else finding)
    if not bursts:
        return Evaluation(findings, requests, superseded, applied=applied_to)
    grouped: set[TopicKey] = set()
    requests_only = [  # customers' first tries: a re-post is no news of an outage
        t for t in existing if t.key not in requests and awaits_answers(t, responders_of(t))
    ]
    settings = incremental.burst_settings(forum)
    for burst in find_bursts(requests_only, lambda t: responders_of(t).app_id, settings, now):
        found = burst_finding(burst, responders_of, now)
        if found is not None:
            findings.append(found)
            grouped |= burst.keys
    return Evaluation(findings, requests, superseded, frozenset(grouped), applied_to)


def evaluate_topics(
    topics: Iterable[Topic],
    forum: ForumConfig,
    config: Config,
    now: datetime,
    members: GroupMembers | None = None,
) -> list[Finding]:
    """The findings that hold at `now` over the forum's open topics (see evaluate_forum)."""
    return evaluate_forum(topics, forum, config, now, members).findings

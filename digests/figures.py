"""The digest's figures, computed from topics as they stood at the end of the day: pure functions.

Time to answer is measured to the first public reply by the app's developer; a topic still
waiting counts with its wait so far, never left out, so a developer who answers nothing cannot
look fast. Two shares measure different things: "acknowledged" (the headline) counts a public
answer by the developer or staff before the acknowledgement deadline; "answered by the
developer" (the scorecards) counts the developer's own answer before the diagnosis deadline.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from forumwatch.model import Responders, Sla, Topic, TopicKey, TopicState
from forumwatch.store.evaluation import LightTopic
from rules.answers import ACKNOWLEDGERS, DIAGNOSERS, awaits_answers, first_answer
from rules.base import as_of
from rules.clock import deadline


@dataclass(frozen=True)
class TopicTiming:
    """How one customer topic has been served, as of a moment."""

    key: TopicKey
    title: str
    url: str
    app_id: str  # "" = the forum-wide developers
    developers: tuple[str, ...]
    created_at: datetime
    developer_answer_at: datetime | None  # the first public developer reply
    acknowledged_at: datetime | None  # the first public developer or staff reply
    acknowledge_due: datetime
    answer_due: datetime  # the developer's diagnosis deadline
    policy: str = ""  # the SLA policy the topic waited on ("" = the default SLA)

    def wait(self, now: datetime) -> timedelta:
        """Time to the developer's first answer, or the wait so far."""
        return (self.developer_answer_at or now) - self.created_at

    def within_sla(self, now: datetime) -> bool | None:
        """Acknowledged in time; None while the deadline has not come (nothing to judge yet)."""
        if self.acknowledged_at is not None and self.acknowledged_at <= self.acknowledge_due:
            return True
        return None if now < self.acknowledge_due else False

    def developer_within_sla(self, now: datetime) -> bool | None:
        """The developer answered before the diagnosis deadline; None while it has not come."""
        if self.developer_answer_at is not None and self.developer_answer_at <= self.answer_due:
            return True
        return None if now < self.answer_due else False


def timing(
    topic: Topic, responders: Responders, sla: Sla, now: datetime, policy: str = ""
) -> TopicTiming | None:
    """The topic's timing as of `now`; None for topics nobody owes an answer (a responder's own,
    or not yet started)."""
    then = as_of(topic, now)
    if then is None or not awaits_answers(then, responders):
        return None
    developer = first_answer(then, responders, DIAGNOSERS)
    acknowledgement = first_answer(then, responders, ACKNOWLEDGERS)
    return TopicTiming(
        key=then.key,
        title=then.title,
        url=then.url,
        app_id=responders.app_id,
        developers=tuple(sorted(responders.developers)),
        created_at=then.created_at,
        developer_answer_at=developer.created_at if developer else None,
        acknowledged_at=acknowledgement.created_at if acknowledgement else None,
        acknowledge_due=deadline(sla.start(then.created_at), sla.acknowledge, sla.business_hours),
        answer_due=deadline(sla.start(then.created_at), sla.diagnose, sla.business_hours),
        policy=policy,
    )


def timing_from_facts(
    row: LightTopic, developers: tuple[str, ...], sla: Sla, now: datetime, policy: str = ""
) -> TopicTiming | None:
    """`timing` from a topic's stored facts (its first answers) instead of its posts."""
    if row.created_at > now or row.state is not TopicState.OPEN or not row.customer:
        return None

    def by_then(moment: datetime | None) -> datetime | None:
        return moment if moment is not None and moment <= now else None

    return TopicTiming(
        key=row.key,
        title=row.title,
        url=row.url,
        app_id=row.app_id,
        developers=developers,
        created_at=row.created_at,
        developer_answer_at=by_then(row.first_dev_at),
        acknowledged_at=by_then(row.first_ack_at),
        acknowledge_due=deadline(sla.start(row.created_at), sla.acknowledge, sla.business_hours),
        answer_due=deadline(sla.start(row.created_at), sla.diagnose, sla.business_hours),
        policy=policy,
    )


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (share 0.5 = median); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def sla_share(timings: Iterable[TopicTiming], now: datetime) -> float | None:
    """The share of judged topics acknowledged within the SLA; None when none can be judged."""
    judged = [t.within_sla(now) for t in timings]
    decided = [j for j in judged if j is not None]
    return sum(decided) / len(decided) if decided else None


def developer_sla_share(timings: Iterable[TopicTiming], now: datetime) -> float | None:
    """The share of judged topics the developer answered before the diagnosis deadline."""
    judged = [t.developer_within_sla(now) for t in timings]
    decided = [j for j in judged if j is not None]
    return sum(decided) / len(decided) if decided else None


@dataclass(frozen=True)
class Scorecard:
    """One app (or the forum's own developers): how its customers were served."""

    forum_id: str
    app_id: str
    developers: tuple[str, ...]
    topics: int
    median_hours: float | None
    p90_hours: float | None
    developer_within_sla: float | None  # answered by the developer by the diagnosis deadline
    open_findings: int
    credits: float = 0.0  # booked in the scorecard window
    policy: str = ""  # an SLA policy's topics get their own card ("" = the default SLA's)

    @property
    def label(self) -> str:
        label = f"{self.forum_id} · {self.app_id}" if self.app_id else self.forum_id
        return f"{label} · {self.policy}" if self.policy else label


def scorecards(
    timings: Iterable[TopicTiming],
    open_findings: dict[tuple[str, str], int],
    now: datetime,
    credits: dict[tuple[str, str], float] | None = None,
) -> list[Scorecard]:
    """A scorecard per (forum, app) and per SLA policy within it (paid topics their own row),
    the policies' first, then worst first: most open findings, then slowest p90. The app's
    open findings and credits are told on its default card."""
    groups: dict[tuple[str, str, str], list[TopicTiming]] = {}
    for item in timings:
        groups.setdefault((item.key.forum_id, item.app_id, item.policy), []).append(item)
    credits = credits or {}
    for place in [*open_findings, *credits]:
        groups.setdefault((*place, ""), [])
    cards = []
    for (forum_id, app_id, policy), items in groups.items():
        own = policy == ""  # the app's counts go on its default card only
        hours = [t.wait(now).total_seconds() / 3600 for t in items]
        developers = sorted({d for t in items for d in t.developers})
        cards.append(
            Scorecard(
                forum_id,
                app_id,
                tuple(developers),
                len(items),
                percentile(hours, 0.5),
                percentile(hours, 0.9),
                developer_sla_share(items, now),
                open_findings.get((forum_id, app_id), 0) if own else 0,
                credits.get((forum_id, app_id), 0.0) if own else 0.0,
                policy,
            )
        )
    return sorted(
        cards, key=lambda c: (c.policy == "", -c.open_findings, -(c.p90_hours or 0), c.label)
    )

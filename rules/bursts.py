"""Bursts: when an app breaks for everyone, many customers post at once and each waits alone.
Several new topics of one app within a short window, well above its usual rate, are one likely
outage: one grouped finding that asks the developer to acknowledge once, publicly, for everyone.

Pure: given a forum's open topics, each topic's app and responders, the settings and `now`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from forumwatch.model import (
    Evidence,
    Finding,
    Responders,
    Role,
    Stage,
    Topic,
    TopicKey,
    TopicState,
)
from rules.answers import ACKNOWLEDGERS, closing_posts, first_answer, silent_responders
from rules.base import as_of, without_ignored
from rules.clock import wait_text

HISTORY = timedelta(days=30)  # the app's usual rate is measured over this long before a burst
MIN_HISTORY = timedelta(days=1)  # with less known history there is no "usual" to compare with
# a burst ends at the latest this long after its last topic arrived: from then on its topics
# still waiting are told on their own (an outage is news for a day, not for years)
LASTS = timedelta(days=1)


@dataclass(frozen=True)
class BurstSettings:
    topics: int = 3  # at least this many new topics of one app ...
    window: timedelta = timedelta(hours=2)  # ... within this long ...
    factor: float = 3.0  # ... and at least this many times the app's usual rate


@dataclass(frozen=True)
class Burst:
    app_id: str
    topics: tuple[Topic, ...]  # oldest first
    usual: float  # the app's usual number of new topics per window
    threshold: int  # how many topics made it a burst

    @property
    def key(self) -> TopicKey:
        """A burst's finding lives on its first topic, under the rule `burst`."""
        return self.topics[0].key

    @property
    def keys(self) -> frozenset[TopicKey]:
        return frozenset(t.key for t in self.topics)


def find_bursts(
    topics: Iterable[Topic],
    app_of: Callable[[Topic], str],
    settings: BurstSettings,
    now: datetime,
) -> list[Burst]:
    """Every burst among the topics that existed at `now`, per app (forum-wide without apps)."""
    if settings.topics < 2:
        return []
    by_app: dict[str, list[Topic]] = {}
    for topic in topics:
        if topic.created_at <= now:
            by_app.setdefault(app_of(topic), []).append(topic)
    bursts: list[Burst] = []
    for app_id, own in sorted(by_app.items()):
        bursts += _bursts_of_app(app_id, sorted(own, key=lambda t: (t.created_at, t.id)), settings)
    return bursts


def _bursts_of_app(app_id: str, own: Sequence[Topic], settings: BurstSettings) -> list[Burst]:
    """Windows of `settings.window` holding at least `settings.topics` topics and `factor` times
    the app's usual count, each burst extended while its topics keep coming that densely.

    Linear in the app's topics, but for a log factor: windows and history are found by bisection
    over the sorted creation times (a forum holds 100,000 topics).
    """
    times = [topic.created_at for topic in own]
    bursts: list[Burst] = []
    start = 0
    while start < len(own):
        end = bisect_right(times, times[start] + settings.window) - 1
        count = end - start + 1
        if count < settings.topics:
            start += 1
            continue
        usual = _usual(times, start, settings.window)
        if usual is None or count < settings.factor * usual:
            start += 1
            continue
        while end + 1 < len(own) and (
            times[end + 1] - times[end + 2 - settings.topics] <= settings.window
        ):
            end += 1  # the burst goes on while topics keep coming this densely
        bursts.append(Burst(app_id, tuple(own[start : end + 1]), usual, settings.topics))
        start = end + 1
    return bursts


def _usual(times: Sequence[datetime], start: int, window: timedelta) -> float | None:
    """The app's usual number of new topics per window before `times[start]`, over up to
    HISTORY; None when less than MIN_HISTORY of it is known (a new forum has no usual yet)."""
    moment = times[start]
    span = min(HISTORY, moment - times[0])
    if span < MIN_HISTORY:
        return None
    before = start - bisect_left(times, moment - span)
    return before * (window / span)


def burst_finding(
    burst: Burst, responders_of: Callable[[Topic], Responders], now: datetime
) -> Finding | None:
    """The grouped finding while some topic of the burst still waits for acknowledgement, for
    at most LASTS after its last topic arrived.

    Escalated from the start: an outage is everyone's business at once, so the developer and
    the quality staff hear it in one message.
    """
    if now >= burst.topics[-1].created_at + LASTS:
        return None
    waiting = [t for t in burst.topics if _waiting(t, responders_of(t), now)]
    if not waiting:
        return None
    first = burst.topics[0]
    seen_at = burst.topics[burst.threshold - 1].created_at  # when it became a burst
    span = wait_text(burst.topics[-1].created_at - first.created_at)
    responders = responders_of(first)
    evidence = tuple(
        Evidence(
            1,
            t.author.username,
            Role.AUTHOR,
            t.created_at,
            note=f"#{t.id} {t.title}",
            topic_id=t.id,
        )
        for t in waiting
    )
    app = f"app {burst.app_id}" if burst.app_id else "the forum"
    summary = (
        f"Likely outage: {len(burst.topics)} new topics about {app} within {span} (usually "
        f"{burst.usual:.1f} in that time), {len(waiting)} still unacknowledged; acknowledge once, "
        "publicly, for everyone"
    )
    return Finding(
        key=burst.key,
        rule="burst",
        stage=Stage.ESCALATED,
        opened_at=first.created_at,
        due_at=seen_at,
        escalate_at=seen_at,
        evidence=evidence,
        summary=summary,
        silent=silent_responders(responders, ACKNOWLEDGERS),
    )


def _waiting(topic: Topic, responders: Responders, now: datetime) -> bool:
    """True while the topic is open, unacknowledged and not confirmed by its author at `now`."""
    then = as_of(topic, now)
    then = without_ignored(then, responders) if then is not None else None
    if then is None or then.state is not TopicState.OPEN:
        return False
    return first_answer(then, responders, ACKNOWLEDGERS) is None and not closing_posts(
        then, responders
    )

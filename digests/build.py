"""A day's digest from the store only (no scraping): what the quality staff read each morning.

Everything is judged at the end of the day, with the rules seeing topics as they stood then, so a
digest of last Tuesday rebuilt today says what it would have said on Tuesday.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from digests.figures import Scorecard, TopicTiming, scorecards, sla_share, timing
from forumwatch.config import Config
from forumwatch.model import Finding, TopicState
from forumwatch.pipeline import evaluate_topics
from forumwatch.roles import responders_for
from forumwatch.store import Credit, Store, StoredFinding
from forumwatch.store_chats import ChatRole

SCORECARD_DAYS = 30  # scorecards cover the topics started in the last 30 days
TREND_DAYS = 14  # the chart's span; headline changes compare with the 7 days before


@dataclass(frozen=True)
class Ignored:
    """One open finding at the end of the day, with its topic's title and link."""

    finding: Finding
    title: str
    url: str


@dataclass(frozen=True)
class DayPoint:
    """One day of the trend: what the headline figures were at its end."""

    day: date
    new_topics: int
    sla_share: float | None  # of the topics started that day whose deadline has come
    open_ignored: int  # findings forumwatch held open at the day's end
    escalations: int


@dataclass
class Digest:
    day: date
    timezone: str
    start: datetime  # the day's first moment, UTC
    end: datetime  # the next day's first moment, UTC: everything is judged here
    new_topics: int = 0
    sla_share: float | None = None  # of topics started in the scorecard window
    ignored: list[Ignored] = field(default_factory=list)  # longest wait first
    escalations: int = 0
    scorecards: list[Scorecard] = field(default_factory=list)
    answered: list[StoredFinding] = field(default_factory=list)  # resolved by an answer that day
    closed_unanswered: list[StoredFinding] = field(default_factory=list)
    failed_forums: dict[str, int] = field(default_factory=dict)  # forum → runs that failed
    trend: list[DayPoint] = field(default_factory=list)  # TREND_DAYS days, oldest first
    credits_today: list[Credit] = field(default_factory=list)  # booked that day
    credit_unit: str = ""

    @property
    def credits_owed(self) -> float:
        return sum(c.amount for c in self.credits_today)

    def change(self, figure: str) -> float | None:
        """The day's figure minus its average over the 7 days before; None without history."""
        if len(self.trend) < 2:
            return None
        today, before = self.trend[-1], self.trend[-8:-1]
        values = [getattr(p, figure) for p in before if getattr(p, figure) is not None]
        current = getattr(today, figure)
        if current is None or not values:
            return None
        return float(current - sum(values) / len(values))

    @property
    def title(self) -> str:
        return f"forumwatch digest {self.day.isoformat()}"


def day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    """The day's [start, end) in UTC, in the digest's time zone."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def yesterday(zone: str, now: datetime | None = None) -> date:
    moment = (now or datetime.now(UTC)).astimezone(ZoneInfo(zone))
    return moment.date() - timedelta(days=1)


def build_digest(store: Store, config: Config, day: date, now: datetime | None = None) -> Digest:
    """The digest of `day`, judged at its end (or at `now`, for a day not over yet)."""
    start, end = day_bounds(day, config.timezone)
    end = min(end, now + timedelta(seconds=1)) if now is not None else end  # `now` included
    digest = Digest(day, config.timezone, start, end)
    timings: list[TopicTiming] = []
    open_by_app: dict[tuple[str, str], int] = {}
    window = end - timedelta(days=SCORECARD_DAYS)
    for forum in config.forums:
        sla = config.sla_for(forum)
        members = store.group_members(forum.id)
        recent = store.topics(forum.id, created_from=window, created_until=end)
        digest.new_topics += sum(1 for t in recent if t.created_at >= start)
        for topic in recent:
            item = timing(topic, responders_for(forum, topic, members), sla, end)
            if item is not None:
                timings.append(item)
        open_topics = {t.key: t for t in store.topics(forum.id, TopicState.OPEN)}
        for finding in evaluate_topics(open_topics.values(), forum, config, end, members):
            topic = open_topics[finding.key]
            digest.ignored.append(Ignored(finding, topic.title, topic.url))
            app_id = responders_for(forum, topic, members).app_id
            open_by_app[forum.id, app_id] = open_by_app.get((forum.id, app_id), 0) + 1
        digest.escalations += len(store.findings_between(forum.id, "escalated_at", start, end))
        for stored in store.findings_between(forum.id, "resolved_at", start, end):
            if stored.resolution.startswith("answered"):
                digest.answered.append(stored)
            elif "without an answer" in stored.resolution:
                digest.closed_unanswered.append(stored)
    digest.ignored.sort(key=lambda i: (i.finding.opened_at, i.finding.key, i.finding.rule))
    digest.sla_share = sla_share(timings, end)
    owed: dict[tuple[str, str], float] = {}
    for credit in store.credits_between(window, end):
        place = (credit.key.forum_id, credit.app_id)
        owed[place] = owed.get(place, 0.0) + credit.amount
        if credit.booked_at >= start:
            digest.credits_today.append(credit)
    digest.credit_unit = config.credits.unit if config.credits else ""
    digest.scorecards = scorecards(timings, open_by_app, end, owed)
    digest.failed_forums = store.failed_forums_between(start, end)
    digest.trend = trend(store, config, day, end)
    return digest


def trend(store: Store, config: Config, day: date, until: datetime) -> list[DayPoint]:
    """The headline figures of the TREND_DAYS days ending with `day`: one topic query and one
    findings query per forum for the whole span, one count per day."""
    days = [day - timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1)]
    bounds = {d: day_bounds(d, config.timezone) for d in days}
    ends = {d: min(end, until) for d, (_, end) in bounds.items()}  # each day judged at its end
    first, last = bounds[days[0]][0], ends[day]
    started: dict[date, list[TopicTiming]] = {d: [] for d in days}
    escalated: dict[date, int] = dict.fromkeys(days, 0)
    open_counts: dict[date, int] = dict.fromkeys(days, 0)

    def day_of(moment: datetime) -> date | None:
        return next((d for d, (s, e) in bounds.items() if s <= moment < e), None)

    for forum in config.forums:
        sla = config.sla_for(forum)
        members = store.group_members(forum.id)
        for topic in store.topics(forum.id, created_from=first, created_until=last):
            d = day_of(topic.created_at)
            item = d and timing(topic, responders_for(forum, topic, members), sla, ends[d])
            if d and item:
                started[d].append(item)
        for stored in store.findings_between(forum.id, "escalated_at", first, last):
            if stored.escalated_at and (d := day_of(stored.escalated_at)):
                escalated[d] += 1
        for d in days:
            open_counts[d] += store.open_findings_count_at(forum.id, ends[d])
    return [
        DayPoint(d, len(started[d]), sla_share(started[d], ends[d]), open_counts[d], escalated[d])
        for d in days
    ]


def quality_chats(store: Store, config: Config) -> list[int]:
    """Every quality chat: listed in the config (forums and apps) or bound with an invite."""
    chats = set(store.chats_with_role(ChatRole.QUALITY))
    for forum in config.forums:
        chats |= set(forum.quality_chats)
        chats |= {c for app in forum.apps for c in app.quality_chats}
    return sorted(chats)

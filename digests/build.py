"""A day's digest from the store only (no scraping): what the quality staff read each morning.

Everything is judged at the end of the day, or at the moment the digest is built for a day not
over yet (never in the future). The ignored topics are those forumwatch held open then; a day
not over, a day before forumwatch first read the forum (the install day's yesterday) or a store
no cycle judged under this config is judged from the stored topics as they stood (the rules
see only the posts made by then). The timings come from each topic's first answers as the
cycles stored them, so a digest of a forum of 100,000 topics reads rows, not posts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from digests.figures import (
    Scorecard,
    TopicTiming,
    scorecards,
    sla_share,
)
from digests.timings import Timings
from forumwatch.config.models import Config, ForumConfig
from forumwatch.cycle.current import Title, current_findings, judged_by
from forumwatch.cycle.incremental import BATCH_TOPICS
from forumwatch.model import Credit, Finding, Stage, StoredFinding
from forumwatch.roles import GroupMembers, responders_for
from forumwatch.store import Store
from forumwatch.store.chats import ChatRole
from forumwatch.store.db import chunks
from forumwatch.store.rows import stored_finding_from_row
from rules.silence import summary_at

LISTED = 100  # ignored topics listed by name; the rest are counted (`forumwatch findings`)
SCORECARD_DAYS = 30  # scorecards cover the topics started in the last 30 days
TREND_DAYS = 14  # the chart's span; headline changes compare with the 7 days before


@dataclass(frozen=True)
class Ignored:
    """One open finding at the end of the day, with its topic's title and link, and whom to
    chase: its app, its customer (the topic's author) and who of the silent owes the answer."""

    finding: Finding
    title: str
    url: str
    app_id: str = ""  # "" = the forum's own developers answer for it
    customer: str = ""  # the topic's author ("" when the topic is not stored)
    developers: tuple[str, ...] = ()  # the silent developers: the first to chase
    staff: tuple[str, ...] = ()  # silent staff, named only when no developer is to chase

    @property
    def command(self) -> str:
        """The command that prints the topic's history."""
        return f"forumwatch topic {self.finding.key.forum_id}:{self.finding.key.topic_id}"


@dataclass(frozen=True)
class DayPoint:
    """One day of the trend: what the headline figures were at its end."""

    day: date
    new_topics: int
    sla_share: float | None  # of the topics started that day whose deadline has come
    # findings forumwatch held open at the day's end; None for a day before it read a forum
    # (the digest's own day is judged from the topics instead: never None)
    open_ignored: int | None
    escalations: int


@dataclass
class Digest:
    day: date
    timezone: str
    start: datetime  # the day's first moment, UTC
    end: datetime  # the next day's first moment, UTC: everything is judged here
    language: str = "uk"  # the config's top-level `language`: what the digest speaks
    # the SLA's deadlines the shares are measured against; None when the forums differ
    acknowledge: timedelta | None = None
    diagnose: timedelta | None = None
    day_end: datetime | None = None  # the day's real end; `end` is earlier for a day not over
    new_topics: int = 0
    sla_share: float | None = None  # of topics started in the scorecard window
    ignored: list[Ignored] = field(default_factory=list)  # the LISTED longest waits
    ignored_total: int = 0  # topics with an open finding at the day's end (a burst: no more)
    escalations: int = 0
    scorecards: list[Scorecard] = field(default_factory=list)
    answered: list[StoredFinding] = field(default_factory=list)  # resolved by an answer that day
    # the author's closing words ended the wait ("Thanks, works now" after somebody's answer)
    confirmed: list[StoredFinding] = field(default_factory=list)
    closed_unanswered: list[StoredFinding] = field(default_factory=list)
    failed_forums: dict[str, int] = field(default_factory=dict)  # forum → runs that failed
    trend: list[DayPoint] = field(default_factory=list)  # TREND_DAYS days, oldest first
    credits_today: list[Credit] = field(default_factory=list)  # booked that day
    credit_unit: str = ""

    @property
    def so_far(self) -> bool:
        """The day is not over: judged at the moment the digest was built, not at its end."""
        return self.day_end is not None and self.end < self.day_end

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
    """The digest of `day`, judged at its end, or at `now` (default: the clock) for a day not
    over yet: never in the future."""
    now = now or datetime.now(UTC)
    start, day_end = day_bounds(day, config.timezone)
    end = min(day_end, now + timedelta(seconds=1))  # `now` included
    digest = Digest(day, config.timezone, start, end, config.language, day_end=day_end)
    digest.acknowledge, digest.diagnose = _deadlines(config)
    timings: list[TopicTiming] = []
    open_by_app: dict[tuple[str, str], int] = {}
    window = end - timedelta(days=SCORECARD_DAYS)
    ignored: list[Ignored] = []
    timings_of: dict[str, Timings] = {}
    for forum in config.forums:
        members = store.group_members(forum.id)
        timings_of[forum.id] = Timings(store, forum, config, members)
        timings += timings_of[forum.id].between(window, end, lambda _: end)
        digest.new_topics += store.count_topics_created(forum.id, start, end)
        longest, by_app = _ignored_at(store, forum, config, members, end)
        ignored += longest
        for app_id, count in by_app.items():
            open_by_app[forum.id, app_id] = open_by_app.get((forum.id, app_id), 0) + count
            digest.ignored_total += count
        digest.escalations += len(store.findings_between(forum.id, "escalated_at", start, end))
        for stored in store.findings_between(forum.id, "resolved_at", start, end):
            if stored.resolution.startswith("answered"):
                digest.answered.append(stored)
            elif stored.resolution.startswith("confirmed by the author"):
                digest.confirmed.append(stored)
            elif "without an answer" in stored.resolution:
                digest.closed_unanswered.append(stored)
    # paid topics (any SLA policy's) first, then the longest waits
    ignored.sort(
        key=lambda i: (i.finding.policy == "", i.finding.opened_at, i.finding.key, i.finding.rule)
    )
    digest.ignored = ignored[:LISTED]
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
    points = trend(store, config, day, end, timings_of)
    digest.trend = [*points[:-1], replace(points[-1], open_ignored=digest.ignored_total)]
    return digest


def _deadlines(config: Config) -> tuple[timedelta | None, timedelta | None]:
    """The acknowledgement and diagnosis deadlines every forum shares in calendar time (None
    for one the forums do not share, one counted in working hours, or when SLA policies give
    some topics their own): the digest names them."""
    slas = [config.sla_for(forum) for forum in config.forums]
    policies = config.sla_policies or any(forum.sla_policies for forum in config.forums)
    if not slas or policies or any(sla.business_hours is not None for sla in slas):
        return None, None
    acknowledge = {sla.acknowledge for sla in slas}
    diagnose = {sla.diagnose for sla in slas}
    return (
        acknowledge.pop() if len(acknowledge) == 1 else None,
        diagnose.pop() if len(diagnose) == 1 else None,
    )


def _ignored_at(
    store: Store, forum: ForumConfig, config: Config, members: GroupMembers, end: datetime
) -> tuple[list[Ignored], Counter[str]]:
    """The forum's open findings at `end`: the LISTED longest waits, and how many ignored
    topics each app holds (streamed: a forum may hold tens of thousands of findings).

    A day already judged by the cycles is told as forumwatch held it then (what it found, and
    had not yet seen resolved); a day not over, a day before forumwatch first read the forum
    (the install day's yesterday: topics waited, but no cycle was there to see it), or a store
    never judged under this config, is judged from the topics as they stood at `end`.
    """
    longest: list[Ignored] = []
    by_app: Counter[str] = Counter()  # ignored topics per app: a topic once, a burst not again
    counted: set[str] = set()
    if held_at(store, forum, config, members, end):
        for row in store.findings_open_at(forum.id, end):
            if row["rule"] != "burst" and row["topic_id"] not in counted:
                counted.add(row["topic_id"])
                by_app[row["topic_app"] or ""] += 1
            if len(longest) < LISTED or _policy_of(row):  # a policy's topics are all listed
                stored = stored_finding_from_row(row)
                longest.append(Ignored(_as_held(stored, end), stored.title, stored.url))
        return _whom_to_chase(store, forum, members, longest), by_app
    standing: list[str] = []  # topics of stored findings that stand: their app is stored
    for finding, topic in current_findings(store, config, end, forums=[forum]):
        if len(longest) < LISTED or finding.policy:  # a policy's topics are all listed
            longest.append(Ignored(finding, topic.title, topic.url))
        if finding.rule == "burst" or finding.key.topic_id in counted:
            continue
        counted.add(finding.key.topic_id)
        if isinstance(topic, Title):  # judged now: its app under this config
            by_app[topic.app_id] += 1
        else:
            standing.append(finding.key.topic_id)
    apps = store.apps_of(forum.id, standing)
    by_app.update(apps.get(topic_id) or "" for topic_id in standing)
    return _whom_to_chase(store, forum, members, longest), by_app


def _whom_to_chase(
    store: Store, forum: ForumConfig, members: GroupMembers, listed: list[Ignored]
) -> list[Ignored]:
    """Each listed finding with its app, its customer and the silent split into developers
    (chased first) and staff (named only where no developer is configured to answer), read
    from the stored topics under this config (LISTED topics at most)."""
    ids = sorted({i.finding.key.topic_id for i in listed})
    topics = {}
    for part in chunks(ids, BATCH_TOPICS):
        topics.update({t.key.topic_id: t for t in store.topics_by_id(forum.id, part)})
    result = []
    for item in listed:
        topic = topics.get(item.finding.key.topic_id)
        if topic is None:
            result.append(item)
            continue
        responders = responders_for(forum, topic, members)
        developers = {name.casefold() for name in responders.developers}
        silent = item.finding.silent
        chase = tuple(n for n in silent if n.casefold() in developers)
        staff = tuple(n for n in silent if n.casefold() not in developers and n != "developer")
        result.append(
            replace(
                item,
                app_id=responders.app_id,
                customer=topic.author.username,
                developers=chase,
                staff=() if chase else staff,
            )
        )
    return result


def held_at(
    store: Store, forum: ForumConfig, config: Config, members: GroupMembers, moment: datetime
) -> bool:
    """True when the forum's stored findings tell what forumwatch held open at `moment`: the
    cycles had read the forum by then, judged it since, and under this config."""
    _, evaluated_at = store.eval_state(forum.id)
    if evaluated_at is None or moment > evaluated_at:
        return False
    first = store.first_good_poll(forum.id)
    return first is not None and first <= moment and judged_by(store, forum, config, members)


def _as_held(stored: StoredFinding, moment: datetime) -> Finding:
    """A stored finding as it stood at `moment`: escalated only if it was by then, its wait
    worded to that moment."""
    escalated = stored.escalated_at is not None and stored.escalated_at <= moment
    finding = replace(stored.finding, stage=Stage.ESCALATED if escalated else Stage.DUE)
    return summary_at(finding, moment)


def trend(
    store: Store,
    config: Config,
    day: date,
    until: datetime,
    timings_of: dict[str, Timings] | None = None,
) -> list[DayPoint]:
    """The headline figures of the TREND_DAYS days ending with `day`: one topic rows query and
    one findings query per forum for the whole span, one count per day."""
    days = [day - timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1)]
    bounds = {d: day_bounds(d, config.timezone) for d in days}
    ends = {d: min(end, until) for d, (_, end) in bounds.items()}  # each day judged at its end
    first, last = bounds[days[0]][0], ends[day]
    started: dict[date, list[TopicTiming]] = {d: [] for d in days}
    escalated: dict[date, int] = dict.fromkeys(days, 0)
    open_counts: dict[date, int | None] = dict.fromkeys(days, 0)

    def day_of(moment: datetime) -> date | None:
        return next((d for d, (s, e) in bounds.items() if s <= moment < e), None)

    def end_of_its_day(moment: datetime) -> datetime:
        d = day_of(moment)
        return ends[d] if d else moment

    for forum in config.forums:
        members = store.group_members(forum.id)
        timings = (timings_of or {}).get(forum.id) or Timings(store, forum, config, members)
        for item in timings.between(first, last, end_of_its_day):
            if d := day_of(item.created_at):
                started[d].append(item)
        for stored in store.findings_between(forum.id, "escalated_at", first, last):
            if stored.escalated_at and (d := day_of(stored.escalated_at)):
                escalated[d] += 1
        held = store.ignored_topics_counts_at(forum.id, [ends[d] for d in days])
        read_from = store.first_good_poll(forum.id)
        for d, count in zip(days, held, strict=True):
            so_far = open_counts[d]
            read = read_from is not None and read_from <= ends[d]
            open_counts[d] = so_far + count if so_far is not None and read else None
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


def _policy_of(row: Any) -> str:
    """A stored finding's SLA policy ("" in a file read before its migration)."""
    try:
        return str(row["policy"] or "")
    except (IndexError, KeyError):
        return ""

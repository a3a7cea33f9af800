"""The domain model every other module speaks: forums' topics and posts, roles, SLAs, findings.

Frozen dataclasses only; all times are aware UTC datetimes. This module imports nothing from the
project, so scrapers, rules, the store and digests can all depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from functools import cached_property


class PostKind(StrEnum):
    """What a post is, as far as answering goes: only public replies can answer."""

    REPLY = "reply"
    SYSTEM = "system"  # moderator or small action: "closed the topic", "pinned", ...
    WHISPER = "whisper"  # visible to forum staff only; the customer never sees it


class TopicState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    SOLVED = "solved"
    ARCHIVED = "archived"
    DELETED = "deleted"  # gone from the forum (404/410): nobody can answer it any more


class Role(StrEnum):
    """Who a post's author is *relative to one topic*."""

    DEVELOPER = "developer"  # the app's developer accounts
    STAFF = "staff"  # the platform rights-holder's accounts
    AUTHOR = "author"  # whoever started the topic
    OTHER = "other"  # everyone else: other customers, integrators, passers-by


class Stage(StrEnum):
    DUE = "due"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Author:
    username: str
    display_name: str = ""
    forum_roles: frozenset[str] = frozenset()  # as the forum shows them: staff, moderator, groups


@dataclass(frozen=True, slots=True)
class Post:
    id: str
    number: int  # position in the topic, 1 = the opening post
    author: Author
    created_at: datetime
    kind: PostKind = PostKind.REPLY
    reply_to: int | None = None  # number of the post this one replies to
    body_text: str = ""


@dataclass(frozen=True)
class Topic:
    forum_id: str
    id: str
    url: str
    title: str
    author: Author
    created_at: datetime
    posts: tuple[Post, ...]
    state: TopicState = TopicState.OPEN
    category: str = ""  # the category's slug (or name) as the forum shows it
    category_id: str = ""  # the forum's own id of the category, when it has one
    tags: tuple[str, ...] = ()
    last_activity_at: datetime | None = None

    @property
    def key(self) -> TopicKey:
        return TopicKey(self.forum_id, self.id)

    @property
    def replies(self) -> tuple[Post, ...]:
        """Every post after the opening one, in topic order."""
        return tuple(sorted((p for p in self.posts if p.number > 1), key=lambda p: p.number))


@dataclass(frozen=True, order=True, slots=True)
class TopicKey:
    forum_id: str
    topic_id: str


@dataclass(frozen=True)
class ClosingWords:
    """How one forum reads an author's closing words ("Дякую, все запрацювало!"): on by default,
    with the forum's own phrases on top of the bundled uk/ru/en lists (rules/closing.py)."""

    enabled: bool = True
    closing: frozenset[str] = frozenset()  # extra phrases that thank or confirm
    not_closing: frozenset[str] = frozenset()  # extra phrases that keep the wait open


@dataclass(frozen=True)
class Responders:
    """Who answers for one topic: resolved from config by forum, app and category."""

    developers: frozenset[str] = frozenset()  # usernames (compared case-insensitively)
    developer_groups: frozenset[str] = frozenset()  # forum group names
    staff: frozenset[str] = frozenset()
    staff_groups: frozenset[str] = frozenset()  # forum groups *or* forum roles (e.g. "moderator")
    app_id: str = ""  # the app the topic belongs to, "" when the forum has no apps configured
    ignored: frozenset[str] = frozenset()  # bots and automation: they neither answer nor ask
    closing: ClosingWords = ClosingWords()  # how the author's closing words are read

    @cached_property
    def _folded(self) -> dict[str, frozenset[str]]:
        """Each name set casefolded once per Responders: rules ask about every post."""
        sets = ("developers", "developer_groups", "staff", "staff_groups", "ignored")
        return {name: frozenset(n.casefold() for n in getattr(self, name)) for name in sets}

    def ignores(self, author: Author) -> bool:
        return author.username.casefold() in self._folded["ignored"]

    def role_of(self, author: Author, topic: Topic) -> Role:
        """The author's role in this topic; a developer account stays a developer everywhere."""
        name = author.username.casefold()
        roles = {r.casefold() for r in author.forum_roles}
        folded = self._folded
        if name in folded["developers"] or roles & folded["developer_groups"]:
            return Role.DEVELOPER
        if name in folded["staff"] or roles & folded["staff_groups"]:
            return Role.STAFF
        if name == topic.author.username.casefold():
            return Role.AUTHOR
        return Role.OTHER


@dataclass(frozen=True)
class BusinessHours:
    """Working time of one forum: SLA clocks only run inside it."""

    timezone: str = "UTC"
    start: time = time(9, 0)
    end: time = time(18, 0)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    holidays: frozenset[str] = frozenset()  # ISO dates (YYYY-MM-DD) in the forum's time zone


@dataclass(frozen=True)
class Sla:
    acknowledge: timedelta = timedelta(hours=2)
    diagnose: timedelta = timedelta(hours=24)
    follow_up: timedelta = timedelta(hours=24)
    escalate_after: timedelta = timedelta(hours=22)  # overdue this long → stage escalated
    business_hours: BusinessHours | None = None  # None: calendar time
    # a policy a topic began to match mid-wait runs its clock from when forumwatch first saw
    # the match, never from earlier in the wait (None: from the start of the wait)
    clock_from: datetime | None = None

    def start(self, wait_began: datetime) -> datetime:
        """When this clock starts on a wait that began at `wait_began`."""
        return wait_began if self.clock_from is None else max(wait_began, self.clock_from)


@dataclass(frozen=True)
class SlaPolicy:
    """An SLA policy (`sla_policies:`): its own clock for the topics it matches. Every given
    condition must hold; within one, any listed value matches (case-insensitively)."""

    name: str
    sla: Sla
    tags: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()  # slugs or ids
    apps: frozenset[str] = frozenset()
    forums: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Evidence:
    """One post that proves a finding, with its author's role in the topic."""

    post_number: int
    username: str
    role: Role
    created_at: datetime
    kind: PostKind = PostKind.REPLY
    note: str = ""
    topic_id: str = ""  # the post's topic when it is not the finding's own (a burst's topics)


@dataclass(frozen=True)
class Finding:
    """Somebody owes the topic an answer: since `opened_at`, overdue since `due_at`."""

    key: TopicKey
    rule: str
    stage: Stage
    opened_at: datetime  # when the wait began: the topic's start or the waiting post
    due_at: datetime
    escalate_at: datetime
    evidence: tuple[Evidence, ...] = ()
    summary: str = ""  # one human sentence: who is silent about what
    silent: tuple[str, ...] = field(default=())  # the responders who owe the answer
    policy: str = ""  # the SLA policy whose clock it runs on ("" = the default SLA)

    def waiting_hours(self, now: datetime) -> float:
        return waiting_hours(self.opened_at, now)


def waiting_hours(opened_at: datetime, now: datetime) -> float:
    """Hours waited since `opened_at`, none before it."""
    return max(0.0, (now - opened_at).total_seconds() / 3600)


# --- records: what the store remembers of findings, credits and messages --------------------


@dataclass(frozen=True)
class StoredFinding:
    finding: Finding
    episode: int
    first_seen_at: datetime
    escalated_at: datetime | None
    resolved_at: datetime | None
    title: str
    url: str
    resolution: str = ""  # how it ended, e.g. "closed without an answer after 11 h of waiting"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class Credit:
    """One line of the credits ledger: a breached SLA stage of one wait, owed to the customer."""

    key: TopicKey
    stage: str  # acknowledge, diagnose or follow_up
    wait_began: datetime
    customer: str  # the topic's author
    app_id: str
    developers: tuple[str, ...]  # who was silent
    amount: float
    unit: str
    booked_at: datetime
    title: str = ""
    url: str = ""


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    key: TopicKey
    rule: str
    stage: Stage
    channel: str
    recipient: str
    message: str


class Change(StrEnum):
    OPENED = "opened"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    UPDATED = "updated"  # same stage, new evidence: stored quietly, nobody is told


@dataclass(frozen=True)
class Transition:
    change: Change
    stored: StoredFinding  # the finding as it must be stored after this cycle
    replaces: str | None = None  # the rule this finding continues (stored under it until now)

    @property
    def notifies(self) -> bool:
        return self.change is not Change.UPDATED

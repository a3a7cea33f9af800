"""A small builder for forum topics in rule tests: who posted what, how long after the start."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from forumwatch.model import (
    Author,
    Finding,
    Post,
    PostKind,
    Responders,
    Sla,
    Topic,
    TopicState,
)
from rules.base import all_rules

SILENCE_RULES = ("unanswered", "masked_silence", "no_diagnosis", "follow_up_ignored")
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday morning

CUSTOMER = Author("olena_k", "Olena")
PASSER_BY = Author("taras", "Taras")
INTEGRATOR = Author("integrator_max", "Max")
DEVELOPER = Author("dev_ivan", "Ivan (app developer)")
STAFF = Author("anna_support", "Anna", frozenset({"staff"}))
MODERATOR = Author("mod_petro", "Petro", frozenset({"moderator"}))
SYSTEM_BOT = Author("system", "System", frozenset({"admin"}))

RESPONDERS = Responders(
    developers=frozenset({"dev_ivan"}),
    staff=frozenset({"anna_support"}),
    staff_groups=frozenset({"moderator"}),
)
SLA = Sla(
    acknowledge=timedelta(hours=2),
    diagnose=timedelta(hours=24),
    follow_up=timedelta(hours=24),
    escalate_after=timedelta(hours=22),
)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


@dataclass
class Thread:
    """A topic under construction: the opening post at `start`, then posts at offsets."""

    author: Author = CUSTOMER
    start: datetime = START
    state: TopicState = TopicState.OPEN
    posts: list[Post] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.posts.append(Post("p1", 1, self.author, self.start, body_text="It crashes."))

    def reply(
        self,
        author: Author,
        after: timedelta,
        kind: PostKind = PostKind.REPLY,
        text: str = "",
    ) -> Thread:
        """Add the next post, `after` the topic started, saying `text`."""
        number = len(self.posts) + 1
        post = Post(f"p{number}", number, author, self.start + after, kind, body_text=text)
        self.posts.append(post)
        return self

    def says(self, author: Author, after: timedelta, text: str) -> Thread:
        """A public reply with words (closing words are read from them)."""
        return self.reply(author, after, text=text)

    def whisper(self, author: Author, after: timedelta) -> Thread:
        return self.reply(author, after, PostKind.WHISPER)

    def system(self, author: Author, after: timedelta) -> Thread:
        return self.reply(author, after, PostKind.SYSTEM)

    def topic(self, *, shuffled: bool = False) -> Topic:
        """The finished topic; `shuffled` stores its posts out of order, as some APIs do."""
        posts = tuple(reversed(self.posts)) if shuffled else tuple(self.posts)
        return Topic(
            forum_id="forum.example",
            id="4242",
            url="https://forum.example/t/4242",
            title="App crashes on start",
            author=self.author,
            created_at=self.start,
            posts=posts,
            state=self.state,
        )


def check(
    rule_id: str,
    topic: Topic | Thread,
    now: datetime,
    responders: Responders = RESPONDERS,
    sla: Sla = SLA,
) -> Finding | None:
    """Run one registered rule on a topic at `now`."""
    if isinstance(topic, Thread):
        topic = topic.topic()
    return all_rules()[rule_id](topic, responders, sla, now)


def findings(
    topic: Topic | Thread, now: datetime, responders: Responders = RESPONDERS, sla: Sla = SLA
) -> dict[str, Finding]:
    """Every silence rule that fires on the topic at `now`, by rule id."""
    fired = {rid: check(rid, topic, now, responders, sla) for rid in SILENCE_RULES}
    return {rid: f for rid, f in fired.items() if f is not None}

"""A topic read as a ticket: where the request stands, which posts counted and why, and every
SLA deadline with met / missed / pending. Pure, like the rules: (topic, responders, sla, now)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from forumwatch.model import Post, PostKind, Responders, Role, Sla, Topic, TopicState
from rules.answers import (
    ACKNOWLEDGERS,
    CUSTOMERS,
    DIAGNOSERS,
    closing_posts,
    first_answer,
    last_closing,
    reading_of,
    started_by_responder,
    waiting_posts,
)
from rules.base import as_of
from rules.clock import deadline, wait_text


@dataclass(frozen=True)
class PostVerdict:
    """One post and what it meant for the request."""

    number: int
    username: str
    role: Role | None  # None: an ignored user (a bot, the forum's automation)
    kind: PostKind
    created_at: datetime
    counts: bool  # answered (acknowledged or diagnosed) the request
    why: str


@dataclass(frozen=True)
class Deadline:
    """One SLA deadline: what was owed, by when, and when (by which post) it was met."""

    what: str  # "acknowledge", "diagnose", "follow-up to post 4"
    started_at: datetime
    due_at: datetime
    met_at: datetime | None = None
    met_by: int | None = None  # the post number that met it
    ended_at: datetime | None = None  # the author's closing words ended the wait unanswered
    ended_by: int | None = None  # ... in this post

    def status(self, now: datetime) -> str:
        if self.met_at is not None:
            late = self.met_at - self.due_at
            return "met" if late <= timedelta(0) else f"missed by {wait_text(late)}"
        if self.ended_at is not None:
            ended = f"ended by the author's closing words (post {self.ended_by})"
            late = self.ended_at - self.due_at
            return ended if late <= timedelta(0) else f"missed by {wait_text(late)}, then {ended}"
        if now >= self.due_at:
            return f"missed by {wait_text(now - self.due_at)} (still open)"
        return f"pending ({wait_text(self.due_at - now)} left)"


@dataclass(frozen=True)
class Ticket:
    status: str
    posts: tuple[PostVerdict, ...]
    deadlines: tuple[Deadline, ...]


def ticket(topic: Topic, responders: Responders, sla: Sla, now: datetime) -> Ticket:
    """The topic as it stood at `now`, read as a support ticket."""
    seen = as_of(topic, now)
    if seen is None:
        return Ticket("not posted yet at this moment", (), ())
    ordered = sorted(seen.posts, key=lambda p: p.number)
    closing = {p.number for p in closing_posts(seen, responders)}
    posts = tuple(_verdict(post, seen, responders, post.number in closing) for post in ordered)
    return Ticket(_status(seen, responders), posts, _deadlines(seen, responders, sla))


def _verdict(post: Post, topic: Topic, responders: Responders, closing: bool) -> PostVerdict:
    number = post.number
    ignored = responders.ignores(post.author)
    role = None if ignored else responders.role_of(post.author, topic)
    counts, why = False, ""
    if number == 1:
        why = "the request" if role not in ACKNOWLEDGERS else "started by a responder"
    elif ignored:
        why = "ignored user (bot or automation): never counts"
    elif post.kind is PostKind.WHISPER:
        why = "whisper: the customer never sees it"
    elif post.kind is PostKind.SYSTEM:
        why = "system post: nobody's answer"
    elif role is Role.DEVELOPER:
        counts, why = True, "the developer answered"
    elif role is Role.STAFF:
        counts, why = True, "staff acknowledged (only the developer can diagnose)"
    elif role is Role.AUTHOR and closing:
        why = "closing words by the author: the wait ends"
    elif role is Role.AUTHOR:
        why = _authors_words(post, responders)
    else:
        why = "a third party's comment: never an answer, may mask the silence"
    return PostVerdict(number, post.author.username, role, post.kind, post.created_at, counts, why)


def _authors_words(post: Post, responders: Responders) -> str:
    """Why an author's post that is not closing words still waits; thanks named as such."""
    reading = reading_of(post, responders)
    if reading.closing:  # closing words, but nobody else had replied yet
        return "thanks before anybody else replied: still waiting"
    if reading.thanks:
        return reading.why()
    return "the author's own post: waits for an answer, answers nothing"


def _status(topic: Topic, responders: Responders) -> str:
    if started_by_responder(topic, responders) or responders.ignores(topic.author):
        return "not a request (started by a responder or an ignored user)"
    acknowledged = first_answer(topic, responders, ACKNOWLEDGERS)
    diagnosed = first_answer(topic, responders, DIAGNOSERS)
    if topic.state is not TopicState.OPEN:
        answered = "answered" if acknowledged else "without an answer"
        return f"{topic.state.value} {answered}"
    closing = last_closing(topic, responders)
    if closing is not None and not _customers_after(topic, responders, closing):
        never = "" if diagnosed else "; the developer never answered"
        return f"confirmed by the author (post {closing.number}): the wait ended{never}"
    if acknowledged is None:
        return "waiting for acknowledgement"
    if waiting_posts(topic, responders):
        return "waiting for an answer to a follow-up"
    if diagnosed is None:
        return "acknowledged, waiting for the developer's diagnosis"
    return "diagnosed: answered by the developer"


def _deadlines(topic: Topic, responders: Responders, sla: Sla) -> tuple[Deadline, ...]:
    if started_by_responder(topic, responders) or responders.ignores(topic.author):
        return ()
    hours = sla.business_hours
    start = topic.created_at
    acknowledged = first_answer(topic, responders, ACKNOWLEDGERS)
    diagnosed = first_answer(topic, responders, DIAGNOSERS)
    closing = closing_posts(topic, responders)
    first_closing = closing[0] if closing else None
    deadlines = [
        _deadline(
            "acknowledge",
            start,
            deadline(sla.start(start), sla.acknowledge, hours),
            acknowledged,
            _before(first_closing, acknowledged),
        ),
        _deadline(
            "diagnose",
            start,
            deadline(sla.start(start), sla.diagnose, hours),
            diagnosed,
            _before(first_closing, diagnosed),
        ),
    ]
    closing_numbers = {p.number for p in closing}
    waiting_since = None
    ended = False  # the author's closing words came: a customer's next post waits anew
    for post in sorted(topic.posts, key=lambda p: p.number):
        if post.number == 1 or post.kind is not PostKind.REPLY or responders.ignores(post.author):
            continue
        role = responders.role_of(post.author, topic)
        if post.number in closing_numbers:
            if waiting_since is not None:  # the author's own words end the wait unanswered
                last = deadlines[-1]
                deadlines[-1] = replace(last, ended_at=post.created_at, ended_by=post.number)
                waiting_since = None
            ended = True
        elif role in ACKNOWLEDGERS and waiting_since is not None:
            deadlines[-1] = _deadline(
                deadlines[-1].what, waiting_since.created_at, deadlines[-1].due_at, post
            )
            waiting_since = None
        elif role in ACKNOWLEDGERS:
            ended = False
        elif role in CUSTOMERS and waiting_since is None and (_after(post, acknowledged) or ended):
            waiting_since = post
            again = ended and (acknowledged is None or acknowledged.number > post.number)
            allowed = sla.acknowledge if again else sla.follow_up
            what = f"{'acknowledge' if again else 'follow-up to'} post {post.number}"
            due = deadline(sla.start(post.created_at), allowed, hours)
            deadlines.append(Deadline(what, post.created_at, due))
    return tuple(deadlines)


def _customers_after(topic: Topic, responders: Responders, post: Post) -> bool:
    """True when a customer posted publicly after `post` (a new wait began)."""
    return any(
        p.number > post.number
        and p.kind is PostKind.REPLY
        and not responders.ignores(p.author)
        and responders.role_of(p.author, topic) in CUSTOMERS
        for p in topic.posts
    )


def _before(closing: Post | None, answer: Post | None) -> Post | None:
    """The closing words when they came before `answer` (or with no answer at all)."""
    if closing is None or (answer is not None and answer.number < closing.number):
        return None
    return closing


def _after(post: Post, answer: Post | None) -> bool:
    """True when `post` follows a responder's answer: a follow-up, not the first wait."""
    return answer is not None and post.number > answer.number


def _deadline(
    what: str, start: datetime, due: datetime, post: Post | None, ended: Post | None = None
) -> Deadline:
    if post is None and ended is not None:
        return Deadline(what, start, due, ended_at=ended.created_at, ended_by=ended.number)
    if post is None:
        return Deadline(what, start, due)
    return Deadline(what, start, due, post.created_at, post.number)

"""Who said what in a topic, as the silence rules see it: public replies, roles and answers.

Only public replies (`PostKind.REPLY`) after the opening post count: a whisper is invisible to
the customer and a system post ("closed the topic") is nobody's comment, so neither answers a
topic nor masks its silence.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from forumwatch.model import (
    ClosingWords,
    Evidence,
    Post,
    PostKind,
    Responders,
    Role,
    Topic,
    TopicState,
)
from rules.closing import Reading, read_post

ACKNOWLEDGERS = frozenset({Role.DEVELOPER, Role.STAFF})  # either acknowledges a topic
DIAGNOSERS = frozenset({Role.DEVELOPER})  # only the app's developer can diagnose it
CUSTOMERS = frozenset({Role.AUTHOR, Role.OTHER})


def later_posts(topic: Topic) -> tuple[Post, ...]:
    """Every post after the opening one, of any kind, ordered by post number."""
    return tuple(sorted((p for p in topic.posts if p.number > 1), key=lambda p: p.number))


def public_replies(topic: Topic) -> tuple[Post, ...]:
    """Later posts the customer can see as replies (no whispers, no system posts), in order."""
    return tuple(p for p in later_posts(topic) if p.kind == PostKind.REPLY)


def hidden_posts(topic: Topic) -> tuple[Post, ...]:
    """Later posts that are not public replies: whispers and system (moderator) posts."""
    return tuple(p for p in later_posts(topic) if p.kind != PostKind.REPLY)


def role_of_post(post: Post, topic: Topic, responders: Responders) -> Role:
    """The role of a post's author in this topic."""
    return responders.role_of(post.author, topic)


def replies_by(topic: Topic, responders: Responders, roles: Iterable[Role]) -> tuple[Post, ...]:
    """Public replies whose author has one of `roles`, in topic order."""
    wanted = frozenset(roles)
    return tuple(p for p in public_replies(topic) if role_of_post(p, topic, responders) in wanted)


def first_answer(topic: Topic, responders: Responders, roles: Iterable[Role]) -> Post | None:
    """The first public reply by one of `roles`, or None when they have not answered."""
    answers = replies_by(topic, responders, roles)
    return answers[0] if answers else None


def last_answer(topic: Topic, responders: Responders, roles: Iterable[Role]) -> Post | None:
    """The latest public reply by one of `roles`, or None when they have not answered."""
    answers = replies_by(topic, responders, roles)
    return answers[-1] if answers else None


def waiting_posts(topic: Topic, responders: Responders) -> tuple[Post, ...]:
    """Public customer replies after the last responder answer and after the author's last
    closing words (empty when no responder answered)."""
    answer = last_answer(topic, responders, ACKNOWLEDGERS)
    if answer is None:
        return ()
    closing = last_closing(topic, responders)
    after = max(answer.number, closing.number if closing else 0)
    return tuple(p for p in replies_by(topic, responders, CUSTOMERS) if p.number > after)


def reading_of(post: Post, responders: Responders) -> Reading:
    """How the post's words read (closing words, a look-alike, or an ordinary post)."""
    return _reading(post.body_text, responders.closing)


@functools.lru_cache(maxsize=8192)
def _reading(text: str, words: ClosingWords) -> Reading:
    return read_post(text, words)  # a topic is judged by several rules, each asking again


def closing_posts(topic: Topic, responders: Responders) -> tuple[Post, ...]:
    """The author's public replies that only thank or confirm, each after somebody else's
    public reply: closing words ("Дякую, все запрацювало!") end the author's wait.

    Thanks before anybody else has replied (thanks in advance, a bump) never close, and a bot's
    reply (an ignored user's) is nobody's answer, whether or not the caller dropped it already
    (the rules do; a ticket and a resolution read the topic as stored).
    """
    if not responders.closing.enabled:
        return ()
    closing = []
    others_replied = False
    for post in public_replies(topic):
        if responders.ignores(post.author):
            continue
        if role_of_post(post, topic, responders) is not Role.AUTHOR:
            others_replied = True
        elif others_replied and reading_of(post, responders).closing:
            closing.append(post)
    return tuple(closing)


def last_closing(topic: Topic, responders: Responders) -> Post | None:
    """The author's latest closing words, or None."""
    closing = closing_posts(topic, responders)
    return closing[-1] if closing else None


def answer_before(topic: Topic, responders: Responders, post: Post) -> Post | None:
    """The latest public reply by somebody other than the topic's author before `post`: the
    answer that closing words confirm."""
    earlier = [
        p
        for p in public_replies(topic)
        if p.number < post.number
        and not responders.ignores(p.author)
        and role_of_post(p, topic, responders) is not Role.AUTHOR
    ]
    return earlier[-1] if earlier else None


def started_by_responder(topic: Topic, responders: Responders) -> bool:
    """True when the topic's author is the developer or staff (an announcement, not a request)."""
    return responders.role_of(topic.author, topic) in ACKNOWLEDGERS


def awaits_answers(topic: Topic, responders: Responders) -> bool:
    """True when silence rules apply: the topic is open and was started by a customer."""
    return topic.state == TopicState.OPEN and not started_by_responder(topic, responders)


def evidence_of(post: Post, topic: Topic, responders: Responders, note: str = "") -> Evidence:
    """The post as evidence, with its author's role in the topic."""
    return Evidence(
        post_number=post.number,
        username=post.author.username,
        role=role_of_post(post, topic, responders),
        created_at=post.created_at,
        kind=post.kind,
        note=note,
    )


def silent_responders(responders: Responders, roles: Iterable[Role]) -> tuple[str, ...]:
    """Sorted usernames who owe the answer; "developer" stands in when none is configured."""
    wanted = frozenset(roles)
    names = set(responders.developers) or {"developer"}
    if Role.STAFF in wanted:
        names |= responders.staff
    return tuple(sorted(names))

"""The Rule protocol and the registry that finds a rule by its id.

A rule is a pure function of (topic, responders, sla, now): no clock, no I/O, no logging. Every
registered rule sees the topic *as it stood at `now`*: posts made later do not exist for it, and
a topic started later raises nothing, so `--now` in the past (a backdated digest, `findings
--now`) says what would have been said then. Nor does it see the posts of ignored users (bots,
automation): they never answer, never mask, and their own topics raise nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from forumwatch.model import Finding, Responders, Sla, Topic


class Rule(Protocol):
    def __call__(
        self, topic: Topic, responders: Responders, sla: Sla, now: datetime
    ) -> Finding | None: ...


_RULES: dict[str, Rule] = {}


def rule(rule_id: str) -> Callable[[Rule], Rule]:
    """Decorator: register a rule function under its id (the `rule` field of its findings)."""

    def wrap(func: Rule) -> Rule:
        @functools.wraps(func)
        def at_the_moment(
            topic: Topic, responders: Responders, sla: Sla, now: datetime
        ) -> Finding | None:
            then = as_of(topic, now)
            then = None if then is None else without_ignored(then, responders)
            return None if then is None else func(then, responders, sla, now)

        _RULES[rule_id] = at_the_moment
        return at_the_moment

    return wrap


def as_of(topic: Topic, now: datetime) -> Topic | None:
    """The topic as it stood at `now`: later posts dropped; None if it did not exist yet.

    (Its open/closed state is the one last seen: the forums do not date state changes.)
    """
    if topic.created_at > now:
        return None
    if all(post.created_at <= now for post in topic.posts):
        return topic
    return replace(topic, posts=tuple(p for p in topic.posts if p.created_at <= now))


def without_ignored(topic: Topic, responders: Responders) -> Topic | None:
    """The topic without the posts of people who never count (bots, the forum's automation):
    their replies neither answer nor mask a silence; None when one of them started it."""
    if not responders.ignored:
        return topic
    if responders.ignores(topic.author):
        return None
    if not any(responders.ignores(post.author) for post in topic.posts):
        return topic
    kept = tuple(p for p in topic.posts if p.number == 1 or not responders.ignores(p.author))
    return replace(topic, posts=kept)


def all_rules() -> dict[str, Rule]:
    """Every registered rule, by id."""
    import rules.silence  # noqa: F401  (each module registers its rules on import)

    return dict(_RULES)

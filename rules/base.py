"""The Rule protocol and the registry that finds a rule by its id.

A rule is a pure function of (topic, responders, sla, now): no clock, no I/O, no logging. Every
registered rule sees the topic *as it stood at `now`*: posts made later do not exist for it, and
a topic started later raises nothing, so `--now` in the past (a backdated digest, `findings
--now`) says what would have been said then.
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


def all_rules() -> dict[str, Rule]:
    """Every registered rule, by id."""
    import rules.silence  # noqa: F401  (each module registers its rules on import)

    return dict(_RULES)

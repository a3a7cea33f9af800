"""The Rule protocol and the registry that finds a rule by its id.

A rule is a pure function of (topic, responders, sla, now): no clock, no I/O, no logging.
"""

from __future__ import annotations

from collections.abc import Callable
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
        _RULES[rule_id] = func
        return func

    return wrap


def all_rules() -> dict[str, Rule]:
    """Every registered rule, by id."""
    import rules.silence  # noqa: F401  (each module registers its rules on import)

    return dict(_RULES)

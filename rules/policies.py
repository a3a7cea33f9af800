"""Which SLA a topic waits on: the first `sla_policies:` entry whose conditions all hold, else the
default SLA. Pure, like the rules: (topic, its app, the ordered policies, the default)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from forumwatch.model import Sla, SlaPolicy, Topic


@dataclass(frozen=True)
class Applied:
    """The clock a topic waits on and why."""

    name: str  # the policy's name; "" = the default SLA
    sla: Sla
    condition: str = ""  # what matched, e.g. "tags: paid"
    # when forumwatch first saw the topic match it (None: from the start, as far as it knows)
    since: datetime | None = None


def _matched(wanted: frozenset[str], have: Iterable[str]) -> str | None:
    """The first of `have` that `wanted` lists (case-insensitively), or None."""
    folded = {w.casefold() for w in wanted}
    return next((h for h in have if h and h.casefold() in folded), None)


def condition_of(policy: SlaPolicy, topic: Topic, app_id: str) -> str | None:
    """How `topic` matches `policy` ("tags: paid, apps: crm"), or None when a condition fails.
    A policy with no condition matches every topic."""
    parts = []
    checks = (
        ("tags", policy.tags, topic.tags),
        ("categories", policy.categories, (topic.category, topic.category_id)),
        ("apps", policy.apps, (app_id,)),
        ("forums", policy.forums, (topic.forum_id,)),
    )
    for label, wanted, have in checks:
        if not wanted:
            continue
        hit = _matched(wanted, have)
        if hit is None:
            return None
        parts.append(f"{label}: {hit}")
    return ", ".join(parts) or "every topic"


Sightings = Mapping[str, datetime]  # policy name ("" = the default) → first seen to apply


def applied_policy(
    topic: Topic,
    app_id: str,
    policies: Sequence[SlaPolicy],
    default: Sla,
    seen: Sightings | None = None,
    now: datetime | None = None,
) -> Applied:
    """The first policy that matches the topic, or the default SLA.

    `seen` (what forumwatch stored of the topic's earlier judgements) makes an upgrade
    mid-wait fair: a policy the topic began to match after forumwatch had seen it without
    it runs its clock from that moment (`now` for one seen for the first time now), never
    back into the wait; and a view of a moment before it was seen (`now`) does not apply it.
    A topic never seen before matched from its start, as far as anybody can tell."""
    for policy in policies:
        condition = condition_of(policy, topic, app_id)
        if condition is None:
            continue
        since = _since(policy.name, seen, now)
        if since is not None and now is not None and since > now:
            continue  # at `now` the topic did not match it yet
        sla = policy.sla if since is None else replace(policy.sla, clock_from=since)
        return Applied(policy.name, sla, condition, since)
    return Applied("", default)


def _since(name: str, seen: Sightings | None, now: datetime | None) -> datetime | None:
    if not seen:  # never judged before: it matched from the start, as far as we know
        return None
    return seen.get(name, now)


@dataclass(frozen=True)
class SlaPolicies:
    """A forum's clocks: the ordered policies (the forum's own first), then the default SLA."""

    default: Sla
    policies: tuple[SlaPolicy, ...] = ()

    def applied(
        self,
        topic: Topic,
        app_id: str,
        seen: Sightings | None = None,
        now: datetime | None = None,
    ) -> Applied:
        return applied_policy(topic, app_id, self.policies, self.default, seen, now)

    def sla_named(self, name: str) -> Sla:
        """The clock of the policy `name` ("" or a policy gone from the config: the default)."""
        return next((p.sla for p in self.policies if p.name == name), self.default)

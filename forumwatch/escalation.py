"""Turn this cycle's findings into changes of the stored ones: open, escalate, resolve.

Pure: given what the rules say now and what the store remembers, return the transitions. A finding
is keyed by (forum, topic, rule); it opens once, escalates once and resolves once per episode (a
follow-up ignored after an earlier one was answered is a new episode of the same key).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from forumwatch.model import Finding, Stage, TopicKey
from forumwatch.store import StoredFinding


class Change(StrEnum):
    OPENED = "opened"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    UPDATED = "updated"  # same stage, new evidence: stored quietly, nobody is told


@dataclass(frozen=True)
class Transition:
    change: Change
    stored: StoredFinding  # the finding as it must be stored after this cycle

    @property
    def notifies(self) -> bool:
        return self.change is not Change.UPDATED


FindingKey = tuple[TopicKey, str]


def transitions(
    current: Iterable[Finding],
    stored: Mapping[FindingKey, StoredFinding],
    titles: Mapping[TopicKey, tuple[str, str]],
    now: datetime,
) -> list[Transition]:
    """Compare the rules' findings at `now` with the stored ones of the same forum.

    `titles` gives (title, url) per topic, kept with the finding for messages and digests.
    """
    result: list[Transition] = []
    seen: set[FindingKey] = set()
    for finding in current:
        key = (finding.key, finding.rule)
        seen.add(key)
        title, url = titles.get(finding.key, ("", ""))
        change = _change_for(finding, stored.get(key), title, url, now)
        if change is not None:
            result.append(change)
    for key, old in stored.items():
        if key not in seen and old.is_open:
            resolved = replace(
                old, resolved_at=now, finding=replace(old.finding, stage=Stage.RESOLVED)
            )
            result.append(Transition(Change.RESOLVED, resolved))
    return sorted(result, key=lambda t: (t.stored.finding.key, t.stored.finding.rule))


def _change_for(
    finding: Finding, old: StoredFinding | None, title: str, url: str, now: datetime
) -> Transition | None:
    escalated_at = now if finding.stage is Stage.ESCALATED else None
    if old is None or not old.is_open:
        episode = old.episode + 1 if old else 1
        opened = StoredFinding(finding, episode, now, escalated_at, None, title, url)
        return Transition(Change.OPENED, opened)
    if finding.stage is Stage.ESCALATED and old.finding.stage is Stage.DUE:
        return Transition(
            Change.ESCALATED, replace(old, finding=finding, escalated_at=now, title=title, url=url)
        )
    # Stages never go back: a finding that escalated stays escalated until it resolves.
    # The summary says "for 5 h" and so changes every cycle: it alone is no reason to write.
    kept = replace(finding, stage=old.finding.stage)
    if replace(kept, summary=old.finding.summary) != old.finding or (title, url) != (
        old.title,
        old.url,
    ):
        return Transition(Change.UPDATED, replace(old, finding=kept, title=title, url=url))
    return None

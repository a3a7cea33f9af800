"""Turn this cycle's findings into changes of the stored ones: open, escalate, resolve.

Pure: given what the rules say now and what the store remembers, return the transitions. A finding
is keyed by (forum, topic, rule); it opens once, escalates once and resolves once per episode (a
follow-up ignored after an earlier one was answered is a new episode of the same key).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from forumwatch.model import Change, Finding, Stage, StoredFinding, TopicKey, Transition

# A rule whose finding carries on another rule's wait: an author's bump turns an `unanswered`
# topic into `masked_silence`, but nobody answered, so nothing resolves and nothing reopens.
CONTINUES = {"masked_silence": "unanswered"}


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
        predecessor = _continued(finding, stored)
        change: Transition | None
        if predecessor is not None:
            seen.add((finding.key, predecessor.finding.rule))  # carried on, not resolved
            change = _carried_on(finding, predecessor, title, url, now)
        else:
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


def _continued(
    finding: Finding, stored: Mapping[FindingKey, StoredFinding]
) -> StoredFinding | None:
    """The open finding of another rule whose wait `finding` carries on, if any."""
    own = stored.get((finding.key, finding.rule))
    earlier_rule = CONTINUES.get(finding.rule)
    if earlier_rule is None or (own is not None and own.is_open):
        return None
    earlier = stored.get((finding.key, earlier_rule))
    if earlier is None or not earlier.is_open or earlier.finding.opened_at != finding.opened_at:
        return None
    return earlier


def _carried_on(
    finding: Finding, predecessor: StoredFinding, title: str, url: str, now: datetime
) -> Transition:
    """The predecessor's episode, told-state and stage, under the new rule: quiet unless the
    finding escalates right now."""
    carried = replace(predecessor, finding=replace(predecessor.finding, rule=finding.rule))
    change = _change_for(finding, carried, title, url, now) or Transition(
        Change.UPDATED,
        replace(
            carried, finding=replace(finding, stage=carried.finding.stage), title=title, url=url
        ),
    )
    return replace(change, replaces=predecessor.finding.rule)


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

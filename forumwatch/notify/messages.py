"""The words of a notification: plain text that every channel can send as it is."""

from __future__ import annotations

from datetime import datetime

from forumwatch.config.values import local_time
from forumwatch.model import Change, PostKind, Stage, Transition
from rules.clock import wait_text

RULE_TITLES = {
    "unanswered": "no answer at all",
    "masked_silence": "silence masked by other people's comments",
    "no_diagnosis": "acknowledged by staff, no developer diagnosis",
    "follow_up_ignored": "follow-up question ignored",
    "reposted": "re-posted after the first topic met silence",
    "burst": "likely outage: many customers at once",
}


def notice_text(transition: Transition, now: datetime, zone: str = "UTC") -> str:
    """The message for one opened, escalated or resolved finding; times in `zone`."""
    stored = transition.stored
    finding = stored.finding
    where = f"{finding.key.forum_id} #{finding.key.topic_id} «{stored.title}»"
    rule = RULE_TITLES.get(finding.rule, finding.rule)
    if transition.change is Change.RESOLVED:
        how = stored.resolution or f"no longer flagged after {wait_text(now - finding.opened_at)}"
        return f"RESOLVED {where}: {how} ({rule})\n{stored.url}"
    label = "ESCALATED" if finding.stage is Stage.ESCALATED else "OVERDUE"
    lines = [
        f"{label} {where}: {rule}",
        finding.summary,
        f"waiting {wait_text(now - finding.opened_at)} since "
        f"{local_time(finding.opened_at, zone)}, due {local_time(finding.due_at, zone)}",
    ]
    lines += [
        f"  #{e.post_number} {e.username} ({e.role.value}, {_kind(e.post_number, e.kind)})"
        + (f": {e.note}" if e.note else "")
        for e in finding.evidence
    ]
    lines.append(stored.url)
    return "\n".join(line for line in lines if line)


def _kind(number: int, kind: PostKind) -> str:
    """What a post is, in words: the first one opened the topic, it answered nothing."""
    return "opening post" if number == 1 and kind is PostKind.REPLY else kind.value

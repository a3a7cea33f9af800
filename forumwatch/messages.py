"""The words of a notification: plain text that every channel can send as it is."""

from __future__ import annotations

from datetime import datetime

from forumwatch.escalation import Change, Transition
from forumwatch.model import Stage

RULE_TITLES = {
    "unanswered": "no answer at all",
    "masked_silence": "silence masked by other people's comments",
    "no_diagnosis": "acknowledged by staff, no developer diagnosis",
    "follow_up_ignored": "follow-up question ignored",
}


def hours_between(start: datetime, end: datetime) -> str:
    """'31 h', or '45 min' under an hour."""
    seconds = max(0.0, (end - start).total_seconds())
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.0f} h"


def notice_text(transition: Transition, now: datetime) -> str:
    """The message for one opened, escalated or resolved finding."""
    stored = transition.stored
    finding = stored.finding
    where = f"{finding.key.forum_id} #{finding.key.topic_id} «{stored.title}»"
    rule = RULE_TITLES.get(finding.rule, finding.rule)
    if transition.change is Change.RESOLVED:
        return (
            f"RESOLVED {where}: answered after {hours_between(finding.opened_at, now)} "
            f"({rule})\n{stored.url}"
        )
    label = "ESCALATED" if finding.stage is Stage.ESCALATED else "OVERDUE"
    lines = [
        f"{label} {where}: {rule}",
        finding.summary,
        f"waiting {hours_between(finding.opened_at, now)} since "
        f"{finding.opened_at:%Y-%m-%d %H:%M} UTC, due {finding.due_at:%Y-%m-%d %H:%M} UTC",
    ]
    lines += [
        f"  #{e.post_number} {e.username} ({e.role.value}, {e.kind.value})"
        + (f": {e.note}" if e.note else "")
        for e in finding.evidence
    ]
    lines.append(stored.url)
    return "\n".join(line for line in lines if line)

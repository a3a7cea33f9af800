"""The credits ledger: what the platform owes a customer for each SLA stage it breached.

A finding opening is a breached stage: `unanswered` and `masked_silence` breach acknowledgement,
`no_diagnosis` the diagnosis, `follow_up_ignored` the follow-up. Booked once per wait (an author's
bump that turns `unanswered` into `masked_silence` is the same wait), to the topic's author, and
kept when the topic is answered later.
"""

from __future__ import annotations

from datetime import datetime

from forumwatch.config.models import CreditsConfig
from forumwatch.model import Credit, Finding, Topic

STAGE_OF_RULE = {
    "unanswered": "acknowledge",
    "masked_silence": "acknowledge",
    "no_diagnosis": "diagnose",
    "follow_up_ignored": "follow_up",
    "reposted": "acknowledge",
}


def credit_for(
    finding: Finding, topic: Topic, app_id: str, credits: CreditsConfig, now: datetime
) -> Credit | None:
    """The ledger line a newly opened finding books; None when its stage is worth nothing."""
    stage = STAGE_OF_RULE.get(finding.rule)
    amount = float(getattr(credits, stage)) if stage else 0.0
    if stage is None or amount <= 0:
        return None
    return Credit(
        key=finding.key,
        stage=stage,
        wait_began=finding.opened_at,
        customer=topic.author.username,
        app_id=app_id,
        developers=finding.silent,
        amount=amount,
        unit=credits.unit,
        booked_at=now,
        title=topic.title,
        url=topic.url,
    )

"""The credits ledger: what the platform owes a customer for each SLA stage it breached.

A finding opening is a breached stage: `unanswered` and `masked_silence` breach acknowledgement,
`no_diagnosis` the diagnosis, `follow_up_ignored` the follow-up. A wait nobody responsible
answered (`unanswered`, `masked_silence`, `reposted`) breaches the diagnosis too once its
diagnose deadline passes, though the rules raise no `no_diagnosis` for it (that rule is about
staff answering for the developer): `late_diagnosis` books it. Booked once per wait and stage
(an author's bump that turns `unanswered` into `masked_silence` is the same wait), to the
topic's author, owed by the topic's developers (of its app and the forum, never staff), and
kept when the topic is answered later.
"""

from __future__ import annotations

from datetime import datetime

from forumwatch.config.sla import CreditsConfig
from forumwatch.model import Credit, Finding, Responders, Sla, Topic, TopicKey
from rules.answers import DIAGNOSERS, silent_responders
from rules.clock import deadline

STAGE_OF_RULE = {
    "unanswered": "acknowledge",
    "masked_silence": "acknowledge",
    "no_diagnosis": "diagnose",
    "follow_up_ignored": "follow_up",
    "reposted": "acknowledge",
}
# waits that no developer or staff answered at all: past the diagnose deadline they owe the
# diagnosis as well
UNACKNOWLEDGED = ("unanswered", "masked_silence", "reposted")


def owing(responders: Responders) -> tuple[str, ...]:
    """Who owes a topic's credits: its developers (the forum's and its app's, group members
    included; "developer" when none is configured), never the staff."""
    return silent_responders(responders, DIAGNOSERS)


def credit_for(
    finding: Finding, topic: Topic, responders: Responders, credits: CreditsConfig, now: datetime
) -> Credit | None:
    """The ledger line a newly opened finding books; None when its stage is worth nothing."""
    stage = STAGE_OF_RULE.get(finding.rule)
    if stage is None:
        return None
    return _credit(
        stage,
        finding.key,
        finding.opened_at,
        topic.author.username,
        responders,
        credits,
        now,
        topic.title,
        topic.url,
    )


def late_diagnosis(
    wait: Finding,
    customer: str,
    responders: Responders,
    sla: Sla,
    credits: CreditsConfig,
    now: datetime,
    title: str = "",
    url: str = "",
) -> Credit | None:
    """The diagnose credit an open wait nobody responsible answered books once its diagnose
    deadline (from the start of the wait, in the forum's working time) has passed; None
    before that, for other rules, or when the stage is worth nothing."""
    if wait.rule not in UNACKNOWLEDGED:
        return None
    if now < deadline(sla.start(wait.opened_at), sla.diagnose, sla.business_hours):
        return None
    return _credit(
        "diagnose", wait.key, wait.opened_at, customer, responders, credits, now, title, url
    )


def _credit(
    stage: str,
    key: TopicKey,
    wait_began: datetime,
    customer: str,
    responders: Responders,
    credits: CreditsConfig,
    now: datetime,
    title: str,
    url: str,
) -> Credit | None:
    amount = float(getattr(credits, stage))
    if amount <= 0:
        return None
    return Credit(
        key=key,
        stage=stage,
        wait_began=wait_began,
        customer=customer,
        app_id=responders.app_id,
        developers=owing(responders),
        amount=amount,
        unit=credits.unit,
        booked_at=now,
        title=title,
        url=url,
    )

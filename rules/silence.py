"""The silence rules: a customer's topic waits for an answer from the people responsible for it.

Each rule is a pure function of (topic, responders, sla, now) registered by its id. A finding
exists from the moment its deadline passes (`now >= due_at`); it is escalated once it has been
overdue for `sla.escalate_after` more (working) time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from forumwatch.model import (
    Evidence,
    Finding,
    Post,
    PostKind,
    Responders,
    Role,
    Sla,
    Stage,
    Topic,
)
from rules.answers import (
    ACKNOWLEDGERS,
    DIAGNOSERS,
    awaits_answers,
    evidence_of,
    hidden_posts,
    last_closing,
    public_replies,
    replies_by,
    role_of_post,
    silent_responders,
    waiting_posts,
)
from rules.base import rule
from rules.clock import deadline, wait_text

_HIDDEN_NOTES = {
    PostKind.WHISPER: "whisper: not visible to the customer",
    PostKind.SYSTEM: "system post: not an answer",
}
_MASK_NOTES = {Role.AUTHOR: "the author's own bump", Role.OTHER: "third-party comment"}


@rule("unanswered")
def unanswered(topic: Topic, responders: Responders, sla: Sla, now: datetime) -> Finding | None:
    """Nobody has publicly replied to an open customer topic and acknowledgement is overdue."""
    if not awaits_answers(topic, responders) or public_replies(topic):
        return None
    evidence = tuple(
        evidence_of(p, topic, responders, _HIDDEN_NOTES.get(p.kind, ""))
        for p in hidden_posts(topic)
    )
    return _unacknowledged(
        topic, "unanswered", responders, sla, now, evidence, "nobody has replied publicly"
    )


@rule("masked_silence")
def masked_silence(topic: Topic, responders: Responders, sla: Sla, now: datetime) -> Finding | None:
    """Public replies exist but none by the developer or staff, and acknowledgement is overdue."""
    # The author's closing words ("Thanks, works now" after an integrator's answer) end the
    # wait; a customer's post after them starts a new one, from that post.
    replies = public_replies(topic)
    if not awaits_answers(topic, responders) or not replies:
        return None
    if replies_by(topic, responders, ACKNOWLEDGERS):
        return None
    since = topic.created_at
    closing = last_closing(topic, responders)
    if closing is not None:
        replies = tuple(p for p in replies if p.number > closing.number)
        if not replies:
            return None
        since = replies[0].created_at
    evidence = _masking_evidence(replies, topic, responders)
    masking = f"{_masking_description(evidence)} masked the silence"
    return _unacknowledged(
        topic, "masked_silence", responders, sla, now, evidence, masking, since=since
    )


@rule("no_diagnosis")
def no_diagnosis(topic: Topic, responders: Responders, sla: Sla, now: datetime) -> Finding | None:
    """Only staff have answered publicly, no developer has, and diagnosis is overdue."""
    # The author's closing words after staff's answer end the wait: staff solved it. A staff
    # reply after them (to a new question) owes a diagnosis again, timed from that question.
    if not awaits_answers(topic, responders) or replies_by(topic, responders, DIAGNOSERS):
        return None
    since = topic.created_at
    staff_replies = replies_by(topic, responders, {Role.STAFF})
    closing = last_closing(topic, responders)
    if closing is not None:
        staff_replies = tuple(p for p in staff_replies if p.number > closing.number)
        later = [p for p in public_replies(topic) if p.number > closing.number]
        since = later[0].created_at if later else since
    if not staff_replies:
        return None
    evidence = tuple(
        evidence_of(p, topic, responders, "staff acknowledgement, not a diagnosis")
        for p in staff_replies
    )
    summary = (
        f"Staff ({_names(staff_replies)}) acknowledged the topic, but no diagnosis from"
        f" {_who(responders, DIAGNOSERS)} for {wait_text(now - since)}"
    )
    return _finding(
        topic,
        "no_diagnosis",
        sla,
        now,
        since=since,
        allowed=sla.diagnose,
        evidence=evidence,
        summary=summary,
        silent=silent_responders(responders, DIAGNOSERS),
    )


@rule("follow_up_ignored")
def follow_up_ignored(
    topic: Topic, responders: Responders, sla: Sla, now: datetime
) -> Finding | None:
    """A customer replied after the last developer or staff answer and follow-up is overdue."""
    # (after the author's last closing words, too: those end the wait they follow)
    waiting = waiting_posts(topic, responders) if awaits_answers(topic, responders) else ()
    if not waiting:
        return None
    since = waiting[0].created_at  # like Zendesk's next reply time: the oldest unanswered post
    evidence = tuple(evidence_of(p, topic, responders, "waiting for an answer") for p in waiting)
    summary = (
        f"No answer from {_who(responders, ACKNOWLEDGERS)} for {wait_text(now - since)}"
        f" to {_follow_ups(evidence)} after the last answer"
    )
    return _finding(
        topic,
        "follow_up_ignored",
        sla,
        now,
        since=since,
        allowed=sla.follow_up,
        evidence=evidence,
        summary=summary,
        silent=silent_responders(responders, ACKNOWLEDGERS),
    )


_WAIT = re.compile(r"\bfor \d+ (?:min|h)\b")  # "for 5 h": the wait since `opened_at`


def summary_at(finding: Finding, now: datetime) -> Finding:
    """A stored finding worded as at `now`: every summary here says how long the wait since
    `opened_at` has lasted ("for 5 h"), and only that changes while the topic does not."""
    return replace(finding, summary=reworded(finding.summary, finding.opened_at, now))


def reworded(summary: str, opened_at: datetime, now: datetime) -> str:
    """A stored summary's "for N h" as the wait since `opened_at` lasts at `now`."""
    # the regex starts where "for " first occurs: 5x quicker over tens of thousands of rows
    start = summary.find("for ")
    found = _WAIT.search(summary, start) if start >= 0 else None
    if found is None:
        return summary
    return f"{summary[: found.start()]}for {wait_text(now - opened_at)}{summary[found.end() :]}"


def _unacknowledged(
    topic: Topic,
    rule_id: str,
    responders: Responders,
    sla: Sla,
    now: datetime,
    evidence: tuple[Evidence, ...],
    detail: str,
    since: datetime | None = None,
) -> Finding | None:
    """A finding that nobody responsible acknowledged the topic within `sla.acknowledge` of
    `since` (default: the topic's start)."""
    since = topic.created_at if since is None else since
    return _finding(
        topic,
        rule_id,
        sla,
        now,
        since=since,
        allowed=sla.acknowledge,
        evidence=evidence,
        summary=(
            f"No answer from {_who(responders, ACKNOWLEDGERS)} for"
            f" {wait_text(now - since)}; {detail}"
        ),
        silent=silent_responders(responders, ACKNOWLEDGERS),
    )


def _finding(
    topic: Topic,
    rule_id: str,
    sla: Sla,
    now: datetime,
    *,
    since: datetime,
    allowed: timedelta,
    evidence: tuple[Evidence, ...],
    summary: str,
    silent: tuple[str, ...],
) -> Finding | None:
    """The finding once `allowed` (working) time since `since` has run out, else None."""
    due_at = deadline(sla.start(since), allowed, sla.business_hours)
    if now < due_at:
        return None
    escalate_at = deadline(due_at, sla.escalate_after, sla.business_hours)
    return Finding(
        key=topic.key,
        rule=rule_id,
        stage=Stage.ESCALATED if now >= escalate_at else Stage.DUE,
        opened_at=since,
        due_at=due_at,
        escalate_at=escalate_at,
        evidence=evidence,
        summary=summary,
        silent=silent,
    )


def _masking_evidence(
    replies: Iterable[Post], topic: Topic, responders: Responders
) -> tuple[Evidence, ...]:
    """Each masking reply, noted as the author's bump or a third-party comment."""
    return tuple(
        evidence_of(p, topic, responders, _MASK_NOTES.get(role_of_post(p, topic, responders), ""))
        for p in replies
    )


def _masking_description(evidence: Sequence[Evidence]) -> str:
    """'1 bump by the author and 2 comments by others', from the masking posts' roles."""
    bumps = sum(1 for e in evidence if e.role == Role.AUTHOR)
    comments = len(evidence) - bumps
    parts = []
    if bumps:
        parts.append(f"{_count(bumps, 'bump')} by the author")
    if comments:
        parts.append(f"{_count(comments, 'comment')} by others")
    return " and ".join(parts)


def _follow_ups(evidence: Sequence[Evidence]) -> str:
    """'the author's follow-up' or '3 follow-ups by the author and others'."""
    roles = {e.role for e in evidence}
    by = {
        frozenset({Role.AUTHOR}): "the author",
        frozenset({Role.OTHER}): "others",
    }.get(frozenset(roles), "the author and others")
    if len(evidence) == 1:
        return f"a follow-up by {by}"
    return f"{len(evidence)} follow-ups by {by}"


def _who(responders: Responders, roles: frozenset[Role]) -> str:
    """'the developer (dev_ivan) or staff (anna)': who is expected to answer."""
    who = _labelled("the developer", responders.developers)
    if Role.STAFF in roles:
        who += " or " + _labelled("staff", responders.staff)
    return who


def _labelled(label: str, usernames: Iterable[str]) -> str:
    names = ", ".join(sorted(usernames))
    return f"{label} ({names})" if names else label


def _names(posts: Iterable[Post]) -> str:
    """Distinct authors of `posts`, in the order they first posted."""
    return ", ".join(dict.fromkeys(p.author.username for p in posts))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"

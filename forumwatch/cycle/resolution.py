"""Why a finding stopped holding, in words: answered by whom after how long, or closed without an
answer, or deleted. Digests count "closed without an answer" as unanswered, so the difference
must be stored, not guessed later from a generic "resolved".
"""

from __future__ import annotations

from datetime import datetime

from forumwatch.model import Finding, Responders, Topic, TopicState
from rules.answers import ACKNOWLEDGERS, DIAGNOSERS, answer_before, closing_posts, replies_by
from rules.clock import wait_text

# who had to answer for each rule to be satisfied; other rules: anybody responsible
_ANSWERERS = {"no_diagnosis": DIAGNOSERS}
_ENDED = {
    TopicState.CLOSED: "closed",
    TopicState.SOLVED: "marked solved",
    TopicState.ARCHIVED: "archived",
}


def resolution_text(
    finding: Finding, topic: Topic | None, responders: Responders | None, now: datetime
) -> str:
    """One phrase for the resolution of `finding`, judged on the topic as it stands at `now`."""
    waited = wait_text(now - finding.opened_at)
    if topic is None or topic.state is TopicState.DELETED:
        return f"topic deleted after {waited} of waiting"
    answer = _answer_since(finding, topic, responders or Responders())
    ended = _ENDED.get(topic.state)
    suffix = f", then {ended}" if ended else ""
    if answer is not None:
        username, after = answer
        return f"answered by {username} after {after}{suffix}"
    confirmed = _confirmed_since(finding, topic, responders or Responders())
    if confirmed is not None:
        return f"{confirmed}{suffix}"
    if topic.state in _ENDED:
        return f"{_ENDED[topic.state]} without an answer after {waited} of waiting"
    return f"no longer applies (the topic or the config changed) after {waited}"


def _confirmed_since(finding: Finding, topic: Topic, responders: Responders) -> str | None:
    """'confirmed by the author after 5 h (answer by integrator_oleg, #2)': the author's closing
    words that came after the wait began, with the answer they confirm."""
    for post in closing_posts(topic, responders):
        if post.created_at < finding.opened_at:
            continue
        after = wait_text(post.created_at - finding.opened_at)
        answer = answer_before(topic, responders, post)
        by = f" (answer by {answer.author.username}, #{answer.number})" if answer else ""
        return f"confirmed by the author after {after}{by}"
    return None


def _answer_since(finding: Finding, topic: Topic, responders: Responders) -> tuple[str, str] | None:
    """(who, after how long) of the first public answer that came after the wait began."""
    roles = _ANSWERERS.get(finding.rule, ACKNOWLEDGERS)
    for post in replies_by(topic, responders, roles):
        if post.created_at >= finding.opened_at:
            return post.author.username, wait_text(post.created_at - finding.opened_at)
    return None

"""Re-posted requests: a customer whose topic met silence opens a new one that repeats it (the
same title, or a link to the old topic) to get a topic "with no comments". The two are one
request: its SLA clock runs from the first topic, an answer in either answers it, and it is
reported once, on the newest topic, as `reposted`.

Pure: given a forum's open topics, who answers each, a window and `now`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from difflib import SequenceMatcher

from forumwatch.model import Finding, Responders, Topic, TopicKey
from rules.answers import ACKNOWLEDGERS, first_answer
from rules.clock import wait_text

MAX_CANDIDATES = 20  # an author's nearest earlier topics compared (a prolific one has hundreds)
SIMILAR_TITLES = 0.9  # difflib ratio of normalised titles that makes two topics one request
ACKNOWLEDGING_RULES = frozenset({"unanswered", "masked_silence"})  # become `reposted`
_NUMBER = re.compile(r"\d+")
_NOISE = re.compile(r"[^\w\s]|\b(re|fwd?|повторно|ещё раз|ще раз|again|still|up|upd)\b")


@dataclass(frozen=True)
class Request:
    """A topic and the earlier topics it re-posts (oldest first)."""

    latest: Topic
    earlier: tuple[Topic, ...]

    def as_one_topic(self) -> Topic:
        """Every post of the request in time order, renumbered, dated from the first topic:
        the re-posted topic's opening post reads as one more post by the author."""
        chain = (*self.earlier, self.latest)
        posts = sorted(
            ((post, index) for index, topic in enumerate(chain) for post in topic.posts),
            key=lambda pair: (pair[0].created_at, pair[1], pair[0].number),
        )
        renumbered = tuple(replace(post, number=n) for n, (post, _) in enumerate(posts, 1))
        return replace(self.latest, created_at=self.earlier[0].created_at, posts=renumbered)

    def reposted(self, finding: Finding) -> Finding:
        """An acknowledgement finding of the request, told as a re-post with both links."""
        if finding.rule not in ACKNOWLEDGING_RULES:
            return finding
        first = self.earlier[0]
        silence = wait_text(self.latest.created_at - first.created_at)
        times = "" if len(self.earlier) == 1 else f" {len(self.earlier)} times"
        summary = (
            f"Re-posted{times} after {silence} of silence (first asked at {first.url}); "
            f"{finding.summary}"
        )
        return replace(finding, rule="reposted", summary=summary)


def find_requests(
    topics: Iterable[Topic],
    responders_of: Callable[[Topic], Responders],
    window: timedelta,
) -> tuple[dict[TopicKey, Request], dict[TopicKey, Topic]]:
    """The forum's re-posted requests, by their latest topic's key, and each superseded
    earlier topic with the topic that re-posts it (for "followed there")."""
    if window <= timedelta(0):
        return {}, {}
    by_author: dict[str, list[Topic]] = {}
    for topic in topics:
        by_author.setdefault(topic.author.username.casefold(), []).append(topic)
    reposts: dict[TopicKey, Topic] = {}  # earlier topic key → the topic that re-posts it
    for own in by_author.values():
        if len(own) > 1:
            reposts |= _reposts_of_one_author(
                sorted(own, key=lambda t: (t.created_at, t.id)), responders_of, window
            )
    requests: dict[TopicKey, Request] = {}
    earlier_of: dict[TopicKey, list[Topic]] = {later.key: [] for later in reposts.values()}
    by_key = {topic.key: topic for own in by_author.values() for topic in own}
    for earlier_key, later in reposts.items():
        earlier_of[later.key].append(by_key[earlier_key])
    for key in earlier_of:
        if key in reposts:
            continue  # itself re-posted later: the newest topic carries the request
        chain = _whole_chain(key, earlier_of)
        requests[key] = Request(
            by_key[key], tuple(sorted(chain, key=lambda t: (t.created_at, t.id)))
        )
    return requests, reposts


def _reposts_of_one_author(
    own: Sequence[Topic], responders_of: Callable[[Topic], Responders], window: timedelta
) -> dict[TopicKey, Topic]:
    links: dict[TopicKey, Topic] = {}
    for index, later in enumerate(own):
        candidates = own[max(0, index - MAX_CANDIDATES) : index]
        for earlier in reversed(candidates):  # the nearest earlier topic first
            if later.created_at - earlier.created_at > window:
                break
            if later.created_at <= earlier.created_at:
                continue  # posted together: two questions, not a second try
            if earlier.key in links or not same_request(earlier, later):
                continue
            answer = first_answer(earlier, responders_of(earlier), ACKNOWLEDGERS)
            if answer is not None and answer.created_at < later.created_at:
                continue  # it was answered: the new topic is a new question
            links[earlier.key] = later
            break
    return links


def _whole_chain(key: TopicKey, earlier_of: dict[TopicKey, list[Topic]]) -> list[Topic]:
    """Every topic re-posted, directly or through other re-posts, by the topic at `key`."""
    chain, todo = [], list(earlier_of.get(key, []))
    while todo:
        topic = todo.pop()
        chain.append(topic)
        todo += earlier_of.get(topic.key, [])
    return chain


_FIRST_ASKED = re.compile(r"\(first asked at (\S+)\)")


def first_asked_url(finding: Finding) -> str | None:
    """The first topic's URL of a `reposted` finding (as its summary, made here, says)."""
    match = _FIRST_ASKED.search(finding.summary) if finding.rule == "reposted" else None
    return match.group(1) if match else None


def same_request(earlier: Topic, later: Topic) -> bool:
    """True when `later` links to `earlier` or repeats its title almost word for word."""
    opening = min(later.posts, key=lambda p: p.number).body_text if later.posts else ""
    if earlier.url and earlier.url in opening:
        return True
    if re.search(
        rf"/(?:t|topic|thread|threads)/(?:[^\s/]+/)?{re.escape(earlier.id)}(?!\d)", opening
    ):
        return True
    first, second = _normal(earlier.title), _normal(later.title)
    if _NUMBER.findall(first) != _NUMBER.findall(second):
        return False  # "error 403" and "error 404", "report 1" and "report 2": two requests
    return SequenceMatcher(None, first, second).ratio() >= SIMILAR_TITLES


def _normal(title: str) -> str:
    return " ".join(_NOISE.sub(" ", title.casefold()).split())

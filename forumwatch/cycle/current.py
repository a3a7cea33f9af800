"""What the rules flag at a moment, read from the store: `findings`, the demo, the digest.

At or after a forum's last evaluation, and with the config it was judged by, its stored open
findings are current for every topic that has neither changed nor come due since; only those few
topics are judged again (see cycle/incremental.py). Otherwise (no cycle yet, a changed config, a
moment before the last evaluation) every open topic is judged, as a full cycle would.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from forumwatch.config.models import Config, ForumConfig
from forumwatch.cycle import incremental
from forumwatch.cycle.judge import evaluate_forum
from forumwatch.model import Finding, StoredFinding, Topic, TopicKey
from forumwatch.roles import GroupMembers, ResponderLookup
from forumwatch.store import Store
from forumwatch.store.evaluation import LightTopic
from forumwatch.store.rows import stored_finding_from_row
from rules.bursts import LASTS as BURST_LASTS
from rules.silence import summary_at


class Titled(Protocol):
    """What a listing shows of a finding's topic: its title, URL, app and author."""

    @property
    def title(self) -> str: ...

    @property
    def url(self) -> str: ...

    @property
    def app_id(self) -> str: ...

    @property
    def author(self) -> str: ...


Listed = tuple[Finding, Titled]


@dataclass(frozen=True)
class Title:
    """What a listing keeps of a finding's topic instead of the topic: its title, URL, the
    app it counts for ("" when none) and its author's username."""

    title: str
    url: str
    app_id: str = ""
    author: str = ""


def _title(topic: Topic, lookup: ResponderLookup) -> Title:
    return Title(topic.title, topic.url, lookup(topic).app_id, topic.author.username)


def row_title(row: sqlite3.Row) -> Title:
    """The Title of a listed finding's row (stored or parked, with its topic's app and author)."""
    return Title(row["title"] or "", row["url"] or "", row["app_id"] or "", row["author"] or "")


def order(listed: Listed) -> tuple[datetime, str, str, str]:
    """A finding's place in a listing: oldest wait first, then topic and rule."""
    finding = listed[0]
    return finding.opened_at, finding.key.forum_id, finding.key.topic_id, finding.rule


def row_order(row: sqlite3.Row) -> tuple[datetime, str, str, str]:
    """`order` of a stored finding's row (store.listings.LISTING_ORDER, as the SQL sorts it)."""
    return datetime.fromisoformat(row["opened_at"]), row["forum_id"], row["topic_id"], row["rule"]


def judged_by(store: Store, forum: ForumConfig, config: Config, members: GroupMembers) -> bool:
    """True when the forum's stored judgements (findings, topic facts) were made under what
    this config says (see incremental.fingerprint)."""
    stamp, _ = store.eval_state(forum.id)
    return stamp == incremental.fingerprint(forum, config, members)


def judged_up_to(
    store: Store, forum: ForumConfig, config: Config, members: GroupMembers, now: datetime
) -> bool:
    """True when the forum's stored findings may stand for `now`: judged by this config, at
    `now` or before."""
    _, evaluated_at = store.eval_state(forum.id)
    if evaluated_at is None or now < evaluated_at:
        return False
    return judged_by(store, forum, config, members)


@dataclass
class Current:
    """The findings at one moment: those judged now, and the stored ones that stand."""

    store: Store
    now: datetime
    fresh: list[Listed] = field(default_factory=list)  # judged now, in order
    judged: set[TopicKey] = field(default_factory=set)  # their stored findings are stale
    bursts_judged: set[str] = field(default_factory=set)  # forums whose bursts were found again
    kept: list[str] = field(default_factory=list)  # forums whose stored findings stand
    parked: int = 0  # judged now, a whole forum's: in a temporary table, not in memory

    def listed(self, *, evidence: bool = True) -> Iterator[Listed]:
        """Every finding, oldest wait first (then topic and rule): the stored ones a row at a
        time (`evidence=False` leaves their evidence out, for tsv)."""

        def parked() -> Iterator[Listed]:
            for row in self.store.parked_finding_rows():
                stored = stored_finding_from_row(row, evidence=evidence)
                yield stored.finding, row_title(row)

        def standing() -> Iterator[Listed]:
            for row in self._standing_rows():
                stored = stored_finding_from_row(row, evidence=evidence)
                yield summary_at(stored.finding, self.now), row_title(row)

        streams: list[Iterable[Listed]] = [standing()]
        if self.fresh:
            streams.append(self.fresh)
        if self.parked:
            streams.append(parked())
        return heapq.merge(*streams, key=order) if len(streams) > 1 else iter(streams[0])

    def park(self, found: Iterable[tuple[Finding, Title]]) -> None:
        """Keep findings judged now outside memory until they are listed (a whole forum's)."""
        self.parked += self.store.park_findings(
            (StoredFinding(f, 0, self.now, None, None, t.title, t.url), t.app_id, t.author)
            for f, t in found
        )

    def standing_rows(self, columns: Sequence[str] = ()) -> Iterator[sqlite3.Row]:
        """The stored findings that stand at `now` (not judged again) and the parked ones, as
        their rows (with `columns`, default all, which must include forum_id, topic_id, rule
        and opened_at), oldest wait first; each also with its topic's `app_id` and `author`."""
        if not self.parked:
            return self._standing_rows(columns)
        parked = self.store.parked_finding_rows(columns)
        return heapq.merge(parked, self._standing_rows(columns), key=row_order)

    def _standing_rows(self, columns: Sequence[str] = ()) -> Iterator[sqlite3.Row]:
        for row in self.store.open_finding_rows(self.kept, columns, topic=True):
            if not self._stale(row["forum_id"], row["topic_id"], row["rule"]):
                yield row

    def count(self) -> int:
        """How many findings there are, counted by SQL where they stand."""
        stale = self.store.count_open_findings(
            self.kept, on=sorted(self.judged), bursts_of=sorted(self.bursts_judged)
        )
        stored = self.store.count_open_findings(self.kept) - stale
        return len(self.fresh) + self.parked + stored

    def _stale(self, forum_id: str, topic_id: str, rule: str) -> bool:
        if rule == "burst":
            return forum_id in self.bursts_judged
        return TopicKey(forum_id, topic_id) in self.judged


def judge_now(
    store: Store, config: Config, now: datetime, forums: Iterable[ForumConfig] | None = None
) -> Current:
    """Judge at `now` what the store cannot answer from its stored findings (of `forums`,
    default all): the topics changed or due since the last evaluation, or every open topic
    of a forum never judged under this config or judged after `now`."""
    store.clear_parked()  # one judgement at a time per connection: the last one's go
    current = Current(store, now)
    for forum in config.forums if forums is None else forums:
        members = store.group_members(forum.id)
        if not judged_up_to(store, forum, config, members, now):
            _judge_whole(current, forum, config, members)
            continue
        current.kept.append(forum.id)
        plan = incremental.due_at(store, forum.id, now)
        for batch in incremental.batches(store, forum.id, plan.groups):
            by_key = {t.key: t for t in batch}
            lookup = ResponderLookup(forum, members)
            seen = store.policy_sightings(forum.id, by_key_ids(batch))
            evaluation = evaluate_forum(
                batch, forum, config, now, members, bursts=False, responders=lookup, seen=seen
            )
            current.fresh += [(f, _title(by_key[f.key], lookup)) for f in evaluation.findings]
            current.judged |= set(by_key)
        if plan.changed or store.burst_may_end(forum.id, now - BURST_LASTS):
            # a new or changed topic makes or ends a burst; so does its time running out
            bursts = incremental.current_bursts(store, forum, now, members)
            lookup = ResponderLookup(forum, members)
            current.fresh += [(f, _title(bursts.topics[f.key], lookup)) for f in bursts.findings]
            current.bursts_judged.add(forum.id)
    current.fresh.sort(key=order)
    return current


def by_key_ids(batch: list[Topic]) -> list[str]:
    return [t.id for t in batch]


def _judge_whole(
    current: Current, forum: ForumConfig, config: Config, members: GroupMembers
) -> None:
    """Every open topic of a forum whose stored judgements cannot stand (another config, a
    moment before its last evaluation), read-only and a batch at a time as a full cycle judges
    them: the rules per batch, bursts over the facts the batches learn. What they find is
    parked (`Current.park`): tens of thousands of findings with their evidence stay on disk."""
    store, now = current.store, current.now
    candidates: list[LightTopic] = []  # bursts' input: open customer topics, no re-posts
    groups = store.open_topics_by_author(forum.id)
    for batch in incremental.batches(store, forum.id, groups):
        lookup = ResponderLookup(forum, members)  # a batch's: its topics only stay in memory
        seen = store.policy_sightings(forum.id, by_key_ids(batch))
        evaluation = evaluate_forum(
            batch, forum, config, now, members, bursts=False, responders=lookup, seen=seen
        )
        by_key = {t.key: t for t in batch}
        current.park((f, _title(by_key[f.key], lookup)) for f in evaluation.findings)
        for topic in batch:
            if topic.created_at > now:
                continue  # a backdated view: not there yet
            facts = incremental.facts_of(
                topic, lookup(topic), topic.key in evaluation.requests, None
            )
            if facts.customer and not facts.repost:
                candidates.append(incremental.light_topic(topic, facts))
    bursts = incremental.current_bursts(store, forum, now, members, candidates)
    lookup = ResponderLookup(forum, members)
    current.park((f, _title(bursts.topics[f.key], lookup)) for f in bursts.findings)


def current_findings(
    store: Store,
    config: Config,
    now: datetime,
    forums: Iterable[ForumConfig] | None = None,
    *,
    evidence: bool = True,
) -> Iterator[Listed]:
    """Every finding at `now` (of `forums`, default all), oldest wait first (then topic and
    rule), streamed: the stored ones are read a row at a time, never the topics whole."""
    return judge_now(store, config, now, forums).listed(evidence=evidence)

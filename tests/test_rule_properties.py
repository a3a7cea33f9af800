"""Properties of the silence rules, the pipeline's evaluation and escalation, over generated topics.

Each topic is a customer's (sometimes a responder's) opening post followed by a few posts at
strictly increasing times and numbers, by the author, third parties, the developer (by name, by
a differently capitalised name, by group badge) and staff (by name, by moderator flag), of every
kind (public reply, whisper, system post). Deadlines count calendar time or working time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from forumwatch.config.models import Config, ForumConfig
from forumwatch.cycle.escalation import FindingKey, transitions
from forumwatch.cycle.judge import evaluate_topics
from forumwatch.model import (
    Author,
    BusinessHours,
    Change,
    Finding,
    Post,
    PostKind,
    Responders,
    Role,
    Sla,
    StoredFinding,
    Topic,
    TopicState,
)
from forumwatch.roles import responders_for
from rules.answers import ACKNOWLEDGERS, CUSTOMERS
from rules.base import all_rules

# examples per property: the loaded profile's (tests/conftest.py: 200 under CI, 50 otherwise)
PROPERTY_SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

FORUM = ForumConfig(
    id="forum.example",
    engine="discourse",
    url="https://forum.example",
    developers=["dev_ivan"],
    developer_groups=["Vendor-Team"],
    staff=["anna_support"],
    staff_groups=["moderator"],
)
CONFIG = Config(forums=[FORUM])

CUSTOMER = Author("olena_k", "Olena")
CUSTOMER_AGAIN = Author("Olena_K", "Olena")  # the author, capitalised differently
PASSER_BY = Author("taras", "Taras")
INTEGRATOR = Author("integrator_max", "Max", frozenset({"trust_level_3"}))
DEVELOPER = Author("dev_ivan", "Ivan")
DEVELOPER_AGAIN = Author("DEV_Ivan", "Ivan")  # usernames compare case-insensitively
VENDOR = Author("vendor_petro", "Petro", frozenset({"vendor-team"}))  # developer by group badge
STAFF = Author("anna_support", "Anna")
MODERATOR = Author("mod_oksana", "Oksana", frozenset({"moderator"}))  # staff by forum role

# customers post more often than responders, so that many topics are still waiting
POSTERS = (
    CUSTOMER,
    PASSER_BY,
    DEVELOPER,
    CUSTOMER,
    STAFF,
    CUSTOMER_AGAIN,
    INTEGRATOR,
    PASSER_BY,
    DEVELOPER_AGAIN,
    CUSTOMER,
    VENDOR,
    MODERATOR,
)
DEVELOPERS = (DEVELOPER, DEVELOPER_AGAIN, VENDOR)
STAFF_MEMBERS = (STAFF, MODERATOR)
# mostly customers' topics; a responder's topic is an announcement and raises nothing
TOPIC_AUTHORS = (CUSTOMER,) * 5 + (PASSER_BY, CUSTOMER, INTEGRATOR) * 3 + (DEVELOPER, STAFF)
KINDS = (PostKind.REPLY, PostKind.REPLY, PostKind.WHISPER, PostKind.SYSTEM)
STATES = (TopicState.OPEN,) * 24 + tuple(s for s in TopicState if s is not TopicState.OPEN)

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday morning
KYIV_HOURS = BusinessHours(
    timezone="Europe/Kyiv", start=time(9), end=time(18), holidays=frozenset({"2025-03-10"})
)


def responders(topic: Topic) -> Responders:
    """Who answers for `topic`, as the pipeline resolves it from FORUM."""
    return responders_for(FORUM, topic)


# --- strategies ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    topic: Topic
    sla: Sla
    now: datetime  # never before the topic's last post: a topic holds no posts from the future

    @property
    def last_post_at(self) -> datetime:
        return max(p.created_at for p in self.topic.posts)


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


slas = st.builds(
    Sla,
    acknowledge=st.sampled_from([timedelta(hours=2), minutes(30), timedelta(hours=8)]),
    diagnose=st.sampled_from([timedelta(hours=24), timedelta(hours=4)]),
    follow_up=st.sampled_from([timedelta(hours=24), timedelta(hours=1)]),
    escalate_after=st.sampled_from([timedelta(hours=22), timedelta(0), timedelta(hours=3)]),
    business_hours=st.sampled_from([None, KYIV_HOURS]),
)


@st.composite
def topics(draw: st.DrawFn, topic_id: str = "t1", max_posts: int = 8) -> Topic:
    start = START + minutes(draw(st.integers(0, 7 * 24 * 60)))
    author = draw(st.sampled_from(TOPIC_AUTHORS))
    posts = [Post("p1", 1, author, start, body_text="It crashes.")]
    gaps = draw(st.lists(st.integers(1, 36 * 60), max_size=max_posts))
    at = start
    for number, gap in enumerate(gaps, start=2):
        at += minutes(gap)
        who = draw(st.sampled_from(POSTERS))
        kind = draw(st.sampled_from(KINDS))
        posts.append(Post(f"p{number}", number, who, at, kind))
    return Topic(
        forum_id=FORUM.id,
        id=topic_id,
        url=f"https://forum.example/t/{topic_id}",
        title="The app crashes",
        author=author,
        created_at=start,
        posts=tuple(posts),
        state=draw(st.sampled_from(STATES)),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    topic = draw(topics())
    last = max(p.created_at for p in topic.posts)
    now = last + minutes(draw(st.integers(0, 72 * 60)))
    return Scenario(topic, draw(slas), now)


def flagged(s: Scenario) -> bool:
    return bool(evaluate(s.topic, s.sla, s.now))


# --- helpers ---------------------------------------------------------------------------------


def evaluate(topic: Topic, sla: Sla, now: datetime) -> list[Finding]:
    """Every rule over one topic, in registry order: the rules' findings at `now`."""
    found = (rule(topic, responders(topic), sla, now) for rule in all_rules().values())
    return [f for f in found if f is not None]


def with_post(topic: Topic, author: Author, at: datetime, kind: PostKind) -> Topic:
    """`topic` with one more post at `at`, numbered after every post made at or before `at`."""
    number = 1 + max(p.number for p in topic.posts if p.created_at <= at)
    moved = [replace(p, number=p.number + 1) if p.number >= number else p for p in topic.posts]
    new = Post(f"p{len(topic.posts) + 1}", number, author, at, kind)
    return replace(topic, posts=(*moved, new))


def offset_between(data: st.DataObject, low: datetime, high: datetime) -> datetime:
    """A whole minute in [low, high] (just `low` when the span is under a minute)."""
    span = int((high - low).total_seconds() // 60)
    return low + minutes(data.draw(st.integers(0, max(span, 0))))


def deadline_of(f: Finding) -> tuple[datetime, datetime, datetime, str]:
    """What a finding says about the wait: when it began, fell due and escalates, and its stage."""
    return f.opened_at, f.due_at, f.escalate_at, f.stage.value


def role(topic: Topic, author: Author) -> Role:
    return responders(topic).role_of(author, topic)


# --- 1. a non-responder's post never resolves a finding --------------------------------------


@PROPERTY_SETTINGS
@given(scenarios().filter(flagged), st.data())
def test_a_non_responders_post_never_resolves_a_finding(s: Scenario, data: st.DataObject) -> None:
    """Whatever the author or a third party posts (any kind, appended at any time up to `now`),
    every finding still holds with the same wait, deadline and stage. The one change of rule:
    a public customer reply turns `unanswered` into `masked_silence` (same acknowledge deadline).
    """
    before = evaluate(s.topic, s.sla, s.now)
    customers = sorted({a for a in POSTERS if role(s.topic, a) in CUSTOMERS}, key=POSTERS.index)
    who = data.draw(st.sampled_from(customers), label="who")
    kind = data.draw(st.sampled_from(list(PostKind)), label="kind")
    at = offset_between(data, s.last_post_at, s.now)
    after = evaluate(with_post(s.topic, who, at, kind), s.sla, s.now)
    event("findings before the post", str(len(before)))
    for f in before:
        rule = "masked_silence" if f.rule == "unanswered" and kind is PostKind.REPLY else f.rule
        still = [g for g in after if g.rule == rule]
        assert still, f"{who.username}'s {kind} post resolved {f.rule}: {after}"
        assert deadline_of(still[0]) == deadline_of(f)


def stored_after(found: Iterable[Finding], now: datetime) -> dict[FindingKey, StoredFinding]:
    """The store after a first cycle that opened `found`."""
    return {
        (c.stored.finding.key, c.stored.finding.rule): c.stored
        for c in transitions(found, {}, {}, now)
    }


@PROPERTY_SETTINGS
@given(scenarios().filter(flagged), st.data())
def test_a_non_responders_post_never_notifies_a_resolution(
    s: Scenario, data: st.DataObject
) -> None:
    """What the rules guarantee above, as people are told: the next cycle resolves nothing."""
    customers = sorted({a for a in POSTERS if role(s.topic, a) in CUSTOMERS}, key=POSTERS.index)
    who = data.draw(st.sampled_from(customers), label="who")
    kind = data.draw(st.sampled_from(list(PostKind)), label="kind")
    at = offset_between(data, s.last_post_at, s.now)
    stored = stored_after(evaluate(s.topic, s.sla, s.now), s.now)
    after = evaluate(with_post(s.topic, who, at, kind), s.sla, s.now)
    changes = transitions(after, stored, {}, s.now)
    assert [c.change for c in changes if c.change is Change.RESOLVED] == [], changes


# --- 2. a responder's public reply answers every wait that began before it -------------------


def _reply_time(data: st.DataObject, s: Scenario, before: Sequence[Finding]) -> datetime:
    """When the responder replies: before the deadline of a finding, when there is one."""
    if before:
        f = data.draw(st.sampled_from(before), label="answered finding")
        # the finding holds, so its deadline has passed: now >= due_at > reply
        return offset_between(data, f.opened_at, f.due_at - minutes(1))
    return offset_between(data, s.topic.created_at, s.now)


@PROPERTY_SETTINGS
@given(st.one_of(scenarios(), scenarios().filter(flagged)), st.data())
def test_a_developers_public_reply_answers_every_wait_before_it(
    s: Scenario, data: st.DataObject
) -> None:
    """After the developer's public reply at `at`, only waits begun after `at` can be findings:
    no `unanswered`, `masked_silence` or `no_diagnosis` at any later `now`, and a
    `follow_up_ignored` only for a customer post after the reply."""
    before = evaluate(s.topic, s.sla, s.now)
    event("a finding to answer" if before else "no finding before")
    at = _reply_time(data, s, before)
    who = data.draw(st.sampled_from(DEVELOPERS), label="developer")
    answered = with_post(s.topic, who, at, PostKind.REPLY)
    later = s.now + minutes(data.draw(st.integers(0, 30 * 24 * 60), label="later"))
    for now in (s.now, later):
        after = evaluate(answered, s.sla, now)
        assert all(g.opened_at > at for g in after), (at, after)
        assert all(g.rule == "follow_up_ignored" for g in after), after


@PROPERTY_SETTINGS
@given(st.one_of(scenarios(), scenarios().filter(flagged)), st.data())
def test_a_staff_public_reply_acknowledges_but_does_not_diagnose(
    s: Scenario, data: st.DataObject
) -> None:
    """Staff acknowledge but cannot diagnose: after a staff reply at `at`, a wait begun before it
    can only be `no_diagnosis`."""
    before = evaluate(s.topic, s.sla, s.now)
    at = _reply_time(data, s, before)
    event("a finding to answer" if before else "no finding before")
    who = data.draw(st.sampled_from(STAFF_MEMBERS), label="staff")
    acknowledged = with_post(s.topic, who, at, PostKind.REPLY)
    for g in evaluate(acknowledged, s.sla, s.now):
        assert g.opened_at > at or g.rule == "no_diagnosis", (at, g)


# --- 3. the order posts are stored in does not matter ----------------------------------------


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_findings_do_not_depend_on_the_stored_order_of_posts(
    s: Scenario, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(s.topic.posts), label="posts")
    assert evaluate(replace(s.topic, posts=tuple(shuffled)), s.sla, s.now) == evaluate(
        s.topic, s.sla, s.now
    )


@PROPERTY_SETTINGS
@given(
    st.lists(st.integers(1, 3), min_size=1, max_size=3, unique=True).flatmap(
        lambda ids: st.tuples(*(topics(topic_id=f"t{i}") for i in ids))
    ),
    st.integers(0, 40 * 24 * 60),
    st.data(),
)
def test_evaluate_topics_does_not_depend_on_the_order_of_topics_or_posts(
    topic_list: tuple[Topic, ...], offset: int, data: st.DataObject
) -> None:
    now = START + minutes(offset)
    reordered = [
        replace(t, posts=tuple(data.draw(st.permutations(t.posts), label=f"{t.id} posts")))
        for t in data.draw(st.permutations(topic_list), label="topics")
    ]

    def ordered(found: Iterable[Finding]) -> list[Finding]:
        return sorted(found, key=lambda f: (f.key, f.rule))

    plain = ordered(evaluate_topics(topic_list, FORUM, CONFIG, now))
    assert ordered(evaluate_topics(reordered, FORUM, CONFIG, now)) == plain
    sla = CONFIG.sla_for(FORUM)
    # topic by topic, the pipeline runs exactly the rules, over open topics only (linking topics
    # into re-posted requests and bursts, tested in test_reposts/test_bursts, aside)
    alone = FORUM.model_copy(update={"repost_window": timedelta(0), "burst_topics": 0})
    separately = ordered(evaluate_topics(topic_list, alone, CONFIG, now))
    by_rule = ordered(f for t in topic_list for f in evaluate(t, sla, now))
    assert separately == by_rule


# --- 4. a finding opens at most once per episode ---------------------------------------------


def run_cycles(
    topic_list: Sequence[Topic], nows: Iterable[datetime], *, growing: bool
) -> list[tuple[datetime, Change, FindingKey, int]]:
    """Evaluate and apply transitions at each `now`, as the pipeline does with its store.

    `growing`: the forum shows each topic as it stood at `now` (only posts made by then).
    """
    stored: dict[FindingKey, StoredFinding] = {}
    titles = {t.key: (t.title, t.url) for t in topic_list}
    log = []
    for now in nows:
        visible = [
            replace(t, posts=tuple(p for p in t.posts if p.created_at <= now)) if growing else t
            for t in topic_list
            if not growing or t.created_at <= now
        ]
        found = evaluate_topics(visible, FORUM, CONFIG, now)
        for change in transitions(found, stored, titles, now):
            key = (change.stored.finding.key, change.stored.finding.rule)
            if change.change is Change.OPENED:
                old = stored.get(key)
                assert old is None or not old.is_open, f"{key} opened while open at {now}"
            stored[key] = change.stored
            log.append((now, change.change, key, change.stored.episode))
    return log


cycle_inputs = st.tuples(
    st.lists(st.integers(1, 3), min_size=1, max_size=3, unique=True).flatmap(
        lambda ids: st.tuples(*(topics(topic_id=f"t{i}", max_posts=6) for i in ids))
    ),
    st.lists(st.integers(0, 20 * 24 * 60), min_size=1, max_size=12, unique=True).map(sorted),
)


@PROPERTY_SETTINGS
@given(cycle_inputs)
def test_a_finding_opens_once_per_episode_as_time_passes(
    inputs: tuple[tuple[Topic, ...], list[int]],
) -> None:
    """The same topics, evaluated at increasing `now`: every finding, once due, stays due, so
    each (topic, rule) opens once (episode 1), escalates at most once and never resolves.
    (Rules see a topic as it stood at `now`, so "the same" means: nothing posted after the
    first `now`.)"""
    topic_list, offsets = inputs
    moments = [START + minutes(n) for n in offsets]
    settled = tuple(
        replace(t, posts=tuple(p for p in t.posts if p.created_at <= moments[0]))
        for t in topic_list
        if t.created_at <= moments[0]
    )
    log = run_cycles(settled, moments, growing=False)
    opened = Counter(key for _, change, key, _ in log if change is Change.OPENED)
    escalated = Counter(key for _, change, key, _ in log if change is Change.ESCALATED)
    assert all(n == 1 for n in opened.values()), log
    assert all(n == 1 for n in escalated.values()), log
    assert not [entry for entry in log if entry[1] is Change.RESOLVED], log
    assert {episode for *_, episode in log} <= {1}, log


@PROPERTY_SETTINGS
@given(cycle_inputs)
def test_a_finding_opens_once_per_episode_as_topics_grow(
    inputs: tuple[tuple[Topic, ...], list[int]],
) -> None:
    """Topics as the forum shows them at each `now` (posts appear as they are made): episodes of
    a (topic, rule) count up from 1 and each opens exactly once, and only after the last one
    resolved."""
    topic_list, offsets = inputs
    log = run_cycles(topic_list, [START + minutes(n) for n in offsets], growing=True)
    opened = [(key, episode) for _, change, key, episode in log if change is Change.OPENED]
    assert len(opened) == len(set(opened)), log
    for key in {key for key, _ in opened}:
        episodes = [episode for k, episode in opened if k == key]
        assert episodes == list(range(1, len(episodes) + 1)), log
    event("episodes > 1" if any(e > 1 for _, e in opened) else "single episodes")


# --- 5. whispers and system posts never answer (nor mask) ------------------------------------


def without_evidence_of(
    found: Iterable[Finding], keep: Callable[[int], bool]
) -> list[tuple[str, Finding]]:
    return [
        (f.rule, replace(f, evidence=tuple(e for e in f.evidence if keep(e.post_number))))
        for f in found
    ]


@PROPERTY_SETTINGS
@given(scenarios(), st.booleans())
def test_whispers_and_system_posts_change_nothing_but_evidence(
    s: Scenario, responders_only: bool
) -> None:
    """Dropping the whispers and system posts (the responders', or everybody's) leaves the same
    findings (rule, wait, deadline, stage, summary, silent, public evidence): they neither answer
    a topic nor mask its silence; `unanswered` only lists them as evidence."""

    def hidden(p: Post) -> bool:
        by_responder = role(s.topic, p.author) in ACKNOWLEDGERS
        return (
            p.number > 1 and p.kind is not PostKind.REPLY and (by_responder or not responders_only)
        )

    dropped = {p.number for p in s.topic.posts if hidden(p)}
    event("hidden posts dropped" if dropped else "nothing dropped")
    stripped = replace(s.topic, posts=tuple(p for p in s.topic.posts if p.number not in dropped))

    def keep(number: int) -> bool:
        return number not in dropped

    assert without_evidence_of(evaluate(s.topic, s.sla, s.now), keep) == without_evidence_of(
        evaluate(stripped, s.sla, s.now), keep
    )


@PROPERTY_SETTINGS
@given(st.one_of(scenarios(), scenarios().filter(flagged)), st.data())
def test_a_responders_whisper_or_system_post_answers_nothing(
    s: Scenario, data: st.DataObject
) -> None:
    """A developer's or staff member's whisper or system post, at any time up to `now`, leaves
    every finding in place with the same wait, deadline and stage."""
    who = data.draw(st.sampled_from(DEVELOPERS + STAFF_MEMBERS), label="responder")
    kind = data.draw(st.sampled_from([PostKind.WHISPER, PostKind.SYSTEM]), label="kind")
    at = offset_between(data, s.topic.created_at, s.now)
    before = evaluate(s.topic, s.sla, s.now)
    event("findings before the post", str(len(before)))
    after = evaluate(with_post(s.topic, who, at, kind), s.sla, s.now)
    assert [(f.rule, deadline_of(f)) for f in after] == [(f.rule, deadline_of(f)) for f in before]


# --- sanity: the generator reaches every rule ------------------------------------------------


def test_generated_scenarios_reach_every_rule() -> None:
    seen: set[str] = set()

    @settings(max_examples=300, deadline=None, database=None)
    @given(scenarios())
    def collect(s: Scenario) -> None:
        seen.update(f.rule for f in evaluate(s.topic, s.sla, s.now))

    collect()
    assert seen == set(all_rules()), seen


# --- 6. a moment in the past sees the topic as it stood then ----------------------------------


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_posts_made_after_now_change_nothing_at_now(s: Scenario, data: st.DataObject) -> None:
    """A backdated evaluation (`findings --now`, a digest of last Tuesday) must not see replies
    written after that moment: adding any post, by anyone, after `now` leaves the findings as
    they were."""
    who = data.draw(st.sampled_from(POSTERS), label="who")
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    later = s.now + minutes(data.draw(st.integers(1, 60 * 24 * 30), label="minutes after now"))
    before = evaluate(s.topic, s.sla, s.now)
    after = evaluate(with_post(s.topic, who, later, kind), s.sla, s.now)
    assert after == before

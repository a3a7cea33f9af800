"""One forum's judging in one cycle: the changed and due topics batch by batch, then its
bursts; every change is stored at once (findings, credits, the topics' facts), its
notification waits for the outbox's policy.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from forumwatch.config.models import Config, ForumConfig
from forumwatch.config.sla import CreditsConfig
from forumwatch.credits import UNACKNOWLEDGED, credit_for, late_diagnosis
from forumwatch.cycle import incremental
from forumwatch.cycle.escalation import transitions
from forumwatch.cycle.followups import warn
from forumwatch.cycle.judge import Evaluation, evaluate_forum
from forumwatch.cycle.resolution import resolution_text
from forumwatch.cycle.results import ForumResult
from forumwatch.model import (
    Change,
    Credit,
    StoredFinding,
    Topic,
    TopicKey,
    TopicState,
    Transition,
)
from forumwatch.notify.base import FollowUps, Notifier, follow_ups_channel
from forumwatch.roles import (
    GroupMembers,
    ResponderLookup,
    app_of,
    responders_for,
    responders_for_app,
)
from forumwatch.store import Store
from forumwatch.store.evaluation import TopicFacts
from forumwatch.store.rows import stored_finding_from_row
from rules.base import all_rules
from rules.bursts import LASTS as BURST_LASTS


class Judging:
    """One forum's judging in one cycle, batch by batch: each batch's changes are stored at
    once (findings, credits, the topics' facts); their notifications wait for the storm check."""

    def __init__(
        self,
        store: Store,
        forum: ForumConfig,
        config: Config,
        now: datetime,
        members: GroupMembers,
        follow_ups: FollowUps | None,
    ) -> None:
        self.store, self.forum, self.config, self.now = store, forum, config, now
        self.members = members
        self.follow_ups = follow_ups  # heads-ups before deadlines (not in a backlog cycle)
        self.rules = list(all_rules().values())
        self.warn_before = incremental.warn_before_of(config)
        self.changes: list[tuple[Transition, str]] = []  # with the topic's app
        self.grouped: frozenset[TopicKey] = frozenset()
        # findings of an ended burst's waiting topics that nobody was told of: told now
        self.handed_back: list[tuple[Transition, str]] = []

    def judge(self, batch: list[Topic]) -> None:
        """Judge whole authors' topics: findings against the stored ones of these topics."""
        store, forum, now = self.store, self.forum, self.now
        lookup = ResponderLookup(forum, self.members)
        ids = [t.id for t in batch]
        seen = store.policy_sightings(forum.id, ids)
        evaluation = evaluate_forum(
            batch, forum, self.config, now, self.members, bursts=False, responders=lookup, seen=seen
        )
        store.save_sightings(forum.id, self._sightings(batch, evaluation))
        stored = {k: v for k, v in store.findings_of(forum.id, ids).items() if k[1] != "burst"}
        by_key = {t.key: t for t in batch}
        titles = {t.key: (t.title, t.url) for t in batch}
        found = evaluation.findings
        for change in transitions(found, stored, titles, now):
            change = explained(store, forum, change, now, self.members, evaluation)
            self._record(change, evaluation, by_key)
        store.save_facts(forum.id, self._facts(batch, evaluation, lookup))
        if self.follow_ups is not None and self.warn_before is not None:
            holding = {(f.key, f.rule) for f in found}
            later = now + self.warn_before  # a burst is escalated at once: no heads-up
            seen = store.policy_sightings(forum.id, ids)
            soon = evaluate_forum(
                batch, forum, self.config, later, self.members, bursts=False, seen=seen
            )
            upcoming = [f for f in soon.findings if (f.key, f.rule) not in holding]
            apps = {t.key: lookup(t).app_id for t in batch}
            warn(store, self.follow_ups, forum, upcoming, by_key, apps, now)

    def judge_bursts(self) -> None:
        """Bursts over the forum's customer topics' rows, against the stored bursts."""
        store, forum, now = self.store, self.forum, self.now
        bursts = incremental.current_bursts(store, forum, now, self.members)
        self.grouped = bursts.grouped
        stored = store.findings_by_rule(forum.id, "burst")
        by_key = dict(bursts.topics)
        missing = [k.topic_id for k, _ in stored if k not in by_key]
        by_key |= {t.key: t for t in store.topics_by_id(forum.id, missing)}
        titles = {key: (t.title, t.url) for key, t in by_key.items()}
        evaluation = Evaluation(bursts.findings, {}, {}, self.grouped)
        for change in transitions(bursts.findings, stored, titles, now):
            change = explained(store, forum, change, now, self.members, evaluation)
            self._record(change, evaluation, by_key)
            if change.change is Change.RESOLVED:
                self._hand_back(change.stored)

    def _hand_back(self, burst: StoredFinding) -> None:
        """The open findings of an ended burst's still-waiting topics that nobody was told of
        (the burst's message stood for them): from now on each is told on its own."""
        store, forum = self.store, self.forum
        ids = sorted({e.topic_id for e in burst.finding.evidence if e.topic_id})
        if not ids:
            return
        apps = store.apps_of(forum.id, ids)
        for (key, rule), stored in sorted(store.findings_of(forum.id, ids).items()):
            if rule == "burst" or key in self.grouped or not stored.is_open:
                continue
            if store.told(stored):
                continue  # already told (an escalation went out), or held: nothing to hand back
            app_id = apps.get(key.topic_id) or ""
            self.handed_back.append((Transition(Change.OPENED, stored), app_id))

    def _record(
        self, change: Transition, evaluation: Evaluation, by_key: dict[TopicKey, Topic]
    ) -> None:
        """Store one change (and the credit it books); its notification waits in `changes`."""
        store, finding = self.store, change.stored.finding
        if change.replaces is not None:
            store.rename_finding(finding.key, change.replaces, change.stored)
        store.save_finding(change.stored)
        topic = by_key.get(finding.key)
        app_id = app.id if topic is not None and (app := app_of(self.forum, topic)) else ""
        credits = credits_of(self.config, self.forum, finding.policy)
        if change.change is Change.OPENED and credits is not None and topic:
            responders = responders_for(self.forum, topic, self.members)
            credit = credit_for(finding, topic, responders, credits, self.now)
            if credit is not None and not _booked_before(store, evaluation, credit):
                store.book_credit(credit)
        self.changes.append((change, app_id))

    def _sightings(
        self, batch: list[Topic], evaluation: Evaluation
    ) -> list[tuple[str, str, datetime]]:
        """When each judged topic was first seen under the SLA it waits on: now, for a policy
        it began to match now; its start, for one it matched when first seen."""
        seen = []
        for topic in batch:
            applied = evaluation.applied.get(topic.key)
            if applied is None or topic.created_at > self.now:
                continue
            request = evaluation.requests.get(topic.key)
            began = request.earlier[0].created_at if request else topic.created_at
            seen.append((topic.id, applied.name, applied.since or began))
        return seen

    def _facts(
        self, batch: list[Topic], evaluation: Evaluation, lookup: ResponderLookup
    ) -> list[TopicFacts]:
        """Each topic's facts and next check; a request's topics share the request's check."""
        checks: dict[TopicKey, datetime | None] = {}
        for topic in batch:
            if topic.state is not TopicState.OPEN or topic.key in evaluation.superseded:
                continue
            request = evaluation.requests.get(topic.key)
            judged = request.as_one_topic() if request else topic
            check = incremental.next_check(
                judged,
                lookup(judged),
                evaluation.applied[topic.key].sla,
                self.now,
                self.rules,
                self.warn_before,
            )
            for member in (*request.earlier, topic) if request else (topic,):
                checks[member.key] = check
        for topic in batch:  # a topic created after a backdated `now` is in no request yet
            if topic.state is TopicState.OPEN and topic.key not in checks:
                checks[topic.key] = topic.created_at if topic.created_at > self.now else None
        return [
            incremental.facts_of(
                topic,
                lookup(topic),
                topic.key in evaluation.requests,
                checks.get(topic.key),
            )
            for topic in batch
        ]


def _booked_before(store: Store, evaluation: Evaluation, credit: Credit) -> bool:
    """True when a re-posted request's earlier topic already booked this stage's credit: the
    customer waited once, however many topics they opened."""
    request = evaluation.requests.get(credit.key)
    if request is None:
        return False
    return any(
        row["stage"] == credit.stage
        for topic in request.earlier
        for row in store.topic_credits(topic.key)
    )


def credits_of(config: Config, forum: ForumConfig, policy: str) -> CreditsConfig | None:
    """The credit rates of a finding's wait: its policy's own, else the config's."""
    applied = config.policy_config(forum, policy)
    if applied is not None and applied.credits is not None:
        return applied.credits
    return config.credits


def book_late_diagnoses(
    store: Store, forum: ForumConfig, config: Config, now: datetime, members: GroupMembers
) -> None:
    """Book the diagnose credit of each open wait nobody responsible answered whose diagnose
    deadline has passed (see credits.late_diagnosis): once per wait, whenever a cycle first
    sees it past the deadline, whether or not its topic was judged again this cycle. A
    re-posted request books it once, on whichever of its topics did first."""
    clocks = config.policies_for(forum)
    seen = store.policy_sightings  # a policy begun mid-wait runs from when it was seen
    rates = [config.credits] + [p.credits for p in [*forum.sla_policies, *config.sla_policies]]
    if not any(r is not None and r.diagnose > 0 for r in rates):
        return
    apps = {app.id: app for app in forum.apps}
    shortest = min([clocks.default.diagnose] + [p.sla.diagnose for p in clocks.policies])
    began_by = now - shortest  # working time is never shorter than calendar time
    for row in store.waits_without_credit(forum.id, "diagnose", UNACKNOWLEDGED, began_by):
        wait = stored_finding_from_row(row, evidence=False)
        credits = credits_of(config, forum, wait.finding.policy)
        if credits is None:
            continue
        sla = clocks.sla_named(wait.finding.policy)
        since = seen(forum.id, [wait.finding.key.topic_id]).get(wait.finding.key.topic_id, {})
        if wait.finding.policy and wait.finding.policy in since:
            sla = replace(sla, clock_from=since[wait.finding.policy])
        responders = responders_for_app(forum, apps.get(row["app_id"]), members)
        credit = late_diagnosis(
            wait.finding, row["author"], responders, sla, credits, now, wait.title, wait.url
        )
        if credit is None:
            continue
        if wait.finding.rule == "reposted" and store.credit_booked_elsewhere(credit):
            continue  # an earlier topic of the request booked it: the customer waited once
        store.book_credit(credit)


def explained(
    store: Store,
    forum: ForumConfig,
    change: Transition,
    now: datetime,
    members: GroupMembers,
    evaluation: Evaluation,
) -> Transition:
    """A resolution with its reason in words (answered by whom, closed, deleted, re-posted)
    stored on it."""
    if change.change is not Change.RESOLVED:
        return change
    finding = change.stored.finding
    later = evaluation.superseded.get(finding.key)
    if later is not None:
        text = f"re-posted by the author as «{later.title}» ({later.url}); followed there"
        return replace(change, stored=replace(change.stored, resolution=text))
    request = evaluation.requests.get(finding.key)
    topic = request.as_one_topic() if request else store.topic(finding.key)
    responders = responders_for(forum, topic, members) if topic else None
    text = resolution_text(finding, topic, responders, now)
    return replace(change, stored=replace(change.stored, resolution=text))


def judge_forum(
    store: Store,
    forum: ForumConfig,
    config: Config,
    now: datetime,
    active: list[Notifier],
    backlog: bool = False,
    result: ForumResult | None = None,
    rejudge: bool = False,
) -> Judging:
    """Inside the forum's transaction: judge its topics that may have changed and store what
    changed (see cycle.incremental: the rest keep their stored findings). `backlog`: the
    forum's first cycle (no heads-ups); `rejudge`: judge every topic, as if none had been
    judged before."""
    members = store.group_members(forum.id)
    plan = incremental.plan(store, forum, config, members, now, everything=rejudge)
    follow_ups = follow_ups_channel(active) if not backlog else None
    judging = Judging(store, forum, config, now, members, follow_ups)
    for batch in incremental.batches(store, forum.id, plan.groups):
        judging.judge(batch)
    opened_any = any(c.change is Change.OPENED for c, _ in judging.changes)
    if plan.changed or plan.full or opened_any or store.burst_may_end(forum.id, now - BURST_LASTS):
        judging.judge_bursts()  # new or changed topics make or end a burst; so does its time
    book_late_diagnoses(store, forum, config, now, members)
    store.save_eval_state(forum.id, plan.stamp, now)
    if result is not None:
        result.grouped = judging.grouped
        result.topics_judged = plan.topics
    return judging

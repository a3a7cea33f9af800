"""One cycle: scrape every forum → store → rules → escalation → outbox → notifiers.

Everything the CLI does is a function here that a test can call without a subprocess.
"""

from __future__ import annotations

import asyncio
import functools
import html
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from forumwatch import incremental
from forumwatch.config import Config, ForumConfig
from forumwatch.credits import credit_for
from forumwatch.escalation import transitions
from forumwatch.followups import remind, warn
from forumwatch.health import next_health
from forumwatch.model import (
    Change,
    Credit,
    Finding,
    OutboxMessage,
    Post,
    Stage,
    StoredFinding,
    Topic,
    TopicKey,
    TopicState,
    Transition,
)
from forumwatch.notify.base import Notifier, RecipientGone, notifiers
from forumwatch.resolution import resolution_text
from forumwatch.roles import GroupMembers, ResponderLookup, app_of, responders_for
from forumwatch.store import Store, StoreError, iso
from forumwatch.store_eval import TopicFacts
from forumwatch.telegram_bot.notifier import CHANNEL, TelegramNotifier, make_bot
from rules.answers import awaits_answers
from rules.base import all_rules
from rules.bursts import LASTS as BURST_LASTS
from rules.bursts import burst_finding, find_bursts
from rules.reposts import Request, find_requests
from scrapers.base import (
    BadResponse,
    ForumSettings,
    MalformedTopic,
    ScrapeError,
    Scraper,
    TopicSummary,
    scraper_for,
)
from scrapers.validate import FUTURE_SLACK

GONE_STATUSES = (404, 410)  # the topic was deleted (or hidden) on the forum
STORM_MIN_FINDINGS = 5  # fewer new findings never count as an alert storm

# progress(forum_id, what, done, total): what is "listing" or "fetching"
Progress = Callable[[str, str, int, int | None], None]


def _no_progress(forum_id: str, what: str, done: int, total: int | None) -> None:
    return None


@dataclass
class ForumResult:
    forum_id: str
    topics_listed: int = 0
    topics_fetched: int = 0
    topics_changed: int = 0
    topics_gone: int = 0
    topics_judged: int = 0  # the rules ran over these: changed, due, or their authors' others
    error: str | None = None
    skipped: bool = False  # not polled at all: the run had reached max_run_time
    warnings: list[str] = field(default_factory=list)  # e.g. one malformed topic, skipped
    grouped: frozenset[TopicKey] = frozenset()  # topics of an open burst: told with the burst


@dataclass
class CycleReport:
    now: datetime
    dry_run: bool
    dry_run_reason: str = "nothing was stored or sent; the database is unchanged"  # see why_dry_run
    forums: list[ForumResult] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    messages_sent: int = 0
    delivery_errors: list[str] = field(default_factory=list)
    delivery_notes: list[str] = field(default_factory=list)  # e.g. a chat that blocked the bot
    would_send: dict[int, OutboxMessage] = field(default_factory=dict)  # dry runs: by outbox id

    @property
    def eventful(self) -> bool:
        """Whether anything happened that cron should mail: a change, a message, a problem."""
        return bool(
            self.dry_run
            or any(t.notifies for t in self.transitions)
            or self.messages_sent
            or self.delivery_errors
            or self.delivery_notes
            or any(f.error or f.warnings for f in self.forums)
        )

    def count(self, change: Change) -> int:
        return sum(1 for t in self.transitions if t.change is change)

    @property
    def exit_code(self) -> int:
        """0 all fine, 1 some forum or notifier failed (the others still ran)."""
        failed = any(f.error for f in self.forums) or self.delivery_errors
        return 1 if failed else 0


def settings_for(forum: ForumConfig) -> ForumSettings:
    headers = {}
    if forum.api_key:
        headers["Api-Key"] = forum.api_key
        headers["Api-Username"] = forum.api_username or "system"
    return ForumSettings(
        forum_id=forum.id,
        url=forum.url,
        categories=tuple(forum.categories),
        headers=headers,
        lookback_days=forum.lookback.total_seconds() / 86400,
        max_pages=forum.max_pages,
        requests_per_second=forum.requests_per_second,
        max_concurrency=forum.max_concurrency,
        timeout_seconds=forum.timeout.total_seconds(),
        max_retries=forum.max_retries,
        max_response_bytes=forum.max_response_size,
        options={"backoff_base": forum.retry_backoff.total_seconds()},
        language=forum.language,
        timezone=forum.timezone,
        encoding=forum.encoding,
        respect_robots=forum.respect_robots,
        profile=forum.profile if isinstance(forum.profile, dict) else {},
    )


@dataclass(frozen=True)
class Evaluation:
    """What the rules say of a forum's open topics at one moment."""

    findings: list[Finding]
    requests: dict[TopicKey, Request]  # re-posted requests, by their latest topic
    superseded: dict[TopicKey, Topic]  # an earlier topic → the topic that re-posts it
    grouped: frozenset[TopicKey] = frozenset()  # topics of an open burst: told together


def evaluate_forum(
    topics: Iterable[Topic],
    forum: ForumConfig,
    config: Config,
    now: datetime,
    members: GroupMembers | None = None,
    *,
    bursts: bool = True,
    responders: ResponderLookup | None = None,
) -> Evaluation:
    """Every rule over every open topic; a re-posted request is judged once, as one topic.

    `bursts=False` leaves bursts out (an incremental cycle finds them over the whole forum's
    rows, see `incremental.current_bursts`); `responders` shares the caller's lookups.
    """
    sla = config.sla_for(forum)
    rules = all_rules()
    open_topics = [t for t in topics if t.state is TopicState.OPEN]
    existing = [t for t in open_topics if t.created_at <= now]  # a backdated view: as it was
    responders_of = responders or ResponderLookup(forum, members)

    requests, superseded = find_requests(existing, responders_of, forum.repost_window)
    findings = []
    for topic in open_topics:
        if topic.key in superseded:
            continue  # its request is judged on the topic that re-posts it
        request = requests.get(topic.key)
        judged = request.as_one_topic() if request else topic
        answering = responders_of(judged)
        for rule in rules.values():
            finding = rule(judged, answering, sla, now)
            if finding is not None:
                findings.append(request.reposted(finding) if request else finding)
    if not bursts:
        return Evaluation(findings, requests, superseded)
    grouped: set[TopicKey] = set()
    requests_only = [  # customers' first tries: a re-post is no news of an outage
        t for t in existing if t.key not in requests and awaits_answers(t, responders_of(t))
    ]
    settings = incremental.burst_settings(forum)
    for burst in find_bursts(requests_only, lambda t: responders_of(t).app_id, settings, now):
        found = burst_finding(burst, responders_of, now)
        if found is not None:
            findings.append(found)
            grouped |= burst.keys
    return Evaluation(findings, requests, superseded, frozenset(grouped))


def evaluate_topics(
    topics: Iterable[Topic],
    forum: ForumConfig,
    config: Config,
    now: datetime,
    members: GroupMembers | None = None,
) -> list[Finding]:
    """The findings that hold at `now` over the forum's open topics (see evaluate_forum)."""
    return evaluate_forum(topics, forum, config, now, members).findings


SAVE_EVERY = 100  # fetched topics stored per transaction: memory holds no more than these


class TopicSink:
    """Stores fetched topics as they arrive, SAVE_EVERY per transaction, so a poll of a big
    forum never holds it in memory and a crash keeps what was fetched before it."""

    def __init__(self, store: Store | None) -> None:
        self.store = store
        self.pending: list[tuple[Topic, str]] = []  # (topic, change marker)
        self.changed = 0

    def add(self, topic: Topic, marker: str) -> None:
        self.pending.append((topic, marker))
        if len(self.pending) >= SAVE_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.store is None or not self.pending:
            return
        with self.store.transaction():
            self.changed += sum(self.store.save_topic(t, m) for t, m in self.pending)
        self.pending.clear()


@dataclass
class Scraped:
    """What one poll of one forum brought back (its topics went to `sink` as they came)."""

    result: ForumResult
    sink: TopicSink = field(default_factory=lambda: TopicSink(None))
    gone: list[str] = field(default_factory=list)  # topic ids the forum answers 404/410 for
    members: dict[str, frozenset[str]] = field(default_factory=dict)  # looked-up groups only
    # URL → [ETag, Last-Modified] of list pages (HTML engines), for the next run's requests
    page_validators: dict[str, list[str | None]] | None = None
    category_slugs: dict[int, str] | None = None  # as the scraper last read them (Discourse)


async def scrape_forum(
    forum: ForumConfig,
    known: Mapping[str, str],
    now: datetime,
    progress: Progress,
    *,
    exhaustive: bool = False,
    time_limit: float | None = None,
    watched: Mapping[str, str] | None = None,
    page_validators: dict[str, list[str | None]] | None = None,
    category_slugs: dict[int, str] | None = None,
    sink: TopicSink | None = None,
    known_posts: Callable[[str], Mapping[str, Post]] | None = None,
) -> Scraped:
    """List the forum's recently bumped topics and fetch those whose marker changed.

    An exhaustive poll reads the whole list (within lookback), refreshes group members and
    fetches each `watched` topic (one with an open finding) that the list no longer shows, to
    learn whether it was deleted.
    On a scrape error, or when `time_limit` seconds run out, keeps the topics fetched completely
    before it, and the error.
    """
    scraped = Scraped(ForumResult(forum.id), sink or TopicSink(None))
    scraper = scraper_for(forum.engine, settings_for(forum))
    if hasattr(scraper, "not_after"):  # dates past the (simulated) clock mean broken data
        scraper.not_after = max(datetime.now(UTC), now) + FUTURE_SLACK
    if hasattr(scraper, "page_validators"):  # conditional requests for unchanged list pages
        scraper.page_validators = dict(page_validators or {})
        scraped.page_validators = scraper.page_validators
    if hasattr(scraper, "known_posts"):  # a long topic's posts read before are not fetched again
        scraper.known_posts = known_posts
    if hasattr(scraper, "category_cache") and not exhaustive:  # a full scan reads them afresh
        scraper.category_cache = category_slugs
    try:
        async with asyncio.timeout(time_limit):
            await _poll(scraper, forum, known, now, progress, scraped, exhaustive, watched or {})
    except ScrapeError as err:
        scraped.result.error = str(err)
    except TimeoutError:
        scraped.result.error = (
            f"forum '{forum.id}': the run reached max_run_time while polling it; the topics "
            "read so far are kept and the rest are read next run (raise max_run_time if this "
            "forum is simply large)"
        )
    except StoreError:
        raise  # the database failed storing a topic: the run stops with its one-line reason
    except Exception as err:  # one forum's surprise must not stop the other forums
        scraped.result.error = (
            f"forum '{forum.id}': unexpected {type(err).__name__}: {err}; "
            "this is a forumwatch bug, please report it with this line"
        )
    finally:
        scraped.result.warnings += getattr(scraper, "warnings", [])
        scraped.category_slugs = getattr(scraper, "category_cache", None)
        await scraper.aclose()
    return scraped


async def _poll(
    scraper: Scraper,
    forum: ForumConfig,
    known: Mapping[str, str],
    now: datetime,
    progress: Progress,
    scraped: Scraped,
    exhaustive: bool,
    watched: Mapping[str, str],
) -> None:
    """The poll itself: group members (exhaustive only), the list, then each changed topic."""
    result = scraped.result
    if exhaustive:
        for group in sorted(forum.member_groups()):
            scraped.members[group] = await scraper.group_members(group)
    changed: list[TopicSummary] = []
    listed: set[str] = set()
    listing = scraper.list_topics(known, now - forum.lookback, exhaustive=exhaustive)
    async for summary in listing:
        result.topics_listed += 1
        listed.add(summary.topic_id)
        progress(forum.id, "listing", result.topics_listed, None)
        if known.get(summary.topic_id) != summary.marker:
            changed.append(summary)
    if exhaustive:  # a watched topic missing from the whole list may have been deleted
        changed += [
            TopicSummary(i, known.get(i, ""), extra={"url": watched[i]})
            for i in sorted(watched.keys() - listed)
        ]
    await _fetch_all(scraper, forum, changed, scraped, progress)


async def _fetch_all(
    scraper: Scraper,
    forum: ForumConfig,
    changed: list[TopicSummary],
    scraped: Scraped,
    progress: Progress,
) -> None:
    """Fetch the changed topics, up to the forum's `max_concurrency` at a time (the scraper's
    HTTP client still paces every request), each stored as it arrives. The first error stops
    the others; the topics fetched before it are kept."""
    result = scraped.result
    queue = iter(changed)  # shared: each worker takes the next topic in list order

    async def worker() -> None:
        for summary in queue:
            topic = await _fetch(scraper, summary, scraped)
            if topic is not None:
                scraped.sink.add(topic, summary.marker)
                result.topics_fetched += 1
            progress(forum.id, "fetching", result.topics_fetched, len(changed))

    workers = [asyncio.ensure_future(worker()) for _ in range(max(1, forum.max_concurrency))]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


async def _fetch(scraper: Scraper, summary: TopicSummary, scraped: Scraped) -> Topic | None:
    """One topic, or None when it is gone (noted) or malformed (warned; fetched again next run)."""
    try:
        return await scraper.fetch_topic(summary)
    except MalformedTopic as err:
        scraped.result.warnings.append(
            f"{err}; this topic is skipped (its stored version and findings are kept) "
            "and read again next run"
        )
    except BadResponse as err:
        if err.status not in GONE_STATUSES:
            raise
        scraped.result.topics_gone += 1
        scraped.gone.append(summary.topic_id)
    return None


def _apply(
    store: Store,
    forum: ForumConfig,
    config: Config,
    now: datetime,
    active: list[Notifier],
    backlog: bool = False,
    result: ForumResult | None = None,
    rejudge: bool = False,
) -> list[Transition]:
    """Inside one transaction: judge the forum's topics that may have changed and record what
    changed (see forumwatch.incremental: the rest keep their stored findings).

    `backlog`: the forum's first cycle; what it finds is old news, told as one summary per
    recipient by the notifiers that summarise backlogs. A cycle that would open findings on
    too many topics at once (see `storm_reason`) stores them but holds their notifications,
    and says why in `result`'s warnings and to the Telegram admins. `rejudge`: judge every
    topic, as if none had been judged before.
    """
    members = store.group_members(forum.id)
    plan = incremental.plan(store, forum, config, members, now, everything=rejudge)
    telegram = next((n for n in active if isinstance(n, TelegramNotifier)), None)
    judging = _Judging(store, forum, config, now, members, telegram if not backlog else None)
    for batch in incremental.batches(store, forum.id, plan.groups):
        judging.judge(batch)
    opened_any = any(c.change is Change.OPENED for c, _ in judging.changes)
    if plan.changed or plan.full or opened_any or store.burst_may_end(forum.id, now - BURST_LASTS):
        judging.judge_bursts()  # new or changed topics make or end a burst; so does its time
    store.save_eval_state(forum.id, plan.stamp, now)
    if result is not None:
        result.grouped = judging.grouped
        result.topics_judged = plan.topics
    changes = sorted(
        judging.changes, key=lambda pair: (pair[0].stored.finding.key, pair[0].stored.finding.rule)
    )
    transitions_only = [change for change, _ in changes]
    # a burst's topics are told in its one message: the burst counts once toward a storm, so a
    # real outage on a small forum is told, not held
    alone = [c for c in transitions_only if not told_with_its_burst(c, judging.grouped)]
    opened = sum(1 for change in alone if change.change is Change.OPENED)
    held = None  # counting the open topics is only worth it when enough findings opened
    if not backlog and opened >= STORM_MIN_FINDINGS:
        held = storm_reason(forum, alone, store.open_topic_count(forum.id))
    if held is not None:
        _hold(store, config, forum, held, now, result)
    backlog_counts: dict[tuple[int, str], int] = {}
    for change, app_id in changes:
        if not change.notifies:
            continue
        if held and change.change is Change.OPENED:
            store.hold(change.stored, held, now)
            continue
        if change.change is not Change.OPENED and store.is_held(change.stored):
            continue  # nobody was told it opened: its later stages are not told either
        if told_with_its_burst(change, judging.grouped):
            continue
        for index, notifier in enumerate(active):
            if backlog and notifier.summarises_backlog and change.change is Change.OPENED:
                stage = change.stored.finding.stage
                for recipient in notifier.recipients(forum, change.stored.finding, stage, app_id):
                    backlog_counts[index, recipient] = backlog_counts.get((index, recipient), 0) + 1
                continue
            _enqueue(store, forum, change, now, notifier, app_id)
    if not backlog:
        for change, app_id in judging.handed_back:  # a burst ended: its topics on their own
            for notifier in active:
                _enqueue(store, forum, change, now, notifier, app_id)
    for (index, recipient), count in sorted(backlog_counts.items()):
        notifier = active[index]
        text = notifier.backlog_text(forum, count)
        store.enqueue_note(forum.id, "backlog", notifier.channel, recipient, text, now)
    if telegram is not None and not backlog:
        remind(store, telegram, forum.id, now)
    return transitions_only


class _Judging:
    """One forum's judging in one cycle, batch by batch: each batch's changes are stored at
    once (findings, credits, the topics' facts); their notifications wait for the storm check."""

    def __init__(
        self,
        store: Store,
        forum: ForumConfig,
        config: Config,
        now: datetime,
        members: GroupMembers,
        telegram: TelegramNotifier | None,
    ) -> None:
        self.store, self.forum, self.config, self.now = store, forum, config, now
        self.members = members
        self.telegram = telegram  # heads-ups before deadlines (not in a backlog cycle)
        self.sla = config.sla_for(forum)
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
        evaluation = evaluate_forum(
            batch, forum, self.config, now, self.members, bursts=False, responders=lookup
        )
        ids = [t.id for t in batch]
        stored = {k: v for k, v in store.findings_of(forum.id, ids).items() if k[1] != "burst"}
        by_key = {t.key: t for t in batch}
        titles = {t.key: (t.title, t.url) for t in batch}
        found = evaluation.findings
        for change in transitions(found, stored, titles, now):
            change = _explained(store, forum, change, now, self.members, evaluation)
            self._record(change, evaluation, by_key)
        store.save_facts(forum.id, self._facts(batch, evaluation, lookup))
        if self.telegram is not None and self.warn_before is not None:
            holding = {(f.key, f.rule) for f in found}
            later = now + self.warn_before  # a burst is escalated at once: no heads-up
            soon = evaluate_forum(batch, forum, self.config, later, self.members, bursts=False)
            upcoming = [f for f in soon.findings if (f.key, f.rule) not in holding]
            apps = {t.key: lookup(t).app_id for t in batch}
            warn(store, self.telegram, forum.id, upcoming, by_key, apps, now)

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
            change = _explained(store, forum, change, now, self.members, evaluation)
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
        if change.change is Change.OPENED and self.config.credits is not None and topic:
            credit = credit_for(finding, topic, app_id, self.config.credits, self.now)
            if credit is not None and not _booked_before(store, evaluation, credit):
                store.book_credit(credit)
        self.changes.append((change, app_id))

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
                self.sla,
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


def told_with_its_burst(change: Transition, grouped: Collection[TopicKey]) -> bool:
    """True for a new finding of a topic inside an open burst (`grouped`): the burst's one
    message tells it, with all the others."""
    finding = change.stored.finding
    return change.change is Change.OPENED and finding.rule != "burst" and finding.key in grouped


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


def storm_reason(forum: ForumConfig, changes: list[Transition], open_topics: int) -> str | None:
    """Why this cycle's new findings must not be sent, or None: when they cover more than
    `hold_alerts_above` of the forum's open topics at once (and at least STORM_MIN_FINDINGS),
    a changed page layout or a misconfigured responder is far likelier than a sudden mass
    silence."""
    opened = sum(1 for change in changes if change.change is Change.OPENED)
    if opened < STORM_MIN_FINDINGS or opened <= forum.hold_alerts_above * open_topics:
        return None
    share = opened / max(1, open_topics)
    return (
        f"forum '{forum.id}': this run would open findings on {opened} of {open_topics} open "
        f"topics ({share:.0%}, over hold_alerts_above {forum.hold_alerts_above:.0%}); they are "
        "stored but not sent. Check the forum's responders and its profile (`forumwatch "
        "check-config --probe`); `forumwatch findings` lists them"
    )


def _hold(
    store: Store,
    config: Config,
    forum: ForumConfig,
    reason: str,
    now: datetime,
    result: ForumResult | None,
) -> None:
    """Tell the console (as a warning) and the Telegram admins why notifications are held."""
    if result is not None:
        result.warnings.append(reason)
    _note_admins(store, config, forum.id, "held", f"⏸ {html.escape(reason)}", now)


def _explained(
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


def _enqueue(
    store: Store,
    forum: ForumConfig,
    change: Transition,
    now: datetime,
    notifier: Notifier,
    app_id: str,
) -> None:
    stored: StoredFinding = change.stored
    stage = stored.finding.stage
    muted = store.muted_chats(stored.finding.key, now) if notifier.channel == CHANNEL else set()
    if change.change is Change.RESOLVED:  # those who heard of it hear how it ended
        recipients = [r for c, r in store.told(stored) if c == notifier.channel]
        if not recipients and notifier.summarises_backlog:
            # told of it in a backlog summary or a burst's message, not one by one
            was = Stage.ESCALATED if stored.escalated_at is not None else Stage.DUE
            recipients = notifier.recipients(forum, stored.finding, was, app_id)
        stage = Stage.RESOLVED
    else:
        recipients = notifier.recipients(forum, stored.finding, stage, app_id)
    recipients = [r for r in recipients if r not in muted]
    if not recipients:
        return
    text = notifier.render(change, now)
    for recipient in recipients:
        store.enqueue(stored, stage, notifier.channel, recipient, text, now)


async def deliver(
    store: Store,
    active: list[Notifier],
    now: datetime,
    report: CycleReport | None = None,
    stop: threading.Event | None = None,
) -> tuple[int, list[str]]:
    """Send every pending outbox message; a failed one stays pending for the next run.

    Each message is marked sent as soon as it went out, so a crash repeats at most the one in
    flight.
    """
    sent, errors = 0, []
    for notifier in active:
        try:
            for message in store.pending(notifier.channel):
                if stop is not None and stop.is_set():
                    break  # the rest stay in the outbox for the next cycle
                try:
                    ref = await notifier.send(message)
                except RecipientGone as gone:
                    if report is not None:
                        report.delivery_notes.append(f"{notifier.channel}: {gone}")
                    continue
                except Exception as err:  # a notifier's failure must not stop the others
                    errors.append(f"{notifier.channel} → {message.recipient}: {err}")
                    continue
                store.mark_sent(message.id, now, ref)
                sent += 1
        finally:
            await notifier.aclose()
    return sent, errors


DRY_RUN_ASKED = "nothing was stored or sent; the database is unchanged"
CLOCK_SLACK = timedelta(minutes=5)  # clocks of a VPS and a laptop may differ a little


def why_dry_run(
    asked: bool, now: datetime | None, last_run_now: datetime | None, wall: datetime
) -> str | None:
    """Why this run must store nothing, or None when it may persist its results.

    A simulated moment must never poison later real runs: a future `--now` would mark full scans
    done and resolve findings early; one before the last stored run would "resolve" what that
    run had already found due. Both run as dry runs instead.
    """
    if asked:
        return DRY_RUN_ASKED
    if now is not None and now > wall + CLOCK_SLACK:
        return (
            f"--now is later than the real clock ({wall:%Y-%m-%d %H:%M} UTC), so nothing was "
            "stored or sent; simulated futures never reach the database"
        )
    if now is not None and last_run_now is not None and now < last_run_now:
        return (
            "--now is earlier than the last stored run "
            f"({last_run_now:%Y-%m-%d %H:%M} UTC), so nothing was stored or sent; "
            "history is not rewritten"
        )
    return None


def run_cycle(
    store: Store,
    config: Config,
    now: datetime | None = None,
    *,
    dry_run: bool = False,
    progress: Progress = _no_progress,
    active: list[Notifier] | None = None,
    read_commands: bool = True,
    stop: threading.Event | None = None,
    forums: list[ForumConfig] | None = None,
    rejudge: bool = False,
) -> CycleReport:
    """Poll every forum, update findings and send what is due. Call under `run_lock`.

    `read_commands`: answer pending bot commands first (cron mode; the daemon reads them in a
    job of its own). `stop`: once set, the forums not yet polled are skipped and delivery ends
    after the message in flight (the daemon's SIGTERM). `forums`: poll only these (the daemon
    polls each forum at its own interval); default all. `rejudge`: judge every stored topic
    again instead of only the changed and due ones (the result is the same; it is slower).
    """
    started = datetime.now(UTC)
    now = now or started
    stop = stop or threading.Event()
    active = notifiers(config, store) if active is None else active
    report = CycleReport(now=now, dry_run=dry_run)
    redact = config.redactor()
    if config.telegram is not None and read_commands and not dry_run:
        error = asyncio.run(answer_commands(store, config, now))
        if error:
            report.delivery_errors.append(redact(error))
    deadline = time.monotonic() + config.max_run_time.total_seconds()
    for forum in config.forums if forums is None else forums:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or stop.is_set():
            report.forums.append(_skipped(forum, config, stopping=stop.is_set()))
            continue
        store.note_forum(forum.id, forum.engine, forum.url)
        last_full = store.last_full_scan(forum.id)
        backlog = last_full is None  # the forum's first cycle: its findings are old news
        exhaustive = last_full is None or now - last_full >= forum.full_scan_every
        known = store.markers(forum.id)
        watched = _watched(store, forum, now) if exhaustive else {}  # only full scans look
        sink = TopicSink(store)
        scraped = asyncio.run(
            scrape_forum(
                forum,
                known,
                now,
                progress,
                exhaustive=exhaustive,
                time_limit=remaining,
                watched=watched,
                page_validators=store.page_validators(forum.id),
                category_slugs=store.category_slugs(forum.id),
                sink=sink,
                known_posts=functools.partial(_stored_posts, store, forum.id),
            )
        )
        sink.flush()  # what came after the last full batch, or before an error
        result = scraped.result
        result.error = redact(result.error) if result.error else None
        result.warnings = [redact(w) for w in result.warnings]
        report.forums.append(result)
        with store.transaction():
            result.topics_changed = sink.changed
            for topic_id in scraped.gone:
                store.mark_topic_deleted(TopicKey(forum.id, topic_id))
            if result.error is None:  # a half-read forum must not resolve or raise findings
                for group, usernames in scraped.members.items():
                    store.save_group_members(forum.id, group, usernames)
                if scraped.page_validators is not None:
                    store.save_page_validators(forum.id, scraped.page_validators)
                store.save_category_slugs(forum.id, scraped.category_slugs)
                if exhaustive:
                    store.full_scan_done(forum.id, now)
                report.transitions += _apply(
                    store, forum, config, now, active, backlog, result, rejudge
                )
            if dry_run:
                _note_would_send(store, active, report)
                store.rollback()
        if not dry_run:
            store.forum_poll_result(forum.id, result.error, now)
            _tell_admins(store, config, forum.id, result, now)
    if not dry_run:
        report.messages_sent, report.delivery_errors = asyncio.run(
            deliver(store, active, now, report, stop)
        )
        store.record_run(started, now, "failed" if report.exit_code else "ok", summary(report))
    return report


async def answer_commands(store: Store, config: Config, now: datetime) -> str | None:
    """Answer the bot commands sent since the last run; an error message when Telegram failed."""
    from telegram.error import InvalidToken, TelegramError

    from forumwatch.telegram_bot.updates import answer_updates

    assert config.telegram is not None
    bot = make_bot(config.telegram)
    try:
        async with bot:
            await answer_updates(store, config, bot, now)
    except InvalidToken:
        return "telegram: the bot token was refused; check FORUMWATCH_TELEGRAM_TOKEN"
    except TelegramError as err:
        return f"telegram: could not read bot commands ({err}); they are read next run"
    return None


def _tell_admins(
    store: Store, config: Config, forum_id: str, result: ForumResult, now: datetime
) -> None:
    """Queue a health notice for the Telegram admins when the forum's health calls for one."""
    if config.telegram is None or not config.telegram.admins or result.skipped:
        return
    health, text = next_health(forum_id, store.forum_health(forum_id), result.error, now)
    with store.transaction():
        store.save_forum_health(forum_id, health)
        if text is not None:
            _note_admins(store, config, forum_id, "health", text, now)


def _note_admins(
    store: Store, config: Config, forum_id: str, kind: str, text: str, now: datetime
) -> None:
    """Queue `text` (HTML) for every Telegram admin, once per (kind, moment)."""
    admins = config.telegram.admins if config.telegram is not None else []
    for admin in admins:
        store.enqueue_note(forum_id, f"{kind} {iso(now)}", CHANNEL, str(admin), text, now)


def _stored_posts(store: Store, forum_id: str, topic_id: str) -> dict[str, Post]:
    return store.reusable_posts(TopicKey(forum_id, topic_id))


def _watched(store: Store, forum: ForumConfig, now: datetime) -> dict[str, str]:
    """Topics with an open finding, active within lookback, with their URLs: the full scan must
    see each one (an HTML forum's topic is fetched by its URL)."""
    cutoff = now - forum.lookback
    watched = [
        topic_id
        for topic_id, last_activity in store.open_finding_topics(forum.id).items()
        if last_activity is None or last_activity >= cutoff
    ]
    return store.topic_urls(forum.id, watched)


def _note_would_send(store: Store, active: list[Notifier], report: CycleReport) -> None:
    """Remember what a dry run's outbox holds before it is rolled back."""
    for notifier in active:
        for message in store.pending(notifier.channel):
            report.would_send.setdefault(message.id, message)


def _skipped(forum: ForumConfig, config: Config, stopping: bool = False) -> ForumResult:
    if stopping:
        error = f"forum '{forum.id}': skipped, forumwatch is stopping; it is polled next start"
        return ForumResult(forum.id, error=error, skipped=True)
    error = (
        f"forum '{forum.id}': skipped, the run reached max_run_time "
        f"({config.max_run_time}) before this forum; it is polled next run"
    )
    return ForumResult(forum.id, error=error, skipped=True)


def summary(report: CycleReport) -> dict[str, object]:
    return {
        "forums": len(report.forums),
        "polled_forums": [f.forum_id for f in report.forums if not f.skipped],
        "failed_forums": [f.forum_id for f in report.forums if f.error and not f.skipped],
        "skipped_forums": [f.forum_id for f in report.forums if f.skipped],
        "topics_listed": sum(f.topics_listed for f in report.forums),
        "topics_fetched": sum(f.topics_fetched for f in report.forums),
        "opened": report.count(Change.OPENED),
        "escalated": report.count(Change.ESCALATED),
        "resolved": report.count(Change.RESOLVED),
        "messages_sent": report.messages_sent,
    }

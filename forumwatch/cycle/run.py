"""One cycle: poll → save → judge → enqueue → deliver, forum by forum (see docs/design.md §2).

Everything the CLI does is a function a test can call without a subprocess.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from datetime import UTC, datetime, timedelta

from forumwatch.config.models import Config, ForumConfig
from forumwatch.cycle.deliver import answer_commands, deliver, note_would_send
from forumwatch.cycle.outbox import tell, tell_admins
from forumwatch.cycle.poll import TopicSink, scrape_forum, stored_posts, watched_topics
from forumwatch.cycle.record import judge_forum
from forumwatch.cycle.results import (
    CycleReport,
    ForumResult,
    Progress,
    no_progress,
    skipped,
    summary,
)
from forumwatch.model import (
    TopicKey,
    Transition,
)
from forumwatch.notify.base import Notifier, notifiers
from forumwatch.store import Store

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
    progress: Progress = no_progress,
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
            report.forums.append(skipped(forum, config, stopping=stop.is_set()))
            continue
        store.note_forum(forum.id, forum.engine, forum.url)
        last_full = store.last_full_scan(forum.id)
        backlog = last_full is None  # the forum's first cycle: its findings are old news
        exhaustive = last_full is None or now - last_full >= forum.full_scan_every
        known = store.markers(forum.id)
        watched = watched_topics(store, forum, now) if exhaustive else {}  # only full scans look
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
                known_posts=functools.partial(stored_posts, store, forum.id),
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
                report.transitions += judge_and_tell(
                    store, forum, config, now, active, backlog, result, rejudge
                )
            if dry_run:
                note_would_send(store, active, report)
                store.rollback()
        if not dry_run:
            store.forum_poll_result(forum.id, result.error, now)
            tell_admins(store, config, forum.id, result, now)
    if not dry_run:
        report.messages_sent, report.delivery_errors = asyncio.run(
            deliver(store, active, now, report, stop)
        )
        store.record_run(started, now, "failed" if report.exit_code else "ok", summary(report))
    return report


def judge_and_tell(
    store: Store,
    forum: ForumConfig,
    config: Config,
    now: datetime,
    active: list[Notifier],
    backlog: bool = False,
    result: ForumResult | None = None,
    rejudge: bool = False,
) -> list[Transition]:
    """One forum's judging and what it tells, inside the caller's transaction."""
    judging = judge_forum(store, forum, config, now, active, backlog, result, rejudge)
    return tell(store, forum, config, now, active, judging, backlog, result)

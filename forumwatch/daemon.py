"""`forumwatch daemon`: the long-running mode. APScheduler polls each forum every `poll` (or
`poll_every`) and reads bot commands every few seconds; SIGTERM (or Ctrl-C) lets the message in
flight go out, skips what is left, and exits 0.

Every cycle takes the same run lock as `forumwatch run`, so cron and the daemon never overlap.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from forumwatch.config.models import Config, ForumConfig
from forumwatch.config.values import format_duration
from forumwatch.cycle import heartbeat
from forumwatch.cycle.deliver import answer_commands
from forumwatch.cycle.results import CycleReport
from forumwatch.cycle.run import run_cycle
from forumwatch.store import AlreadyRunning, Store, StoreError, daemon_lock, run_lock

COMMANDS_EVERY_SECONDS = 3  # how soon a chat's command is answered

Say = Callable[[str], None]


class Daemon:
    def __init__(self, config: Config, say: Say, report: Callable[[CycleReport], None]) -> None:
        self.config = config
        self.say = say
        self.report = report
        self.stop = threading.Event()
        self._one_at_a_time = threading.Lock()  # forums' jobs queue up rather than skip
        self._commands_error: str | None = None  # the last problem reading bot commands
        self.scheduler = BlockingScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )

    def run(self) -> int:
        """Block until SIGTERM/SIGINT; returns the exit code."""
        now = datetime.now(UTC)
        for forum in self.config.forums:
            every = (forum.poll or self.config.poll_every).total_seconds()
            trigger = IntervalTrigger(seconds=every)
            self.scheduler.add_job(self.cycle, trigger, [forum], next_run_time=now, id=forum.id)
        if self.config.telegram is not None:
            trigger = IntervalTrigger(seconds=COMMANDS_EVERY_SECONDS)
            self.scheduler.add_job(self.commands, trigger, next_run_time=now)
        if self.config.digest is not None:
            at = self.config.digest.at
            daily = CronTrigger(hour=at.hour, minute=at.minute, timezone=self.config.timezone)
            self.scheduler.add_job(self.digest, daily, id="digest")
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            with daemon_lock(self.config.database):
                self.say(
                    f"daemon polling {len(self.config.forums)} forum(s) (default every "
                    f"{format_duration(self.config.poll_every)}); SIGTERM stops it"
                )
                self.scheduler.start()
        except AlreadyRunning as err:
            self.say(str(err))
            return 1
        except StoreError as err:
            self.say(str(err))
            return 2
        self.say("daemon stopped")
        return 0

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop.set()  # a running cycle sends the message in flight, then stops
        self.scheduler.shutdown(wait=True)

    def cycle(self, forum: ForumConfig) -> None:
        with self._one_at_a_time:
            if not self.stop.is_set():
                self._poll(forum)

    def _poll(self, forum: ForumConfig) -> None:
        try:
            store = Store(self.config.database)
        except StoreError as err:
            self.say(str(err))
            return
        try:
            with run_lock(self.config.database):
                report = run_cycle(
                    store, self.config, read_commands=False, stop=self.stop, forums=[forum]
                )
            self.report(report)
            url = self.config.heartbeat_url
            if url is not None and heartbeat.due(self.config, report):
                problem = heartbeat.beat(url)
                if problem:
                    self.say(problem)
        except AlreadyRunning as err:
            self.say(f"{err} (skipped this cycle)")
        except StoreError as err:
            self.say(str(err))
        finally:
            store.close()

    def digest(self) -> None:
        """Yesterday's digest: into the archive folder, to the mail and the quality chats."""
        from digests.build import build_digest, quality_chats, yesterday
        from digests.publish import deliver, write_archive

        settings = self.config.digest
        if settings is None or self.stop.is_set():
            return
        try:
            store = Store(self.config.database, create=False, read_only=True)
        except StoreError as err:
            self.say(str(err))
            return
        try:
            built = build_digest(store, self.config, yesterday(self.config.timezone))
            quality = quality_chats(store, self.config) if settings.send else []
        except StoreError as err:
            self.say(str(err))
            return
        finally:
            store.close()
        if settings.out is not None:
            try:
                self.say(f"digest written: {write_archive(built, settings.out)}")
            except OSError as err:
                self.say(f"{settings.out}: cannot write the digest there ({err.strerror})")
        if settings.send:
            published = deliver(self.config, built, quality)
            for line in published.done + published.errors:
                self.say(line)

    def commands(self) -> None:
        if self.stop.is_set():
            return
        try:
            store = Store(self.config.database)
        except StoreError as err:
            self.say(str(err))
            return
        try:
            error = asyncio.run(answer_commands(store, self.config, datetime.now(UTC)))
        finally:
            store.close()
        if error and error != self._commands_error:  # said once, not every few seconds
            self.say(self.config.redactor()(error))
        elif error is None and self._commands_error:
            self.say("telegram: bot commands are read again")
        self._commands_error = error

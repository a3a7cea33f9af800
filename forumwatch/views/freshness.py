"""Is the stored data current? `findings` and `status` say so at the top when a forum has not
been read for more than three poll intervals, instead of showing stale data as current."""

from __future__ import annotations

from datetime import datetime, timedelta

from forumwatch.config.models import Config
from forumwatch.store import PollRecord, Store
from rules.clock import wait_text

STALE_AFTER_POLLS = 3
WINDOW = timedelta(days=30)  # how far back runs are read: older history is "over a month"


def stale_warnings(store: Store, config: Config, now: datetime) -> list[str]:
    """One line per forum whose data is older than STALE_AFTER_POLLS poll intervals."""
    warnings = []
    for forum in config.forums:
        interval = forum.poll or config.poll_every
        record = store.poll_record(forum.id, now - WINDOW)
        line = stale_line(forum.id, record, interval, now)
        if line:
            warnings.append(line)
    return warnings


def stale_line(forum_id: str, record: PollRecord, interval: timedelta, now: datetime) -> str | None:
    """The warning for one forum, or None when its data is fresh enough."""
    limit = STALE_AFTER_POLLS * interval
    if record.last_run is None:
        return None  # nothing was ever run: `findings` says the store is empty
    if record.last_ok is not None and now - record.last_ok <= limit:
        return None
    if not record.ever_read:
        why = f"the last {record.failed_since} run(s) failed on it" if record.failed_since else ""
        if why and record.last_error:
            why += f" ({record.last_error})"
        return f"{forum_id} was never read yet" + (f": {why}" if why else "")
    age = f"{wait_text(now - record.last_ok)} old" if record.last_ok else "over a month old"
    if record.failed_since:
        why = f"the last {record.failed_since} run(s) of {forum_id} failed"
        if record.last_error:
            why += f" ({record.last_error})"
    elif now - record.last_run > limit:
        why = f"no run since {record.last_run:%Y-%m-%d %H:%M} UTC: is cron or the daemon running?"
    else:
        why = (
            f"runs go on, but none polled {forum_id} since then (skipped at max_run_time, or "
            "not scheduled: check its `poll` and the daemon's log)"
        )
    return f"data of {forum_id} is {age}: {why}"

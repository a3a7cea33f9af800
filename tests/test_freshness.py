"""`findings` says when the data it shows is stale: a forum whose runs fail, or no run at all."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from forumwatch.sample_forum.server import SampleForumServer
from tests.conftest import NOW, forumwatch


def _at(minutes: int) -> str:
    return (NOW + timedelta(minutes=minutes)).isoformat()


@pytest.mark.slow  # six runs, four of them failing with retries
def test_findings_warns_first_when_the_forum_keeps_failing(
    forum: SampleForumServer, config_path: Path
) -> None:
    assert forumwatch("run", "-c", str(config_path), "--now", _at(0)).returncode == 0
    fresh = forumwatch("findings", "-c", str(config_path), "--now", _at(5))
    assert "warning" not in fresh.stderr
    forum.fail("/latest.json", status=503)
    for minute in (10, 20, 30, 40):
        assert forumwatch("run", "-c", str(config_path), "--now", _at(minute)).returncode == 1
    stale = forumwatch("findings", "-c", str(config_path), "--now", _at(45))
    assert stale.returncode == 0
    first_line = stale.stderr.splitlines()[0]
    assert first_line.startswith("warning: data of market is 45 min old: the last 4 run(s) of ")
    assert "HTTP 503" in first_line
    assert "market" in stale.stdout  # the findings themselves still follow


def test_findings_warns_when_nothing_ran_for_a_while(
    forum: SampleForumServer, config_path: Path
) -> None:
    assert forumwatch("run", "-c", str(config_path), "--now", _at(0)).returncode == 0
    later = forumwatch("findings", "-c", str(config_path), "--now", _at(180), "--format", "json")
    assert later.returncode == 0
    assert "data of market is 3 h old: no run since" in later.stderr
    assert "is cron or the daemon running?" in later.stderr
    assert later.stdout.lstrip().startswith("[")  # JSON stays clean: the warning is on stderr


def test_only_runs_that_polled_a_forum_speak_for_it(tmp_path: Path) -> None:
    """The daemon polls one forum a run: runs of the others say nothing about its data."""
    from forumwatch.store import Store
    from forumwatch.views.freshness import stale_line

    store = Store(tmp_path / "forumwatch.db")
    ok = {"polled_forums": ["a", "b"], "failed_forums": []}
    store.record_run(NOW, NOW, "ok", ok)
    for minute in range(10, 60, 10):  # forum b alone, every 10 minutes, fine
        only_b = {"polled_forums": ["b"], "failed_forums": []}
        store.record_run(NOW, NOW + timedelta(minutes=minute), "ok", only_b)
    later = NOW + timedelta(minutes=55)
    record = store.poll_record("a", NOW - timedelta(days=1))
    assert record.last_ok == NOW
    line = stale_line("a", record, timedelta(minutes=10), later)
    assert line is not None and line.startswith("data of a is 55 min old")
    assert (
        stale_line(
            "b", store.poll_record("b", NOW - timedelta(days=1)), timedelta(minutes=10), later
        )
        is None
    )


def test_a_forum_never_read_says_so_instead_of_a_month_old(
    forum: SampleForumServer, config_path: Path
) -> None:
    forum.fail("/latest.json", status=503)
    assert forumwatch("run", "-c", str(config_path), "--now", _at(0)).returncode == 1

    shown = forumwatch("findings", "-c", str(config_path), "--now", _at(1))

    assert shown.returncode == 0, shown.stderr
    first_line = shown.stderr.splitlines()[0]
    assert first_line.startswith("warning: market was never read yet: the last 1 run(s) failed")
    assert "HTTP 503" in first_line and "month" not in shown.stderr

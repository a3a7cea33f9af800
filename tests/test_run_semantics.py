"""What a run may persist and what a resolution says: simulated clocks never poison the store,
dry runs leave the disk alone, and a finding that ends says how it ended."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import NOW, forumwatch

from forumwatch.sample_forum.scenario import SamplePost
from forumwatch.sample_forum.server import SampleForumServer


def disk_state(folder: Path) -> dict[str, str]:
    """Every file in the folder with a hash of its bytes: equal states mean nothing changed."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def resolutions(database: Path) -> dict[str, str]:
    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT topic_id, resolution FROM findings WHERE resolved_at IS NOT NULL"
        ).fetchall()
    return {topic_id: resolution for topic_id, resolution in rows}


def run(config: Path, now: datetime, *extra: str) -> tuple[int, str, str]:
    result = forumwatch("run", "-c", str(config), "--now", now.isoformat(), *extra)
    return result.returncode, result.stdout, result.stderr


def test_topic_closed_without_an_answer_resolves_as_closed_not_answered(
    config_path: Path, forum: SampleForumServer
) -> None:
    run(config_path, NOW)
    topic = forum.forum.topic(101)  # nobody ever replied
    topic.closed = True
    topic.posts.append(
        SamplePost("anna_quality", NOW, "", post_type=3, action_code="closed.enabled")
    )

    code, out, _ = run(config_path, NOW + timedelta(hours=6))  # the full scan reads it

    assert code == 0
    assert "RESOLVED market #101" in out
    assert "closed without an answer after 11 h of waiting" in out
    assert "answered" not in out.split("RESOLVED market #101")[1].splitlines()[0]
    assert resolutions(config_path.parent / "forumwatch.db")["101"].startswith(
        "closed without an answer"
    )


def test_answer_resolution_names_who_answered_and_after_how_long(
    config_path: Path, forum: SampleForumServer
) -> None:
    run(config_path, NOW)
    forum.forum.topic(101).posts.append(
        SamplePost("dev_ivan", NOW + timedelta(minutes=30), "Fixed in 3.2.3")
    )

    _, out, _ = run(config_path, NOW + timedelta(hours=1))

    assert "RESOLVED market #101" in out and "answered by dev_ivan after 5 h" in out
    assert resolutions(config_path.parent / "forumwatch.db") == {
        "101": "answered by dev_ivan after 5 h"
    }


def test_topic_gone_from_the_forum_resolves_as_deleted_on_the_full_scan(
    config_path: Path, forum: SampleForumServer
) -> None:
    run(config_path, NOW)
    forum.forum.topics = [t for t in forum.forum.topics if t.id != 102]  # deleted: 404 now

    soon_code, soon, _ = run(config_path, NOW + timedelta(hours=1))
    code, out, err = run(config_path, NOW + timedelta(hours=6))

    assert soon_code == 0 and "RESOLVED market #102" not in soon  # no full scan yet
    assert code == 0, err
    assert "RESOLVED market #102" in out and "topic deleted" in out
    assert resolutions(config_path.parent / "forumwatch.db")["102"].startswith("topic deleted")
    with sqlite3.connect(config_path.parent / "forumwatch.db") as conn:
        state = conn.execute("SELECT state FROM topics WHERE topic_id = '102'").fetchone()
    assert state == ("deleted",)


def test_run_with_a_future_now_is_a_dry_run_that_leaves_the_store_alone(
    config_path: Path,
) -> None:
    run(config_path, NOW)
    before = disk_state(config_path.parent)
    future = datetime.now(UTC) + timedelta(days=3)

    code, out, _ = run(config_path, future)

    assert code == 0
    assert out.startswith("Dry run: --now is later than the real clock")
    assert disk_state(config_path.parent) == before


def test_run_with_a_now_before_the_last_run_does_not_rewrite_history(
    config_path: Path,
) -> None:
    run(config_path, NOW + timedelta(hours=19))  # 101 escalated by then
    before = disk_state(config_path.parent)

    code, out, _ = run(config_path, NOW)  # would "resolve" what was not yet due

    assert code == 0
    assert out.startswith("Dry run: --now is earlier than the last stored run")
    assert "RESOLVED" not in out
    assert disk_state(config_path.parent) == before


def test_dry_run_without_a_database_creates_nothing(config_path: Path) -> None:
    before = disk_state(config_path.parent)

    code, out, _ = run(config_path, NOW, "--dry-run")

    assert code == 0
    assert out.splitlines()[0] == (
        "Dry run: nothing was stored or sent; the database is unchanged."
    )
    assert "would open: market #101 unanswered" in out
    assert disk_state(config_path.parent) == before  # no database, no lock file


def test_dry_run_on_an_existing_database_changes_no_byte(
    config_path: Path, forum: SampleForumServer
) -> None:
    run(config_path, NOW)
    forum.forum.topic(101).posts.append(
        SamplePost("dev_ivan", NOW + timedelta(minutes=30), "Fixed in 3.2.3")
    )
    before = disk_state(config_path.parent)

    code, out, _ = run(config_path, NOW + timedelta(hours=1), "--dry-run")

    assert code == 0
    assert "would resolve: market #101 unanswered" in out
    assert disk_state(config_path.parent) == before


def test_findings_with_now_never_writes(config_path: Path) -> None:
    run(config_path, NOW)
    before = disk_state(config_path.parent)

    result = forumwatch(
        "findings", "-c", str(config_path), "--now", (NOW + timedelta(days=30)).isoformat()
    )

    assert result.returncode == 0, result.stderr
    assert disk_state(config_path.parent) == before


def test_findings_without_a_database_says_so_and_creates_none(config_path: Path) -> None:
    result = forumwatch("findings", "-c", str(config_path))

    assert result.returncode == 2
    database = config_path.parent / "forumwatch.db"
    assert result.stderr.startswith(f"forumwatch: {database}: no forumwatch database here yet")
    assert "run `forumwatch run` first" in result.stderr
    assert sorted(p.name for p in config_path.parent.iterdir()) == ["config.yaml"]


def test_findings_in_the_past_do_not_see_later_answers(
    config_path: Path, forum: SampleForumServer
) -> None:
    forum.forum.topic(101).posts.append(
        SamplePost("dev_ivan", NOW + timedelta(minutes=30), "Fixed in 3.2.3")
    )
    run(config_path, NOW + timedelta(hours=1))  # stored with the answer

    def flagged(moment: datetime) -> set[str]:
        result = forumwatch(
            "findings", "-c", str(config_path), "--now", moment.isoformat(), "--format", "json"
        )
        return {f["topic_id"] for f in json.loads(result.stdout)}

    assert "101" in flagged(NOW + timedelta(minutes=10))  # the answer did not exist yet
    assert "101" not in flagged(NOW + timedelta(hours=1))

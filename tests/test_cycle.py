"""End to end: the real CLI polls a real HTTP forum on loopback into a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import NOW, forumwatch, write_config

from forumwatch.sample_forum.scenario import SamplePost
from forumwatch.sample_forum.server import SampleForumServer
from forumwatch.store import run_lock

DATA_TABLES = ("forums", "topics", "posts", "authors", "findings", "outbox")


def snapshot(database: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every data table (the run log aside), to prove nothing changed."""
    with sqlite3.connect(database) as conn:
        return {
            table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in DATA_TABLES
        }


def findings_json(config: Path, now: str = NOW.isoformat()) -> list[dict[str, object]]:
    result = forumwatch("findings", "-c", str(config), "--now", now, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def by_topic(found: list[dict[str, object]]) -> dict[str, set[object]]:
    rules: dict[str, set[object]] = {}
    for item in found:
        rules.setdefault(str(item["topic_id"]), set()).add(item["rule"])
    return rules


def test_run_flags_each_kind_of_silence_and_nothing_else(config_path: Path) -> None:
    result = forumwatch("run", "-c", str(config_path), "--now", NOW.isoformat())

    assert result.returncode == 0, result.stderr
    assert "9 topics listed, 9 fetched" in result.stdout
    assert "5 opened (1 already escalated), 0 escalated" in result.stdout
    assert by_topic(findings_json(config_path)) == {
        "101": {"unanswered"},  # nobody at all
        "102": {"masked_silence"},  # an integrator's note and the author's bump
        "103": {"no_diagnosis"},  # staff passed it on, the developer never came
        "104": {"follow_up_ignored"},  # answered once, the follow-up ignored
        "105": {"unanswered"},  # the developer only whispered
    }  # 106 answered, 107 closed, 108 answered on post 23 of 25, 109 started by the developer


def test_findings_json_carries_the_documented_fields(config_path: Path) -> None:
    forumwatch("run", "-c", str(config_path), "--now", NOW.isoformat())

    masked = next(f for f in findings_json(config_path) if f["rule"] == "masked_silence")

    assert set(masked) >= {
        "forum",
        "topic_id",
        "topic_url",
        "title",
        "rule",
        "stage",
        "opened_at",
        "due_at",
        "waiting_hours",
        "evidence",
    }
    assert masked["forum"] == "market"
    assert masked["stage"] == "escalated"  # 30 h old: past 2 h + 22 h
    assert masked["waiting_hours"] == 30.0
    assert masked["opened_at"] == (NOW - timedelta(hours=30)).isoformat()
    assert masked["due_at"] == (NOW - timedelta(hours=28)).isoformat()
    assert str(masked["topic_url"]).endswith("/102")
    assert [(e["username"], e["role"]) for e in masked["evidence"]] == [  # type: ignore[attr-defined]
        ("integrator_max", "other"),
        ("taras_fop", "author"),
    ]
    assert "vendor_petro" in masked["silent"]  # type: ignore[operator]  # the app's developer


def test_console_tells_each_finding_once_then_its_resolution(
    config_path: Path, forum: SampleForumServer
) -> None:
    first = forumwatch("run", "-c", str(config_path), "--now", NOW.isoformat())
    again = forumwatch("run", "-c", str(config_path), "--now", NOW.isoformat())
    topic = forum.forum.topic(101)
    topic.posts.append(SamplePost("dev_ivan", NOW + timedelta(minutes=30), "Fixed in 3.2.3"))
    later = (NOW + timedelta(hours=1)).isoformat()
    answered = forumwatch("run", "-c", str(config_path), "--now", later)

    assert first.stdout.count("OVERDUE") + first.stdout.count("ESCALATED") == 5
    assert "ESCALATED market #102" in first.stdout
    assert again.stdout == ""  # nothing changed: cron has nothing to mail
    assert "RESOLVED market #101" in answered.stdout
    assert "answered by dev_ivan after 5 h" in answered.stdout
    assert "1 resolved" in answered.stdout


def test_finding_escalates_once_when_the_delay_passes(config_path: Path) -> None:
    forumwatch("run", "-c", str(config_path), "--now", NOW.isoformat())
    # topic 101 was 5 h old: due at 2 h, escalated at 24 h → 19 h later
    before = forumwatch(
        "run", "-c", str(config_path), "--now", (NOW + timedelta(hours=18, minutes=59)).isoformat()
    )
    after = forumwatch(
        "run", "-c", str(config_path), "--now", (NOW + timedelta(hours=19)).isoformat()
    )
    again = forumwatch(
        "run", "-c", str(config_path), "--now", (NOW + timedelta(hours=20)).isoformat()
    )

    assert "ESCALATED market #101" not in before.stdout
    assert "ESCALATED market #101" in after.stdout
    assert "ESCALATED market #101" not in again.stdout


def test_rerun_with_nothing_new_fetches_only_the_topic_list_and_changes_nothing(
    config_path: Path, forum: SampleForumServer
) -> None:
    forumwatch("run", "-c", str(config_path), "--now", NOW.isoformat())
    stored = snapshot(config_path.parent / "forumwatch.db")
    forum.clear_requests()

    result = forumwatch("run", "-c", str(config_path), "--now", NOW.isoformat())

    assert result.returncode == 0
    assert all(path.startswith("/latest.json") for path in forum.requests), forum.requests
    assert forum.requests == ["/latest.json"]  # the first page alone shows nothing moved
    assert snapshot(config_path.parent / "forumwatch.db") == stored


def test_topic_on_second_page_of_the_list_is_seen(
    config_path: Path, forum: SampleForumServer
) -> None:
    forumwatch("run", "-c", str(config_path), "--now", NOW.isoformat())

    pages = [p for p in forum.requests if p.startswith("/latest.json")]
    assert len(pages) == 3  # 9 topics, 4 a page
    assert "101" in by_topic(findings_json(config_path))  # the oldest bump, on the last page


def test_new_post_is_fetched_and_resolves_the_finding(
    config_path: Path, forum: SampleForumServer
) -> None:
    forumwatch("run", "-c", str(config_path), "--now", NOW.isoformat())
    forum.forum.topic(103).posts.append(
        SamplePost("dev_ivan", NOW + timedelta(minutes=5), "Знайшли причину: кодування файлу.")
    )
    forum.clear_requests()

    result = forumwatch(
        "run", "-c", str(config_path), "--now", (NOW + timedelta(minutes=10)).isoformat()
    )

    assert [p for p in forum.requests if p.startswith("/t/")] == ["/t/103.json"]
    assert "RESOLVED market #103" in result.stdout
    assert "103" not in by_topic(
        findings_json(config_path, (NOW + timedelta(minutes=10)).isoformat())
    )


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"status": 200, "body": b'{"post_stream": {"posts": [{"id": 1,'}, "not valid JSON"),
        ({"status": 200, "body": b"<html>Bad gateway</html>"}, "not valid JSON"),
        ({"status": 500}, "HTTP 500"),
        ({"delay": 3.0}, "no complete response within"),
    ],
    ids=["truncated-json", "html-instead-of-json", "http-500", "timeout"],
)
def test_broken_forum_gives_one_clear_error_keeps_data_and_exits_1(
    tmp_path: Path, forum: SampleForumServer, fault: dict[str, object], message: str
) -> None:
    config = write_config(tmp_path, forum.url, timeout="1s", max_retries=1)
    assert forumwatch("run", "-c", str(config), "--now", NOW.isoformat()).returncode == 0
    stored = snapshot(tmp_path / "forumwatch.db")
    forum.forum.topic(101).posts.append(SamplePost("olena_buh", NOW, "Ще актуально?"))
    forum.fail("/t/101", **fault)  # type: ignore[arg-type]

    result = forumwatch("run", "-c", str(config), "--now", (NOW + timedelta(minutes=1)).isoformat())

    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, result.stderr
    assert "forum 'market'" in errors[0] and message in errors[0]
    assert "/t/101" in errors[0]
    after = snapshot(tmp_path / "forumwatch.db")
    assert after["topics"] == stored["topics"] and after["posts"] == stored["posts"]
    assert after["findings"] == stored["findings"]  # a half-read forum resolves nothing


def test_forum_that_is_down_exits_1_and_recovers_next_run(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    config = write_config(tmp_path, forum.url, max_retries=0)
    forum.fail("/latest.json", status=503)
    down = forumwatch("run", "-c", str(config), "--now", NOW.isoformat())
    forum.heal()
    up = forumwatch("run", "-c", str(config), "--now", NOW.isoformat())

    assert down.returncode == 1 and "HTTP 503" in down.stderr
    assert up.returncode == 0 and "5 opened" in up.stdout


def test_second_run_while_one_holds_the_lock_exits_at_once(config_path: Path) -> None:
    database = config_path.parent / "forumwatch.db"
    with run_lock(database):
        result = forumwatch("run", "-c", str(config_path), "--now", NOW.isoformat())

    assert result.returncode == 1
    assert "another forumwatch run is in progress" in result.stderr
    assert not (config_path.parent / "forumwatch.db").exists() or snapshot(database)["topics"] == []


def test_dry_run_stores_and_sends_nothing(config_path: Path) -> None:
    result = forumwatch("run", "-c", str(config_path), "--now", NOW.isoformat(), "--dry-run")

    assert result.returncode == 0
    assert "would open: market #101 unanswered" in result.stdout
    assert "OVERDUE" not in result.stdout
    assert not (config_path.parent / "forumwatch.db").exists()  # not even an empty one


def test_findings_table_shows_links_and_who_is_silent(config_path: Path) -> None:
    forumwatch("run", "-c", str(config_path), "--now", NOW.isoformat())

    result = forumwatch("findings", "-c", str(config_path), "--now", NOW.isoformat())

    assert result.returncode == 0
    assert "5 finding(s)" in result.stdout
    assert "/t/" in result.stdout and "vendor_petro" in result.stdout


def test_demo_shows_every_rule_a_repost_and_a_burst(tmp_path: Path) -> None:
    # the demo keeps its digest under the temp folder: this test's own, not a shared /tmp one
    result = forumwatch("demo", env={"TMPDIR": str(tmp_path)})

    assert result.returncode == 0, result.stderr
    for label in ("unanswered", "masked_silence", "no_diagnosis", "follow_up_ignored"):
        assert label in result.stdout
    assert "│ reposted" in result.stdout and "market:121" in result.stdout
    assert "│ burst" in result.stdout and "market:130" in result.stdout
    # the bot's messages: the burst once, its three topics inside it, not one by one
    assert "ймовірно, збій: 3 теми одночасно" in result.stdout
    assert "ПРОСТРОЧЕНО · market #131" not in result.stdout
    assert "клієнт створив тему повторно" in result.stdout
    # closing words: 112's author confirmed an integrator's answer; 113 thanked, but still waits
    assert "market:112" not in result.stdout.split("Not listed:")[0]
    assert "Not listed: market:112" in result.stdout
    assert "confirmed by the author (post 3): the wait ended" in result.stdout
    assert "market:113" in result.stdout and "Дякую, все запрацювало!" in result.stdout
    # a paid topic: 40 min unanswered is late on the paid policy's 30 min (2 h by default)
    assert "market:115" in result.stdout and "policy paid" in result.stdout
    assert "💳 платна тема · SLA 30 хв" in result.stdout
    digest = Path(result.stdout.split("Today's digest for the quality staff: ")[1].split()[0])
    page = digest.read_text(encoding="utf-8")
    assert '<html lang="uk">' in page and "ігнорован" in page  # the config's language: uk


def test_topic_closed_without_a_bump_is_caught_by_the_periodic_full_scan(
    config_path: Path, forum: SampleForumServer
) -> None:
    forumwatch("run", "-c", str(config_path), "--now", NOW.isoformat())
    quiet = forum.forum.topic(103)  # on page 2 of the list; page 1 will not move
    quiet.closed = True
    quiet.posts.append(
        SamplePost("anna_quality", NOW, "", post_type=3, action_code="closed.enabled")
    )

    soon = forumwatch(
        "run", "-c", str(config_path), "--now", (NOW + timedelta(hours=1)).isoformat()
    )
    later = forumwatch(
        "run", "-c", str(config_path), "--now", (NOW + timedelta(hours=6)).isoformat()
    )

    assert "RESOLVED market #103" not in soon.stdout  # closing does not bump: page 1 looks calm
    assert "RESOLVED market #103" in later.stdout  # full_scan_every (6h) reads the whole list


def test_developer_known_only_by_group_membership_answers(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    forum.forum.groups = {"vendor-team": ["petro_helper"]}
    forum.forum.topic(101).posts.append(
        SamplePost("petro_helper", NOW - timedelta(hours=4), "Дивимось, дякуємо.")
    )  # a post whose author shows no group badge: only the member list says who he is
    config = write_config(tmp_path, forum.url, extra="    developer_groups: [vendor-team]\n")

    result = forumwatch("run", "-c", str(config), "--now", NOW.isoformat())

    assert result.returncode == 0, result.stderr
    assert "101" not in by_topic(findings_json(config))
    assert any(p.startswith("/groups/vendor-team/members.json") for p in forum.requests)


def test_database_that_is_not_sqlite_is_a_clear_config_error(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    database = tmp_path / "forumwatch.db"
    database.write_text("my notes, not a database\n", encoding="utf-8")
    config = write_config(tmp_path, forum.url)

    result = forumwatch("run", "-c", str(config), "--now", NOW.isoformat())

    assert result.returncode == 2
    assert "cannot use it as a forumwatch database" in result.stderr
    assert database.read_text(encoding="utf-8") == "my notes, not a database\n"


def test_topic_deleted_between_list_and_fetch_is_skipped_not_fatal(
    config_path: Path, forum: SampleForumServer
) -> None:
    forum.fail("/t/101.json", status=404)

    result = forumwatch("run", "-c", str(config_path), "--now", NOW.isoformat())

    assert result.returncode == 0, result.stderr
    assert "8 fetched" in result.stdout
    assert set(by_topic(findings_json(config_path))) == {"102", "103", "104", "105"}

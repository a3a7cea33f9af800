"""The credits ledger over real runs of the demo forum: one booking per breached stage of a wait,
never twice, kept after an answer, owed by the developers and never by staff; `forumwatch
credits` and the digest show it."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest

from forumwatch.sample_forum.scenario import SamplePost, SampleTopic
from forumwatch.sample_forum.server import SampleForumServer
from tests.conftest import NOW, forumwatch, write_config

CREDITS = "credits: {unit: consultation, acknowledge: 1, diagnose: 2, follow_up: 1}\n"


def ledger(config: Path) -> list[dict[str, str]]:
    result = forumwatch("credits", "-c", str(config), "--format", "csv")
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


def run(config: Path, hours: float = 0) -> None:
    result = forumwatch(
        "run", "-c", str(config), "--now", (NOW + timedelta(hours=hours)).isoformat()
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow  # several cycles: CI runs it
def test_each_breached_stage_is_booked_once_to_the_author_and_kept(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    config = write_config(tmp_path, forum.url, extra=CREDITS + "language: en\n")
    run(config)
    first = ledger(config)
    booked = {(r["topic_id"], r["stage"], r["amount"]) for r in first}
    assert booked == {
        ("101", "acknowledge", "1"),
        ("102", "acknowledge", "1"),
        ("102", "diagnose", "2"),  # 30 h: nobody responsible answered, past both deadlines
        ("103", "diagnose", "2"),
        ("104", "follow_up", "1"),
        ("105", "acknowledge", "1"),
    }
    assert next(r for r in first if r["topic_id"] == "101")["customer"] == "olena_buh"

    topic = forum.forum.topic(101)
    topic.posts.append(SamplePost("olena_buh", NOW + timedelta(minutes=20), "Актуально?"))
    run(config, 1)  # the author's bump: masked_silence carries on the same wait
    topic.posts.append(SamplePost("dev_ivan", NOW + timedelta(hours=1, minutes=30), "Fixed"))
    run(config, 2)  # answered: the credit stays booked
    assert ledger(config) == first

    table = forumwatch("credits", "-c", str(config))
    assert "per customer: olena_buh: 1 consultation" in table.stdout
    digest = forumwatch("digest", "-c", str(config), "--date", NOW.date().isoformat())
    assert "8 consultation owed today" in digest.stdout


def test_without_credits_configured_nothing_is_booked(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    config = write_config(tmp_path, forum.url)
    run(config)
    assert ledger(config) == []


@pytest.mark.slow  # seven cycles over a day and a half
def test_a_topic_nobody_answers_books_acknowledge_then_diagnose_once_each(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    """Past the diagnose deadline an unanswered topic breached the diagnosis too, though its
    finding stays `unanswered` (no `no_diagnosis`): booked once, in the first cycle after it,
    also when that deadline is no moment the topic is judged again at (it escalated long
    before, at 2 h + 4 h)."""
    forum.forum.topics.append(
        SampleTopic(
            140,
            "Прайс не вивантажується",
            [SamplePost("nadia_price", NOW - timedelta(hours=1), "Прайс не вивантажується.")],
        )
    )
    config = write_config(tmp_path, forum.url, extra=CREDITS)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("escalate_after: 22h", "escalate_after: 4h"), encoding="utf-8")

    def booked() -> list[tuple[str, str, str]]:
        rows = [r for r in ledger(config) if r["topic_id"] == "140"]
        return [(r["stage"], r["amount"], r["developers"]) for r in rows]

    run(config)
    assert booked() == []  # 1 h old: nothing overdue yet
    run(config, 2)
    assert booked() == [("acknowledge", "1", "dev_ivan")]
    run(config, 12)  # escalated at NOW + 5 h; the diagnosis is due at NOW + 23 h
    assert booked() == [("acknowledge", "1", "dev_ivan")]
    run(config, 23.5)
    both = [("acknowledge", "1", "dev_ivan"), ("diagnose", "2", "dev_ivan")]
    assert booked() == both
    for hours in (24, 30, 60):  # every later cycle: nothing booked twice
        run(config, hours)
        assert booked() == both
    findings = forumwatch(
        "findings",
        "-c",
        str(config),
        "--now",
        (NOW + timedelta(hours=60)).isoformat(),
        "--format",
        "tsv",
    )
    rules = {line.split("\t")[6] for line in findings.stdout.splitlines() if "\t140\t" in line}
    assert rules == {"unanswered"}  # which findings are raised did not change
    topic = forumwatch("topic", "market:140", "-c", str(config))
    assert "2 consultation (diagnose)" in topic.stdout


def test_per_developer_totals_name_developers_never_staff(
    tmp_path: Path, demo_site: SampleForumServer
) -> None:
    """Staff (anna_quality) are among those silent on an unanswered topic, but the ledger and
    its totals per developer name only the developers of the topic's app and the forum; a
    re-posted request books each of its stages once."""
    config = write_config(tmp_path, demo_site.url, extra=CREDITS)
    run(config)
    run(config, 1)
    rows = ledger(config)
    assert rows and all("anna_quality" not in r["developers"] for r in rows)
    by_topic = {(r["topic_id"], r["stage"]): r["developers"] for r in rows}
    assert by_topic["101", "acknowledge"] == "dev_ivan"
    assert by_topic["102", "acknowledge"] == "dev_ivan, vendor_petro"  # the app's, the forum's
    assert sorted(s for t, s in by_topic if t == "121") == ["acknowledge", "diagnose"]
    assert not any(t == "120" for t, _ in by_topic)  # the request's earlier topic: once only

    table = forumwatch("credits", "-c", str(config))
    assert table.returncode == 0, table.stderr
    totals = [line for line in table.stdout.splitlines() if line.startswith("per developer:")]
    assert totals == [
        "per developer: dev_ivan: 9 consultation",
        "per developer: signed-files (dev_ivan, vendor_petro): 6 consultation",
    ]

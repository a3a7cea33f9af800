"""The credits ledger over real runs of the demo forum: one booking per breached stage of a wait,
never twice, kept after an answer; `forumwatch credits` and the digest show it."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

from forumwatch.sample_forum.scenario import SamplePost
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


def test_each_breached_stage_is_booked_once_to_the_author_and_kept(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    config = write_config(tmp_path, forum.url, extra=CREDITS)
    run(config)
    first = ledger(config)
    booked = {(r["topic_id"], r["stage"], r["amount"]) for r in first}
    assert booked == {
        ("101", "acknowledge", "1"),
        ("102", "acknowledge", "1"),
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
    assert "Credits owed today: 6 consultation" in digest.stdout


def test_without_credits_configured_nothing_is_booked(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    config = write_config(tmp_path, forum.url)
    run(config)
    assert ledger(config) == []

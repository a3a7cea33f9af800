"""How alerts end, end to end (the real CLI, python-telegram-bot against the Bot-API stand-in,
the demo forum on loopback, a real SQLite file): a chat that only heard of a finding in the
backlog summary hears its resolution; a burst ends a day after its last topic and hands its
still-waiting topics back, each told on its own; alerts held by the storm guard stay quiet at
every later stage."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from forumwatch.sample_forum.scenario import SamplePost
from forumwatch.sample_forum.server import SampleForumServer
from tests.conftest import NOW
from tests.telegram_standin import BotApiStandIn
from tests.test_telegram import (
    ADMIN,
    APP_QUALITY,
    DEVELOPER,
    QUALITY,
    TOKEN,
    about,
    new_topic,
    run,
    telegram_config,
)


@pytest.fixture
def telegram() -> Iterator[BotApiStandIn]:
    with BotApiStandIn(TOKEN) as standin:
        yield standin


def _config(tmp_path: Path, forum: SampleForumServer, telegram: BotApiStandIn, extra: str) -> Path:
    path = telegram_config(tmp_path, forum.url, telegram.url)
    text = path.read_text(encoding="utf-8")
    text = text.replace("escalate_after: 22h", "escalate_after: 72h")  # no escalation meanwhile
    path.write_text(text.replace("    requests_per_second: 20\n", extra), encoding="utf-8")
    return path


def _burst(
    config: Path, forum: SampleForumServer, telegram: BotApiStandIn, first: int, count: int
) -> tuple[int, str]:
    """A forum with a day of history, then `count` topics of one app 5 minutes apart; the run
    three hours on (the first run is the backlog's), with only its own messages kept."""
    new_topic(forum, 290, "Старе питання", NOW - timedelta(days=3))  # the app's usual rate
    assert run(config, NOW)[0] == 0
    for n in range(count):
        new_topic(forum, first + n, f"Підпис падає ({n})", NOW + timedelta(minutes=5 * n))
    telegram.sent.clear()
    return run(config, NOW + timedelta(hours=3))


def test_a_chat_told_in_the_backlog_summary_hears_the_resolution(
    tmp_path: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    config = _config(tmp_path, forum, telegram, "    requests_per_second: 20\n")
    code, output = run(config, NOW)  # the forum's first cycle: one summary per chat
    assert code == 0, output
    summaries = [m for m in telegram.sent if "already ignored" in str(m["text"])]
    assert {m["chat_id"] for m in summaries} >= {DEVELOPER}
    assert about(telegram, 102) == []  # 102 (signed-files) is in the summary, not told alone

    topic = forum.forum.topic(102)
    topic.posts.append(SamplePost("vendor_petro", NOW + timedelta(hours=1), "Fixed in 3.2.3"))
    code, output = run(config, NOW + timedelta(hours=2))
    assert code == 0, output
    resolved = about(telegram, 102)
    assert {m["chat_id"] for m in resolved} >= {DEVELOPER}
    assert all("RESOLVED" in str(m["text"]) for m in resolved)
    assert all("answered by vendor_petro" in str(m["text"]) for m in resolved)


@pytest.mark.slow  # runs over a day and more, paced sends: about 20 s
def test_a_burst_ends_a_day_after_its_last_topic_and_hands_its_topics_back(
    tmp_path: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    config = _config(tmp_path, forum, telegram, "    requests_per_second: 20\n")
    code, output = _burst(config, forum, telegram, 300, 4)
    assert code == 0, output
    burst = [m for m in about(telegram, 300) if "outage" in str(m["text"])]
    assert {m["chat_id"] for m in burst} == {DEVELOPER, QUALITY, APP_QUALITY}
    assert about(telegram, 301, 302, 303) == []  # told inside the burst's one message

    topic = forum.forum.topic(301)  # the developer answers one; the others still wait
    topic.posts.append(SamplePost("vendor_petro", NOW + timedelta(hours=4), "Дивимось"))
    assert run(config, NOW + timedelta(hours=5))[0] == 0
    answered = about(telegram, 301)  # heard of in the burst's message: hears how it ended
    assert answered and all("answered by vendor_petro" in str(m["text"]) for m in answered)

    telegram.sent.clear()
    code, output = run(config, NOW + timedelta(hours=24, minutes=20))  # a day after #303
    assert code == 0, output
    ended = [m for m in about(telegram, 300) if "RESOLVED" in str(m["text"])]
    assert {m["chat_id"] for m in ended} == {DEVELOPER, QUALITY, APP_QUALITY}  # the burst
    for topic_id in (300, 302, 303):  # still waiting: now each is told on its own
        alone = [m for m in about(telegram, topic_id) if "RESOLVED" not in str(m["text"])]
        assert DEVELOPER in {m["chat_id"] for m in alone}, (topic_id, telegram.sent)
    assert [m for m in about(telegram, 301) if "RESOLVED" not in str(m["text"])] == []

    telegram.sent.clear()  # and the next run repeats none of it
    assert run(config, NOW + timedelta(hours=25))[0] == 0
    assert about(telegram, 300, 301, 302, 303) == []


@pytest.mark.slow  # paced sends or several cycles: CI runs it
def test_alerts_held_by_the_storm_guard_stay_quiet_at_every_later_stage(
    tmp_path: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    config = _config(
        tmp_path, forum, telegram, "    requests_per_second: 20\n    hold_alerts_above: 0.2\n"
    )
    assert run(config, NOW)[0] == 0
    for n in range(6):  # three hours apart: no burst, but six at once is a storm
        new_topic(forum, 400 + n, f"Питання {n}", NOW + timedelta(hours=1 + 3 * n))
    telegram.sent.clear()
    code, output = run(config, NOW + timedelta(hours=20))
    assert code == 0, output
    assert about(telegram, *range(400, 406)) == []
    held = [m for m in telegram.sent if m["chat_id"] == ADMIN]
    assert len(held) == 1 and "stored but not sent" in str(held[0]["text"])

    forum.forum.topic(400).posts.append(
        SamplePost("vendor_petro", NOW + timedelta(hours=21), "Дивимось")
    )
    code, output = run(config, NOW + timedelta(hours=100))  # past escalation, one resolved
    assert code == 0, output
    assert about(telegram, *range(400, 406)) == []  # no escalation, no resolution: held
    with sqlite3.connect(tmp_path / "forumwatch.db") as db:
        stages = dict(db.execute("SELECT topic_id, stage FROM findings WHERE topic_id LIKE '40_'"))
    assert stages["400"] == "resolved"
    assert all(stages[str(400 + n)] == "escalated" for n in range(1, 6))


@pytest.mark.slow  # several cycles: CI runs it
def test_a_burst_counts_once_toward_the_storm_guard(
    tmp_path: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    config = _config(tmp_path, forum, telegram, "    requests_per_second: 20\n")
    # more new topics than half the forum's open ones: an outage, not a storm
    code, output = _burst(config, forum, telegram, 500, 10)
    assert code == 0, output
    assert "stored but not sent" not in output
    burst = [m for m in about(telegram, 500) if "outage" in str(m["text"])]
    assert {m["chat_id"] for m in burst} == {DEVELOPER, QUALITY, APP_QUALITY}
    assert not [m for m in telegram.sent if m["chat_id"] == ADMIN]

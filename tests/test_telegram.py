"""Telegram end to end: the real `forumwatch` command, python-telegram-bot doing real HTTP to a Bot
API stand-in on loopback, the demo forum on loopback, a real SQLite file."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from forumwatch.sample_forum.scenario import SamplePost, SampleTopic
from forumwatch.sample_forum.server import SampleForumServer
from forumwatch.telegram_bot.status import STATUS_LISTED
from tests.conftest import NOW, ROOT, forumwatch, write_config
from tests.telegram_standin import BotApiStandIn

TOKEN = "123456:TEST-token-never-printed"
PARTNER, DEVELOPER, QUALITY, STRANGER, ADMIN = 501, 601, -701, 801, 901
APP_QUALITY = -702  # quality staff of the signed-files app only


@pytest.fixture
def telegram() -> Iterator[BotApiStandIn]:
    with BotApiStandIn(TOKEN) as standin:
        yield standin


@pytest.fixture
def config(tmp_path: Path, forum: SampleForumServer, telegram: BotApiStandIn) -> Path:
    return telegram_config(tmp_path, forum.url, telegram.url)


def telegram_config(folder: Path, forum_url: str, api_url: str, language: str = "en") -> Path:
    """The test config with Telegram at the stand-in: the app's developer and quality chats,
    the forum's quality chat, one admin."""
    extra = f"""\
telegram:
  token: ${{FW_TELEGRAM_TOKEN}}
  api_url: {api_url}
  admins: [{ADMIN}]
  language: {language}
"""
    path = write_config(folder, forum_url, extra=extra)
    text = path.read_text(encoding="utf-8").replace(
        "categories: [signed-files], developers: [vendor_petro]}",
        f"categories: [signed-files], developers: [vendor_petro], developer_chats: [{DEVELOPER}], "
        f"quality_chats: [{APP_QUALITY}]}}",
    )
    text = text.replace(
        "    staff: [anna_quality]\n",
        f"    staff: [anna_quality]\n    quality_chats: [{QUALITY}]\n",
    )
    path.write_text(text, encoding="utf-8")
    return path


def cli(config: Path, *args: str) -> tuple[int, str]:
    result = forumwatch(*args, "-c", str(config), env={"FW_TELEGRAM_TOKEN": TOKEN})
    output = result.stdout + result.stderr
    assert TOKEN not in output and TOKEN.split(":")[1] not in output
    return result.returncode, output


def run(config: Path, now: datetime) -> tuple[int, str]:
    return cli(config, "run", "--now", now.isoformat())


def invite(config: Path, *args: str) -> str:
    code, output = cli(config, "invite", *args)
    assert code == 0, output
    match = re.search(r"https://t\.me/forumwatch_test_bot\?start=([\w-]+)", output)
    assert match, output
    return match[1]


def new_topic(forum: SampleForumServer, topic_id: int, title: str, at: datetime) -> None:
    """A customer's topic in the signed-files app's category."""
    post = SamplePost("maria_shop", at, "Signed file is rejected by the tax office")
    forum.forum.topics.append(SampleTopic(topic_id, title, [post], category_id=7))


@pytest.mark.slow  # long waits or several cycles: CI runs it
def test_each_stage_reaches_exactly_the_right_chats_once(
    config: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    telegram.push_message(PARTNER, f"/start {invite(config, 'partner', '--forum', 'market')}")
    code, output = run(config, NOW)  # the forum's first cycle: a backlog
    assert code == 0, output
    partner = telegram.sent_to(PARTNER)
    assert partner[0].startswith("Connected as partner")
    assert len(partner) == 2 and "5 topics already ignored" in partner[1]  # one summary
    assert len(telegram.sent_to(QUALITY)) == 1  # its summary: the escalated ones
    assert telegram.sent_to(STRANGER) == []

    title = "Підпис <b>не</b> працює & падає"
    new_topic(forum, 150, title, NOW + timedelta(hours=1))
    telegram.sent.clear()
    run(config, NOW + timedelta(hours=4))  # 150 is due: developer and partner, not quality
    assert {m["chat_id"] for m in telegram.sent} == {PARTNER, DEVELOPER}
    assert all("&lt;b&gt;не&lt;/b&gt; працює &amp; падає" in m["text"] for m in telegram.sent)
    assert all(m["parse_mode"] == "HTML" for m in telegram.sent)
    assert all(  # the developer sees the customer's question without opening the topic
        "<blockquote>Signed file is rejected by the tax office</blockquote>" in m["text"]
        for m in telegram.sent
    )

    telegram.sent.clear()
    run(config, NOW + timedelta(hours=4, minutes=5))
    assert telegram.sent == []  # a second run sends nothing new

    run(config, NOW + timedelta(hours=26))  # escalated: quality staff as well
    escalated = about(telegram, 150)
    assert {m["chat_id"] for m in escalated} == {PARTNER, DEVELOPER, QUALITY, APP_QUALITY}
    assert APP_QUALITY not in {m["chat_id"] for m in about(telegram, 101)}  # not its app
    assert all("ESCALATED" in str(m["text"]) for m in escalated)

    telegram.sent.clear()
    forum.forum.topic(150).posts.append(
        SamplePost("vendor_petro", NOW + timedelta(hours=27), "Fixed in 2.4")
    )
    run(config, NOW + timedelta(hours=28))
    resolved = about(telegram, 150)
    assert {m["chat_id"] for m in resolved} == {PARTNER, DEVELOPER, QUALITY, APP_QUALITY}
    assert all("answered by vendor_petro after 26 h" in str(m["text"]) for m in resolved)


def about(telegram: BotApiStandIn, *topic_ids: int) -> list[dict[str, object]]:
    """The messages about these topics (their header names them)."""
    return [m for m in telegram.sent for t in topic_ids if f"#{t}</b>" in str(m["text"])]


def test_a_chat_without_an_invite_can_change_nothing(config: Path, telegram: BotApiStandIn) -> None:
    telegram.push_message(STRANGER, "/subscribe forum market")
    telegram.push_message(STRANGER, "/start not-a-real-code")
    run(config, NOW)

    replies = telegram.sent_to(STRANGER)
    assert "not connected" in replies[0]
    assert "unknown, already used or expired" in replies[1]
    with sqlite3.connect(config.parent / "forumwatch.db") as conn:
        assert conn.execute("SELECT count(*) FROM subscriptions").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM chats").fetchone() == (0,)


def test_an_invite_works_once_and_only_group_admins_change_a_group(
    config: Path, telegram: BotApiStandIn
) -> None:
    code = invite(config, "partner")
    group = -1001
    telegram.push_message(group, f"/start {code}", user_id=11, chat_type="group")  # not admin
    telegram.make_admin(group, 12)
    telegram.push_message(group, f"/start {code}", user_id=12, chat_type="group")
    telegram.push_message(PARTNER, f"/start {code}")  # the same code again
    telegram.push_message(group, "/subscribe app signed-files", user_id=11, chat_type="group")
    telegram.push_message(group, "/subscribe app signed-files", user_id=12, chat_type="group")
    telegram.push_message(group, "/list", user_id=11, chat_type="group")
    run(config, NOW)

    replies = telegram.sent_to(group)
    assert "Only this group's admins" in replies[0]
    assert replies[1].startswith("Connected as partner")
    assert "Only this group's admins" in replies[2]
    assert "Following app signed-files (market)" in replies[3]
    assert "follows: app signed-files (market)" in replies[4]
    assert "unknown, already used or expired" in telegram.sent_to(PARTNER)[0]


def test_commands_are_read_once_across_runs(config: Path, telegram: BotApiStandIn) -> None:
    telegram.push_message(STRANGER, "/help")
    run(config, NOW)
    run(config, NOW + timedelta(minutes=5))
    assert len(telegram.sent_to(STRANGER)) == 1


@pytest.mark.slow  # paced sends or several cycles: CI runs it
def test_rate_limit_block_and_migration_are_handled(
    config: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    run(config, NOW)  # the backlog goes by summary; the next finding goes one by one
    new_topic(forum, 150, "Ключ не читається", NOW + timedelta(hours=1))
    new_topic(forum, 151, "Підпис не ставиться", NOW + timedelta(hours=1))
    telegram.rate_limit(DEVELOPER, retry_after=1, times=1)
    telegram.migrate(QUALITY, -100777)
    telegram.sent.clear()

    code, output = run(config, NOW + timedelta(hours=26))  # escalated at once

    assert code == 0, output
    assert len([m for m in about(telegram, 150, 151) if m["chat_id"] == DEVELOPER]) == 2
    assert len([m for m in about(telegram, 150, 151) if m["chat_id"] == -100777]) == 2

    telegram.block(DEVELOPER)
    forum.forum.topic(150).posts.append(SamplePost("vendor_petro", NOW + timedelta(hours=27), "ok"))
    forum.forum.topic(151).posts.append(SamplePost("vendor_petro", NOW + timedelta(hours=27), "ok"))
    code, output = run(config, NOW + timedelta(hours=28))
    assert code == 0, output  # a blocked chat is not a failed run
    resolved = [m for m in about(telegram, 150, 151) if "RESOLVED" in str(m["text"])]
    assert {m["chat_id"] for m in resolved} == {-100777, APP_QUALITY}  # the others still hear
    assert len(resolved) == 4


@pytest.mark.slow  # paced sends or several cycles: CI runs it
def test_long_status_is_split_below_the_limit(
    config: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    for n in range(120):
        new_topic(
            forum, 200 + n, f"Проблема номер {n} " + "довга назва " * 8, NOW - timedelta(hours=30)
        )
    telegram.push_message(QUALITY, "/status", chat_type="group")
    run(config, NOW)  # commands are answered before the poll: nothing stored yet
    run(config, NOW + timedelta(minutes=5))
    telegram.push_message(QUALITY, "/status", chat_type="group")
    telegram.sent.clear()
    run(config, NOW + timedelta(minutes=10))

    replies = telegram.sent_to(QUALITY)
    assert len(replies) > 1
    assert all(len(r) <= 4096 for r in replies)
    total = int(re.search(r"Topics with open findings: (\d+)", replies[0])[1])  # type: ignore[index]
    assert total >= 120  # every ignored topic is counted ...
    assert sum(r.count("• ") for r in replies) == STATUS_LISTED  # ... the longest waits named
    assert f"… and {total - STATUS_LISTED} more topics" in replies[-1]


@pytest.mark.slow  # long waits or several cycles: CI runs it
def test_a_failing_forum_tells_the_admin_once_reminds_later_and_tells_recovery(
    config: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    forum.fail("/latest.json", status=500)
    for minutes in (0, 10, 20):
        run(config, NOW + timedelta(minutes=minutes))
    assert len(telegram.sent_to(ADMIN)) == 1
    assert "cannot be polled" in telegram.sent_to(ADMIN)[0]
    run(config, NOW + timedelta(hours=1, minutes=5))
    assert (
        len(telegram.sent_to(ADMIN)) == 2 and "still cannot be polled" in telegram.sent_to(ADMIN)[1]
    )
    forum.heal()
    run(config, NOW + timedelta(hours=2))
    assert len(telegram.sent_to(ADMIN)) == 3 and "polled again" in telegram.sent_to(ADMIN)[2]
    told = [m for m in telegram.sent if "polled" in str(m["text"])]
    assert {m["chat_id"] for m in told} == {ADMIN}  # health goes to the admins only


def test_dry_run_prints_what_it_would_send_and_sends_nothing(
    config: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    run(config, NOW)
    new_topic(forum, 150, "Ключ не читається", NOW + timedelta(hours=1))
    telegram.sent.clear()
    calls = len(telegram.calls)

    code, output = cli(config, "run", "--now", (NOW + timedelta(hours=4)).isoformat(), "--dry-run")

    assert code == 0, output
    assert f"would send by telegram to {DEVELOPER}:\n    ⚠️ OVERDUE · market #150" in output
    message = output.split(f"would send by telegram to {DEVELOPER}:\n")[1].split("\n  would")[0]
    assert "Ключ не читається" in message and len(message.splitlines()) > 2  # whole, not a line
    assert telegram.sent == [] and len(telegram.calls) == calls  # not even getUpdates


def test_quiet_when_nothing_changed(config: Path) -> None:
    run(config, NOW)
    code, output = run(config, NOW + timedelta(minutes=1))
    assert (code, output) == (0, "")
    code, output = cli(config, "run", "-v", "--now", (NOW + timedelta(minutes=2)).isoformat())
    assert "Findings: 0 opened" in output


def test_a_run_killed_while_sending_loses_nothing_and_repeats_at_most_one(
    config: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    # four separate messages to kill a run between (four topics at once would be one burst)
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("    retry_backoff: 10ms\n", "    retry_backoff: 10ms\n    burst_topics: 0\n"),
        encoding="utf-8",
    )
    run(config, NOW)
    for n in range(4):
        new_topic(forum, 150 + n, f"Тема {n}", NOW + timedelta(hours=1))
    telegram.sent.clear()
    telegram.send_delay = 0.3
    later = (NOW + timedelta(hours=4)).isoformat()
    env = {**os.environ, "FW_TELEGRAM_TOKEN": TOKEN}
    command = [sys.executable, "-m", "forumwatch", "run", "-c", str(config), "--now", later]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(about(telegram, 150, 151, 152, 153)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # mid-delivery, one message in flight
    process.wait()
    assert len(about(telegram, 150, 151, 152, 153)) < 4, "the run finished before the kill"

    telegram.send_delay = 0.0
    code, output = run(config, NOW + timedelta(hours=4))

    assert code == 0, output
    told = Counter((m["chat_id"], t) for t in range(150, 154) for m in about(telegram, t))
    assert set(told) == {(DEVELOPER, t) for t in range(150, 154)}  # the app's developer chat
    assert sum(told.values()) - len(told) <= 1  # at most the one in flight came twice


def test_daemon_answers_commands_polls_and_stops_cleanly_on_sigterm(
    config: Path, telegram: BotApiStandIn
) -> None:
    # the demo forum is dated around NOW, months ago: widen lookback so the daemon's real clock
    # still sees its topics
    text = config.read_text(encoding="utf-8").replace(
        "    retry_backoff: 10ms\n", "    retry_backoff: 10ms\n    lookback: 3650d\n    poll: 1h\n"
    )
    config.write_text("poll_every: 1h\n" + text, encoding="utf-8")
    telegram.push_message(STRANGER, "/help")
    env = {**os.environ, "FW_TELEGRAM_TOKEN": TOKEN}
    command = [sys.executable, "-m", "forumwatch", "daemon", "-c", str(config)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
            telegram.sent_to(STRANGER) and telegram.sent_to(QUALITY)
        ):
            time.sleep(0.1)
        assert "forumwatch tells you" in telegram.sent_to(STRANGER)[0]  # a command, answered
        assert "already ignored" in telegram.sent_to(QUALITY)[0]  # the first cycle ran
        telegram.push_message(STRANGER, "/list")  # answered within seconds, not next cycle
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(telegram.sent_to(STRANGER)) < 2:
            time.sleep(0.1)
        assert "not connected" in telegram.sent_to(STRANGER)[1]
        code, refused = cli(config, "run")  # cron beside the daemon: refused, and says why
        assert code == 1 and "the forumwatch daemon (pid" in refused, refused
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "forumwatch: daemon stopped" in output
    assert TOKEN not in output
    code, later = cli(config, "run", "-v")  # a real-clock run: the lock was released
    assert code == 0 and "another forumwatch run is in progress" not in later, later


def test_a_muted_topic_stays_quiet_in_that_chat_only(
    config: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    telegram.push_message(PARTNER, f"/start {invite(config, 'partner', '--forum', 'market')}")
    run(config, NOW)
    new_topic(forum, 150, "Ключ не читається", NOW + timedelta(hours=1))
    new_topic(forum, 151, "Підпис не ставиться", NOW + timedelta(hours=1))
    telegram.push_message(PARTNER, f"/mute {forum.url}/t/klyuch/150 3d")
    telegram.push_message(PARTNER, "/mute https://elsewhere.example/t/x/150 3d")

    run(config, NOW + timedelta(hours=4))

    replies = telegram.sent_to(PARTNER)
    assert any("No messages about market #150 to this chat until" in r for r in replies)
    assert any(r.startswith("Write /mute followed by") for r in replies)  # not a watched forum
    assert {m["chat_id"] for m in about(telegram, 150)} == {DEVELOPER}
    assert {m["chat_id"] for m in about(telegram, 151)} == {DEVELOPER, PARTNER}


@pytest.mark.slow  # eight runs over two days, paced sends: about a minute
def test_developers_are_warned_before_a_deadline_and_escalations_reminded_daily(
    config: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("  language: en\n", "  language: en\n  warn_before: 30m\n"))
    run(config, NOW)
    new_topic(forum, 150, "Ключ не читається", NOW + timedelta(hours=1))  # due at +3 h

    for minutes in (160, 170):  # 20 and 10 minutes before the deadline
        run(config, NOW + timedelta(minutes=minutes))
    heads_up = about(telegram, 150)
    assert [m["chat_id"] for m in heads_up] == [DEVELOPER]  # once, to the developer only
    assert "DEADLINE IN 20 min" in str(heads_up[0]["text"])

    run(config, NOW + timedelta(hours=26))  # escalated
    telegram.sent.clear()
    for hours in (30, 49, 50, 51):
        run(config, NOW + timedelta(hours=hours))
    reminders = about(telegram, 150)
    assert {m["chat_id"] for m in reminders} == {DEVELOPER, QUALITY, APP_QUALITY}
    assert len(reminders) == 3  # one round (24 h after escalating), each told chat once
    assert all(str(m["text"]).startswith("🔁 ") for m in reminders)


def test_a_backlog_summary_counts_topics_not_findings(
    tmp_path: Path, demo_site: SampleForumServer, telegram: BotApiStandIn
) -> None:
    """The demo forum has a burst of three topics and a re-posted request: findings outnumber
    topics there, and the summary a chat gets names the topics."""
    config = telegram_config(tmp_path, demo_site.url, telegram.url)
    telegram.push_message(PARTNER, f"/start {invite(config, 'partner', '--forum', 'market')}")

    code, output = run(config, NOW)

    assert code == 0, output
    listed = forumwatch(
        "findings",
        "-c",
        str(config),
        "--now",
        NOW.isoformat(),
        "--format",
        "json",
        env={"FW_TELEGRAM_TOKEN": TOKEN},
    )
    found = json.loads(listed.stdout)
    topics = {str(item["topic_id"]) for item in found if item["rule"] != "burst"}
    assert len(found) > len(topics)  # the case that matters: more findings than topics
    summary = telegram.sent_to(PARTNER)[1]
    assert summary.startswith(f"{len(topics)} topics already ignored"), summary


def test_a_paid_topic_is_marked_in_the_chats_language(
    tmp_path: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    """python-telegram-bot against the stand-in: the message of a topic on the `paid` SLA
    policy says so, with its deadline, in the chat's language."""
    config = telegram_config(tmp_path, forum.url, telegram.url, language="uk")
    paid = "sla_policies:\n  - {name: paid, match: {tags: [paid]}, acknowledge: 30m}\n"
    config.write_text(config.read_text(encoding="utf-8") + paid, encoding="utf-8")
    run(config, NOW)  # the backlog
    new_topic(forum, 150, "Підпис не працює", NOW + timedelta(hours=1))
    forum.forum.topic(150).tags = ["paid"]
    new_topic(forum, 151, "Підпис не працює теж", NOW + timedelta(hours=1))
    telegram.sent.clear()
    code, output = run(config, NOW + timedelta(hours=1, minutes=31))
    assert code == 0, output
    told = about(telegram, 150)
    assert told and {m["chat_id"] for m in told} == {DEVELOPER}
    assert all("💳 платна тема · SLA 30 хв" in str(m["text"]) for m in told)
    assert about(telegram, 151) == []  # the ordinary topic has 2 h

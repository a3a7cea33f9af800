"""What Telegram shows of bursts and of /status, end to end: the real `forumwatch` command,
python-telegram-bot talking to the Bot API stand-in, the sample forum on loopback, a real
SQLite file. A burst's message names its topics; /status counts comments and topics right,
lists a topic once, leaves out what the chat muted; links follow the forum's configured url."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from forumwatch.config.load import load_config
from forumwatch.sample_forum.scenario import SamplePost, SampleTopic
from forumwatch.sample_forum.server import SampleForumServer
from forumwatch.store import Store
from forumwatch.telegram_bot import status as status_module
from forumwatch.telegram_bot.commands import Incoming, handle
from forumwatch.telegram_bot.links import Links
from forumwatch.telegram_bot.notifier import forum_homes
from tests.conftest import NOW
from tests.telegram_standin import BotApiStandIn
from tests.test_telegram import (
    APP_QUALITY,
    DEVELOPER,
    PARTNER,
    QUALITY,
    TOKEN,
    about,
    invite,
    new_topic,
    run,
    telegram_config,
)

LINE = re.compile(r'^• (?:#\d+ )?<a href="(?P<url>[^"]+)">', re.MULTILINE)


@pytest.fixture
def telegram() -> Iterator[BotApiStandIn]:
    with BotApiStandIn(TOKEN) as standin:
        yield standin


def status_lines(reply: str) -> dict[str, str]:
    """Topic id → its /status line (the id is the link's last path segment)."""
    lines = [line for line in reply.splitlines() if line.startswith("• ")]
    by_id = {}
    for line in lines:
        match = LINE.match(line)
        assert match, line
        topic_id = match["url"].rstrip("/").rsplit("/", 1)[-1]
        assert topic_id not in by_id, f"#{topic_id} listed twice:\n{reply}"
        by_id[topic_id] = line
    return by_id


def status(telegram: BotApiStandIn, config: Path, chat: int, moment_hours: float) -> str:
    """The /status reply `chat` gets from a run at NOW + `moment_hours`."""
    telegram.push_message(chat, "/status", chat_type="group" if chat < 0 else "private")
    before = len(telegram.sent_to(chat))
    code, output = run(config, NOW + timedelta(hours=moment_hours))
    assert code == 0, output
    return next(r for r in telegram.sent_to(chat)[before:] if "open findings" in r.lower())


def open_topics(database: Path) -> tuple[set[str], int]:
    """The topics with an open finding, and how many open findings there are."""
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT topic_id FROM findings WHERE resolved_at IS NULL").fetchall()
    return {r[0] for r in rows}, len(rows)


# ---- a burst's message -----------------------------------------------------------------------


def test_a_burst_message_names_and_links_every_topic_it_groups(
    tmp_path: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    config = telegram_config(tmp_path, forum.url, telegram.url)
    text = config.read_text(encoding="utf-8")  # twelve new of twenty is no alert storm here
    text = text.replace(
        "    retry_backoff: 10ms\n", "    retry_backoff: 10ms\n    hold_alerts_above: 100%\n"
    )
    config.write_text(text, encoding="utf-8")
    run(config, NOW)  # the backlog; the burst comes after
    for n in range(12):  # twelve customers within an hour: one outage
        at = NOW + timedelta(minutes=5 * n)
        post = SamplePost(f"shop_{n}", at, "Signed files are rejected since this morning")
        title = f"Підпис <{n}> & падає"
        forum.forum.topics.append(SampleTopic(300 + n, title, [post], category_id=7))

    code, output = run(config, NOW + timedelta(hours=3))

    assert code == 0, output
    (message,) = [m for m in telegram.sent_to(DEVELOPER) if "likely outage" in m]
    assert "likely outage: 12 topics at once" in message
    listed = re.findall(r'^• #(\d+) <a href="([^"]+)">([^<]*)</a> — waiting (.+)$', message, re.M)
    assert [int(topic_id) for topic_id, *_ in listed] == list(range(300, 310))  # ten named
    for topic_id, url, title, _wait in listed:
        assert url.startswith(f"{forum.url}/t/") and url.endswith(f"/{topic_id}")
        assert title == f"Підпис &lt;{int(topic_id) - 300}&gt; &amp; падає"  # escaped
    assert listed[0][3] == "3 h" and listed[-1][3] == "2 h"  # each topic's own wait
    assert "… and 2 more topics" in message
    told = about(telegram, 300)  # one message, to the developer and the quality staff at once
    assert {m["chat_id"] for m in told} == {DEVELOPER, QUALITY, APP_QUALITY}
    assert all(m["text"] == message for m in told)


# ---- /status ---------------------------------------------------------------------------------


def test_status_counts_comments_and_topics_and_lists_each_topic_once(
    tmp_path: Path, demo_site: SampleForumServer, telegram: BotApiStandIn
) -> None:
    config = telegram_config(tmp_path, demo_site.url, telegram.url)
    run(config, NOW)  # stores the demo's findings, the burst of 130-132 among them

    reply = status(telegram, config, QUALITY, 0.1)

    lines = status_lines(reply)  # one line per topic (asserted inside)
    topics, findings = open_topics(tmp_path / "forumwatch.db")
    assert findings > len(topics)  # 130 holds the burst and its own finding
    assert set(lines) == topics
    assert f"Topics with open findings: {len(topics)}</b>" in reply
    assert "2 comments, none from the developer" in lines["102"]  # not "0 comments"
    assert "no answer at all" in lines["130"]
    for topic_id in ("130", "131", "132"):
        assert "🚨 part of a likely outage: 3 topics at once" in lines[topic_id]
    assert " 0 comments" not in reply and " 0 topics" not in reply


def test_status_total_and_the_rest_count_topics_not_findings(
    tmp_path: Path,
    demo_site: SampleForumServer,
    telegram: BotApiStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = telegram_config(tmp_path, demo_site.url, telegram.url, language="uk")
    run(config, NOW)
    monkeypatch.setenv("FW_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setattr(status_module, "STATUS_LISTED", 3)
    store = Store(tmp_path / "forumwatch.db")
    try:
        replies = handle(store, load_config(config), Incoming(QUALITY, "/status"), NOW)
    finally:
        store.close()

    topics, findings = open_topics(tmp_path / "forumwatch.db")
    assert findings > len(topics)
    text = "\n".join(replies)
    assert text.startswith(f"<b>Теми з відкритими порушеннями: {len(topics)}</b>")
    assert len(status_lines(text)) == 3
    rest = len(topics) - 3
    assert f"… і ще {rest} тем" in text or f"… і ще {rest} теми" in text


@pytest.mark.slow  # runs over the days of a mute, paced sends: about 25 s
def test_a_muted_topic_leaves_that_chats_status_until_the_mute_ends(
    tmp_path: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    config = telegram_config(tmp_path, forum.url, telegram.url)
    telegram.push_message(PARTNER, f"/start {invite(config, 'partner', '--forum', 'market')}")
    run(config, NOW)
    telegram.push_message(PARTNER, f"/mute {forum.url}/t/zvit/101 3d")

    muted = status_lines(status(telegram, config, PARTNER, 0.1))
    others = status_lines(status(telegram, config, QUALITY, 0.2))
    later = status_lines(status(telegram, config, PARTNER, 73))  # the mute has ended

    assert "101" not in muted and "102" in muted
    assert "101" in others  # muted in that chat only
    assert "101" in later
    assert len(muted) == len(later) - 1


# ---- links follow the forum's configured url ---------------------------------------------------


@pytest.mark.slow  # long waits or several cycles: CI runs it
def test_links_follow_the_forums_configured_url_after_it_moved(
    tmp_path: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    config = telegram_config(tmp_path, forum.url, telegram.url)
    run(config, NOW)
    new_topic(forum, 150, "Ключ не читається", NOW + timedelta(hours=1))
    run(config, NOW + timedelta(hours=4))  # 150 is due: its developer is told
    assert about(telegram, 150)
    moved = forum.url.replace("127.0.0.1", "localhost")  # the same forum on a new host
    config.write_text(config.read_text(encoding="utf-8").replace(forum.url, moved))
    forum.forum.topics = [t for t in forum.forum.topics if t.id != 150]  # deleted: 404 now
    telegram.sent.clear()

    reply = status(telegram, config, QUALITY, 7)  # answered before the poll; a full scan

    urls = LINE.findall(reply)
    assert urls and all(url.startswith(f"{moved}/t/") for url in urls), reply
    (resolved,) = [m for m in about(telegram, 150) if m["chat_id"] == DEVELOPER]
    assert "topic deleted" in str(resolved["text"])  # its stored link was never re-read
    assert f'<a href="{moved}/t/' in str(resolved["text"])
    assert forum.url not in str(resolved["text"])
    later = status(telegram, config, QUALITY, 7.5)  # the forums table holds the new url now
    assert all(url.startswith(f"{moved}/t/") for url in LINE.findall(later))


def test_a_moved_forum_remembers_where_it_was_for_links_stored_under_it(
    tmp_path: Path, telegram: BotApiStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = "https://old.example/forum", "https://new.example/community"
    config = telegram_config(tmp_path, new, telegram.url)
    monkeypatch.setenv("FW_TELEGRAM_TOKEN", TOKEN)
    settings = load_config(config)
    store = Store(tmp_path / "forumwatch.db")
    try:
        store.note_forum("market", "discourse", old)  # the url the last poll used
        forum_homes(store, settings)  # a run starts: the old url is remembered
        store.note_forum("market", "discourse", new)  # ... before the poll overwrites it
        homes = forum_homes(store, settings)
    finally:
        store.close()

    assert homes["market"].before == (old,)
    links = Links(homes)
    assert links.url("market", f"{old}/t/klyuch/5?page=2") == f"{new}/t/klyuch/5?page=2"
    assert links.url("market", "http://old.example:8080/t/5") == "https://new.example/t/5"
    assert links.url("market", f"{new}/t/klyuch/5") == f"{new}/t/klyuch/5"


@pytest.mark.slow  # five cycles over two days, then a digest
def test_status_the_digest_and_findings_count_the_same_topics_after_days_of_cycles(
    tmp_path: Path, demo_site: SampleForumServer, telegram: BotApiStandIn
) -> None:
    """One count everywhere: after cycles over two days on the demo forum (a burst of three
    topics and a re-post: more findings than topics), a partner's /status, the day's digest and
    `findings` name the same number of ignored topics."""
    import json

    from tests.conftest import forumwatch

    config = telegram_config(tmp_path, demo_site.url, telegram.url)
    telegram.push_message(PARTNER, f"/start {invite(config, 'partner', '--forum', 'market')}")
    for hours in (-24, -12, 0, 6):
        code, output = run(config, NOW + timedelta(hours=hours))
        assert code == 0, output
    day_end = (NOW + timedelta(days=1)).replace(hour=0, minute=0)
    last = day_end - timedelta(seconds=30)  # the last cycle of the day
    reply = status(telegram, config, PARTNER, (last - NOW).total_seconds() / 3600)
    env = {"FW_TELEGRAM_TOKEN": TOKEN}

    listed = forumwatch(
        "findings", "-c", str(config), "--now", last.isoformat(), "--format", "json", env=env
    )
    digest = forumwatch(
        "digest", "-c", str(config), "--date", NOW.date().isoformat(), "--format", "text", env=env
    )

    found = json.loads(listed.stdout)
    topics = {item["topic_id"] for item in found if item["rule"] != "burst"}
    assert len(found) > len(topics)  # the case that matters
    assert f"Topics with open findings: {len(topics)}" in reply
    assert f"\n{len(topics)} ігнорован" in digest.stdout, digest.stdout  # the config's uk

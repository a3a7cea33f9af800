"""People who never count: bots, auto-responders and the forum's automation neither answer nor
mask a silence, and their own topics raise nothing."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from forumwatch.config.models import ForumConfig
from forumwatch.model import Author
from forumwatch.roles import responders_for
from forumwatch.sample_forum.scenario import SamplePost, SampleTopic
from forumwatch.sample_forum.server import SampleForumServer
from tests.conftest import NOW, forumwatch, write_config
from tests.rule_scenarios import (
    CUSTOMER,
    DEVELOPER,
    RESPONDERS,
    START,
    Thread,
    findings,
    hours,
    minutes,
)

BOT = Author("helpdesk_bot", "Auto-reply")
WITH_BOT = replace(RESPONDERS, ignored=frozenset({"HelpDesk_Bot"}))  # compared case-insensitively


def test_a_bot_reply_neither_answers_nor_masks() -> None:
    thread = Thread().reply(BOT, minutes(1))
    assert set(findings(thread, START + hours(3), WITH_BOT)) == {"unanswered"}
    assert set(findings(thread, START + hours(3))) == {"masked_silence"}  # unless ignored


def test_a_bot_after_a_follow_up_does_not_answer_it() -> None:
    thread = Thread().reply(DEVELOPER, hours(1)).reply(CUSTOMER, hours(2)).reply(BOT, hours(2.1))
    assert set(findings(thread, START + hours(27), WITH_BOT)) == {"follow_up_ignored"}


def test_a_topic_a_bot_started_raises_nothing() -> None:
    thread = Thread(author=BOT).reply(CUSTOMER, hours(1))
    assert findings(thread, START + hours(50), WITH_BOT) == {}


def test_the_forums_own_automation_is_ignored_without_configuration() -> None:
    forum = ForumConfig(
        id="market", engine="discourse", url="https://forum.example", ignore_users=["zendesk"]
    )
    responders = responders_for(forum, Thread().topic())
    assert {"system", "discobot", "zendesk"} <= responders.ignored
    thread = Thread().reply(Author("discobot"), minutes(5))
    assert set(findings(thread, START + hours(3), responders)) == {"unanswered"}


def test_on_a_live_forum_a_bots_reply_neither_answers_nor_masks(
    forum: SampleForumServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path, forum.url, extra="    ignore_users: [helpdesk_bot]\n")
    started = NOW - timedelta(hours=5)
    forum.forum.topics.append(
        SampleTopic(
            140,
            "Помилка при вході",
            [
                SamplePost("klient_a", started, "Не можу увійти після оновлення."),
                SamplePost("helpdesk_bot", started + timedelta(minutes=1), "Ваш запит прийнято!"),
                SamplePost("discobot", started + timedelta(minutes=2), "Hi! I'm discobot."),
            ],
        )
    )
    assert forumwatch("run", "-c", str(config), "--now", NOW.isoformat()).returncode == 0
    found = forumwatch("findings", "-c", str(config), "--format", "json", "--now", NOW.isoformat())
    rules = {row["rule"] for row in json.loads(found.stdout) if row["topic_id"] == "140"}
    assert rules == {"unanswered"}  # not "masked": nobody real commented
    history = forumwatch("topic", "-c", str(config), "market:140", "--format", "json")
    posts = json.loads(history.stdout)["posts"]
    assert [(p["author"], p["role"], p["counts"]) for p in posts[1:]] == [
        ("helpdesk_bot", "ignored", False),
        ("discobot", "ignored", False),
    ]
    assert posts[1]["why"] == "ignored user (bot or automation): never counts"

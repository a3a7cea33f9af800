"""People who never count: bots, auto-responders and the forum's automation neither answer nor
mask a silence, and their own topics raise nothing."""

from __future__ import annotations

from dataclasses import replace

from forumwatch.config import ForumConfig
from forumwatch.model import Author
from forumwatch.roles import responders_for
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

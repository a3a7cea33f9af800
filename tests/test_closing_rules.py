"""Closing words in the rules: the author's own "thanks, it works" after somebody's answer ends
the wait; a thanks that still asks, still reports a problem or still waits does not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from forumwatch.cycle.resolution import resolution_text
from forumwatch.model import Author, ClosingWords, Responders
from rules.history import ticket
from tests.rule_scenarios import (
    CUSTOMER,
    DEVELOPER,
    INTEGRATOR,
    PASSER_BY,
    RESPONDERS,
    SLA,
    STAFF,
    START,
    Thread,
    check,
    findings,
    hours,
)

LATER = START + hours(100)
HELPDESK_BOT = Author("helpdesk_bot", "Help desk")  # every deadline of these topics has long passed

CLOSING = [
    "Дякую, все запрацювало!",
    "Вирішено, дякую!",
    "Спасибо, вопрос снят.",
    "Всё заработало, огромное спасибо!",
    "Thanks, works now.",
    "Perfect, that solved it. Thank you!",
    "Дякую! 🙏",
]
STILL_WAITING = [
    "Дякую! А як зробити те саме для другого складу?",
    "Thank you! Also, how do I export to CSV?",
    "Дякую, але тепер звіт порожній",
    "Спасибо! Работает, но медленно. Можно ускорить?",
    "Thanks, but it still fails with error 500",
    "Не допомогло, дякую",
]


@pytest.mark.parametrize("words", CLOSING)
def test_closing_words_after_the_developer_answered_raise_no_follow_up(words: str) -> None:
    thread = Thread().says(DEVELOPER, hours(1), "Update to 3.2.1").says(CUSTOMER, hours(3), words)
    assert findings(thread, LATER) == {}


@pytest.mark.parametrize("words", STILL_WAITING)
def test_a_thanks_that_still_asks_or_reports_a_problem_is_a_follow_up(words: str) -> None:
    thread = Thread().says(DEVELOPER, hours(1), "Update to 3.2.1").says(CUSTOMER, hours(3), words)
    found = findings(thread, LATER)
    assert set(found) == {"follow_up_ignored"}
    assert found["follow_up_ignored"].opened_at == START + hours(3)


def test_an_integrators_answer_confirmed_by_the_author_ends_the_masked_silence() -> None:
    asked = Thread().says(INTEGRATOR, hours(2), "Вимкніть друк через PDF")
    before = findings(asked, LATER)
    assert set(before) == {"masked_silence"}
    confirmed = asked.says(CUSTOMER, hours(5), "Дякую, все запрацювало!").topic()
    assert findings(confirmed, LATER) == {}
    text = resolution_text(before["masked_silence"], confirmed, RESPONDERS, LATER)
    assert text == "confirmed by the author after 5 h (answer by integrator_max, #2)"


def test_staff_passing_it_on_and_the_author_waiting_still_owes_a_diagnosis() -> None:
    passed = (
        Thread()
        .says(STAFF, hours(1), "Передали розробнику")
        .says(CUSTOMER, hours(2), "Дякую, чекаю.")
    )
    assert set(findings(passed, LATER)) == {"no_diagnosis", "follow_up_ignored"}
    solved = (
        Thread()
        .says(STAFF, hours(1), "Оновіть модуль")
        .says(CUSTOMER, hours(2), "Спасибо, вопрос снят.")
    )
    assert findings(solved, LATER) == {}


def test_thanks_before_anybody_else_replied_never_closes() -> None:
    early = Thread().says(CUSTOMER, hours(1), "Дякую заздалегідь")
    assert set(findings(early, LATER)) == {"masked_silence"}  # the author's own bump
    alone = Thread().says(CUSTOMER, hours(1), "Дякую, все запрацювало!")
    assert set(findings(alone, LATER)) == {"masked_silence"}  # nobody answered anything


def test_a_bots_reply_is_no_answer_for_closing_words_to_confirm() -> None:
    bot = replace(RESPONDERS, ignored=frozenset({"HelpDesk_Bot"}))
    thread = (
        Thread()
        .says(HELPDESK_BOT, hours(1), "Дякуємо, ваш запит прийнято")
        .says(CUSTOMER, hours(2), "Дякую!")
    )
    assert set(findings(thread, LATER, bot)) == {"masked_silence"}  # the author's own bump
    read = ticket(thread.topic(), bot, SLA, LATER)
    assert read.posts[2].why != "closing words by the author: the wait ends"
    assert read.status == "waiting for acknowledgement"


def test_a_later_post_starts_a_new_wait() -> None:
    answered = (
        Thread()
        .says(DEVELOPER, hours(1), "Update to 3.2.1")
        .says(CUSTOMER, hours(2), "Thanks, works now.")
        .says(PASSER_BY, hours(30), "У мене та сама проблема")
    )
    found = findings(answered, LATER)
    assert set(found) == {"follow_up_ignored"}
    assert found["follow_up_ignored"].opened_at == START + hours(30)

    masked = (
        Thread()
        .says(INTEGRATOR, hours(1), "Try the PDF switch")
        .says(CUSTOMER, hours(2), "Perfect, that solved it. Thank you!")
        .says(PASSER_BY, hours(30), "Same problem here, and the switch does not help")
    )
    found = findings(masked, LATER)
    assert set(found) == {"masked_silence"}
    assert found["masked_silence"].opened_at == START + hours(30)
    assert check("masked_silence", masked, START + hours(31)) is None  # due 2 h after it


def test_a_forum_can_turn_closing_words_off_or_add_its_own() -> None:
    thread = Thread().says(DEVELOPER, hours(1), "Update").says(CUSTOMER, hours(3), "Дякую, працює")
    off = replace(RESPONDERS, closing=ClosingWords(enabled=False))
    assert set(findings(thread, LATER, off)) == {"follow_up_ignored"}
    slang = Thread().says(DEVELOPER, hours(1), "Update").says(CUSTOMER, hours(3), "Гуд, полетіло")
    assert set(findings(slang, LATER)) == {"follow_up_ignored"}
    own: Responders = replace(RESPONDERS, closing=ClosingWords(closing=frozenset({"полетіло"})))
    assert findings(slang, LATER, own) == {}


def test_the_ticket_says_which_words_ended_the_wait_and_which_did_not() -> None:
    thread = (
        Thread()
        .says(INTEGRATOR, hours(1), "Try the PDF switch")
        .says(CUSTOMER, hours(2), "Дякую! А як зробити те саме для другого складу?")
        .says(INTEGRATOR, hours(3), "Так само, у налаштуваннях складу")
        .says(CUSTOMER, hours(4), "Дякую, все запрацювало!")
    )
    read = ticket(thread.topic(), RESPONDERS, SLA, LATER)
    why = {p.number: p.why for p in read.posts}
    assert why[3].startswith("thanks, but a question remains")
    assert why[3].endswith("still waiting")
    assert why[5] == "closing words by the author: the wait ends"
    assert read.status == (
        "confirmed by the author (post 5): the wait ended; the developer never answered"
    )
    acknowledge = read.deadlines[0]
    assert acknowledge.what == "acknowledge"
    assert acknowledge.status(LATER) == (
        "missed by 2 h, then ended by the author's closing words (post 5)"
    )

"""How a finding ended, in the reader's language. The cycle stores a resolution in English
("answered by dev_ivan after 6 h, then closed"; cycle/resolution.py); the digest, the bot and
the console say it in uk, ru or en when they show it. A text of another shape is shown as it
is. A test checks that every language has every phrase with the same placeholders."""

from __future__ import annotations

import re
from collections.abc import Callable

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "units": "min|h",
        "answered_by": "answered by {who} after {wait}",
        "answer_by": "answer by {who}, #{number}",
        "confirmed_after": "confirmed by the author after {wait}",
        "ended_unanswered": "{state} without an answer after {wait} of waiting",
        "deleted_after": "topic deleted after {wait} of waiting",
        "no_longer_applies": "no longer applies (the topic or the config changed) after {wait}",
        "then": "then {state}",
        "state_closed": "closed",
        "state_solved": "marked solved",
        "state_archived": "archived",
    },
    "uk": {
        "units": "хв|год",
        "answered_by": "відповів {who} через {wait}",
        "answer_by": "відповідь {who}, #{number}",
        "confirmed_after": "автор підтвердив через {wait}",
        "ended_unanswered": "{state} без відповіді після {wait} очікування",
        "deleted_after": "тему видалено після {wait} очікування",
        "no_longer_applies": "більше не стосується (змінилася тема чи конфігурація) через {wait}",
        "then": "потім {state}",
        "state_closed": "закрито",
        "state_solved": "позначено вирішеною",
        "state_archived": "заархівовано",
    },
    "ru": {
        "units": "мин|ч",
        "answered_by": "ответил {who} через {wait}",
        "answer_by": "ответ {who}, #{number}",
        "confirmed_after": "автор подтвердил через {wait}",
        "ended_unanswered": "{state} без ответа после {wait} ожидания",
        "deleted_after": "тема удалена после {wait} ожидания",
        "no_longer_applies": "больше не относится (изменилась тема или конфигурация) через {wait}",
        "then": "затем {state}",
        "state_closed": "закрыто",
        "state_solved": "отмечено решённой",
        "state_archived": "в архиве",
    },
}

_WAIT = r"(\d+ (?:h|min))"
_STATE = r"(closed|marked solved|archived)"
_THEN = rf"(?:, then {_STATE})?"
_ANSWER = r"(?: \(answer by (.+), #(\d+)\))?"
_STATES = {"closed": "closed", "marked solved": "solved", "archived": "archived"}


def resolution_in(text: str, language: str) -> str:
    """The stored resolution `text` in `language` (English, or as stored, when unknown)."""
    words = WORDS.get(language)
    if words is None or language == "en":
        return text
    for pattern, say in _SHAPES:
        found = pattern.fullmatch(text)
        if found:
            return say(words, found)
    return text


def _wait(words: dict[str, str], stored: str) -> str:
    """'31 h' or '45 min' as cycle/resolution.py wrote it, in these words."""
    number, unit = stored.split()
    short, long = words["units"].split("|")
    return f"{number} {long if unit == 'h' else short}"


def _then(words: dict[str, str], state: str | None) -> str:
    if not state:
        return ""
    return ", " + words["then"].format(state=words[f"state_{_STATES[state]}"])


def _answered(words: dict[str, str], m: re.Match[str]) -> str:
    return words["answered_by"].format(who=m[1], wait=_wait(words, m[2])) + _then(words, m[3])


def _confirmed(words: dict[str, str], m: re.Match[str]) -> str:
    by = f" ({words['answer_by'].format(who=m[2], number=m[3])})" if m[2] else ""
    return words["confirmed_after"].format(wait=_wait(words, m[1])) + by + _then(words, m[4])


def _ended(words: dict[str, str], m: re.Match[str]) -> str:
    state = words[f"state_{_STATES[m[1]]}"]
    return words["ended_unanswered"].format(state=state, wait=_wait(words, m[2]))


_SHAPES: list[tuple[re.Pattern[str], Callable[[dict[str, str], re.Match[str]], str]]] = [
    (re.compile(rf"answered by (.+) after {_WAIT}{_THEN}"), _answered),
    (re.compile(rf"confirmed by the author after {_WAIT}{_ANSWER}{_THEN}"), _confirmed),
    (re.compile(rf"{_STATE} without an answer after {_WAIT} of waiting"), _ended),
    (
        re.compile(rf"topic deleted after {_WAIT} of waiting"),
        lambda words, m: words["deleted_after"].format(wait=_wait(words, m[1])),
    ),
    (
        re.compile(rf"no longer applies \(the topic or the config changed\) after {_WAIT}"),
        lambda words, m: words["no_longer_applies"].format(wait=_wait(words, m[1])),
    ),
]

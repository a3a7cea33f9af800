"""One language's words for the digest, with the helpers its templates call (`t`, `count`,
`date`, `wait`...), and stored resolutions (written in English by the cycle) re-worded in that
language. The words themselves are in digests/phrases.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from digests.phrases import DEFAULT_LANGUAGE, PHRASES, book, plural


class Phrases:
    """One language's words, with the helpers the templates call (`t`, `count`, `date`...)."""

    def __init__(self, language: str) -> None:
        self.language = language if language in PHRASES else DEFAULT_LANGUAGE
        self.words = book(self.language)

    def t(self, key: str, **fields: object) -> str:
        return self.words[key].format(**fields)

    def word(self, key: str, n: float) -> str:
        """The plural form of phrase `key` for `n`."""
        return plural(n, self.words[key])

    def count(self, n: int, key: str) -> str:
        """'5 new topics', '5 нових тем'."""
        return f"{n} {self.word(key, n)}"

    def date(self, day: date, *, weekday: bool = True) -> str:
        """'Wednesday, 4 March 2026', 'середа, 4 березня 2026' (or without the weekday)."""
        month = self.words["months"].split("|")[day.month - 1]
        text = f"{day.day} {month} {day.year}"
        if not weekday:
            return text
        return f"{self.words['weekdays'].split('|')[day.weekday()]}, {text}"

    def number(self, value: float, digits: int = 1, *, sign: bool = False) -> str:
        """A number as this language writes it: '5.1' in English, '5,1' in uk and ru; whole
        numbers without decimals."""
        text = f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".") if value == int(value) else text
        return text if self.language == "en" else text.replace(".", ",")

    def hours(self, value: float | None) -> str:
        if value is None:
            return "–"
        return f"{self.number(value)} {self.words['units'].split('|')[1]}"

    def percent(self, share: float | None) -> str:
        return "–" if share is None else f"{share:.0%}"

    def wait(self, waited: timedelta) -> str:
        """A waiting time: minutes under an hour, else whole hours ('31 h', '31 год')."""
        minutes = max(0, int(waited.total_seconds() // 60))
        short, long = self.words["units"].split("|")
        return f"{minutes} {short}" if minutes < 60 else f"{minutes // 60} {long}"

    def rule(self, rule: str) -> str:
        return self.words.get(f"rule_{rule}", rule)

    def stage(self, stage: str) -> str:
        return self.words.get(f"stage_{stage}", stage)

    def resolution(self, text: str) -> str:
        """A stored resolution (written in English by the cycle, see cycle/resolution.py) in
        this language; a text of another shape is shown as it is."""
        for pattern, say in _RESOLUTIONS:
            found = pattern.fullmatch(text)
            if found:
                return say(self, found)
        return text

    def _wait_of(self, stored: str) -> str:
        """'31 h' or '45 min', as cycle/resolution.py wrote it, in this language."""
        number, unit = stored.split()
        minutes = int(number) * (60 if unit == "h" else 1)
        return self.wait(timedelta(minutes=minutes))

    def _state(self, stored: str) -> str:
        key = {"closed": "closed", "marked solved": "solved", "archived": "archived"}[stored]
        return self.words[f"state_{key}"]


_WAIT = r"(\d+ (?:h|min))"
_STATE = r"(closed|marked solved|archived)"
_THEN = rf"(?:, then {_STATE})?"
_ANSWER = r"(?: \(answer by (.+), #(\d+)\))?"


def _then(p: Phrases, state: str | None) -> str:
    return f", {p.t('then', state=p._state(state))}" if state else ""


def _answered(p: Phrases, m: re.Match[str]) -> str:
    return p.t("answered_by", who=m[1], wait=p._wait_of(m[2])) + _then(p, m[3])


def _confirmed(p: Phrases, m: re.Match[str]) -> str:
    by = f" ({p.t('answer_by', who=m[2], number=m[3])})" if m[2] else ""
    return p.t("confirmed_after", wait=p._wait_of(m[1])) + by + _then(p, m[4])


_RESOLUTIONS: list[tuple[re.Pattern[str], Callable[[Phrases, re.Match[str]], str]]] = [
    (re.compile(rf"answered by (.+) after {_WAIT}{_THEN}"), _answered),
    (
        re.compile(rf"confirmed by the author after {_WAIT}{_ANSWER}{_THEN}"),
        _confirmed,
    ),
    (
        re.compile(rf"{_STATE} without an answer after {_WAIT} of waiting"),
        lambda p, m: p.t("ended_unanswered", state=p._state(m[1]), wait=p._wait_of(m[2])),
    ),
    (
        re.compile(rf"topic deleted after {_WAIT} of waiting"),
        lambda p, m: p.t("deleted_after", wait=p._wait_of(m[1])),
    ),
    (
        re.compile(rf"no longer applies \(the topic or the config changed\) after {_WAIT}"),
        lambda p, m: p.t("no_longer_applies", wait=p._wait_of(m[1])),
    ),
]

"""One language's words for the digest, with the helpers its templates call (`t`, `count`,
`date`, `wait`...), and stored resolutions (written in English by the cycle) re-worded in that
language. The words themselves are in digests/phrases.py."""

from __future__ import annotations

from datetime import date, timedelta

from digests.phrases import DEFAULT_LANGUAGE, PHRASES, book, plural
from forumwatch.notify.resolution_words import resolution_in


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
        """A stored resolution (written in English by the cycle) in this language."""
        return resolution_in(text, self.language)

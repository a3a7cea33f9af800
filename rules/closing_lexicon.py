"""The phrase lexicon of closing words: the bundled lists of closing_words/{uk,ru,en}.yaml and a
forum's own phrases, compiled into look-ups by a phrase's first and second word.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import NamedTuple

import yaml

from rules.closing_text import TOKEN, normalised, word_key

LANGUAGES = ("uk", "ru", "en")

# -- categories and their order -------------------------------------------------------------------

_PHRASE_LISTS = (
    "thanks",
    "confirm",
    "question",
    "problem",
    "negated",
    "waiting",
    "advance",
    "neutral",
)
_WORD_LISTS = ("negators", "hedges", "more")
FORUM_CLOSING, FORUM_NOT_CLOSING = "forum_closing", "forum_not_closing"

# Which phrase wins when two cover exactly the same words: a forum's own first.
_TIE_RANK = {
    FORUM_NOT_CLOSING: 0,
    FORUM_CLOSING: 1,
    "neutral": 2,
    "negated": 3,
    "advance": 4,
    "waiting": 5,
    "question": 6,
    "problem": 7,
    "confirm": 8,
    "thanks": 9,
}
_SEEN_KEYS = 1 << 16  # words whose candidate phrases a lexicon remembers


class _Word(NamedTuple):
    key: str
    prefix: bool  # "дяк*": any word starting so

    def fits(self, key: str) -> bool:
        return key.startswith(self.key) if self.prefix else key == self.key


class Phrase(NamedTuple):
    category: str
    words: tuple[_Word, ...]
    rank: int


@dataclass(frozen=True, slots=True)
class _WordSet:
    exact: frozenset[str]
    prefixes: tuple[str, ...]

    def has(self, key: str) -> bool:
        return key in self.exact or key.startswith(self.prefixes)


@dataclass(frozen=True)
class Lexicon:
    exact: Mapping[str, tuple[Phrase, ...]]  # by the key of the phrase's first word
    prefix: Mapping[str, tuple[Phrase, ...]]  # by the first word's prefix, when it ends in *
    prefix_lengths: tuple[int, ...]
    symbols: tuple[tuple[str, str], ...]  # (phrase, category): phrases with no words, as written
    negators: _WordSet
    hedges: _WordSet
    more: _WordSet
    seen: dict[str, _Starting | None] = field(default_factory=dict, compare=False)

    def starting(self, word: str) -> _Starting | None:
        """The phrases whose first word fits this word, None if none (remembered per word)."""
        if word in self.seen:
            return self.seen[word]
        key = word_key(word)
        found = list(self.exact.get(key, ()))
        for length in self.prefix_lengths:
            if length > len(key):
                break
            found.extend(self.prefix.get(key[:length], ()))
        if len(self.seen) >= _SEEN_KEYS:
            self.seen.clear()
        start = self.seen[word] = _Starting.of(found) if found else None
        return start


class _Starting(NamedTuple):
    """The phrases that start with one word: single words, and longer ones by their second word,
    so that a word starting many phrases ("не", "а", "все") costs a look-up or two, not one each."""

    single: tuple[Phrase, ...]
    by_second: Mapping[str, tuple[Phrase, ...]]  # second word's key -> phrases
    by_second_prefix: Mapping[str, tuple[Phrase, ...]]  # the same, when it ends in *
    prefix_lengths: tuple[int, ...]

    @classmethod
    def of(cls, phrases: Iterable[Phrase]) -> _Starting:
        single: list[Phrase] = []
        by_second: dict[str, list[Phrase]] = {}
        by_prefix: dict[str, list[Phrase]] = {}
        for phrase in phrases:
            if len(phrase.words) == 1:
                single.append(phrase)
            else:
                second = phrase.words[1]
                (by_prefix if second.prefix else by_second).setdefault(second.key, []).append(
                    phrase
                )
        return cls(
            tuple(single),
            {k: tuple(v) for k, v in by_second.items()},
            {k: tuple(v) for k, v in by_prefix.items()},
            tuple(sorted({len(k) for k in by_prefix})),
        )

    def longer(self, second: str) -> list[Phrase]:
        """The phrases of two words or more whose second word fits `second` (a key)."""
        found = list(self.by_second.get(second, ()))
        for length in self.prefix_lengths:
            if length > len(second):
                break
            found.extend(self.by_second_prefix.get(second[:length], ()))
        return found


def _words(phrase: str) -> tuple[_Word, ...]:
    text = normalised(phrase).strip()
    words = []
    for match in TOKEN.finditer(text):
        starred = text.startswith("*", match.end())
        words.append(_Word(word_key(match.group()), starred))
    return tuple(words)


@functools.cache
def _bundled() -> dict[str, tuple[str, ...]]:
    """Every bundled list, the three languages' phrases together."""
    lists: dict[str, list[str]] = {name: [] for name in (*_PHRASE_LISTS, *_WORD_LISTS)}
    folder = resources.files("rules").joinpath("closing_words")
    for language in LANGUAGES:
        path = folder.joinpath(f"{language}.yaml")
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"closing_words/{language}.yaml: expected lists by name")
        for name, phrases in data.items():
            if name not in lists:
                raise ValueError(f"closing_words/{language}.yaml: unknown list {name!r}")
            if not isinstance(phrases, list):
                raise ValueError(f"closing_words/{language}.yaml: {name} must be a list")
            for phrase in phrases:
                if not isinstance(phrase, str):  # a bare no, yes, on, off reads as a boolean
                    raise ValueError(
                        f"closing_words/{language}.yaml: {name}: {phrase!r} is not a string"
                        " (quote it)"
                    )
            lists[name].extend(phrases)
    return {name: tuple(dict.fromkeys(phrases)) for name, phrases in lists.items()}


def _word_set(phrases: Iterable[str]) -> _WordSet:
    words = [w for phrase in phrases for w in _words(phrase)]
    exact = frozenset(w.key for w in words if not w.prefix)
    return _WordSet(exact, tuple(sorted({w.key for w in words if w.prefix})))


@functools.lru_cache(maxsize=64)
def compiled_lexicon(closing: frozenset[str], not_closing: frozenset[str]) -> Lexicon:
    """The bundled lists with a forum's own phrases, compiled once per set of phrases."""
    bundled = _bundled()
    named = [(name, phrase) for name in _PHRASE_LISTS for phrase in bundled[name]]
    named += [(FORUM_CLOSING, p) for p in sorted(closing)]
    named += [(FORUM_NOT_CLOSING, p) for p in sorted(not_closing)]
    exact: dict[str, list[Phrase]] = {}
    prefix: dict[str, list[Phrase]] = {}
    symbols: list[tuple[str, str]] = []
    for name, text in named:
        words = _words(text)
        if not words:
            if text.strip():
                symbols.append((normalised(text).strip(), name))
            continue
        phrase = Phrase(name, words, _TIE_RANK[name])
        (prefix if words[0].prefix else exact).setdefault(words[0].key, []).append(phrase)
    return Lexicon(
        exact={k: tuple(v) for k, v in exact.items()},
        prefix={k: tuple(v) for k, v in prefix.items()},
        prefix_lengths=tuple(sorted({len(k) for k in prefix})),
        symbols=tuple(symbols),
        negators=_word_set(bundled["negators"]),
        hedges=_word_set(bundled["hedges"]),
        more=_word_set(bundled["more"]),
    )

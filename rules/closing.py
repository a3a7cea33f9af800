"""An author's closing words: does a post only thank or confirm ("Дякую, все запрацювало!",
"Спасибо, вопрос снят.", "Thanks, works now."), or does it only look like it?

`read_post` looks at one post's text and nothing else; whether it follows somebody else's answer
is for the caller (rules/answers.py) to decide. It is pure and offline: the phrase lists are the
bundled `closing_words/{uk,ru,en}.yaml`, read once on first use. Every list of every language is
applied to every post, because forums mix Ukrainian and Russian within one sentence.

How a post is read:

1. Quoted text is dropped: `[quote...]...[/quote]` blocks (nested ones too; an unclosed block runs
   to the end, and a stray `[/quote]` drops everything before it), `<blockquote>` blocks, lines
   starting with ">", and an attribution line ("dev_ivan написав:", "dev_ivan wrote:",
   "support_anna писал(а):", "Цитата:", "Quote from: ...") with the quote after it, which runs to
   the next blank line; with no blank line after it, only the line after the attribution is taken
   as the quote. URLs are dropped too (their "?" asks nothing).
2. The text is normalised: NFKC, casefolded, stress marks removed, every apostrophe (’ ʼ ‘ ` ´)
   read as ', ё as е. A word that mixes Latin and Cyrillic letters ("Cпасибо" with a Latin C) is
   written in one script: the script of its letters that have no look-alike in the other, or else
   of most of its letters. Emoji are removed, but the ones that thank (🙏 ❤️ 🤝), confirm (👍 ✅ 👌),
   report a problem (👎 ❌ 😢, and the emoticons ":(" and "((") or ask (🤔 ❓) are remembered.
3. Phrases are matched as whole words; a word in a list ending in * matches any word starting so,
   and letters the author repeated still match ("спасибооо", "thanksss"). Where phrases overlap
   the one of more words wins, so "помилка зникла" (confirm) beats "помилка" (problem) and "no
   problem" (neutral, never thanks) beats "problem"; of two as long, a forum's own phrase wins.
4. A confirm word with a negator up to three words before it in the same clause ("не допомогло",
   "not working", "не совсем работает") becomes "it did not help"; with a hedge there instead
   ("якщо запрацює", "hope it works", "когда будет исправлено") it confirms nothing. A problem word
   right after a negator ("більше не вилітає", "no errors", "no more errors") reports nothing.

The verdict: a post that neither thanks nor confirms (nor says the help did not help, nor thanks
in advance) is NONE, an ordinary post, whatever else it says: "Any update?" asks, but thanks
nobody. Otherwise it is the first of these that the post contains, else CLOSING:

    NEGATED   the help did not help ("не допомогло", "doesn't work", "thanks anyway")
    PROBLEM   a problem remains ("але", "но", "but", "still", "помилка", "медленно", 👎, ...)
    QUESTION  a question or request remains ("?" outside quotes, "а як", "можно ли", "can you")
    WAITING   the author still waits ("чекаю", "жду", "waiting for the fix", "let me know")
    ADVANCE   thanks in advance ("заздалегідь", "заранее", "in advance", "буду вдячний")

so "Спасибо! Работает, но медленно. Можно ускорить?" is PROBLEM. The lists prefer precision: a
thanks with any sign of something left open is not closing ("Дякую, але я вже сам розібрався"
reads as PROBLEM), and a thanks with nothing left open is ("Дякую, спробую": nothing is asked).

A forum's own phrases (`ClosingWords.closing`, `ClosingWords.not_closing`) are matched like the
bundled ones and win ties with them. A `closing` phrase counts as a confirm word; a `not_closing`
phrase keeps the wait open as WAITING (when the post thanks or confirms; otherwise the post is an
ordinary one, NONE). A phrase with no letters or digits ("✔️") is matched as written.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from itertools import accumulate
from typing import NamedTuple

import yaml

from forumwatch.model import ClosingWords

LANGUAGES = ("uk", "ru", "en")


class Verdict(StrEnum):
    CLOSING = "closing"  # only thanks or confirms: the wait ends
    QUESTION = "question"  # thanks, but asks something
    PROBLEM = "problem"  # thanks, but reports a remaining problem
    NEGATED = "negated"  # the help did not help ("Не допомогло, дякую", "doesn't work")
    WAITING = "waiting"  # still waits ("Дякую, чекаю.", "waiting for the fix")
    ADVANCE = "advance"  # thanks in advance ("Дякую заздалегідь", "thanks in advance")
    NONE = "none"  # no thanks or confirmation at all: an ordinary post


_WHY = {
    Verdict.CLOSING: "closing words{words}: the wait ends",
    Verdict.QUESTION: "thanks, but a question remains{words}: still waiting",
    Verdict.PROBLEM: "thanks, but a problem remains{words}: still waiting",
    Verdict.NEGATED: "thanks, but it did not help{words}: still waiting",
    Verdict.WAITING: "thanks, but still waiting{words}: still waiting",
    Verdict.ADVANCE: "thanks in advance{words}: still waiting",
    Verdict.NONE: "no thanks or confirmation: an ordinary post",
}


@dataclass(frozen=True)
class Reading:
    """How a post reads, with the words that decided it as found in the (normalised) text."""

    verdict: Verdict
    phrase: str = ""  # the words that decided: "дякую", "?", "але тепер"
    also: tuple[str, ...] = ()  # further words that agreed (closing: "запрацювало", "🙏")

    @property
    def closing(self) -> bool:
        """Only thanks or confirms: the author's wait ends."""
        return self.verdict is Verdict.CLOSING

    @property
    def thanks(self) -> bool:
        """It thanks or confirms, closing or not."""
        return self.verdict is not Verdict.NONE

    @property
    def phrases(self) -> tuple[str, ...]:
        return tuple(p for p in (self.phrase, *self.also) if p)

    def why(self) -> str:
        """A short English explanation: 'closing words ("дякую", "запрацювало"): the wait ends'."""
        quoted = ", ".join(f'"{p}"' for p in self.phrases)
        return _WHY[self.verdict].format(words=f" ({quoted})" if quoted else "")


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
_FORUM_CLOSING, _FORUM_NOT_CLOSING = "forum_closing", "forum_not_closing"

# Which phrase wins when two cover exactly the same words: a forum's own first.
_TIE_RANK = {
    _FORUM_NOT_CLOSING: 0,
    _FORUM_CLOSING: 1,
    "neutral": 2,
    "negated": 3,
    "advance": 4,
    "waiting": 5,
    "question": 6,
    "problem": 7,
    "confirm": 8,
    "thanks": 9,
}
# What a matched phrase says, once the forum's own phrases are folded in.
_SIGNAL = {_FORUM_CLOSING: "confirm", _FORUM_NOT_CLOSING: "waiting"}
# The look-alikes, strongest first: the first one a post contains is its verdict.
_PRECEDENCE = (
    ("negated", Verdict.NEGATED),
    ("problem", Verdict.PROBLEM),
    ("question", Verdict.QUESTION),
    ("waiting", Verdict.WAITING),
    ("advance", Verdict.ADVANCE),
)
_WINDOW = 3  # how many words before a confirm word a negator or hedge may stand
_SEEN_KEYS = 1 << 16  # words whose candidate phrases a lexicon remembers

# Emoji mean the same in every language, so they live here rather than in one language's file.
_EMOJI = {
    **dict.fromkeys("🙏🤝❤♥💙💛💚💜🧡🫶🤗💐", "thanks"),
    **dict.fromkeys("👍✅✔☑👌🎉🥳💯👏🆗💪", "confirm"),
    **dict.fromkeys("👎❌😢😞😭☹🙁😕😔😩😫😡🤬😠💔😟😣😖", "problem"),
    **dict.fromkeys("🤔❓❔", "question"),
}

# -- normalising a post ---------------------------------------------------------------------------

_BB_QUOTE = re.compile(r"\[quote(?:[=\s][^\]]*)?\](?:(?!\[quote[=\s\]]).)*?\[/quote\]", re.I | re.S)
_BB_STRAY_CLOSE = re.compile(r"^.*\[/quote\]", re.I | re.S)
_BB_OPEN = re.compile(r"\[quote(?:[=\s][^\]]*)?\].*", re.I | re.S)
_HTML_QUOTE = re.compile(r"<blockquote\b.*?</blockquote>", re.I | re.S)
_ATTRIBUTION = re.compile(
    r"\s*(?:(?:цитата|quote|цитую)\b.{0,100}"
    r"|.{0,80}?\b(?:написав|написала|написали|написал|писав|писала|писал|пише|пишет|wrote"
    r"|writes|said|сказав|сказала|сказал)\b.{0,40}?:)\s*",
    re.I,
)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_STRESS = re.compile(r"[\u0300-\u036f]")
_SYMBOL = re.compile(
    "[\u2190-\u21ff\u2300-\u23ff\u2460-\u24ff\u25a0-\u27bf\u2900-\u297f\u2b00-\u2bff"
    "\u3030\u303d\u3297\u3299\ufe0f\u200d\U0001f000-\U0001faff]"
)
_SAD = re.compile(r"(?<!\w)[:;=]-?'?\(+|\({2,}")
_TOKEN = re.compile(r"\w+(?:['\-]\w+)*")
_GAPS_AND_TOKENS = re.compile(r"(\W*)(\w+(?:['\-]\w+)*)")  # contiguous from the text's start
_REPEATS = re.compile(r"(.)\1+")
_LATIN = re.compile(r"[a-z]")
_CYRILLIC = re.compile(r"[а-яіїєґ]")
_SPELLING = (("’", "'"), ("ʼ", "'"), ("‘", "'"), ("´", "'"), ("′", "'"), ("ё", "е"))
_TO_CYRILLIC = str.maketrans("abcehikmoptxy", "авсенікмортху")
_TO_LATIN = str.maketrans("авсенікмортху", "abcehikmoptxy")
_LATIN_ONLY = re.compile(r"[dfgjlnqrsuvwz]")
_CYRILLIC_ONLY = re.compile(r"[бгґдєжзийїлпфцчшщъыьэюя]")


def _unquoted(text: str) -> str:
    """The post without the earlier posts it quotes, nor URLs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "[" in text:
        while True:
            stripped = _BB_QUOTE.sub("\n", text)
            if stripped == text:
                break
            text = stripped
        text = _BB_OPEN.sub("", _BB_STRAY_CLOSE.sub("", text))
    if "<" in text:
        text = _HTML_QUOTE.sub("\n", text)
    lines = text.split("\n")
    kept = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(">"):
            i += 1
        elif _attribution(line):
            first = i + 1  # the quote: up to the next blank line, or only its first line
            while first < len(lines) and not lines[first].strip():
                first += 1
            end = first
            while end < len(lines) and lines[end].strip():
                end += 1
            i = end if end < len(lines) else first + 1
        else:
            kept.append(line)
            i += 1
    return _URL.sub(" ", "\n".join(kept))


def _attribution(line: str) -> bool:
    """Whether a line introduces a quote: "dev_ivan написав:", "Quote from: dev_ivan ..."."""
    line = line.strip()
    if not 0 < len(line) <= 140:
        return False
    if not line.endswith(":") and not line[:6].casefold().startswith(("quote", "цитат", "цитую")):
        return False  # the regex is dear: only lines that may be an attribution try it
    return _ATTRIBUTION.fullmatch(line) is not None


def _one_script(word: str) -> str:
    """A word typed with Latin and Cyrillic look-alikes mixed, written in one script."""
    if not (_LATIN.search(word) and _CYRILLIC.search(word)):
        return word
    if _CYRILLIC_ONLY.search(word):
        return word.translate(_TO_CYRILLIC)
    if _LATIN_ONLY.search(word):
        return word.translate(_TO_LATIN)
    latin = len(_LATIN.findall(word))
    return word.translate(_TO_LATIN if latin > len(word) - latin else _TO_CYRILLIC)


@functools.lru_cache(maxsize=1 << 16)
def _key(word: str) -> str:
    """How a word is looked up: one script, repeated letters once ("спасибооо" -> "спасибо")."""
    return _REPEATS.sub(r"\1", _one_script(word))


def _normalised(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    if not text.isascii():
        text = _STRESS.sub("", text)
        for variant, usual in _SPELLING:  # str.replace: 10x quicker than translate on Cyrillic
            if variant in text:
                text = text.replace(variant, usual)
    return text.replace("`", "'")


# -- the phrase lists -----------------------------------------------------------------------------


class _Word(NamedTuple):
    key: str
    prefix: bool  # "дяк*": any word starting so

    def fits(self, key: str) -> bool:
        return key.startswith(self.key) if self.prefix else key == self.key


class _Phrase(NamedTuple):
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
class _Lexicon:
    exact: Mapping[str, tuple[_Phrase, ...]]  # by the key of the phrase's first word
    prefix: Mapping[str, tuple[_Phrase, ...]]  # by the first word's prefix, when it ends in *
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
        key = _key(word)
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

    single: tuple[_Phrase, ...]
    by_second: Mapping[str, tuple[_Phrase, ...]]  # second word's key -> phrases
    by_second_prefix: Mapping[str, tuple[_Phrase, ...]]  # the same, when it ends in *
    prefix_lengths: tuple[int, ...]

    @classmethod
    def of(cls, phrases: Iterable[_Phrase]) -> _Starting:
        single: list[_Phrase] = []
        by_second: dict[str, list[_Phrase]] = {}
        by_prefix: dict[str, list[_Phrase]] = {}
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

    def longer(self, second: str) -> list[_Phrase]:
        """The phrases of two words or more whose second word fits `second` (a key)."""
        found = list(self.by_second.get(second, ()))
        for length in self.prefix_lengths:
            if length > len(second):
                break
            found.extend(self.by_second_prefix.get(second[:length], ()))
        return found


def _words(phrase: str) -> tuple[_Word, ...]:
    text = _normalised(phrase).strip()
    words = []
    for match in _TOKEN.finditer(text):
        starred = text.startswith("*", match.end())
        words.append(_Word(_key(match.group()), starred))
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
def _lexicon(closing: frozenset[str], not_closing: frozenset[str]) -> _Lexicon:
    """The bundled lists with a forum's own phrases, compiled once per set of phrases."""
    bundled = _bundled()
    named = [(name, phrase) for name in _PHRASE_LISTS for phrase in bundled[name]]
    named += [(_FORUM_CLOSING, p) for p in sorted(closing)]
    named += [(_FORUM_NOT_CLOSING, p) for p in sorted(not_closing)]
    exact: dict[str, list[_Phrase]] = {}
    prefix: dict[str, list[_Phrase]] = {}
    symbols: list[tuple[str, str]] = []
    for name, text in named:
        words = _words(text)
        if not words:
            if text.strip():
                symbols.append((_normalised(text).strip(), name))
            continue
        phrase = _Phrase(name, words, _TIE_RANK[name])
        (prefix if words[0].prefix else exact).setdefault(words[0].key, []).append(phrase)
    return _Lexicon(
        exact={k: tuple(v) for k, v in exact.items()},
        prefix={k: tuple(v) for k, v in prefix.items()},
        prefix_lengths=tuple(sorted({len(k) for k in prefix})),
        symbols=tuple(symbols),
        negators=_word_set(bundled["negators"]),
        hedges=_word_set(bundled["hedges"]),
        more=_word_set(bundled["more"]),
    )


# -- reading a post -------------------------------------------------------------------------------


class _Tokens:
    """A text's words with the gaps before them, positions and keys worked out when asked."""

    __slots__ = ("_ends", "gaps", "text", "words")

    def __init__(self, text: str) -> None:
        pairs: list[tuple[str, str]] = _GAPS_AND_TOKENS.findall(text)
        self.text = text
        self.gaps: tuple[str, ...] = ()
        self.words: tuple[str, ...] = ()
        if pairs:
            self.gaps, self.words = map(tuple, zip(*pairs, strict=True))
        self._ends: list[int] = []

    def __len__(self) -> int:
        return len(self.words)

    def key(self, i: int) -> str:
        return _key(self.words[i])

    def joined(self, i: int) -> bool:
        """Only spaces between word i and the one before: the same clause."""
        return i > 0 and not self.gaps[i].strip()

    def end(self, i: int) -> int:
        if not self._ends:
            lengths = map(len, self.gaps), map(len, self.words)
            self._ends = list(accumulate(map(int.__add__, *lengths)))
        return self._ends[i]

    def start(self, i: int) -> int:
        return self.end(i) - len(self.words[i])


class _Match(NamedTuple):
    first: int  # word index
    last: int  # word index after the phrase
    phrase: _Phrase


_DEFAULT = ClosingWords()


def read_post(text: str, words: ClosingWords = _DEFAULT) -> Reading:
    """How an author's post reads: closing words, a look-alike, or an ordinary post."""
    if not words.enabled or not text:
        return Reading(Verdict.NONE)
    lexicon = _lexicon(words.closing, words.not_closing)
    plain = _normalised(_unquoted(text))
    found: dict[str, list[tuple[int, str]]] = {}  # signal -> (position, words as found)

    def note(signal: str, position: int, phrase: str) -> None:
        found.setdefault(_SIGNAL.get(signal, signal), []).append((position, phrase))

    for symbol, category in lexicon.symbols:
        if (at := plain.find(symbol)) >= 0:
            note(category, at, symbol)
    if not plain.isascii():
        for match in _SYMBOL.finditer(plain):
            if signal := _EMOJI.get(match.group()):
                note(signal, match.start(), match.group())
        plain = _SYMBOL.sub(" ", plain)
    if "(" in plain:
        for match in _SAD.finditer(plain):
            note("problem", match.start(), match.group())
    if (at := plain.find("?")) >= 0:
        note("question", at, "?")

    tokens = _Tokens(plain)
    for first, last, phrase in _matches(tokens, lexicon):
        start, end = tokens.start(first), tokens.end(last - 1)
        category = phrase.category
        if category == "confirm":
            before = _before(tokens, first, lexicon)
            if before is not None and before[1] == "hedge":
                continue
            if before is not None:
                category, start = "negated", tokens.start(before[0])
        elif category == "problem" and _cancelled(tokens, first, lexicon):
            continue
        note(category, start, plain[start:end])
    return _verdict(found)


def _matches(tokens: _Tokens, lexicon: _Lexicon) -> list[_Match]:
    """Every phrase found, overlaps settled: the most words win, then the one ranked first."""
    candidates: list[_Match] = []
    count = len(tokens)
    seen = lexicon.seen
    for i, word in enumerate(tokens.words):
        start = seen[word] if word in seen else lexicon.starting(word)
        if start is None:
            continue
        candidates.extend(_Match(i, i + 1, phrase) for phrase in start.single)
        if i + 1 == count or not (start.by_second or start.prefix_lengths):
            continue
        if not tokens.joined(i + 1):
            continue
        longer = start.longer(tokens.key(i + 1))
        for phrase in longer:
            words = phrase.words
            last = i + len(words)
            if last > count:
                continue
            j = i + 2
            while j < last and tokens.joined(j) and words[j - i].fits(tokens.key(j)):
                j += 1
            if j == last:
                candidates.append(_Match(i, last, phrase))
    if len(candidates) < 2:
        return candidates
    candidates.sort(key=lambda m: (m.first - m.last, m.phrase.rank, m.first))
    taken = [False] * count
    kept = []
    for match in candidates:
        if not any(taken[match.first : match.last]):
            taken[match.first : match.last] = [True] * (match.last - match.first)
            kept.append(match)
    return sorted(kept)


def _before(tokens: _Tokens, first: int, lexicon: _Lexicon) -> tuple[int, str] | None:
    """The nearest negator or hedge up to _WINDOW words before word `first`, same clause."""
    i = first
    while first - i < _WINDOW and tokens.joined(i):
        i -= 1
        key = tokens.key(i)
        if lexicon.negators.has(key):
            return i, "negator"
        if lexicon.hedges.has(key):
            return i, "hedge"
    return None


def _cancelled(tokens: _Tokens, first: int, lexicon: _Lexicon) -> bool:
    """A problem word right after a negator: "не вилітає", "no errors", "no more errors"."""
    if not tokens.joined(first):
        return False
    previous = tokens.key(first - 1)
    if lexicon.negators.has(previous):
        return True
    return (
        lexicon.more.has(previous)
        and tokens.joined(first - 1)
        and lexicon.negators.has(tokens.key(first - 2))
    )


def _verdict(found: Mapping[str, list[tuple[int, str]]]) -> Reading:
    if not any(found.get(s) for s in ("thanks", "confirm", "negated", "advance")):
        return Reading(Verdict.NONE)
    for signal, verdict in _PRECEDENCE:
        if signal in found:
            return Reading(verdict, min(found[signal])[1])
    agreed = sorted(found.get("thanks", []) + found.get("confirm", []))
    phrases = tuple(dict.fromkeys(phrase for _, phrase in agreed))
    return Reading(Verdict.CLOSING, phrases[0], phrases[1:4])

"""An author's closing words: does a post only thank or confirm ("Дякую, все запрацювало!",
"Спасибо, вопрос снят.", "Thanks, works now."), or does it only look like it?

`read_post` looks at one post's text and nothing else; whether it follows somebody else's answer
is for the caller (rules/answers.py) to decide. It is pure and offline: the phrase lists are the
bundled `closing_words/{uk,ru,en}.yaml`, read once on first use. Every list of every language is
applied to every post, because forums mix Ukrainian and Russian within one sentence. This module
matches and decides; turning the post into normalised words is rules/closing_text.py's job, and
compiling the phrase lists rules/closing_lexicon.py's.

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

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from forumwatch.model import ClosingWords
from rules.closing_lexicon import (
    FORUM_CLOSING,
    FORUM_NOT_CLOSING,
    LANGUAGES,
    Lexicon,
    Phrase,
    compiled_lexicon,
)
from rules.closing_text import EMOJI, SAD, SYMBOL, Tokens, normalised, unquoted

__all__ = ["LANGUAGES", "Reading", "Verdict", "read_post"]


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

# What a matched phrase says, once the forum's own phrases are folded in.
_SIGNAL = {FORUM_CLOSING: "confirm", FORUM_NOT_CLOSING: "waiting"}
# The look-alikes, strongest first: the first one a post contains is its verdict.
_PRECEDENCE = (
    ("negated", Verdict.NEGATED),
    ("problem", Verdict.PROBLEM),
    ("question", Verdict.QUESTION),
    ("waiting", Verdict.WAITING),
    ("advance", Verdict.ADVANCE),
)
_WINDOW = 3  # how many words before a confirm word a negator or hedge may stand


# -- reading a post -------------------------------------------------------------------------------


class _Match(NamedTuple):
    first: int  # word index
    last: int  # word index after the phrase
    phrase: Phrase


_DEFAULT = ClosingWords()


def read_post(text: str, words: ClosingWords = _DEFAULT) -> Reading:
    """How an author's post reads: closing words, a look-alike, or an ordinary post."""
    if not words.enabled or not text:
        return Reading(Verdict.NONE)
    lexicon = compiled_lexicon(words.closing, words.not_closing)
    plain = normalised(unquoted(text))
    found: dict[str, list[tuple[int, str]]] = {}  # signal -> (position, words as found)

    def note(signal: str, position: int, phrase: str) -> None:
        found.setdefault(_SIGNAL.get(signal, signal), []).append((position, phrase))

    for symbol, category in lexicon.symbols:
        if (at := plain.find(symbol)) >= 0:
            note(category, at, symbol)
    if not plain.isascii():
        for match in SYMBOL.finditer(plain):
            if signal := EMOJI.get(match.group()):
                note(signal, match.start(), match.group())
        plain = SYMBOL.sub(" ", plain)
    if "(" in plain:
        for match in SAD.finditer(plain):
            note("problem", match.start(), match.group())
    if (at := plain.find("?")) >= 0:
        note("question", at, "?")

    tokens = Tokens(plain)
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


def _matches(tokens: Tokens, lexicon: Lexicon) -> list[_Match]:
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


def _before(tokens: Tokens, first: int, lexicon: Lexicon) -> tuple[int, str] | None:
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


def _cancelled(tokens: Tokens, first: int, lexicon: Lexicon) -> bool:
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

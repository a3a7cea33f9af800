"""Turning a post into normalised words: the quotes, attributions and URLs it drops, NFKC and
casefolding, the emoji it remembers, one script per word, repeated letters, and its tokens.

It knows nothing of the phrase lists (rules/closing_lexicon.py) nor of verdicts (rules/closing.py).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from itertools import accumulate

# Emoji mean the same in every language, so they live here rather than in one language's file.
EMOJI = {
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
SYMBOL = re.compile(
    "[\u2190-\u21ff\u2300-\u23ff\u2460-\u24ff\u25a0-\u27bf\u2900-\u297f\u2b00-\u2bff"
    "\u3030\u303d\u3297\u3299\ufe0f\u200d\U0001f000-\U0001faff]"
)
SAD = re.compile(r"(?<!\w)[:;=]-?'?\(+|\({2,}")
TOKEN = re.compile(r"\w+(?:['\-]\w+)*")
_GAPS_AND_TOKENS = re.compile(r"(\W*)(\w+(?:['\-]\w+)*)")  # contiguous from the text's start
_REPEATS = re.compile(r"(.)\1+")
_LATIN = re.compile(r"[a-z]")
_CYRILLIC = re.compile(r"[а-яіїєґ]")
_SPELLING = (("’", "'"), ("ʼ", "'"), ("‘", "'"), ("´", "'"), ("′", "'"), ("ё", "е"))
_TO_CYRILLIC = str.maketrans("abcehikmoptxy", "авсенікмортху")
_TO_LATIN = str.maketrans("авсенікмортху", "abcehikmoptxy")
_LATIN_ONLY = re.compile(r"[dfgjlnqrsuvwz]")
_CYRILLIC_ONLY = re.compile(r"[бгґдєжзийїлпфцчшщъыьэюя]")


def unquoted(text: str) -> str:
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
def word_key(word: str) -> str:
    """How a word is looked up: one script, repeated letters once ("спасибооо" -> "спасибо")."""
    return _REPEATS.sub(r"\1", _one_script(word))


def normalised(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    if not text.isascii():
        text = _STRESS.sub("", text)
        for variant, usual in _SPELLING:  # str.replace: 10x quicker than translate on Cyrillic
            if variant in text:
                text = text.replace(variant, usual)
    return text.replace("`", "'")


class Tokens:
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
        return word_key(self.words[i])

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

"""Long Telegram messages in parts: each part below Telegram's 4096 characters (counted in
UTF-16 units, as Telegram counts), the HTML tags a cut interrupts closed and reopened in the
next part; and an HTML message as plain text (the demo, the console)."""

from __future__ import annotations

import html
import re
from typing import Literal

TELEGRAM_LIMIT = 4096

# A tag, an entity, a word with its trailing spaces, a run of spaces, or a stray '<' / '&'.
_TOKEN = re.compile(
    r"<[^<>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);|[^<&\s]+[^\S\n]*|\s+|[<&]"
)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")


def html_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units), of the raw HTML: conservative."""
    return len(text.encode("utf-16-le")) // 2


def _apply_tags(stack: tuple[str, ...], html: str) -> tuple[str, ...]:
    """The open tags (as written, e.g. '<a href="…">') after `html` follows `stack`."""
    result = list(stack)
    for token in _TOKEN.findall(html):
        match = _TAG.match(token) if token.startswith("<") else None
        if match is None:
            continue
        name = match.group(2).lower()
        if not match.group(1):
            result.append(token)
            continue
        for depth in range(len(result) - 1, -1, -1):
            if _tag_name(result[depth]) == name:
                del result[depth:]
                break
    return tuple(result)


def _tag_name(open_tag: str) -> str:
    match = _TAG.match(open_tag)
    return match.group(2).lower() if match else ""


_Splitter = Literal["tokens", "chars", "none"]


def _closers(stack: tuple[str, ...]) -> str:
    return "".join(f"</{_tag_name(tag)}>" for tag in reversed(stack))


class _Packer:
    """Fills parts of at most `limit` units, closing and reopening tags across a cut."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.body: list[str] = []
        self.size = 0
        self.fresh = True  # nothing but reopened tags in the current part
        self.stack: tuple[str, ...] = ()

    def fits(self, piece: str, after: tuple[str, ...]) -> bool:
        return self.size + html_length(piece) + html_length(_closers(after)) <= self.limit

    def append(self, piece: str, after: tuple[str, ...]) -> None:
        self.body.append(piece)
        self.size += html_length(piece)
        self.stack = after
        self.fresh = False

    def flush(self) -> None:
        """End the current part, closing its open tags; reopen them in the next."""
        self.parts.append("".join(self.body) + _closers(self.stack))
        reopened = "".join(self.stack)
        self.body, self.size, self.fresh = [reopened], html_length(reopened), True

    def add(self, piece: str, *, splitter: _Splitter) -> None:
        """Add `piece`, starting a new part when it does not fit; cut it smaller if still not."""
        after = _apply_tags(self.stack, piece)
        if self.fits(piece, after):
            self.append(piece, after)
        elif splitter != "none" and not self.fits_fresh(piece, after):
            self.cut(piece, splitter)  # too long for any part: fill this one up first
        else:
            if not self.fresh:
                self.flush()
            self.append(piece, after)  # fits now, or is a tag or entity nobody may cut

    def fits_fresh(self, piece: str, after: tuple[str, ...]) -> bool:
        """Whether `piece` fits in a part that holds nothing but reopened tags."""
        reopened = html_length("".join(self.stack))
        return reopened + html_length(piece) + html_length(_closers(after)) <= self.limit

    def cut(self, piece: str, splitter: _Splitter) -> None:
        if splitter == "tokens":
            for token in _TOKEN.findall(piece):
                self.add(token, splitter="chars" if token[0] not in "<&" else "none")
        else:
            for char in piece:
                self.add(char, splitter="none")

    def finish(self) -> list[str]:
        if not self.fresh:
            self.parts.append("".join(self.body) + _closers(self.stack))
        return self.parts


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """`text` as parts of at most `limit` UTF-16 units of raw HTML, cut at line ends.

    A line too long on its own is cut between words (or, for a giant word, characters), never
    inside a tag or an entity. Tags open at a cut are closed at the part's end and reopened at
    the next part's start. Only a single tag longer than `limit` can make a part too long.
    """
    if html_length(text) <= limit:
        return [text]
    packer = _Packer(limit)
    for line in text.splitlines(keepends=True):
        packer.add(line, splitter="tokens")
    return packer.finish()


def plain_text(html_text: str) -> str:
    """Telegram HTML as the reader sees it: tags gone, entities decoded (for terminals)."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))

"""A post's text as the excerpt forumwatch keeps (`EXCERPT_CHARS`), extracted cheaply.

Discourse's `cooked` and Misago's `content` are server-rendered HTML fragments whose text only
needs tags dropped and entities decoded: a regular expression does that at a fraction of a
parser's cost, and a long post is read only as far as its excerpt needs.
"""

from __future__ import annotations

import html
import re

from scrapers.base import EXCERPT_CHARS

# comments and the contents of elements whose text is not text (an HTML parser drops them too);
# an unterminated one runs to the end, as it would in a browser
_HIDDEN = re.compile(
    r"<!--.*?(?:-->|\Z)|<(script|style|template)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.S | re.I
)
# a tag, declaration or processing instruction ("<" followed by a space or a digit, or never
# closed, is text)
_TAG = re.compile(r"(</?[A-Za-z!?][^>]*>)")
_KEEPS_SPACE = re.compile(r"</?(?:pre|textarea)\b", re.I)
_ASCII_SPACE = frozenset(" \n\t\f\r")


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """`text` without surrounding whitespace, at most `limit` characters."""
    text = text.strip()
    return text[:limit].rstrip() if len(text) > limit else text


def html_excerpt(fragment: str, limit: int = EXCERPT_CHARS) -> str:
    """The text of an HTML fragment (tags dropped, entities decoded), as an excerpt.

    A long fragment is first read only as far as 8× the excerpt: markup rarely outweighs text
    that much, and when it does the whole fragment is read.
    """
    prefix = 8 * limit
    if len(fragment) > 2 * prefix:
        end = fragment.rfind(">", 0, prefix) + 1  # not inside a tag
        text = _html_text(fragment[:end])
        if len(text.strip()) > limit:
            return excerpt(text, limit)
    return excerpt(_html_text(fragment), limit)


def _html_text(fragment: str) -> str:
    """Every text node, entities decoded, as BeautifulSoup's get_text() joins them: a node of
    ASCII spaces alone (the layout between block tags) becomes one newline, or one space when it
    holds no newline, except inside <pre> and <textarea>."""
    if "<" not in fragment:
        return _node(fragment, False)
    parts = _TAG.split(_HIDDEN.sub("<!>", fragment))  # text, tag, text, tag, ..., text
    texts = []
    keep = 0  # depth of <pre>/<textarea>
    for index, part in enumerate(parts):
        if index % 2:
            if _KEEPS_SPACE.match(part):
                keep = max(0, keep + (-1 if part[1] == "/" else 1))
        elif part:
            texts.append(_node(part, keep > 0))
    return "".join(texts)


def _node(text: str, keep_space: bool) -> str:
    if "&" in text:
        text = html.unescape(text)
    if not keep_space and _ASCII_SPACE.issuperset(text):
        return "\n" if "\n" in text else " "
    return text

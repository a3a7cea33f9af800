"""A post's text as the excerpt forumwatch keeps (`EXCERPT_CHARS`), extracted cheaply.

Discourse's `cooked` and Misago's `content` are server-rendered HTML fragments whose text only
needs tags dropped and entities decoded: a regular expression does that at a fraction of a
parser's cost, and a long post is read only as far as its excerpt needs.

Quotes are not the post's words: a quoted answer's "?" or "error" would make an author's thanks
read as a question, and a long quote would push the author's words past the excerpt. Discourse
renders a quote as `<aside class="quote">` (a title, then a <blockquote>), Misago as
`<aside class="quote-block">` (a heading, then a <blockquote>); both, and any bare <blockquote>,
are dropped with everything inside them, nested quotes included.
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
# the tags that open or close a quote, or an element inside one: their nesting is counted
_QUOTE_TAG = re.compile(r"<(/?)(blockquote|aside)\b([^>]*)>", re.I)
_CLASS = re.compile(r"""(?:^|\s)class\s*=\s*["']?([^"'>]*)""", re.I)
QUOTE_CLASSES = frozenset({"quote", "quote-block"})  # an <aside> of these is a quote (not a onebox)
_KEEPS_SPACE = re.compile(r"</?(?:pre|textarea)\b", re.I)
_ASCII_SPACE = frozenset(" \n\t\f\r")


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """`text` without surrounding whitespace, at most `limit` characters."""
    text = text.strip()
    return text[:limit].rstrip() if len(text) > limit else text


def html_excerpt(fragment: str, limit: int = EXCERPT_CHARS) -> str:
    """The text of an HTML fragment (tags dropped, entities decoded), as an excerpt.

    A long fragment is first read only as far as 8× the excerpt: markup rarely outweighs text
    that much, and when it does the whole fragment is read. A quote the cut lands in runs to the
    prefix's end, so none of its text is read as the post's.
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
    fragment = _without_quotes(_HIDDEN.sub("<!>", fragment))
    parts = _TAG.split(fragment)  # text, tag, text, tag, ..., text
    texts = []
    keep = 0  # depth of <pre>/<textarea>
    for index, part in enumerate(parts):
        if index % 2:
            if _KEEPS_SPACE.match(part):
                keep = max(0, keep + (-1 if part[1] == "/" else 1))
        elif part:
            texts.append(_node(part, keep > 0))
    return "".join(texts)


def _without_quotes(fragment: str) -> str:
    """`fragment` without its quotes (see the module's docstring), each replaced by a newline;
    an unterminated quote runs to the end, as it would in a browser."""
    kept: list[str] = []
    start = 0  # where the fragment after the last quote begins
    inside: list[str] = []  # the open blockquote/aside elements of the current quote
    for match in _QUOTE_TAG.finditer(fragment):
        closing, name = match.group(1), match.group(2).lower()
        if not inside:
            if closing or (name == "aside" and not _is_quote(match.group(3))):
                continue  # an element that is no quote, or a stray end tag
            kept.append(fragment[start : match.start()])
            inside.append(name)
        elif not closing:
            inside.append(name)
        elif name in inside:  # closes the innermost such element and whatever it holds
            del inside[len(inside) - 1 - inside[::-1].index(name) :]
            if not inside:
                kept.append("\n")
                start = match.end()
    if not kept:
        return fragment
    if inside:
        return "".join(kept) + "\n"
    kept.append(fragment[start:])
    return "".join(kept)


def _is_quote(attributes: str) -> bool:
    classes = _CLASS.search(attributes)
    return classes is not None and not QUOTE_CLASSES.isdisjoint(classes.group(1).lower().split())


def _node(text: str, keep_space: bool) -> str:
    if "&" in text:
        text = html.unescape(text)
    if not keep_space and _ASCII_SPACE.issuperset(text):
        return "\n" if "\n" in text else " "
    return text

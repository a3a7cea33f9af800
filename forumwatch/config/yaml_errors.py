"""YAML syntax errors in our own words: `config.yaml:7:3: YAML syntax: <what is wrong; the fix>`.

PyYAML describes its parser's state ("expected <block end>, but found '?'"); an admin needs the
place and the usual cause. The common mistakes (indentation, tabs, an unclosed quote or bracket,
a missing colon, an unquoted value with `: ` in it) get a sentence each; anything else keeps the
parser's problem, with its line and column.
"""

from __future__ import annotations

import re

import yaml

_INDENT = "a key is indented differently from the keys beside it; line it up with them"
_LIST_ITEM = (
    "a list item (`- `) is indented differently from the items or keys beside it; "
    "line it up under its key"
)
_COLON_MISSING = "a colon is missing after the key; write `key: value`"
_NOT_A_KEY_HERE = (
    "a `key:` cannot start here; indent it like the keys beside it, or add the colon "
    "missing on the line above"
)
_VALUE_WITH_COLON = "this value contains `: `; put the whole value in quotes"
_BRACKETS = {"[": ("list", "]"), "{": ("mapping", "}")}


def syntax_problem(err: yaml.YAMLError, text: str, name: str) -> str:
    """One line, `file:line:column: YAML syntax: ...`, for a file PyYAML could not parse."""
    if isinstance(err, yaml.reader.ReaderError):
        line, column = _line_column(text, err.position)
        if isinstance(err.character, int):
            what = f"a control character (#x{err.character:04x}) YAML does not allow; delete it"
        else:
            what = "bytes that are not UTF-8; save the file as UTF-8"
        return f"{name}:{line}:{column}: YAML syntax: {what}"
    mark = getattr(err, "problem_mark", None)
    context_mark = getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None) or ""
    what, use_context = _explain(problem, context, mark, text)
    if isinstance(use_context, tuple):
        line, column = use_context
    elif (place := context_mark if use_context and context_mark else mark) is not None:
        line, column = place.line + 1, place.column + 1
    else:
        return f"{name}: YAML syntax: {what}"
    return f"{name}:{line}:{column}: YAML syntax: {what}"


def _explain(
    problem: str, context: str, mark: yaml.Mark | None, text: str
) -> tuple[str, bool | tuple[int, int]]:
    """What went wrong, and where: the context mark (where the construct began) if True, the
    problem mark if False, or a (line, column) of our own."""
    found = re.search(r"but (?:found|got) '(.*)'$", problem)
    token = found.group(1) if found else ""
    if "cannot start any token" in problem:
        char = re.search(r"found character '(.*)' that", problem)
        if char and char.group(1) == "\\t":
            return "a tab character; use spaces (YAML indents with spaces only)", False
        shown = char.group(1) if char else "this character"
        return f"a value cannot begin with `{shown}`; put the value in quotes", False
    if "quoted scalar" in context and "end of stream" in problem:
        return "a quote opened here is never closed; close it on the same line", True
    if "double-quoted scalar" in context and "escape" in problem:
        return "a backslash in double quotes starts an escape; use single quotes", False
    if "flow sequence" in context or "flow mapping" in context:
        opening = "[" if "sequence" in context else "{"
        kind, closing = _BRACKETS[opening]
        return (
            f"the {kind} opened here with `{opening}` is not closed with `{closing}` "
            "(or a comma is missing between its items)",
            True,
        )
    if "could not find expected ':'" in problem:
        return _COLON_MISSING, True
    if "mapping values are not allowed" in problem:
        return _colon_out_of_place(mark, text)
    if "expected <block end>" in problem or "did not find expected" in problem:
        if token in {"]", "}"}:
            return f"a closing `{token}` without its opening bracket; remove it", False
        if token in {"-", "<block sequence start>"} or "'-' indicator" in problem:
            return _LIST_ITEM, False
        if token == "<scalar>":
            return "text follows a quoted value; put the whole value inside the quotes", False
        return _INDENT, False
    return f"{problem}" + (f" ({context})" if context else ""), False


def _colon_out_of_place(mark: yaml.Mark | None, text: str) -> tuple[str, bool | tuple[int, int]]:
    """PyYAML's "mapping values are not allowed here": a value with `: ` in it, a key indented
    deeper than its neighbours, or (seen a line late) a key without its colon on the line above."""
    if mark is None:
        return _NOT_A_KEY_HERE, False
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    before = line[: mark.column].lstrip(" -")
    if re.search(r":\s", before):
        return _VALUE_WITH_COLON, False
    above_at = next(
        (i for i in range(mark.line - 1, -1, -1) if lines[i].strip()[:1] not in {"", "#"}), None
    )
    if above_at is None:
        return _NOT_A_KEY_HERE, False
    above = lines[above_at]
    indent = len(line) - len(line.lstrip(" "))
    above_indent = len(above) - len(above.lstrip(" "))
    if ":" not in above and indent == above_indent:
        return _COLON_MISSING, (above_at + 1, above_indent + 1)
    if indent > above_indent and not above.rstrip().endswith(":"):
        return "this key is indented more than the key above it; line it up with that key", False
    return _NOT_A_KEY_HERE, False


def _line_column(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1

"""Read YAML while remembering where each value stood, and fill in `${VAR}` from the environment.

Config errors must point at a line (`config.yaml:14 forums[0].url: ...`), so loading keeps a map
from each value's path to its line number.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from forumwatch.config.secrets import is_secret_key
from forumwatch.config.yaml_errors import syntax_problem

Path_ = tuple[str | int, ...]
_SCALARS = yaml.SafeLoader("")  # only its constructor is used, for scalars
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class SourceError(Exception):
    """A problem that stops reading a YAML file, already phrased as `file:line: what`."""


@dataclass(frozen=True)
class YamlSource:
    """The parsed data, each value's line, and the problems found while reading it (a repeated
    key, an empty or unset `${VAR}`), each as (path, `file:line path: what`)."""

    data: Any
    lines: dict[Path_, int]
    file: str
    problems: tuple[tuple[Path_, str], ...] = ()

    def where(self, path: Path_) -> str:
        """`file:line path` for the deepest part of `path` that exists in the file."""
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.lines:
                line = self.lines[path[:cut]]
                break
        else:
            line = 1
        return f"{self.file}:{line} {dotted(path)}" if path else f"{self.file}:{line}"


def dotted(path: Path_) -> str:
    """('forums', 0, 'url') → 'forums[0].url'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def load_yaml(path: Path, environ: Mapping[str, str] | None = None) -> YamlSource:
    """Parse `path`, substitute `${VAR}` / `${VAR:-default}`, and record each value's line."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(
            f"{name}: no such file; pass -c PATH, set FORUMWATCH_CONFIG, "
            "or copy the example config.yaml from the forumwatch repository"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise SourceError(f"{name}: cannot read it ({err})") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        raise SourceError(syntax_problem(err, text, name)) from None
    if root is None:
        raise SourceError(f"{name}: the file is empty; see the example config.yaml")
    builder = _Builder(name, os.environ if environ is None else environ)
    data = builder.build(root, ())
    return YamlSource(data, builder.lines, name, tuple(builder.problems))


class _Builder:
    """Turns composed YAML nodes into plain data, noting lines and problems on the way."""

    def __init__(self, name: str, environ: Mapping[str, str]) -> None:
        self.name = name
        self.environ = environ
        self.lines: dict[Path_, int] = {}
        self.problems: list[tuple[Path_, str]] = []

    def problem(self, path: Path_, line: int, what: str) -> None:
        where = f"{self.name}:{line} {dotted(path)}" if path else f"{self.name}:{line}"
        self.problems.append((path, f"{where}: {what}"))

    def build(self, node: yaml.Node, path: Path_) -> Any:
        line = self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        try:
            value = _SCALARS.construct_object(node)
        except (yaml.YAMLError, ValueError) as err:  # an unknown !tag, a date like 2026-13-45
            secret = bool(path) and is_secret_key(str(path[-1]))
            self.problem(path, line, _unreadable(node, err, secret=secret))
            return None
        if isinstance(value, str) and "${" in value:
            return self._substitute(value, path, line)
        return value

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        key_lines: dict[Any, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(path, line, "a key must be a plain word, not a list or mapping")
                continue
            try:
                key = _SCALARS.construct_object(key_node)
            except (yaml.YAMLError, ValueError) as err:
                self.problem(path, line, _unreadable(key_node, err, secret=False))
                continue
            if key in key_lines:
                self.problem(
                    (*path, str(key)),
                    line,
                    f"repeats the key first set at line {key_lines[key]}; merge the two into one "
                    "(YAML keeps only the last)",
                )
            key_lines[key] = line
            result[key] = self.build(value_node, (*path, str(key)))
        return result

    def _substitute(self, value: str, path: Path_, line: int) -> str:
        def replace(match: re.Match[str]) -> str:
            var, default = match.group(1), match.group(2)
            # `echo key > file` and pasted keys end in a newline: never wanted
            found = self.environ.get(var, "").strip()
            if found:
                return found
            if default is not None:  # like the shell's ${VAR:-default}: unset or empty
                return default
            state = "is empty" if var in self.environ else "is not set"
            self.problem(
                path,
                line,
                f"environment variable {var} {state}; export it (`export {var}=...`) or write "
                f"${{{var}:-default}}, or ${{{var}:-}} to allow it empty",
            )
            return ""

        return _VAR.sub(replace, value)


def _unreadable(node: yaml.Node, err: Exception, *, secret: bool) -> str:
    if not node.tag.startswith("tag:yaml.org,2002:"):
        return f"the YAML tag {node.tag} is not supported; remove it"
    problem = getattr(err, "problem", None) or str(err)
    shown = "the value" if secret else repr(node.value)
    return f"{shown} cannot be read ({problem}); put it in quotes if it is text"

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

Path_ = tuple[str | int, ...]
_SCALARS = yaml.SafeLoader("")  # only its constructor is used, for scalars
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class SourceError(Exception):
    """A problem in a YAML file, already phrased as `file:line where: what`."""


@dataclass(frozen=True)
class YamlSource:
    data: Any
    lines: dict[Path_, int]
    file: str

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
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(err, "problem", None) or str(err)
        raise SourceError(f"{name}:{line} is not valid YAML: {problem}") from None
    if root is None:
        raise SourceError(f"{name}: the file is empty; see the example config.yaml")
    lines: dict[Path_, int] = {}
    data = _build(root, (), lines, name, os.environ if environ is None else environ)
    return YamlSource(data, lines, name)


def _build(
    node: yaml.Node, path: Path_, lines: dict[Path_, int], name: str, environ: Mapping[str, str]
) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _SCALARS.construct_object(key_node)
            result[key] = _build(value_node, (*path, str(key)), lines, name, environ)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines, name, environ) for i, item in enumerate(node.value)]
    value = _SCALARS.construct_object(node)
    if isinstance(value, str) and "${" in value:
        return _substitute(value, lambda: f"{name}:{lines[path]} {dotted(path)}", environ)
    return value


def _substitute(value: str, where: Any, environ: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        var, default = match.group(1), match.group(2)
        if var in environ:  # `echo key > file` and pasted keys end in a newline: never wanted
            return environ[var].strip()
        if default is not None:
            return default
        raise SourceError(
            f"{where()}: environment variable {var} is not set; export it "
            f"(e.g. `export {var}=...`) or write ${{{var}:-default}}"
        )

    return _VAR.sub(replace, value)

"""Loading a config file: `load_config(path)` returns a `Config` or raises `ConfigError` whose
message names the file, the line, the key and the fix, e.g.
`config.yaml:14 forums[0].url: 'htp://x' is not an http(s) URL`.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from forumwatch.config.checks import located_problems
from forumwatch.config.models import Config
from forumwatch.config.secrets import is_secret_key
from forumwatch.config.yaml_source import SourceError, YamlSource, load_yaml

DEFAULT_CONFIG = "config.yaml"


class ConfigError(Exception):
    """The configuration cannot be used; each problem is one line for a person to act on."""

    def __init__(self, *problems: str) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(problems))


def default_config_path() -> Path:
    """`$FORUMWATCH_CONFIG`, else ./config.yaml."""
    return Path(os.environ.get("FORUMWATCH_CONFIG") or DEFAULT_CONFIG)


def load_config(path: Path | None = None) -> Config:
    """Read, substitute and validate a config file; relative database paths follow the file.
    Every problem of the file is reported at once, sorted by line."""
    path = path or default_config_path()
    try:
        source = load_yaml(path)
    except SourceError as err:
        raise ConfigError(str(err)) from None
    if not isinstance(source.data, dict):
        raise ConfigError(f"{path}:1 the top level must be a mapping with a `forums:` list")
    problems = [text for _, text in source.problems] + located_problems(source)
    try:
        config = Config.model_validate(
            _strip_secrets(source.data),
            context={"config_dir": path.parent, "located_checks": True},
        )
    except ValidationError as err:
        problems += _problems(err, source)
    if problems:
        raise ConfigError(*sorted(problems, key=lambda text: _line_of(text, source.file)))
    if not config.database.is_absolute():
        config = config.model_copy(update={"database": path.parent / config.database})
    if config.digest and config.digest.out and not config.digest.out.is_absolute():
        digest = config.digest.model_copy(update={"out": path.parent / config.digest.out})
        config = config.model_copy(update={"digest": digest})
    return config


def notes(config: Config) -> list[str]:
    """What a valid config will do that an admin may not expect, one line each (for
    `check-config` to print as notes): e.g. a database folder forumwatch has yet to create."""
    found = []
    folder = config.database.parent
    if not folder.exists():
        found.append(f"database folder {folder} does not exist yet; forumwatch will create it")
    return found


def _line_of(problem: str, file: str) -> int:
    line = problem.removeprefix(f"{file}:").split(" ", 1)[0].split(":", 1)[0]
    return int(line) if line.isdigit() else 0


def _strip_secrets(data: Any, key: str = "") -> Any:
    """A copy of parsed YAML whose secret values lost surrounding white space (a pasted key
    often ends in a newline, which HTTP libraries then quote back in their errors)."""
    if isinstance(data, dict):
        return {k: _strip_secrets(v, str(k)) for k, v in data.items()}
    if isinstance(data, list):
        return [_strip_secrets(v, key) for v in data]
    if isinstance(data, str) and is_secret_key(key):
        return data.strip()
    return data


def _problems(err: ValidationError, source: YamlSource) -> list[str]:
    """One line per problem, each naming the file, the line and the key; none for a value the
    reading already refused (an unset `${VAR}` is not also "too short")."""
    refused = [path for path, _ in source.problems]
    lines = []
    for problem in err.errors():
        loc = tuple(problem["loc"])
        if any(loc[: len(path)] == path for path in refused if path):
            continue
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = _unknown_key(loc)
        elif problem["type"] == "missing":
            message = "is required"
        lines.append(f"{source.where(loc)}: {message}")
    return lines


def _unknown_key(loc: tuple[str | int, ...]) -> str:
    """The unknown-key message, with the closest known key of that place if one is close."""
    known = _keys_at(loc[:-1])
    close = difflib.get_close_matches(str(loc[-1]).lower(), known, n=1) if loc else []
    if close:
        return f"unknown key; did you mean `{close[0]}`?"
    return "unknown key; check its spelling against the example config.yaml"


def _keys_at(loc: tuple[str | int, ...]) -> list[str]:
    """The keys the model at `loc` accepts (its aliases where it has them)."""
    model: type[BaseModel] | None = Config
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        field = next((f for name, f in model.model_fields.items() if part in (name, f.alias)), None)
        model = _model_in(field.annotation) if field else None
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model inside `X`, `X | None`, `list[X]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        if (model := _model_in(arg)) is not None:
            return model
    return None

"""Loading a config file: `load_config(path)` returns a `Config` or raises `ConfigError` whose
message names the file, the line, the key and the fix, e.g.
`config.yaml:14 forums[0].url: 'htp://x' is not an http(s) URL`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import (
    ValidationError,
)

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
    """Read, substitute and validate a config file; relative database paths follow the file."""
    path = path or default_config_path()
    try:
        source = load_yaml(path)
    except SourceError as err:
        raise ConfigError(str(err)) from None
    if not isinstance(source.data, dict):
        raise ConfigError(f"{path}:1 the top level must be a mapping with a `forums:` list")
    try:
        config = Config.model_validate(
            _strip_secrets(source.data), context={"config_dir": path.parent}
        )
    except ValidationError as err:
        raise ConfigError(*_problems(err, source)) from None
    if not config.database.is_absolute():
        config = config.model_copy(update={"database": path.parent / config.database})
    if config.digest and config.digest.out and not config.digest.out.is_absolute():
        digest = config.digest.model_copy(update={"out": path.parent / config.digest.out})
        config = config.model_copy(update={"digest": digest})
    return config


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
    """One line per problem, each naming the file, the line and the key."""
    lines = []
    for problem in err.errors():
        loc = tuple(problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown key; check its spelling against the example config.yaml"
        elif problem["type"] == "missing":
            message = "is required"
        lines.append(f"{source.where(loc)}: {message}")
    return lines

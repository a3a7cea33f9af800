"""Checks across the file that need its lines: a repeated id is reported where it repeats, and a
chat list without a `telegram:` section where the chats are listed. They read the parsed YAML
as written (before validation), so they run, and report, even when other values are wrong.
"""

from __future__ import annotations

from typing import Any

from forumwatch.config.yaml_source import Path_, YamlSource


def located_problems(source: YamlSource) -> list[str]:
    """`file:line key: what` for every repeated forum or app id and every unusable chat list."""
    data = source.data
    if not isinstance(data, dict):
        return []
    forums = data.get("forums")
    forums = forums if isinstance(forums, list) else []
    problems = _repeated_ids(source, "forum", ("forums",), forums)
    for i, forum in enumerate(forums):
        if isinstance(forum, dict) and isinstance(forum.get("apps"), list):
            problems += _repeated_ids(source, "app", ("forums", i, "apps"), forum["apps"])
    if data.get("telegram") is None:
        problems += _chats_without_telegram(source, data, ())
    return problems


def _repeated_ids(source: YamlSource, what: str, path: Path_, items: list[Any]) -> list[str]:
    first: dict[str, int] = {}
    problems = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str | int):
            continue
        key, at = str(item["id"]), (*path, i, "id")
        line = source.lines.get(at, 0)
        if key in first:
            scope = " in this forum" if what == "app" else ""
            problems.append(
                f"{source.where(at)}: {what} id {key!r} is used twice{scope} (first at line "
                f"{first[key]}); ids must be unique"
            )
        else:
            first[key] = line
    return problems


def _chats_without_telegram(source: YamlSource, data: Any, path: Path_) -> list[str]:
    """Every non-empty `*_chats:` list, anywhere: only the Telegram bot ever writes to a chat."""
    problems = []
    if isinstance(data, dict):
        for key, value in data.items():
            at = (*path, str(key))
            if str(key).endswith("_chats") and value:
                problems.append(
                    f"{source.where(at)}: nothing is sent to chats without a `telegram:` section; "
                    f"add one with the bot's `token`, or remove {key}"
                )
            else:
                problems += _chats_without_telegram(source, value, at)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            problems += _chats_without_telegram(source, item, (*path, i))
    return problems

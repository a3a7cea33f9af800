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
    problems += _policy_problems(source, data, forums)
    return problems


_CONDITIONS = ("tags", "categories", "apps", "forums")


def _policy_problems(source: YamlSource, data: dict[str, Any], forums: list[Any]) -> list[str]:
    """Every SLA policy that can never match: one naming an app or forum that is not there, or
    one shadowed by an earlier policy of its list whose condition holds wherever its own does."""
    apps_of = {
        str(f.get("id")).casefold(): {
            str(a.get("id")).casefold() for a in f.get("apps") or [] if isinstance(a, dict)
        }
        for f in forums
        if isinstance(f, dict)
    }
    every_app = set().union(*apps_of.values())
    problems = _policy_list(
        source,
        "in the config",
        ("sla_policies",),
        data.get("sla_policies"),
        set(apps_of),
        every_app,
    )
    for i, forum in enumerate(forums):
        if isinstance(forum, dict):
            own = str(forum.get("id")).casefold()
            problems += _policy_list(
                source,
                "in this forum",
                ("forums", i, "sla_policies"),
                forum.get("sla_policies"),
                {own},
                apps_of.get(own, set()),
            )
    return problems


def _policy_list(
    source: YamlSource,
    where: str,
    path: Path_,
    policies: Any,
    forum_ids: set[str],
    apps: set[str],
) -> list[str]:
    if not isinstance(policies, list):
        return []
    problems = []
    earlier: list[tuple[str, dict[str, frozenset[str]]]] = []
    for i, policy in enumerate(policies):
        if not isinstance(policy, dict):
            continue
        name = str(policy.get("name", ""))
        if name in (other for other, _ in earlier):
            problems.append(
                f"{source.where((*path, i, 'name'))}: policy name {name!r} is used twice; "
                "findings name their policy, so names must be unique"
            )
        match = policy.get("match") or {}
        if not isinstance(match, dict):
            continue
        condition = {
            key: frozenset(str(v).casefold() for v in values)
            for key in _CONDITIONS
            if isinstance(values := match.get(key), list) and values
        }
        at = (*path, i, "match")
        for key, known, what in (("apps", apps, "app"), ("forums", forum_ids, "forum")):
            unknown = sorted(condition.get(key, frozenset()) - known)
            if unknown:
                problems.append(
                    f"{source.where((*at, key))}: policy {name!r} can never match: "
                    f"{what} {', '.join(repr(u) for u in unknown)} is not {where}"
                )
        for other, wider in earlier:
            if all(key in condition and condition[key] <= values for key, values in wider.items()):
                same = "the same condition" if wider == condition else "a wider condition"
                problems.append(
                    f"{source.where(at)}: policy {name!r} can never match: "
                    f"policy {other!r} above has {same}"
                )
                break
        earlier.append((name, condition))
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

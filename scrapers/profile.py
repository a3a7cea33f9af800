"""Selector profiles: how to read one HTML forum engine's pages, as CSS selectors.

A profile is a bundled name (`scrapers/profiles/NAME.yaml`), a path to such a YAML file, or the
mapping itself inline in the config. Every selector is compiled when the config is loaded, so a
typo is a config error naming the key, not a surprise at 3 a.m.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from selectolax.lexbor import LexborHTMLParser, SelectolaxError

BUNDLED = Path(__file__).resolve().parent / "profiles"
_EMPTY = LexborHTMLParser("<html></html>")


class ProfileError(ValueError):
    """A profile that cannot be found, read or compiled; the message says which and why."""


class _Selectors(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_css(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        _EMPTY.css(value)  # the engine the scraper reads pages with: what it accepts, works
    except SelectolaxError:
        raise ValueError(
            f"{value!r} is not a valid CSS selector (the HTML parser, lexbor, cannot read it)"
        ) from None
    return value


class ListSelectors(_Selectors):
    """A topic-list page: one `item` per topic, its `link` (href = topic URL, text = title)."""

    item: str
    link: str
    replies: str | None = None  # reply count: a change means new posts
    last_activity: str | None = None  # when the topic last changed: a change detector too
    last_activity_attr: str | None = None  # read this attribute instead of the text
    pinned: str | None = None  # inside item: present means pinned (listed first, whatever its age)
    next_page: str | None = None  # the next list page's link
    id_pattern: str = r"(\d+)"  # the first group, searched in the topic URL's path, is its id

    @field_validator("item", "link", "replies", "last_activity", "pinned", "next_page")
    @classmethod
    def _css(cls, value: str | None) -> str | None:
        return _check_css(value)


class TopicSelectors(_Selectors):
    """A topic page: its posts in order, each with author, date and body."""

    post: str
    author: str
    date: str
    date_attr: str | None = None  # read this attribute of the date element instead of its text
    body: str
    role: str | None = None  # inside post: badge texts and classes become forum roles
    system: str | None = None  # inside post (or the post itself): a moderator action, not a reply
    closed: str | None = None  # anywhere on the page: the topic is closed
    solved: str | None = None  # anywhere on the page: the topic is solved
    title: str | None = None  # anywhere on the page: the title (else the list's link text)
    category: str | None = None  # anywhere on the page: a link to the topic's category
    tags: str | None = None  # anywhere on the page: each match's text is one of the topic's tags
    next_page: str | None = None  # the topic's next page of posts

    @field_validator(
        "post",
        "author",
        "date",
        "body",
        "role",
        "system",
        "closed",
        "solved",
        "title",
        "category",
        "tags",
        "next_page",
    )
    @classmethod
    def _css(cls, value: str | None) -> str | None:
        return _check_css(value)


class Profile(_Selectors):
    topic_list: ListSelectors
    topic: TopicSelectors


def bundled_profiles() -> list[str]:
    return sorted(path.stem for path in BUNDLED.glob("*.yaml"))


def load_profile(ref: str | dict[str, Any], base_dir: Path | None = None) -> Profile:
    """The profile `ref` names: a bundled name, a YAML path (relative to `base_dir`), a mapping."""
    if isinstance(ref, dict):
        return _validated(ref, "the inline profile")
    path = _profile_path(ref, base_dir)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ProfileError(f"cannot read profile {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise ProfileError(f"profile {path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"profile {path} must be a mapping with topic_list: and topic:")
    return _validated(data, f"profile {path}")


def _profile_path(ref: str, base_dir: Path | None) -> Path:
    if "/" not in ref and not ref.endswith((".yaml", ".yml")):
        path = BUNDLED / f"{ref}.yaml"
        if not path.exists():
            known = ", ".join(bundled_profiles())
            raise ProfileError(
                f"no bundled profile {ref!r} (bundled: {known}); or give a path to a YAML file"
            )
        return path
    path = Path(ref).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.exists():
        raise ProfileError(f"profile file {path} does not exist")
    return path


def _validated(data: dict[str, Any], what: str) -> Profile:
    try:
        return Profile.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: "
            + (
                "unknown key"
                if e["type"] == "extra_forbidden"
                else e["msg"].removeprefix("Value error, ")
            )
            for e in err.errors()
        )
        raise ProfileError(f"{what}: {problems}") from None

"""Discourse JSON → forumwatch.model: topic-list rows, posts and topics.

Pure functions. A required field that is missing or of the wrong type raises BadResponse naming
the field and the URL, never a bare KeyError or TypeError.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from forumwatch.model import Author, Post, PostKind, Topic, TopicState
from scrapers.base import BadResponse, MalformedTopic, TopicSummary
from scrapers.text import excerpt, html_excerpt

T = TypeVar("T")
SYSTEM_POST_TYPES = (2, 3)  # moderator action, small action
WHISPER_POST_TYPE = 4
POST_TYPES = frozenset({1, 2, 3, 4})  # regular, moderator action, small action, whisper
API_FIX = "the forum's API answered in an unexpected shape; check its version and any proxy"
TOPIC_FIX = "the topic is skipped (its stored version kept) until the forum sends it whole"
_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})


@dataclass(frozen=True)
class Where:
    """Which forum and URL a piece of JSON came from, for error messages."""

    forum_id: str
    url: str
    topic_id: str = ""  # set while parsing one topic: its problems skip that topic only
    row_topic: str = ""  # set while parsing one topic-list row: named, the row is skipped

    def bad(self, problem: str) -> BadResponse:
        if self.topic_id:
            return MalformedTopic(
                self.forum_id, self.url, f"topic {self.topic_id}: {problem}", TOPIC_FIX
            )
        if self.row_topic:
            return BadResponse(self.forum_id, self.url, f"topic {self.row_topic}: {problem}")
        return BadResponse(self.forum_id, self.url, problem, API_FIX)


def need(obj: Any, key: str, kind: type[T], where: Where, path: str = "") -> T:
    """obj[key], which must exist and be of `kind` (bool never passes for int)."""
    name = f"{path}{key}"
    if not isinstance(obj, dict):
        raise where.bad(f"expected an object holding '{name}', got {type(obj).__name__}")
    if key not in obj:
        raise where.bad(f"field '{name}' is missing")
    value = obj[key]
    if kind is int:
        number = int_like(value)  # 42 or "42": unambiguous
        if number is not None:
            return number  # type: ignore[return-value]
    elif isinstance(value, kind):
        return value
    raise where.bad(f"field '{name}' is {_shown(value)}, expected {kind.__name__}{_got(value)}")


def int_like(value: Any) -> int | None:
    """An int, or a string of ASCII digits ("42"), as int; None for anything else (bools,
    floats, "4.0", "-", "²": guessing there could invent or hide a finding)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value)
    return None


def _shown(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _got(value: Any) -> str:
    """The bad value itself, when it is short enough to help: ` (got 'many')`."""
    if isinstance(value, (str, int, float)) and len(repr(value)) <= 40:
        return f" (got {value!r})"
    return ""


def flag(obj: dict[str, Any], key: str, where: Where, path: str = "") -> bool:
    """A boolean field; absent or null is False; "true"/"false"/1/0 are coerced, the rest refused
    (bool("false") is True: taken as is, it would close an open topic and hide its findings)."""
    value = obj.get(key)
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise where.bad(f"field '{path}{key}' is {_shown(value)}, expected true or false{_got(value)}")


def optional_int(obj: dict[str, Any], key: str, where: Where, path: str = "") -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    return need(obj, key, int, where, path)


def parse_time(text: str, where: Where, name: str) -> datetime:
    """Discourse's ISO times (Z or offsets such as -05:00) as aware UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise where.bad(f"field '{name}' is not an ISO time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _optional_time(obj: dict[str, Any], key: str, where: Where) -> datetime | None:
    """An optional time: absent or null is None, a string must be ISO, anything else is refused."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise where.bad(f"field '{key}' is {_shown(value)}, expected an ISO time{_got(value)}")
    return parse_time(value, where, key)


def marker(row: dict[str, Any], where: Where) -> str:
    """Change detector of a topic: any new bumping post, post, close or archive changes it."""
    path = "topic_list.topics[]."
    parts = [
        str(row.get("bumped_at")),
        str(optional_int(row, "posts_count", where, path)),
        str(optional_int(row, "highest_post_number", where, path)),
        f"closed={flag(row, 'closed', where, path)}",
        f"archived={flag(row, 'archived', where, path)}",
    ]
    if row.get("tags"):  # a tag added later (a topic made paid) changes its SLA policy
        parts.append("tags=" + ",".join(sorted(tags(row))))
    return "|".join(parts)


def summary_from_row(row: Any, where: Where) -> TopicSummary:
    """One `topic_list.topics[]` row as a TopicSummary; extra keeps what fetch_topic may use."""
    path = "topic_list.topics[]."
    topic_id = need(row, "id", int, where, path)
    where = Where(where.forum_id, where.url, row_topic=str(topic_id))
    extra = {key: row.get(key) for key in ("slug", "category_id", "title")}
    return TopicSummary(
        topic_id=str(topic_id),
        marker=marker(row, where),
        bumped_at=_optional_time(row, "bumped_at", where),
        pinned=flag(row, "pinned", where, path),
        extra=extra,
    )


def forum_roles(post: dict[str, Any], where: Where) -> frozenset[str]:
    """Roles and groups as the forum shows them next to a post."""
    path = "post_stream.posts[]."
    roles = {role for role in ("staff", "moderator", "admin") if flag(post, role, where, path)}
    for key in ("primary_group_name", "flair_name", "flair_group_name", "user_title"):
        value = post.get(key)
        if isinstance(value, str) and value.strip():
            roles.add(value.strip())
    return frozenset(roles)


def post_kind(post: dict[str, Any], where: Where) -> PostKind:
    """The post's kind from post_type, which every Discourse version sends: missing, null or
    unknown is refused (a whisper read as a reply would be an answer nobody gave)."""
    post_type = need(post, "post_type", int, where, "post_stream.posts[].")
    if post_type not in POST_TYPES:  # a new kind of post: guessing could invent an answer
        raise where.bad(f"field 'post_stream.posts[].post_type' is {post_type}, not 1 to 4")
    if post_type in SYSTEM_POST_TYPES or post.get("action_code"):
        return PostKind.SYSTEM
    if post_type == WHISPER_POST_TYPE:
        return PostKind.WHISPER
    return PostKind.REPLY


def body_text(post: dict[str, Any]) -> str:
    """The post's text as an excerpt (EXCERPT_CHARS): `raw` when the server sent it as markdown,
    else the cooked HTML's text without its quotes (`<aside class="quote">`, `<blockquote>`)."""
    raw = post.get("raw")
    if isinstance(raw, str):
        return excerpt(raw)
    cooked = post.get("cooked")
    if not isinstance(cooked, str):
        return ""
    return html_excerpt(cooked)


def post_from_json(post: Any, where: Where) -> Post:
    """One `post_stream.posts[]` entry as a Post."""
    path = "post_stream.posts[]."
    number = need(post, "post_number", int, where, path)
    at = Where(
        where.forum_id, where.url, f"{where.topic_id}, post {number}" if where.topic_id else ""
    )
    username = need(post, "username", str, at, path)
    name = post.get("name") or post.get("display_username") or ""
    return Post(
        id=str(need(post, "id", int, at, path)),
        number=number,
        author=Author(username, str(name), forum_roles(post, at)),
        created_at=parse_time(need(post, "created_at", str, at, path), at, "created_at"),
        kind=post_kind(post, at),
        reply_to=optional_int(post, "reply_to_post_number", at, path),
        body_text=body_text(post),
    )


def tags(topic: dict[str, Any]) -> tuple[str, ...]:
    """Tags as strings: older servers send names, newer ones objects with a `name`."""
    found: list[str] = []
    for tag in topic.get("tags") or []:
        if isinstance(tag, str):
            found.append(tag)
        elif isinstance(tag, dict) and isinstance(tag.get("name"), str):
            found.append(tag["name"])
    return tuple(found)


def topic_state(topic: dict[str, Any], posts: list[dict[str, Any]], where: Where) -> TopicState:
    if flag(topic, "archived", where):
        return TopicState.ARCHIVED
    if flag(topic, "closed", where):
        return TopicState.CLOSED
    accepted = _accepted(topic, where) or flag(topic, "has_accepted_answer", where)
    path = "post_stream.posts[]."
    if accepted or any(flag(p, "accepted_answer", where, path) for p in posts):
        return TopicState.SOLVED
    return TopicState.OPEN


def _accepted(topic: dict[str, Any], where: Where) -> bool:
    """`accepted_answer` is an object (the solution) or null; a bare flag is coerced, the rest
    refused: a truthy "false" would mark the topic solved and hide its findings."""
    value = topic.get("accepted_answer")
    if isinstance(value, dict):
        return bool(value)
    return flag(topic, "accepted_answer", where)


@dataclass(frozen=True)
class TopicContext:
    """What a topic's JSON does not say itself."""

    base_url: str
    category_slugs: dict[int, str]
    summary: TopicSummary


def topic_from_json(
    data: Any, posts: list[dict[str, Any]], ctx: TopicContext, where: Where
) -> Topic:
    """A /t/{id}.json page plus every post of the topic (sorted or not) as a Topic."""
    topic_id = need(data, "id", int, where)
    title = need(data, "title", str, where)
    slug = data.get("slug") or ctx.summary.extra.get("slug") or "topic"
    parsed = sorted((post_from_json(p, where) for p in posts), key=lambda p: p.number)
    category_id = _category_id(data, ctx, where)
    bumped = _optional_time(data, "bumped_at", where) or ctx.summary.bumped_at
    return Topic(
        forum_id=where.forum_id,
        id=str(topic_id),
        url=f"{ctx.base_url}/t/{slug}/{topic_id}",
        title=title,
        author=_topic_author(data, parsed, where),
        created_at=parse_time(need(data, "created_at", str, where), where, "created_at"),
        posts=tuple(parsed),
        state=topic_state(data, posts, where),
        category=ctx.category_slugs.get(category_id, "") if isinstance(category_id, int) else "",
        category_id="" if category_id is None else str(category_id),
        tags=tags(data),
        last_activity_at=bumped or _optional_time(data, "last_posted_at", where),
    )


def _category_id(data: dict[str, Any], ctx: TopicContext, where: Where) -> int | None:
    """The topic's category id ("5" coerced), else the list row's when it looks like one."""
    if data.get("category_id") is not None:
        return need(data, "category_id", int, where)
    return int_like(ctx.summary.extra.get("category_id"))


def _topic_author(data: dict[str, Any], posts: list[Post], where: Where) -> Author:
    for post in posts:
        if post.number == 1:
            return post.author
    details = need(data, "details", dict, where)
    created_by = need(details, "created_by", dict, where, "details.")
    return Author(need(created_by, "username", str, where, "details.created_by."))


def category_slugs(data: Any) -> dict[int, str]:
    """id → slug from /categories.json, subcategories included when the server lists them."""
    found: dict[int, str] = {}
    listing = data.get("category_list") if isinstance(data, dict) else None
    pending = list(listing.get("categories") or []) if isinstance(listing, dict) else []
    while pending:
        category = pending.pop()
        if not isinstance(category, dict):
            continue
        if isinstance(category.get("id"), int) and isinstance(category.get("slug"), str):
            found[category["id"]] = category["slug"]
        pending.extend(category.get("subcategory_list") or [])
    return found


@dataclass(frozen=True)
class MembersPage:
    """One page of /groups/{name}/members.json."""

    members: tuple[str, ...]  # usernames under `members`: the part that pages
    owners: tuple[str, ...]  # usernames under `owners` (sent whole on every page)
    total: int | None  # meta.total; None where the server sends no meta (older versions)


def _usernames(data: dict[str, Any], key: str, where: Where) -> tuple[str, ...]:
    entries = need(data, key, list, where)
    return tuple(need(entry, "username", str, where, f"{key}[].") for entry in entries)


def members_page(data: Any, where: Where) -> MembersPage:
    """A /groups/{name}/members.json page; `owners` and `meta` are optional, as on older servers."""
    members = _usernames(data, "members", where)
    owners = _usernames(data, "owners", where) if "owners" in data else ()
    total = None
    if "meta" in data:
        meta = need(data, "meta", dict, where)
        total = need(meta, "total", int, where, "meta.")
    return MembersPage(members, owners, total)

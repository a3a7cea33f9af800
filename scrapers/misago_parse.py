"""Misago JSON (its 0.39 API) → forumwatch.model: thread-list rows, posts and threads.

Pure functions. A required field that is missing or of the wrong type raises BadResponse naming
the field and the URL (MalformedTopic inside one thread), never a bare KeyError or TypeError.
The field checks are shared with the Discourse parser.

What Misago sends (checked against a live 0.39.6):
- a thread-list row: `id`, `category` (an id), `title`, `replies` (events not counted),
  `started_on`, `last_post` (id), `last_post_on`, `last_post_is_event`, `is_closed`, `is_hidden`,
  `weight` (1 pinned in its category, 2 pinned everywhere), `best_answer` (a post id or null),
  `url.index` (the thread's path);
- a post (`post_set.results[]` of /api/threads/{id}/posts/): `id`, `poster` (null once the
  account is deleted; else `username`, `real_name`, `title`, `rank` {name, slug, title, ...}),
  `poster_name`, `content` (HTML; null for events and, for visitors, for hidden posts),
  `posted_on`, `is_event` with `event_type` (closed, opened, pinned_globally, changed_title,
  moved, merged, hid, unhid, approved, ...), `is_hidden`, `is_unapproved`. Posts carry no number:
  forumwatch numbers them by position (id order), events included, the opening post being 1.
- no staff or moderator flag anywhere: a poster's rank (e.g. "Forum team", title "Team") and
  own title are what the forum shows, so they are the forum roles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from forumwatch.model import Author, Post, PostKind, Topic, TopicState
from scrapers.base import TopicSummary
from scrapers.discourse_parse import Where, flag, int_like, need, optional_int, parse_time
from scrapers.text import html_excerpt

ROW = "results[]."
POST = "post_set.results[]."
_CATEGORY_PATH = re.compile(r"/c/([^/]+)/\d+/?$")


def _optional_time(obj: dict[str, Any], key: str, where: Where, path: str) -> datetime | None:
    value = obj.get(key)
    if value is None:
        return None
    return parse_time(need(obj, key, str, where, path), where, f"{path}{key}")


def _path_of(obj: dict[str, Any], where: Where, path: str) -> str | None:
    """`url.index`: the object's public path (or URL), None when the server sends none."""
    urls = obj.get("url")
    if isinstance(urls, str):
        return urls or None
    if urls is None:
        return None
    urls = need(obj, "url", dict, where, path)
    index = urls.get("index")
    if index is None:
        return None
    return need(urls, "index", str, where, f"{path}url.")


def marker(row: dict[str, Any], where: Where) -> str:
    """Change detector of a thread: a post, an event (closing or opening one adds an event),
    a best answer marked or a thread hidden each change it."""
    parts = [
        str(optional_int(row, "last_post", where, ROW)),
        str(row.get("last_post_on")),
        str(optional_int(row, "replies", where, ROW)),
        f"closed={flag(row, 'is_closed', where, ROW)}",
        f"best={optional_int(row, 'best_answer', where, ROW)}",
        f"hidden={flag(row, 'is_hidden', where, ROW)}",
    ]
    return "|".join(parts)


def summary_from_row(row: Any, where: Where) -> TopicSummary:
    """One `results[]` row of /api/threads/ as a TopicSummary; `extra` keeps what may help."""
    thread_id = need(row, "id", int, where, ROW)
    where = Where(where.forum_id, where.url, row_topic=str(thread_id))
    weight = optional_int(row, "weight", where, ROW) or 0
    extra = {
        "title": row.get("title"),
        "category": int_like(row.get("category")),
        "path": _path_of(row, where, ROW),
    }
    return TopicSummary(
        topic_id=str(thread_id),
        marker=marker(row, where),
        bumped_at=_optional_time(row, "last_post_on", where, ROW),
        pinned=weight > 0,
        extra=extra,
    )


def next_cursor(listing: dict[str, Any], where: Where) -> int | None:
    """`next` of a thread list: the cursor of the next page, None on the last one."""
    if listing.get("next") is None:
        return None
    return need(listing, "next", int, where)


def forum_roles(poster: dict[str, Any] | None) -> frozenset[str]:
    """The poster's rank name and title and own title: what Misago shows next to a post."""
    if poster is None:
        return frozenset()
    roles: set[str] = set()
    rank = poster.get("rank")
    values = [poster.get("title")]
    if isinstance(rank, dict):
        values += [rank.get("name"), rank.get("title")]
    for value in values:
        if isinstance(value, str) and value.strip():
            roles.add(value.strip())
    return frozenset(roles)


def _author(post: dict[str, Any], where: Where) -> Author:
    """The poster; a deleted account leaves only `poster_name`."""
    poster = post.get("poster")
    if poster is None:
        return Author(need(post, "poster_name", str, where, POST))
    poster = need(post, "poster", dict, where, POST)
    username = need(poster, "username", str, where, f"{POST}poster.")
    real_name = poster.get("real_name")
    display = real_name if isinstance(real_name, str) else ""
    return Author(username, display, forum_roles(poster))


def body_text(post: dict[str, Any]) -> str:
    """The post's text from its HTML without its quotes (`<aside class="quote-block">`), as an
    excerpt (EXCERPT_CHARS); an event says which event it is."""
    if post.get("is_event"):
        return f"[{post.get('event_type') or 'event'}]"
    content = post.get("content")
    if not isinstance(content, str):
        return ""
    return html_excerpt(content)


def post_id(post: Any, where: Where) -> int:
    return need(post, "id", int, where, POST)


def post_from_json(post: dict[str, Any], number: int, where: Where) -> Post:
    """One post or event as a Post numbered `number`; events are system posts."""
    at = Where(where.forum_id, where.url, f"{where.topic_id}, post {post.get('id')}")
    event = flag(post, "is_event", at, POST)
    return Post(
        id=str(post_id(post, at)),
        number=number,
        author=_author(post, at),
        created_at=parse_time(need(post, "posted_on", str, at, POST), at, f"{POST}posted_on"),
        kind=PostKind.SYSTEM if event else PostKind.REPLY,
        body_text=body_text(post),
    )


def hidden_from_customers(post: dict[str, Any], where: Where) -> bool:
    """A post hidden by a moderator ("This post is hidden") or awaiting approval: customers
    cannot read it, so it answers nothing and masks nothing."""
    return flag(post, "is_hidden", where, POST) or flag(post, "is_unapproved", where, POST)


def topic_state(thread: dict[str, Any], where: Where) -> TopicState:
    """Closed wins over solved; a best answer (a post id) makes a thread solved."""
    if flag(thread, "is_closed", where):
        return TopicState.CLOSED
    if optional_int(thread, "best_answer", where) is not None:
        return TopicState.SOLVED
    return TopicState.OPEN


@dataclass(frozen=True)
class TopicContext:
    """What a thread's JSON does not say itself."""

    base_url: str
    summary: TopicSummary


def _category(thread: dict[str, Any], where: Where) -> tuple[str, str]:
    """(slug or name, id) of the thread's category: an object on the thread view, an id in
    list rows."""
    category = thread.get("category")
    if category is None:
        return "", ""
    if not isinstance(category, dict):
        number = int_like(category)
        if number is None:
            raise where.bad(f"field 'category' is {category!r}, expected an object or an id")
        return "", str(number)
    number = need(category, "id", int, where, "category.")
    path = _path_of(category, where, "category.") or ""
    found = _CATEGORY_PATH.search(path)
    name = category.get("name")
    label = found[1] if found else (name if isinstance(name, str) else "")
    return label, str(number)


def topic_from_json(
    thread: Any, posts: list[dict[str, Any]], ctx: TopicContext, where: Where
) -> Topic:
    """A thread (the top of /api/threads/{id}/posts/) and all its posts and events (any order,
    pages' overlaps included) as a Topic."""
    thread_id = need(thread, "id", int, where)
    title = need(thread, "title", str, where)
    unique = {post_id(p, where): p for p in posts}  # Misago repeats a page's last post
    ordered = [unique[key] for key in sorted(unique)]
    parsed = [
        post_from_json(post, number, where)
        for number, post in enumerate(ordered, 1)
        if number == 1 or not hidden_from_customers(post, where)
    ]
    path = _path_of(thread, where, "") or ctx.summary.extra.get("path") or f"/t/{thread_id}/"
    category, category_id = _category(thread, where)
    if not parsed:  # every thread has its opening post: without it, nothing can be judged
        raise where.bad("field 'post_set.results' is empty: the opening post is missing")
    return Topic(
        forum_id=where.forum_id,
        id=str(thread_id),
        url=urljoin(ctx.base_url + "/", path),
        title=title,
        author=parsed[0].author,
        created_at=parse_time(need(thread, "started_on", str, where), where, "started_on"),
        posts=tuple(parsed),
        state=topic_state(thread, where),
        category=category,
        category_id=category_id,
        last_activity_at=_optional_time(thread, "last_post_on", where, "") or ctx.summary.bumped_at,
    )


@dataclass(frozen=True)
class PostsPage:
    """One page of /api/threads/{id}/posts/: the thread, its posts and events, the page count."""

    thread: dict[str, Any]
    posts: list[dict[str, Any]]
    pages: int


def posts_page(data: Any, where: Where) -> PostsPage:
    thread = data if isinstance(data, dict) else {}
    post_set = need(data, "post_set", dict, where)
    results = need(post_set, "results", list, where, "post_set.")
    for post in results:
        if not isinstance(post, dict):
            raise where.bad(f"post_set.results[] holds a {type(post).__name__}, not an object")
    pages = optional_int(post_set, "pages", where, "post_set.") or 1
    return PostsPage(thread, results, pages)


@dataclass(frozen=True)
class UsersPage:
    """One page of /api/users/?rank=ID."""

    usernames: tuple[str, ...]
    next_page: int | None


def users_page(data: Any, where: Where) -> UsersPage:
    results = need(data, "results", list, where)
    names = tuple(need(user, "username", str, where, "results[].") for user in results)
    following = data.get("next")
    return UsersPage(names, None if following is None else need(data, "next", int, where))


def find_rank(ranks: Any, group: str, where: Where) -> int | None:
    """The id of the rank named `group` (by name, slug, title or id) in /api/ranks/."""
    if not isinstance(ranks, list):
        raise where.bad(f"expected a list of ranks, got {type(ranks).__name__}")
    wanted = group.strip().casefold()
    for rank in ranks:
        if not isinstance(rank, dict):
            continue
        names = [rank.get(key) for key in ("name", "slug", "title")] + [str(rank.get("id"))]
        if any(isinstance(n, str) and n.strip().casefold() == wanted for n in names):
            return need(rank, "id", int, where, "[].")
    return None

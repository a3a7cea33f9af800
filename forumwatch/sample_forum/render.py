"""Turn a SampleForum into the JSON a Discourse server would send, shaped after real captures.

Every payload starts as a deep copy of a captured response (captures/*.json) whose fields are then
overwritten, so the sample forum keeps the real API's noise: fields we ignore, nulls, nesting.
We render the view of an API key with staff rights: whispers are served.
"""

from __future__ import annotations

import copy
import html
import json
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from typing import Any

from forumwatch.sample_forum.scenario import (
    WHISPER,
    SampleCategory,
    SampleForum,
    SamplePost,
    SampleTopic,
)

JsonDict = dict[str, Any]


@cache
def _capture_text(name: str) -> str:
    return (files("forumwatch.sample_forum") / "captures" / name).read_text(encoding="utf-8")


def capture(name: str) -> JsonDict:
    """A fresh copy of one captured response, e.g. capture("topic.json")."""
    data: JsonDict = json.loads(_capture_text(name))
    return data


def iso(moment: datetime) -> str:
    """Discourse's time format: UTC with milliseconds and a Z."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def post_id(topic_id: int, number: int) -> int:
    """Globally unique, stable post id: topic 7's post 3 is 7003."""
    return topic_id * 1000 + number


def slugify(title: str) -> str:
    words = "".join(c.lower() if c.isalnum() else " " for c in title).split()
    return "-".join(words) or "topic"


def _user_ids(forum: SampleForum) -> dict[str, int]:
    posters = {p.username for t in forum.topics for p in t.posts}
    names = sorted(posters.union(*forum.groups.values()))
    return {name: index + 1 for index, name in enumerate(names)}


def _post_json(forum: SampleForum, topic: SampleTopic, number: int) -> JsonDict:
    post: SamplePost = topic.posts[number - 1]
    data: JsonDict = capture("topic_posts.json")["post_stream"]["posts"][0]
    data.pop("raw", None)  # /t/{id}.json carries cooked HTML only
    display = post.display_name or post.username
    data.update(
        id=post_id(topic.id, number),
        name=display,
        username=post.username,
        display_username=display,
        user_id=_user_ids(forum)[post.username],
        created_at=iso(post.created_at),
        updated_at=iso(post.created_at),
        cooked=f"<p>{html.escape(post.body)}</p>",
        post_number=number,
        post_type=post.post_type,
        reply_to_post_number=post.reply_to,
        topic_id=topic.id,
        topic_slug=slugify(topic.title),
        staff=post.staff,
        moderator=post.moderator,
        admin=post.admin,
        user_title=post.user_title,
        primary_group_name=post.primary_group,
        flair_name=post.flair_group,
        action_code=post.action_code,
        accepted_answer=post.accepted_answer,
    )
    return data


def _counts(topic: SampleTopic) -> tuple[int, int, datetime]:
    """posts_count (whispers excluded), highest_post_number (staff view), last_posted_at."""
    public = [p for p in topic.posts if p.post_type != WHISPER]
    last = max((p.created_at for p in public), default=topic.created_at)
    return len(public), len(topic.posts), last


def _solved(topic: SampleTopic) -> bool:
    return any(p.accepted_answer for p in topic.posts)


def _list_row(forum: SampleForum, topic: SampleTopic) -> JsonDict:
    row: JsonDict = capture("latest.json")["topic_list"]["topics"][1]
    posts_count, highest, last_posted = _counts(topic)
    user_ids = _user_ids(forum)
    row.update(
        id=topic.id,
        title=topic.title,
        fancy_title=html.escape(topic.title),
        slug=slugify(topic.title),
        posts_count=posts_count,
        reply_count=max(0, posts_count - 1),
        highest_post_number=highest,
        created_at=iso(topic.created_at),
        last_posted_at=iso(last_posted),
        bumped_at=iso(topic.bumped_at),
        pinned=topic.pinned,
        closed=topic.closed,
        archived=topic.archived,
        category_id=topic.category_id,
        tags=list(topic.tags),
        has_accepted_answer=_solved(topic),
        excerpt=html.escape(topic.posts[0].body[:200]),
        last_poster_username=topic.posts[-1].username,
        posters=[
            {"extras": None, "description": "Original Poster", "user_id": user_ids[u]}
            for u in dict.fromkeys(p.username for p in topic.posts)
        ],
    )
    return row


def _sorted(topics: list[SampleTopic]) -> list[SampleTopic]:
    """Pinned first, then newest bump first, as /latest does."""
    by_bump = sorted(topics, key=lambda t: t.bumped_at, reverse=True)
    return sorted(by_bump, key=lambda t: not t.pinned)


def _topic_list(
    forum: SampleForum, template: str, topics: list[SampleTopic], page: int, next_url: str
) -> JsonDict:
    data = capture(template)
    ordered = _sorted(topics)
    start = page * forum.page_size
    shown = ordered[start : start + forum.page_size]
    user_ids = _user_ids(forum)
    names = dict.fromkeys(p.username for t in shown for p in t.posts)
    data["users"] = [{"id": user_ids[n], "username": n, "avatar_template": ""} for n in names]
    topic_list = data["topic_list"]
    topic_list["topics"] = [_list_row(forum, t) for t in shown]
    topic_list.pop("more_topics_url", None)
    if start + forum.page_size < len(ordered):
        topic_list["more_topics_url"] = next_url
    return data


def latest_page(forum: SampleForum, page: int = 0) -> JsonDict:
    """/latest.json?page=N"""
    return _topic_list(forum, "latest.json", forum.topics, page, f"/latest.json?page={page + 1}")


def find_category(forum: SampleForum, ref: str | int) -> SampleCategory:
    """A category by slug or id; KeyError when there is none."""
    for category in forum.categories:
        if str(ref) in (category.slug, str(category.id)):
            return category
    raise KeyError(ref)


def category_page(forum: SampleForum, ref: str | int, page: int = 0) -> JsonDict:
    """/c/<slug>/<id>.json?page=N (ref: slug or id)."""
    category = find_category(forum, ref)
    topics = [t for t in forum.topics if t.category_id == category.id]
    next_url = f"/c/{category.slug}/{category.id}.json?page={page + 1}"
    return _topic_list(forum, "category_topics.json", topics, page, next_url)


def categories(forum: SampleForum) -> JsonDict:
    """/categories.json"""
    data = capture("categories.json")
    template = data["category_list"]["categories"][0]
    rows = []
    for category in forum.categories:
        row = copy.deepcopy(template)
        count = sum(1 for t in forum.topics if t.category_id == category.id)
        row.update(
            id=category.id,
            slug=category.slug,
            name=category.name or category.slug,
            topic_count=count,
            topics=[],
        )
        rows.append(row)
    data["category_list"]["categories"] = rows
    return data


def _topic_fields(forum: SampleForum, topic: SampleTopic) -> JsonDict:
    posts_count, highest, last_posted = _counts(topic)
    fields: JsonDict = {
        "id": topic.id,
        "title": topic.title,
        "fancy_title": html.escape(topic.title),
        "slug": slugify(topic.title),
        "posts_count": posts_count,
        "reply_count": max(0, posts_count - 1),
        "highest_post_number": highest,
        "created_at": iso(topic.created_at),
        "last_posted_at": iso(last_posted),
        "bumped_at": iso(topic.bumped_at),
        "closed": topic.closed,
        "archived": topic.archived,
        "pinned": topic.pinned,
        "category_id": topic.category_id,
        "tags": list(topic.tags),
    }
    accepted = [n for n, p in enumerate(topic.posts, 1) if p.accepted_answer]
    if accepted:  # the Solved plugin's summary of the accepted post
        number = accepted[0]
        fields["accepted_answer"] = {
            "post_number": number,
            "username": topic.posts[number - 1].username,
        }
    return fields


def topic_page(forum: SampleForum, topic_id: int) -> JsonDict:
    """/t/<id>.json: the first chunk of posts inlined, every post id in the stream."""
    topic = forum.topic(topic_id)
    data = capture("topic.json")
    data.pop("suggested_topics", None)
    data.update(_topic_fields(forum, topic))
    numbers = range(1, len(topic.posts) + 1)
    data["post_stream"] = {
        "posts": [_post_json(forum, topic, n) for n in numbers[: forum.chunk_size]],
        "stream": [post_id(topic.id, n) for n in numbers],
    }
    details = data["details"]
    user_ids = _user_ids(forum)
    first, last = topic.posts[0].username, topic.posts[-1].username
    details["created_by"] = {"id": user_ids[first], "username": first, "avatar_template": ""}
    details["last_poster"] = {"id": user_ids[last], "username": last, "avatar_template": ""}
    details["participants"] = [
        {"id": user_ids[u], "username": u, "avatar_template": "", "post_count": 1}
        for u in dict.fromkeys(p.username for p in topic.posts)
    ]
    return data


def topic_posts(forum: SampleForum, topic_id: int, post_ids: list[int]) -> JsonDict:
    """/t/<id>/posts.json?post_ids[]=..: the asked-for posts of that topic, unknown ids ignored."""
    topic = forum.topic(topic_id)
    wanted = set(post_ids)
    numbers = [n for n in range(1, len(topic.posts) + 1) if post_id(topic.id, n) in wanted]
    data = capture("topic_posts.json")
    data["post_stream"] = {"posts": [_post_json(forum, topic, n) for n in numbers]}
    data["id"] = topic.id
    return data


def group_members(forum: SampleForum, name: str, offset: int = 0, limit: int = 50) -> JsonDict:
    """/groups/<name>/members.json?offset=N&limit=M, shaped like the real members_2.json capture
    (members, owners, meta); KeyError for a group that does not exist."""
    if offset < 0 or limit < 0:
        raise ValueError("offset and limit must not be negative")
    usernames = list(dict.fromkeys(forum.groups[name]))
    user_ids = _user_ids(forum)
    shown = usernames[offset : offset + limit]
    return {
        "members": [{"id": user_ids[u], "name": u, "username": u} for u in shown],
        "owners": [],
        "meta": {"total": len(usernames), "limit": limit, "offset": offset},
    }

"""The sample forum speaks Discourse: real capture shapes, paging, routes and injected faults."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from forumwatch.sample_forum import render
from forumwatch.sample_forum.scenario import (
    SMALL_ACTION,
    WHISPER,
    SampleCategory,
    SampleForum,
    SamplePost,
    SampleTopic,
)
from forumwatch.sample_forum.server import SampleForumServer

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def _topic(
    topic_id: int, hours: float, *, posts: int = 1, category_id: int = 1, pinned: bool = False
) -> SampleTopic:
    at = START + timedelta(hours=hours)
    items = [SamplePost(f"user{n}", at + timedelta(minutes=n), f"post {n}") for n in range(posts)]
    return SampleTopic(topic_id, f"Topic {topic_id}", items, category_id=category_id, pinned=pinned)


def _forum(*topics: SampleTopic, page_size: int = 30) -> SampleForum:
    categories = [SampleCategory(1, "uncategorized"), SampleCategory(5, "howto", "How to")]
    return SampleForum(list(topics), categories, page_size=page_size)


@pytest.fixture
def server() -> Iterator[SampleForumServer]:
    forum = _forum(_topic(1, 0), _topic(2, 1, category_id=5), _topic(3, 2, posts=25))
    with SampleForumServer(forum) as running:
        yield running


def _ids(page: dict[str, Any]) -> list[int]:
    return [row["id"] for row in page["topic_list"]["topics"]]


def test_latest_lists_pinned_first_then_newest_bump() -> None:
    forum = _forum(_topic(1, 0), _topic(2, 5), _topic(3, 1, pinned=True))
    assert _ids(render.latest_page(forum, 0)) == [3, 2, 1]


def test_whispers_and_small_actions_do_not_bump() -> None:
    topic = _topic(1, 0)
    topic.posts.append(SamplePost("mod", START + timedelta(days=1), "w", post_type=WHISPER))
    topic.posts.append(SamplePost("mod", START + timedelta(days=2), post_type=SMALL_ACTION))
    row = render.latest_page(_forum(topic))["topic_list"]["topics"][0]
    assert row["bumped_at"] == "2025-03-03T09:00:00.000Z"
    assert (row["posts_count"], row["highest_post_number"]) == (2, 3)


def test_more_topics_url_only_while_more_pages_exist() -> None:
    forum = _forum(*(_topic(i, i) for i in range(1, 6)), page_size=2)
    pages = [render.latest_page(forum, n)["topic_list"] for n in range(3)]
    assert [p.get("more_topics_url") for p in pages] == [
        "/latest.json?page=1",
        "/latest.json?page=2",
        None,
    ]
    assert [len(p["topics"]) for p in pages] == [2, 2, 1]


def test_category_page_by_slug_or_id_pages_like_discourse() -> None:
    forum = _forum(*(_topic(i, i, category_id=5) for i in range(1, 4)), _topic(9, 0), page_size=2)
    by_slug, by_id = render.category_page(forum, "howto"), render.category_page(forum, 5)
    assert _ids(by_slug) == _ids(by_id) == [3, 2]
    assert by_slug["topic_list"]["more_topics_url"] == "/c/howto/5.json?page=1"
    with pytest.raises(KeyError):
        render.category_page(forum, "nope")


def test_topic_page_inlines_one_chunk_and_streams_every_post_id() -> None:
    data = render.topic_page(_forum(_topic(3, 0, posts=25)), 3)
    assert len(data["post_stream"]["posts"]) == 20
    assert data["post_stream"]["stream"] == [3000 + n for n in range(1, 26)]
    assert data["posts_count"] == 25 and data["details"]["created_by"]["username"] == "user0"


def test_post_keeps_capture_fields_and_escapes_the_body() -> None:
    topic = _topic(4, 0)
    topic.posts[0] = SamplePost("ann", START, "a < b & c", moderator=True, flair_group="vendor")
    post = render.topic_page(_forum(topic), 4)["post_stream"]["posts"][0]
    assert post["cooked"] == "<p>a &lt; b &amp; c</p>"
    assert post["created_at"] == "2025-03-03T09:00:00.000Z"
    assert (post["moderator"], post["flair_name"], post["id"]) == (True, "vendor", 4001)
    assert "avatar_template" in post and "raw" not in post  # the capture's other fields stay


def test_topic_posts_returns_only_the_asked_posts() -> None:
    data = render.topic_posts(_forum(_topic(3, 0, posts=25)), 3, [3021, 3023, 9999])
    assert [p["post_number"] for p in data["post_stream"]["posts"]] == [21, 23]


def test_categories_lists_every_category() -> None:
    rows = render.categories(_forum())["category_list"]["categories"]
    assert [(c["id"], c["slug"], c["name"]) for c in rows] == [
        (1, "uncategorized", "uncategorized"),
        (5, "howto", "How to"),
    ]


def test_server_routes_answer_over_http(server: SampleForumServer) -> None:
    paths = [
        "/latest.json?page=0",
        "/c/howto.json",
        "/c/howto/5.json?page=0",
        "/categories.json",
        "/t/3.json",
        "/t/topic-3/3.json",
        "/t/3/posts.json?post_ids[]=3021&post_ids[]=3022",
    ]
    for path in paths:
        response = httpx.get(server.url + path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("application/json")
    assert server.requests == paths
    posts = httpx.get(server.url + paths[-1]).json()["post_stream"]["posts"]
    assert [p["post_number"] for p in posts] == [21, 22]


def test_unknown_paths_and_topics_are_404_json(server: SampleForumServer) -> None:
    for path in ("/nope", "/t/404.json", "/c/nope.json", "/t/abc.json"):
        response = httpx.get(server.url + path)
        assert response.status_code == 404
        assert "errors" in response.json()


def test_forum_can_change_between_requests(server: SampleForumServer) -> None:
    server.forum.topics.append(_topic(7, 10))
    assert _ids(httpx.get(server.url + "/latest.json").json())[0] == 7
    server.forum = _forum()
    assert _ids(httpx.get(server.url + "/latest.json").json()) == []


def test_fault_is_used_up_after_its_times(server: SampleForumServer) -> None:
    server.fail("/t/", status=429, times=1, headers={"Retry-After": "7"})
    first, second = httpx.get(server.url + "/t/3.json"), httpx.get(server.url + "/t/3.json")
    assert (first.status_code, first.headers["retry-after"]) == (429, "7")
    assert second.status_code == 200
    assert httpx.get(server.url + "/latest.json").status_code == 200


def test_fault_replays_a_raw_body_until_healed(server: SampleForumServer) -> None:
    server.fail("/latest.json", status=200, body=b'{"topic_list": {"top')
    with pytest.raises(json.JSONDecodeError):
        json.loads(httpx.get(server.url + "/latest.json").content)
    server.heal()
    assert httpx.get(server.url + "/latest.json").json()["topic_list"]


def test_delay_fault_slows_the_real_answer(server: SampleForumServer) -> None:
    server.fail("/categories", delay=0.3)
    started = time.monotonic()
    assert httpx.get(server.url + "/categories.json").status_code == 200
    assert time.monotonic() - started >= 0.3
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(server.url + "/categories.json", timeout=0.05)


def test_requests_record_headers(server: SampleForumServer) -> None:
    httpx.get(server.url + "/latest.json", headers={"Api-Key": "k"})
    assert server.request_headers[-1]["api-key"] == "k"
    server.clear_requests()
    assert server.requests == [] and server.request_headers == []

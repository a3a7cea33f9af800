"""The Discourse scraper against a real HTTP server on loopback: real captures, paging, faults."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from forumwatch.model import PostKind, Topic, TopicState
from forumwatch.sample_forum.scenario import (
    MODERATOR_ACTION,
    SMALL_ACTION,
    WHISPER,
    SampleCategory,
    SampleForum,
    SamplePost,
    SampleTopic,
)
from forumwatch.sample_forum.server import SampleForumServer
from scrapers.base import BadResponse, ForumSettings, ForumUnavailable, TopicSummary, scraper_for
from scrapers.discourse import DiscourseScraper

T = TypeVar("T")
CAPTURES = Path(__file__).parent / "fixtures" / "discourse_api"
NOW = datetime.now(UTC).replace(microsecond=0)


def _capture_bytes(name: str) -> bytes:
    return (CAPTURES / name).read_bytes()


def _topic(topic_id: int, hours_ago: float, *, posts: int = 1, category_id: int = 1) -> SampleTopic:
    start = NOW - timedelta(hours=hours_ago)
    items = [
        SamplePost(f"user{n}", start + timedelta(minutes=n), f"post {n}") for n in range(posts)
    ]
    return SampleTopic(topic_id, f"Topic {topic_id}", items, category_id=category_id)


def _forum(*topics: SampleTopic, page_size: int = 30) -> SampleForum:
    categories = [SampleCategory(1, "uncategorized"), SampleCategory(5, "howto", "How to")]
    return SampleForum(list(topics), categories, page_size=page_size)


@pytest.fixture
def server() -> Iterator[SampleForumServer]:
    with SampleForumServer(_forum()) as running:
        yield running


def _settings(server: SampleForumServer, **overrides: Any) -> ForumSettings:
    fields: dict[str, Any] = {
        "forum_id": "sample",
        "url": server.url,
        "requests_per_second": 1000.0,
        "timeout_seconds": 5.0,
        "max_retries": 2,
        "options": {"backoff_base": 0.001, "retry_after_max": 5.0},
    }
    fields.update(overrides)
    return ForumSettings(**fields)


def _run(
    server: SampleForumServer, work: Callable[[DiscourseScraper], Awaitable[T]], **overrides: Any
) -> T:
    """Run `work` with a fresh scraper in its own event loop, as the pipeline would."""

    async def main() -> T:
        scraper = DiscourseScraper(_settings(server, **overrides))
        try:
            return await work(scraper)
        finally:
            await scraper.aclose()

    return asyncio.run(main())


def _listing(
    server: SampleForumServer,
    known: dict[str, str] | None = None,
    since: datetime | None = None,
    *,
    exhaustive: bool = False,
    **overrides: Any,
) -> list[TopicSummary]:
    async def work(scraper: DiscourseScraper) -> list[TopicSummary]:
        listing = scraper.list_topics(known or {}, since, exhaustive=exhaustive)
        return [s async for s in listing]

    return _run(server, work, **overrides)


def _fetch(server: SampleForumServer, topic_id: int, **overrides: Any) -> Topic:
    async def work(scraper: DiscourseScraper) -> Topic:
        return await scraper.fetch_topic(TopicSummary(str(topic_id), ""))

    return _run(server, work, **overrides)


# --- real captures, replayed verbatim -------------------------------------------------------


def test_real_topic_capture_maps_kinds_roles_and_utc_times(server: SampleForumServer) -> None:
    server.fail("/t/57.json", status=200, body=_capture_bytes("topic.json"))
    topic = _fetch(server, 57)
    assert [p.number for p in topic.posts] == [1, 2, 3, 14]
    assert [p.kind for p in topic.posts] == [
        PostKind.REPLY,
        PostKind.SYSTEM,  # post_type 2: "This topic is now pinned"
        PostKind.REPLY,
        PostKind.REPLY,
    ]
    first = topic.posts[0]
    assert first.author.username == "samsaffron" and first.author.display_name == "Sam Saffron"
    assert first.author.forum_roles == frozenset({"staff"})
    assert first.created_at == datetime(2013, 2, 4, 20, 26, 26, 278000, tzinfo=UTC)
    assert first.body_text.startswith("Welcome!") and "<p>" not in first.body_text
    assert topic.author.username == "samsaffron"
    assert topic.url == f"{server.url}/t/this-site-is-a-sandbox-it-is-reset-every-day/57"
    assert (topic.category_id, topic.category, topic.state) == ("13", "", TopicState.OPEN)
    assert topic.last_activity_at == datetime(2013, 2, 5, 17, 14, 17, 364000, tzinfo=UTC)


def test_real_posts_capture_fetched_for_stream_ids_not_inlined(server: SampleForumServer) -> None:
    page = json.loads(_capture_bytes("topic.json"))
    page["post_stream"]["stream"].append(123456)  # one post not inlined, as on long topics
    server.fail("/t/57.json", status=200, body=json.dumps(page).encode())
    posts = json.loads(_capture_bytes("topic_posts.json"))
    posts["post_stream"]["posts"][0]["post_number"] = 99  # a later post of topic 57, not #2 again
    server.fail("/t/57/posts.json", status=200, body=json.dumps(posts).encode())
    topic = _fetch(server, 57)
    assert server.requests[1] == "/t/57/posts.json?post_ids%5B%5D=123456"
    extra = next(p for p in topic.posts if p.id == "123456")
    assert extra.body_text == "Some text."  # `raw` is a list in this capture: cooked is used
    assert extra.created_at == datetime(2020, 1, 27, 11, 32, 3, 646000, tzinfo=UTC)
    assert extra.author.forum_roles == frozenset()


def test_real_latest_capture_dedups_and_follows_more_topics_url(server: SampleForumServer) -> None:
    server.fail("/latest.json", status=200, body=_capture_bytes("latest.json"), times=1)
    summaries = _listing(server, lookback_days=365 * 100)
    assert [s.topic_id for s in summaries] == ["1"]  # the capture lists id 1 three times
    assert summaries[0].pinned and summaries[0].extra["slug"] == "test-topic-1"
    assert server.requests == ["/latest.json", "/latest.json?page=1"]


# --- topics in full ---------------------------------------------------------------------------


def test_long_topic_returns_every_post(server: SampleForumServer) -> None:
    server.forum = _forum(_topic(3, 5, posts=25))
    topic = _fetch(server, 3)
    assert [p.number for p in topic.posts] == list(range(1, 26))
    assert topic.posts[22].number == 23 and topic.posts[22].author.username == "user22"
    assert [r for r in server.requests if "posts.json" in r] == [
        "/t/3/posts.json?" + "&".join(f"post_ids%5B%5D={3000 + n}" for n in range(21, 26))
    ]


def _rich_topic() -> SampleTopic:
    start = NOW - timedelta(hours=6)
    posts = [
        SamplePost("customer", start, "It crashes <always> & forever", display_name="Cus Tomer"),
        SamplePost("mod", start + timedelta(hours=1), "ask dev", post_type=WHISPER, staff=True),
        SamplePost("mod", start + timedelta(hours=2), post_type=SMALL_ACTION, staff=True,
                   moderator=True, action_code="closed.enabled"),
        SamplePost("dev", start + timedelta(hours=3), "fixed", reply_to=1, primary_group="vendor",
                   flair_group="vendor-team", user_title="Developer", accepted_answer=True),
        SamplePost("admin", start + timedelta(hours=4), "Pinned", post_type=MODERATOR_ACTION,
                   admin=True, staff=True),
    ]  # fmt: skip
    return SampleTopic(8, "Crash &amp; burn", posts, category_id=5, tags=["crash", "ios"])


def test_sample_topic_maps_to_the_model(server: SampleForumServer) -> None:
    server.forum = _forum(_rich_topic())
    topic = _fetch(server, 8)
    assert [p.kind for p in topic.posts] == [
        PostKind.REPLY,
        PostKind.WHISPER,
        PostKind.SYSTEM,
        PostKind.REPLY,
        PostKind.SYSTEM,
    ]
    customer, whisper, _, dev, admin = topic.posts
    assert customer.body_text == "It crashes <always> & forever"
    assert customer.author.display_name == "Cus Tomer" and whisper.author.forum_roles == {"staff"}
    assert dev.author.forum_roles == {"vendor", "vendor-team", "Developer"}
    assert dev.reply_to == 1 and dev.id == "8004"
    assert admin.author.forum_roles == {"staff", "admin"}
    assert (topic.category, topic.category_id, topic.tags) == ("howto", "5", ("crash", "ios"))
    assert topic.title == "Crash &amp; burn" and topic.url.endswith("/t/crash-amp-burn/8")
    assert topic.state == TopicState.SOLVED
    assert topic.created_at == customer.created_at and topic.author.username == "customer"
    assert topic.last_activity_at == admin.created_at  # whispers and small actions do not bump


@pytest.mark.parametrize(
    ("closed", "archived", "state"),
    [(True, False, TopicState.CLOSED), (True, True, TopicState.ARCHIVED)],
)
def test_closed_and_archived_win_over_solved(
    server: SampleForumServer, closed: bool, archived: bool, state: TopicState
) -> None:
    topic = _rich_topic()
    topic.closed, topic.archived = closed, archived
    server.forum = _forum(topic)
    assert _fetch(server, 8).state == state


def test_tag_objects_of_newer_servers_become_names(server: SampleForumServer) -> None:
    page = json.loads(_capture_bytes("topic.json"))
    page["tags"] = [{"id": 1, "name": "ios", "slug": "ios"}, "android"]
    server.fail("/t/57.json", status=200, body=json.dumps(page).encode())
    assert _fetch(server, 57).tags == ("ios", "android")


def test_categories_are_fetched_once_and_failure_leaves_slug_empty(
    server: SampleForumServer,
) -> None:
    server.forum = _forum(_topic(1, 1, category_id=5), _topic(2, 2, category_id=5))

    async def both(scraper: DiscourseScraper) -> list[Topic]:
        return [await scraper.fetch_topic(TopicSummary(i, "")) for i in ("1", "2")]

    assert [t.category for t in _run(server, both)] == ["howto", "howto"]
    assert server.requests.count("/categories.json") == 1
    server.fail("/categories.json", status=403)
    assert _fetch(server, 1).category == ""


# --- listing ----------------------------------------------------------------------------------


def test_topic_on_second_page_is_listed(server: SampleForumServer) -> None:
    server.forum = _forum(*(_topic(i, i) for i in range(1, 6)), page_size=2)
    assert [s.topic_id for s in _listing(server)] == ["1", "2", "3", "4", "5"]
    assert server.requests == ["/latest.json", "/latest.json?page=1", "/latest.json?page=2"]


def test_relisting_with_unchanged_markers_fetches_only_first_page(
    server: SampleForumServer,
) -> None:
    server.forum = _forum(*(_topic(i, i) for i in range(1, 6)), page_size=2)
    known = {s.topic_id: s.marker for s in _listing(server)}
    server.clear_requests()
    assert [s.topic_id for s in _listing(server, known)] == ["1", "2"]
    assert server.requests == ["/latest.json"]


def test_new_post_changes_the_marker(server: SampleForumServer) -> None:
    server.forum = _forum(_topic(1, 3), _topic(2, 4))
    known = {s.topic_id: s.marker for s in _listing(server)}
    server.forum.topic(2).posts.append(SamplePost("someone", NOW, "still relevant?"))
    changed = {s.topic_id for s in _listing(server, known) if known[s.topic_id] != s.marker}
    assert changed == {"2"}


def test_since_skips_older_topics_and_stops_paging(server: SampleForumServer) -> None:
    server.forum = _forum(*(_topic(i, i * 24) for i in range(1, 7)), page_size=2)
    summaries = _listing(server, since=NOW - timedelta(hours=60))
    assert [s.topic_id for s in summaries] == ["1", "2"]
    assert server.requests == ["/latest.json", "/latest.json?page=1"]


def test_max_pages_bounds_paging(server: SampleForumServer) -> None:
    server.forum = _forum(*(_topic(i, i) for i in range(1, 7)), page_size=2)
    assert len(_listing(server, max_pages=2)) == 4
    assert len(server.requests) == 2


def test_exhaustive_relisting_pages_through_unchanged_topics(server: SampleForumServer) -> None:
    server.forum = _forum(*(_topic(i, i) for i in range(1, 6)), page_size=2)
    known = {s.topic_id: s.marker for s in _listing(server)}
    server.forum.topic(5).closed = True  # closing does not bump: topic 5 stays on the last page
    server.clear_requests()
    assert [s.topic_id for s in _listing(server, known)] == ["1", "2"]
    assert server.requests == ["/latest.json"]
    server.clear_requests()
    summaries = _listing(server, known, exhaustive=True)
    assert [s.topic_id for s in summaries] == ["1", "2", "3", "4", "5"]
    assert server.requests == ["/latest.json", "/latest.json?page=1", "/latest.json?page=2"]
    assert {s.topic_id for s in summaries if known[s.topic_id] != s.marker} == {"5"}


def test_exhaustive_listing_still_stops_at_max_pages(server: SampleForumServer) -> None:
    server.forum = _forum(*(_topic(i, i) for i in range(1, 7)), page_size=2)
    known = {s.topic_id: s.marker for s in _listing(server)}
    server.clear_requests()
    assert len(_listing(server, known, exhaustive=True, max_pages=2)) == 4
    assert server.requests == ["/latest.json", "/latest.json?page=1"]


def test_exhaustive_listing_still_stops_at_since(server: SampleForumServer) -> None:
    server.forum = _forum(*(_topic(i, i * 24) for i in range(1, 7)), page_size=2)
    since = NOW - timedelta(hours=60)
    known = {s.topic_id: s.marker for s in _listing(server, since=since)}
    server.clear_requests()
    summaries = _listing(server, known, since, exhaustive=True)
    assert [s.topic_id for s in summaries] == ["1", "2"]
    assert server.requests == ["/latest.json", "/latest.json?page=1"]  # page 1: 3 and 4 too old


def test_categories_listed_by_slug_and_id_without_duplicates(server: SampleForumServer) -> None:
    topics = [_topic(1, 1, category_id=5), _topic(2, 2), _topic(3, 3, category_id=5)]
    server.forum = _forum(*topics, page_size=1)
    summaries = _listing(server, categories=("howto", "5"))
    assert [s.topic_id for s in summaries] == ["1", "3"]
    assert server.requests == [
        "/c/howto.json",
        "/c/howto/5.json?page=1",
        "/c/5.json",
        "/c/howto/5.json?page=1",
    ]


def test_registered_as_discourse_engine(server: SampleForumServer) -> None:
    scraper = scraper_for("discourse", _settings(server))
    assert isinstance(scraper, DiscourseScraper)
    asyncio.run(scraper.aclose())


# --- politeness -------------------------------------------------------------------------------


def test_requests_carry_user_agent_and_api_headers(server: SampleForumServer) -> None:
    headers = {"Api-Key": "secret", "Api-Username": "system"}
    _listing(server, headers=headers)
    sent = server.request_headers[0]
    assert (
        sent["user-agent"].startswith("forumwatch/") and "+https://github.com" in sent["user-agent"]
    )
    assert (sent["api-key"], sent["api-username"]) == ("secret", "system")


def test_never_more_than_max_concurrency_requests_per_host(server: SampleForumServer) -> None:
    server.forum = _forum(*(_topic(i, i) for i in range(1, 9)))
    server.fail("/t/", delay=0.05)

    async def all_topics(scraper: DiscourseScraper) -> list[Topic]:
        return await asyncio.gather(
            *(scraper.fetch_topic(TopicSummary(str(i), "")) for i in range(1, 9))
        )

    assert len(_run(server, all_topics, max_concurrency=2)) == 8
    assert server.peak_concurrency == 2


def test_request_starts_are_spaced_by_requests_per_second(server: SampleForumServer) -> None:
    server.forum = _forum(*(_topic(i, i) for i in range(1, 6)), page_size=1)
    started = time.monotonic()
    _listing(server, requests_per_second=20.0)
    assert len(server.requests) == 5
    assert time.monotonic() - started >= 4 / 20


def test_redirects_are_followed(server: SampleForumServer) -> None:
    server.forum = _forum(_topic(3, 1))
    server.fail("/t/3.json", status=301, headers={"Location": "/t/topic-3/3.json"}, times=1)
    assert _fetch(server, 3).id == "3"
    assert server.requests[:2] == ["/t/3.json", "/t/topic-3/3.json"]


# --- faults -----------------------------------------------------------------------------------


def test_server_error_outlasting_retries_is_forum_unavailable(server: SampleForumServer) -> None:
    server.fail("/latest.json", status=500)
    with pytest.raises(ForumUnavailable, match="HTTP 500") as caught:
        _listing(server, max_retries=2)
    assert "check that the forum is up" in str(caught.value)
    assert server.requests == ["/latest.json"] * 3


def test_transient_server_error_is_retried(server: SampleForumServer) -> None:
    server.forum = _forum(_topic(1, 1))
    server.fail("/latest.json", status=502, times=2)
    assert [s.topic_id for s in _listing(server, max_retries=2)] == ["1"]


def test_rate_limit_retry_after_is_honoured(server: SampleForumServer) -> None:
    server.forum = _forum(_topic(1, 1))
    server.fail("/latest.json", status=429, headers={"Retry-After": "1"}, times=1)
    started = time.monotonic()
    assert [s.topic_id for s in _listing(server)] == ["1"]
    assert time.monotonic() - started >= 0.95
    assert server.requests == ["/latest.json", "/latest.json"]


def test_rate_limit_wait_is_capped_and_reported(server: SampleForumServer) -> None:
    server.fail("/latest.json", status=429, headers={"Retry-After": "3600"})
    options = {"backoff_base": 0.001, "retry_after_max": 0.01}
    with pytest.raises(ForumUnavailable, match=r"rate limited \(HTTP 429\)"):
        _listing(server, max_retries=1, options=options)


def test_retry_after_as_http_date_is_understood() -> None:
    from email.utils import format_datetime

    from scrapers.http import _retry_after

    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 28 <= (_retry_after(soon) or 0) <= 30
    assert _retry_after("12") == 12 and _retry_after("soon") is None


def test_truncated_json_is_bad_response(server: SampleForumServer) -> None:
    server.forum = _forum(_topic(1, 1))
    body = json.dumps({"post_stream": {"posts": []}}).encode()[:-7]
    server.fail("/t/1.json", status=200, body=body)
    with pytest.raises(BadResponse, match="not valid JSON") as caught:
        _fetch(server, 1)
    assert "retried next run" in str(caught.value) and "/t/1.json" in str(caught.value)
    assert server.requests == ["/t/1.json"]  # a broken page is not hammered


def test_missing_field_is_bad_response_naming_it(server: SampleForumServer) -> None:
    page = json.loads(_capture_bytes("topic.json"))
    del page["post_stream"]["stream"]
    server.fail("/t/57.json", status=200, body=json.dumps(page).encode())
    with pytest.raises(BadResponse, match=r"'post_stream\.stream' is missing"):
        _fetch(server, 57)


def test_wrong_typed_list_row_is_skipped_with_a_warning(server: SampleForumServer) -> None:
    page = json.loads(_capture_bytes("latest.json"))
    page["topic_list"]["topics"][0]["id"] = "one"
    page["topic_list"]["topics"].append({**page["topic_list"]["topics"][1], "id": "77"})
    server.fail("/latest.json", status=200, body=json.dumps(page).encode(), times=1)

    async def work(scraper: DiscourseScraper) -> tuple[list[str], list[str]]:
        listing = scraper.list_topics({}, None)
        return [s.topic_id async for s in listing], scraper.warnings

    ids, warnings = _run(server, work, lookback_days=365 * 100)
    assert "77" in ids  # "77" is an unambiguous id; the rest of the page is still read
    assert len(warnings) == 1
    assert "topic-list row 1 of" in warnings[0]
    assert "'topic_list.topics[].id' is str, expected int (got 'one')" in warnings[0]


def test_timeout_is_forum_unavailable_with_clear_message(server: SampleForumServer) -> None:
    server.fail("/latest.json", delay=2.0)
    with pytest.raises(ForumUnavailable, match=r"no complete response within 0\.2 s"):
        _listing(server, timeout_seconds=0.2, max_retries=1)
    assert len(server.requests) == 2


def test_unauthorized_is_bad_response_about_api_key(server: SampleForumServer) -> None:
    server.fail("/latest.json", status=401)
    with pytest.raises(BadResponse, match="api_key"):
        _listing(server)
    assert len(server.requests) == 1


def test_unreachable_forum_is_forum_unavailable() -> None:
    with SampleForumServer(_forum()) as stopped:
        pass  # its port is now closed
    with pytest.raises(ForumUnavailable, match="network error"):
        _listing(stopped, max_retries=1)


def test_deleted_posts_are_left_out(server: SampleForumServer) -> None:
    page = json.loads(_capture_bytes("topic.json"))
    posts = page["post_stream"]["posts"]
    posts[2]["deleted_at"] = "2013-02-05T10:00:00.000-05:00"  # removed by a moderator
    posts[3]["user_deleted"] = True  # withdrawn by its author
    server.fail("/t/57.json", status=200, body=json.dumps(page).encode())

    topic = _fetch(server, 57)

    assert [p.number for p in topic.posts] == [1, 2]

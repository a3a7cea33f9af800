"""Malformed Discourse data at the scraper: a bad field skips one topic (MalformedTopic) or one
list row (a warning), never the forum; unambiguous strings are coerced; nothing is guessed.

Real HTTP over loopback: the demo forum (topics 101..109, dated relative to NOW) and real
captured Discourse responses, altered in memory and served in place of the real answer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from forumwatch.config.load import load_config
from forumwatch.model import Author, Post, PostKind, Topic, TopicState
from forumwatch.roles import responders_for
from forumwatch.sample_forum import render
from forumwatch.sample_forum.server import SampleForumServer
from rules.base import all_rules
from scrapers import discourse_parse as parse
from scrapers.base import BadResponse, ForumSettings, MalformedTopic, TopicSummary
from scrapers.discourse import DiscourseScraper
from scrapers.validate import check_topic
from tests.conftest import NOW

T = TypeVar("T")
Page = dict[str, Any]
CAPTURES = Path(__file__).parent / "fixtures" / "discourse_api"
DEMO_TOPICS = [str(n) for n in range(101, 110)]


# --- helpers: a real scraper against the forum on loopback -------------------------------------


def _settings(forum: SampleForumServer) -> ForumSettings:
    return ForumSettings(
        forum_id="market",
        url=forum.url,
        lookback_days=365 * 100,
        requests_per_second=1000.0,
        timeout_seconds=5.0,
        max_retries=1,
        options={"backoff_base": 0.001},
    )


def _run(forum: SampleForumServer, work: Callable[[DiscourseScraper], Awaitable[T]]) -> T:
    async def main() -> T:
        scraper = DiscourseScraper(_settings(forum))
        try:
            return await work(scraper)
        finally:
            await scraper.aclose()

    return asyncio.run(main())


def _fetch(forum: SampleForumServer, topic_id: int | str) -> Topic:
    async def work(scraper: DiscourseScraper) -> Topic:
        return await scraper.fetch_topic(TopicSummary(str(topic_id), ""))

    return _run(forum, work)


def _refused(forum: SampleForumServer, topic_id: int) -> MalformedTopic:
    with pytest.raises(MalformedTopic) as caught:
        _fetch(forum, topic_id)
    return caught.value


def _poll(forum: SampleForumServer) -> tuple[dict[str, Topic], list[str]]:
    """What the pipeline does with a scraper: list, fetch each, warn on a malformed topic."""

    async def work(scraper: DiscourseScraper) -> tuple[dict[str, Topic], list[str]]:
        topics: dict[str, Topic] = {}
        skipped: list[str] = []
        async for summary in scraper.list_topics({}, None):
            try:
                topics[summary.topic_id] = await scraper.fetch_topic(summary)
            except MalformedTopic as err:
                skipped.append(str(err))
        return topics, scraper.warnings + skipped

    return _run(forum, work)


def _serve_topic(forum: SampleForumServer, topic_id: int, alter: Callable[[Page], None]) -> None:
    page = render.topic_page(forum.forum, topic_id)
    alter(page)
    forum.fail(f"/t/{topic_id}.json", status=200, body=json.dumps(page).encode())


def _capture(name: str) -> Page:
    return json.loads((CAPTURES / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _serve_capture(forum: SampleForumServer, path: str, page: Page) -> None:
    forum.fail(path, status=200, body=json.dumps(page).encode(), times=1)


def _first_post(page: Page) -> Page:
    return page["post_stream"]["posts"][0]  # type: ignore[no-any-return]


def _open_rules(topic: Topic, config_path: Path) -> set[str]:
    """The rules that flag `topic` at NOW, as the pipeline would evaluate it."""
    config = load_config(config_path)
    market = config.forums[0]
    responders = responders_for(market, topic, None)
    sla = config.sla_for(market)
    findings = (rule(topic, responders, sla, NOW) for rule in all_rules().values())
    return {f.rule for f in findings if f is not None}


# --- one bad topic is one warning -------------------------------------------------------------


def test_post_with_null_created_at_skips_only_its_topic(forum: SampleForumServer) -> None:
    _serve_topic(forum, 102, lambda page: _first_post(page).update(created_at=None))

    topics, warnings = _poll(forum)

    assert sorted(topics) == [t for t in DEMO_TOPICS if t != "102"]
    assert len(warnings) == 1
    assert "forum 'market': topic 102, post 1: field" in warnings[0]
    assert "'post_stream.posts[].created_at' is null" in warnings[0]
    assert "/t/102.json" in warnings[0]


@pytest.mark.parametrize("created_at", [None, "yesterday", 1700000000])
def test_topic_created_at_that_is_no_iso_time_skips_the_topic(
    forum: SampleForumServer, created_at: object
) -> None:
    _serve_topic(forum, 103, lambda page: page.update(created_at=created_at))
    err = _refused(forum, 103)
    assert "topic 103: field 'created_at'" in err.problem


def test_missing_created_at_on_a_post_is_refused(forum: SampleForumServer) -> None:
    _serve_topic(forum, 101, lambda page: _first_post(page).pop("created_at"))
    err = _refused(forum, 101)
    assert "topic 101, post 1: field 'post_stream.posts[].created_at' is missing" in err.problem


def test_topic_body_that_is_not_json_stays_a_forum_error(forum: SampleForumServer) -> None:
    """Truncated JSON or a proxy's HTML page is transport trouble, retried next run as a forum
    error (tests/test_cycle.py), unlike a field the forum itself got wrong."""
    forum.fail("/t/105.json", status=200, body=b'{"post_stream": {"posts": [')
    with pytest.raises(BadResponse, match="not valid JSON") as caught:
        _fetch(forum, 105)
    assert not isinstance(caught.value, MalformedTopic)


def test_topic_without_post_stream_is_malformed_topic(forum: SampleForumServer) -> None:
    _serve_topic(forum, 104, lambda page: page.pop("post_stream"))
    err = _refused(forum, 104)
    assert "topic 104: field 'post_stream' is missing" in err.problem


# --- booleans: coerced when unambiguous, refused otherwise ---------------------------------------


@pytest.mark.parametrize("closed", ["false", "False", "0", 0, False, None])
def test_closed_false_in_any_spelling_is_open(forum: SampleForumServer, closed: object) -> None:
    _serve_topic(forum, 101, lambda page: page.update(closed=closed, archived="false"))
    assert _fetch(forum, 101).state is TopicState.OPEN


@pytest.mark.parametrize("closed", ["true", "TRUE", "1", 1, True])
def test_closed_true_in_any_spelling_is_closed(forum: SampleForumServer, closed: object) -> None:
    _serve_topic(forum, 101, lambda page: page.update(closed=closed))
    assert _fetch(forum, 101).state is TopicState.CLOSED


@pytest.mark.parametrize("value", ["yes?", 2, "", 0.5, [], {}])
def test_ambiguous_boolean_skips_the_topic_naming_field_and_value(
    forum: SampleForumServer, value: object
) -> None:
    _serve_topic(forum, 101, lambda page: page.update(closed=value))
    err = _refused(forum, 101)
    assert err.problem.startswith("topic 101: field 'closed' is ")
    assert "expected true or false" in err.problem
    if isinstance(value, (str, int)):
        assert f"(got {value!r})" in err.problem


def test_string_false_accepted_answer_does_not_solve_the_topic(forum: SampleForumServer) -> None:
    def alter(page: Page) -> None:
        page.update(accepted_answer="false", has_accepted_answer="0")
        for post in page["post_stream"]["posts"]:
            post["accepted_answer"] = "false"

    _serve_topic(forum, 101, alter)
    assert _fetch(forum, 101).state is TopicState.OPEN


def test_string_true_flags_on_posts_are_read(forum: SampleForumServer) -> None:
    def alter(page: Page) -> None:
        posts = page["post_stream"]["posts"]
        posts[0]["staff"] = "true"
        posts[-1]["user_deleted"] = "true"  # withdrawn by its author

    _serve_topic(forum, 104, alter)
    served = render.topic_page(forum.forum, 104)["post_stream"]["posts"]

    topic = _fetch(forum, 104)

    assert "staff" in topic.posts[0].author.forum_roles
    assert [p.number for p in topic.posts] == [p["post_number"] for p in served[:-1]]


# --- numbers and post types -------------------------------------------------------------------


def test_whisper_sent_as_string_stays_a_whisper_and_no_answer(
    forum: SampleForumServer, config_path: Path
) -> None:
    def alter(page: Page) -> None:
        whisper = {**_first_post(page), "id": 999001, "post_number": "2", "post_type": "4"}
        whisper.update(username="dev_ivan", name="Ivan", created_at=render.iso(NOW))
        page["post_stream"]["posts"].append(whisper)
        page["post_stream"]["stream"].append("999001")
        page.update(id=str(page["id"]), closed="false", archived="0")

    _serve_topic(forum, 101, alter)

    topic = _fetch(forum, 101)

    assert [(p.number, p.kind) for p in topic.posts] == [
        (1, PostKind.REPLY),
        (2, PostKind.WHISPER),
    ]
    assert topic.state is TopicState.OPEN
    assert "unanswered" in _open_rules(topic, config_path)  # the whisper answers nobody


@pytest.mark.parametrize("post_type", ["x", 7, 0, "4.0", None, True])
def test_unknown_post_type_skips_the_topic(forum: SampleForumServer, post_type: object) -> None:
    _serve_topic(forum, 101, lambda page: _first_post(page).update(post_type=post_type))

    topics, warnings = _poll(forum)

    assert "101" not in topics and len(topics) == len(DEMO_TOPICS) - 1
    assert (
        len(warnings) == 1
        and "topic 101, post 1: field 'post_stream.posts[].post_type'" in (warnings[0])
    )


def test_missing_post_type_is_not_guessed(forum: SampleForumServer) -> None:
    _serve_topic(forum, 101, lambda page: _first_post(page).pop("post_type"))
    assert "'post_stream.posts[].post_type' is missing" in _refused(forum, 101).problem


@pytest.mark.parametrize(
    ("field", "value"),
    [("post_number", "abc"), ("post_number", "²"), ("reply_to_post_number", "one"), ("id", 1.5)],
)
def test_non_numeric_post_numbers_skip_the_topic(
    forum: SampleForumServer, field: str, value: object
) -> None:
    _serve_topic(forum, 106, lambda page: _first_post(page).update({field: value}))
    err = _refused(forum, 106)
    assert f"field 'post_stream.posts[].{field}' is " in err.problem
    assert f"(got {value!r})" in err.problem


def test_digit_strings_are_numbers(forum: SampleForumServer) -> None:
    plain = _fetch(forum, 104)

    def stringly(page: Page) -> None:
        page.update(id=str(page["id"]), category_id=str(page["category_id"]))
        page["post_stream"]["stream"] = [str(i) for i in page["post_stream"]["stream"]]
        for post in page["post_stream"]["posts"]:
            post.update(id=str(post["id"]), post_number=f" {post['post_number']} ")
            if post.get("reply_to_post_number") is not None:
                post["reply_to_post_number"] = str(post["reply_to_post_number"])

    _serve_topic(forum, 104, stringly)

    assert _fetch(forum, 104) == plain


def test_real_capture_with_string_stream_ids_fetches_no_post_twice(
    forum: SampleForumServer,
) -> None:
    page = _capture("topic.json")
    page["post_stream"]["stream"] = [str(i) for i in page["post_stream"]["stream"]]
    forum.fail("/t/57.json", status=200, body=json.dumps(page).encode())

    topic = _fetch(forum, 57)

    assert [p.number for p in topic.posts] == [1, 2, 3, 14]
    assert "/t/57/posts.json" not in " ".join(forum.requests)  # every id was inlined


# --- dates that cannot be true ----------------------------------------------------------------


def test_post_dated_2999_skips_the_topic_with_a_warning(forum: SampleForumServer) -> None:
    _serve_topic(
        forum,
        104,
        lambda page: page["post_stream"]["posts"][-1].update(created_at="2999-01-01T00:00:00Z"),
    )

    topics, warnings = _poll(forum)

    assert sorted(topics) == [t for t in DEMO_TOPICS if t != "104"]
    assert len(warnings) == 1
    assert "topic 104: post" in warnings[0] and "dated 2999-01-01 00:00 UTC" in warnings[0]


def test_topic_dated_before_1995_is_refused(forum: SampleForumServer) -> None:
    _serve_topic(forum, 101, lambda page: page.update(created_at="1970-01-01T00:00:00Z"))
    assert "topic 101: the topic is dated 1970-01-01" in _refused(forum, 101).problem


def test_pipeline_clock_later_than_the_real_one_is_respected(forum: SampleForumServer) -> None:
    soon = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    _serve_topic(forum, 101, lambda page: _first_post(page).update(created_at=render.iso(soon)))

    async def work(scraper: DiscourseScraper) -> Topic:
        scraper.not_after = soon + timedelta(days=1)  # e.g. `--now` three days ahead
        return await scraper.fetch_topic(TopicSummary("101", ""))

    assert _run(forum, work).posts[0].created_at == soon
    assert "dated" in _refused(forum, 101).problem  # the real clock alone refuses it


# --- topic-list rows --------------------------------------------------------------------------


def test_list_row_with_id_abc_is_skipped_with_a_warning(forum: SampleForumServer) -> None:
    page = render.latest_page(forum.forum)
    page["topic_list"]["topics"][2]["id"] = "abc"
    _serve_capture(forum, "/latest.json", page)

    topics, warnings = _poll(forum)

    assert len(topics) == len(DEMO_TOPICS) - 1
    assert warnings == [
        f"forum 'market': topic-list row 3 of {forum.url}/latest.json skipped: "
        "field 'topic_list.topics[].id' is str, expected int (got 'abc'); "
        "the rest of the list is read"
    ]


def test_real_latest_capture_with_bad_rows_keeps_the_good_ones(forum: SampleForumServer) -> None:
    page = _capture("latest.json")
    rows = page["topic_list"]["topics"]
    rows[0]["id"] = "abc"
    rows.append({**rows[1], "id": 77, "bumped_at": "garbage"})
    rows.append({**rows[1], "id": "78", "closed": "false", "pinned": "0"})
    page.pop("more_topics_url", None)
    page["topic_list"].pop("more_topics_url", None)
    _serve_capture(forum, "/latest.json", page)

    async def work(scraper: DiscourseScraper) -> tuple[list[str], list[str]]:
        return [s.topic_id async for s in scraper.list_topics({}, None)], scraper.warnings

    ids, warnings = _run(forum, work)

    assert "78" in ids and "77" not in ids
    assert len(warnings) == 2
    assert "row 1 of" in warnings[0] and "(got 'abc')" in warnings[0]
    assert "skipped: topic 77: field 'bumped_at' is not an ISO time: 'garbage'" in warnings[1]


def test_list_page_without_topic_list_still_fails_the_forum(forum: SampleForumServer) -> None:
    _serve_capture(forum, "/latest.json", {"users": []})
    with pytest.raises(BadResponse, match="'topic_list' is missing") as caught:
        _poll(forum)
    assert not isinstance(caught.value, MalformedTopic)


# --- the pure parts ---------------------------------------------------------------------------

WHERE = parse.Where("market", "https://forum.example/t/1.json", "1")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[(4, 4), ("4", 4), (" 12 ", 12), ("x", None), ("4.0", None), ("-1", None)],
        *[("²", None), (True, None), (4.0, None), (None, None)],
    ],
)
def test_int_like(value: object, expected: int | None) -> None:
    assert parse.int_like(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[("true", True), ("False", False), ("1", True), ("0", False), (1, True), (0, False)],
        *[(None, False), (True, True)],
    ],
)
def test_flag_coerces_unambiguous_values(value: object, expected: bool) -> None:
    assert parse.flag({"closed": value}, "closed", WHERE) is expected
    assert parse.flag({}, "closed", WHERE) is False


def _topic(*posts: tuple[int, datetime]) -> Topic:
    author = Author("olena")
    made = [Post(str(n), n, author, at, PostKind.REPLY) for n, at in posts]
    return Topic(
        "market", "1", "https://forum.example/t/x/1", "T", author, posts[0][1], tuple(made)
    )


def test_check_topic_refuses_repeated_post_numbers() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    check_topic(_topic((1, at), (2, at)), NOW)
    with pytest.raises(MalformedTopic, match=r"topic 1: post numbers \[2\] appear twice"):
        check_topic(_topic((1, at), (2, at), (2, at)), NOW)


def test_check_topic_bounds_dates() -> None:
    check_topic(_topic((1, NOW)), NOW)  # exactly not_after passes
    with pytest.raises(MalformedTopic, match="post 2 is dated"):
        check_topic(_topic((1, NOW), (2, NOW + timedelta(seconds=1))), NOW)
    with pytest.raises(MalformedTopic, match="the topic is dated 1994-12-31"):
        check_topic(_topic((1, datetime(1994, 12, 31, tzinfo=UTC))), NOW)

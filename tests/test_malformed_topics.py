"""A field of the wrong type skips one topic with a warning, never the forum, and never hides or
invents a finding: the real `forumwatch run` against the sample forum serving altered topics."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from forumwatch.sample_forum import render
from forumwatch.sample_forum.scenario import SamplePost
from forumwatch.sample_forum.server import SampleForumServer
from tests.conftest import NOW, forumwatch

Page = dict[str, Any]


def serve_altered(forum: SampleForumServer, topic_id: int, alter: Callable[[Page], None]) -> None:
    page = render.topic_page(forum.forum, topic_id)
    alter(page)
    forum.fail(f"/t/{topic_id}.json", status=200, body=json.dumps(page).encode())


def run(config: Path, hours: float = 0) -> tuple[int, str, str]:
    result = forumwatch(
        "run", "-c", str(config), "--now", (NOW + timedelta(hours=hours)).isoformat()
    )
    return result.returncode, result.stdout, result.stderr


def open_findings(config: Path, hours: float = 0) -> set[tuple[str, str]]:
    moment = (NOW + timedelta(hours=hours)).isoformat()
    result = forumwatch("findings", "-c", str(config), "--now", moment, "--format", "json")
    assert result.returncode == 0, result.stderr
    return {(f["topic_id"], f["rule"]) for f in json.loads(result.stdout)}


def first_post(page: Page) -> Page:
    return page["post_stream"]["posts"][0]  # type: ignore[no-any-return]


def test_a_post_without_a_date_skips_only_its_topic(
    config_path: Path, forum: SampleForumServer
) -> None:
    serve_altered(forum, 102, lambda page: first_post(page).update(created_at=None))

    code, _, err = run(config_path)

    assert code == 0, err
    assert "warning: forum 'market': topic 102, post 1: field" in err
    assert "'post_stream.posts[].created_at' is null" in err
    found = open_findings(config_path)
    assert ("101", "unanswered") in found and ("103", "no_diagnosis") in found
    assert not any(topic == "102" for topic, _ in found)  # not judged on data it cannot trust

    forum.heal()  # the forum fixes the post: the topic is read again without anyone asking
    run(config_path, 0.5)
    assert ("102", "masked_silence") in open_findings(config_path, 0.5)


def test_a_stored_topic_that_turns_malformed_keeps_its_finding(
    config_path: Path, forum: SampleForumServer
) -> None:
    run(config_path)
    forum.forum.topic(102).posts.append(SamplePost("olena_buh", NOW + timedelta(minutes=30), "?"))
    serve_altered(forum, 102, lambda page: page.update(closed="maybe"))

    code, _, err = run(config_path, 1)

    assert code == 0, err
    assert "topic 102: field 'closed' is str, expected true or false (got 'maybe')" in err
    assert ("102", "masked_silence") in open_findings(config_path, 1)  # neither hidden nor resolved


def test_unambiguous_strings_are_coerced_not_misread(
    config_path: Path, forum: SampleForumServer
) -> None:
    def stringly(page: Page) -> None:
        page.update(closed="false", archived="0", id=str(page["id"]))
        for post in page["post_stream"]["posts"]:
            post.update(post_type=str(post["post_type"]), post_number=str(post["post_number"]))

    forum.forum.topic(101).posts.append(
        SamplePost("dev_ivan", NOW - timedelta(hours=1), "looking", post_type=4)
    )
    serve_altered(forum, 101, stringly)

    code, _, err = run(config_path)

    assert code == 0 and "warning" not in err, err
    # "closed": "false" is open, and a whisper sent as "post_type": "4" is still no answer
    assert ("101", "unanswered") in open_findings(config_path)


def test_a_post_dated_in_the_year_2999_skips_the_topic_with_a_warning(
    config_path: Path, forum: SampleForumServer
) -> None:
    serve_altered(
        forum,
        104,
        lambda page: page["post_stream"]["posts"][-1].update(created_at="2999-01-01T00:00:00Z"),
    )

    code, _, err = run(config_path)

    assert code == 0, err
    assert "topic 104: post" in err and "dated 2999-01-01 00:00 UTC" in err
    assert ("101", "unanswered") in open_findings(config_path)


def test_an_unknown_post_type_is_not_guessed(config_path: Path, forum: SampleForumServer) -> None:
    serve_altered(forum, 101, lambda page: first_post(page).update(post_type=9))

    _, _, err = run(config_path)

    assert "topic 101, post 1: field 'post_stream.posts[].post_type' is 9, not 1 to 4" in err

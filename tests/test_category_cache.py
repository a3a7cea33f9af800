"""Least requests: category slugs are kept between runs, so a run with one changed topic asks
for that topic alone; a category the cache does not know, or a full scan, reads them again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from forumwatch.sample_forum.scenario import SamplePost, SampleTopic
from forumwatch.sample_forum.server import SampleForumServer
from tests.conftest import NOW, forumwatch


def _run(config: Path, minutes: int) -> None:
    done = forumwatch(
        "run", "-c", str(config), "--now", (NOW + timedelta(minutes=minutes)).isoformat()
    )
    assert done.returncode == 0, done.stderr


def _paths(forum: SampleForumServer) -> list[str]:
    return [path.split("?")[0] for path in forum.requests]


def test_one_changed_topic_costs_the_list_and_that_topic(
    forum: SampleForumServer, config_path: Path
) -> None:
    _run(config_path, 0)  # the first run is a full scan: it reads the categories
    forum.forum.topic(101).posts.append(
        SamplePost("olena_buh", NOW + timedelta(minutes=5), "Ще актуально?")
    )
    forum.clear_requests()
    _run(config_path, 10)
    assert "/categories.json" not in _paths(forum)
    assert "/t/101.json" in _paths(forum)

    at = NOW + timedelta(minutes=15)
    forum.forum.topics.append(
        SampleTopic(150, "Нова категорія", [SamplePost("klient_b", at, "Питання")], category_id=9)
    )
    forum.clear_requests()
    _run(config_path, 20)
    assert "/categories.json" in _paths(forum)  # category 9 is not in the cache: read again

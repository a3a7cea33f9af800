"""The cold-fetch shortcuts (issue 16): cheap post text as an excerpt, a cheap absolute URL, and
changed topics fetched concurrently. Each must give what the slow way gave."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from forumwatch.config.load import load_config
from forumwatch.cycle.run import run_cycle
from forumwatch.model import TopicKey
from forumwatch.sample_forum.scenario import SampleCategory, SampleForum, SamplePost, SampleTopic
from forumwatch.sample_forum.server import SampleForumServer
from forumwatch.store import Store
from scrapers.base import EXCERPT_CHARS, ForumSettings
from scrapers.http import PoliteClient
from scrapers.text import excerpt, html_excerpt
from tests.conftest import write_config

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime.now(UTC).replace(microsecond=0)

FRAGMENTS = [
    "<p>a</p>\n<p>b</p>",
    "x\n<ul>\n<li>a</li>\n</ul>\ny",
    "<p>a</p>  <p>b</p>",
    "<pre>\n\n</pre><p>a</p>\n<!-- c --> \n<b>x</b>",
    "a &lt;b&gt; &amp; c &nbsp; <i>d</i>&#10;<i>e</i>",
    '<script>var x="<p>"</script>t<style>p{}</style>u',
    "a < b and 3<4",
    "<p>unterminated <b",
    "<textarea>\n</textarea>x",
    "<pre><code>  keep   this\n\n</code></pre>",
    "",
    "plain text, no markup",
]


def _fixture_fragments() -> Iterator[str]:
    def walk(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("cooked", "content") and isinstance(item, str):
                    yield item
                else:
                    yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    for path in sorted(FIXTURES.rglob("*.json")):
        yield from walk(json.loads(path.read_text(encoding="utf-8")))


def _soup_text(fragment: str) -> str:
    return BeautifulSoup(fragment, "html.parser").get_text().strip()


@pytest.mark.parametrize("fragment", FRAGMENTS + list(_fixture_fragments()))
def test_html_excerpt_is_the_parsers_text(fragment: str) -> None:
    assert html_excerpt(fragment, limit=10**6) == _soup_text(fragment)
    assert html_excerpt(fragment) == _soup_text(fragment)[:EXCERPT_CHARS].rstrip()


def test_long_post_is_cut_to_the_excerpt_reading_only_a_prefix() -> None:
    paragraph = "<p>Export fails with <code>E42</code> &amp; the log says nothing.</p>\n"
    fragment = paragraph * 2000  # ~130 KB of HTML
    text = html_excerpt(fragment)
    assert len(text) <= EXCERPT_CHARS
    assert text == _soup_text(fragment)[:EXCERPT_CHARS].rstrip()
    # markup far heavier than text: the prefix is not enough, the whole fragment is read
    heavy = "<span class='x'></span>" * 2000 + "<p>" + "word " * 400 + "</p>"
    assert html_excerpt(heavy) == _soup_text(heavy)[:EXCERPT_CHARS].rstrip()


def test_excerpt_strips_and_cuts() -> None:
    assert excerpt("  hello \n") == "hello"
    assert excerpt("x" * (EXCERPT_CHARS + 50)) == "x" * EXCERPT_CHARS
    assert EXCERPT_CHARS > 300  # messages quote 300 characters and need to see one more


@pytest.mark.parametrize(
    "base", ["http://127.0.0.1:8080", "https://Forum.Example.com/sub/", "http://h/a/b"]
)
@pytest.mark.parametrize(
    "path",
    [
        "/t/1.json",
        "/",
        "/latest.json",
        "/c/how-to/5.json",
        "/t/a b.json",
        "/t/%D0%B0.json",
        "/t/../x.json",
        "/./x",
        "//evil.example/x",
        "/t/тема/1",
        "/latest.json?page=2",
        "/u/~me/",
        "http://other.example/x",
    ],
)
def test_absolute_matches_httpx(base: str, path: str) -> None:
    async def check() -> None:
        async with PoliteClient(ForumSettings("f", base)) as client:
            slow = client._client.build_request("GET", path).url
            assert client.absolute(path) == str(slow)
            assert client.absolute(path, {"page": 2}) == str(
                client._client.build_request("GET", path, params={"page": 2}).url
            )

    asyncio.run(check())


def test_a_cold_cycle_fetches_topics_concurrently_within_max_concurrency(
    tmp_path: Path,
) -> None:
    start = NOW - timedelta(hours=5)
    topics = [
        SampleTopic(n, f"Topic {n}", [SamplePost("user", start + timedelta(minutes=n), "hi")])
        for n in range(1, 41)
    ]
    forum = SampleForum(topics, [SampleCategory(1, "uncategorized")], page_size=30)
    with SampleForumServer(forum) as server:
        server.fail("/t/", delay=0.05)  # a forum that takes a while to answer each topic
        config = load_config(write_config(tmp_path, server.url))
        store = Store(config.database)
        report = run_cycle(store, config, NOW, active=[])
        stored = store.db.execute("SELECT count(*) FROM topics").fetchone()[0]
        store.close()
        topic_requests = [r for r in server.requests if r.startswith("/t/")]
    assert report.forums[0].error is None
    assert report.forums[0].topics_fetched == stored == 40
    assert len(topic_requests) == len(set(topic_requests)) == 40  # each topic once
    assert server.peak_concurrency == config.forums[0].max_concurrency == 2


def test_a_long_topic_fetches_only_its_new_posts(tmp_path: Path) -> None:
    start = NOW - timedelta(days=2)
    posts = [
        SamplePost(f"user{n % 3}", start + timedelta(minutes=n), f"post {n}") for n in range(45)
    ]
    forum = SampleForum(
        [SampleTopic(7, "A long topic", posts)], [SampleCategory(1, "uncategorized")]
    )
    with SampleForumServer(forum) as server:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        config = load_config(write_config(tmp_path / "a", server.url))
        store = Store(config.database)
        run_cycle(store, config, NOW, active=[])
        posts.append(SamplePost("dev_ivan", NOW + timedelta(minutes=1), "The fix is out"))
        server.clear_requests()
        report = run_cycle(store, config, NOW + timedelta(minutes=5), active=[])
        again = server.requests[:]
        fresh_config = load_config(write_config(tmp_path / "b", server.url))
        fresh = Store(fresh_config.database)
        run_cycle(fresh, fresh_config, NOW + timedelta(minutes=5), active=[])
        key = TopicKey("market", "7")
        kept, read_whole = store.topic(key), fresh.topic(key)
        store.close()
        fresh.close()
    assert report.forums[0].topics_fetched == 1
    post_requests = [r for r in again if "/posts.json" in r]
    assert len(post_requests) == 1 and post_requests[0].count("post_ids") == 1  # the new one
    assert kept is not None and len(kept.posts) == 46
    assert kept == read_whole  # the same topic as one read whole

"""The bundled `spirit` profile against pages a real django-spirit 0.14.3 served (captured in
tests/fixtures/spirit/, replayed byte for byte over loopback): dates across Kyiv's clock change,
paging, a moderator's and an administrator's badge, a closed topic, Cyrillic text."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from forumwatch.model import Topic, TopicState
from scrapers.base import ForumSettings, TopicSummary
from scrapers.html import HtmlScraper
from scrapers.profile import load_profile
from tests.hostile_server import HostileServer
from tests.html_site import Page, site

CAPTURES = Path(__file__).parent / "fixtures" / "spirit"
PATHS = {
    "/": "list-latest.html",
    "/?page=2": "list-latest-2.html",
    "/category/3/signed-files/": "list-category.html",
    "/topic/1/export-fails-with-a-signature-error/": "topic-1.html",
    "/topic/1/export-fails-with-a-signature-error/?page=2": "topic-1-page-2.html",
    "/topic/9/old-thread-to-be-closed/": "topic-closed.html",
}


def _site() -> HostileServer:
    pages = {path: Page((CAPTURES / name).read_bytes()) for path, name in PATHS.items()}
    return HostileServer(site(pages))


def _settings(url: str) -> ForumSettings:
    return ForumSettings(
        forum_id="spirit",
        url=url,
        requests_per_second=100.0,
        max_retries=0,
        language="en",
        timezone="Europe/Kyiv",
        respect_robots=False,
        lookback_days=3650.0,
        profile=load_profile("spirit").model_dump(exclude_none=True),
    )


def _read(url: str, topic_path: str) -> tuple[list[TopicSummary], Topic]:
    async def go() -> tuple[list[TopicSummary], Topic]:
        scraper = HtmlScraper(_settings(url))
        try:
            listed = [s async for s in scraper.list_topics({}, None, exhaustive=True)]
            wanted = next(s for s in listed if str(s.extra["url"]).endswith(topic_path))
            return listed, await scraper.fetch_topic(wanted)
        finally:
            await scraper.aclose()

    return asyncio.run(go())


def test_topic_pages_posts_dates_and_badges() -> None:
    with _site() as server:
        listed, topic = _read(f"{server.url}/", "/topic/1/export-fails-with-a-signature-error/")
    assert len({s.topic_id for s in listed}) == len(listed) > 5  # both list pages, no repeats
    assert topic.id == "1" and topic.state is TopicState.OPEN
    assert topic.author.username == "client_ivan"
    assert [p.number for p in topic.posts] == list(range(1, 10))  # 5 + 4 over two pages
    moments = [p.created_at for p in topic.posts]
    assert moments[:4] == [  # Kyiv switches to summer time on 29 March at 03:00
        datetime(2026, 3, 28, 21, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 9, 41, tzinfo=UTC),
        datetime(2026, 3, 29, 21, 0, tzinfo=UTC),
    ]
    assert moments[-1] == datetime(2026, 4, 2, 16, 45, tzinfo=UTC)
    roles = {p.author.username: p.author.forum_roles for p in topic.posts}
    assert "is-mod" in roles["mod_quality"]
    assert "is-admin" in roles["boss_admin"]
    assert not roles["client_ivan"]  # the topic starter's own icon is not a role
    assert topic.posts[0].body_text.startswith("Export of a signed file: E42")


def test_a_closed_topic_and_its_category() -> None:
    with _site() as server:
        _, topic = _read(
            f"{server.url}/category/3/signed-files/", "/topic/9/old-thread-to-be-closed/"
        )
    assert topic.state is TopicState.CLOSED
    assert topic.category == "signed-files" and topic.category_id == "3"
    assert [p.created_at for p in topic.posts] == [  # the close note is not a post
        datetime(2026, 8, 14, 7, 0, tzinfo=UTC),
        datetime(2026, 8, 14, 9, 30, tzinfo=UTC),
    ]

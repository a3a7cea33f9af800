"""No silent cap: a topic list longer than max_pages is reported, on every engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

from forumwatch.sample_forum.server import SampleForumServer
from scrapers.html import HtmlScraper
from tests.conftest import NOW, forumwatch, write_config
from tests.hostile_server import HostileServer
from tests.html_site import site
from tests.test_html_scraper import classic_pages, settings


def test_a_discourse_list_past_max_pages_is_reported(
    forum: SampleForumServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path, forum.url, extra="    max_pages: 2\n")
    done = forumwatch("run", "-c", str(config), "--now", NOW.isoformat())
    assert done.returncode == 0, done.stderr
    assert "its topic list goes on past max_pages (2 pages)" in done.stdout + done.stderr
    assert "raise max_pages" in done.stdout + done.stderr


def test_an_html_list_past_max_pages_is_reported_and_a_whole_one_is_not() -> None:
    with HostileServer(site(classic_pages())) as server:
        capped = HtmlScraper(settings(server.url, max_pages=1))

        async def listing(scraper: HtmlScraper) -> int:
            try:
                return len([s async for s in scraper.list_topics({}, None, exhaustive=True)])
            finally:
                await scraper.aclose()

        assert asyncio.run(listing(capped)) == 4  # page 1 only
        assert any("past max_pages (1 pages)" in w for w in capped.warnings)
        whole = HtmlScraper(settings(server.url))
        assert asyncio.run(listing(whole)) == 5 and whole.warnings == []

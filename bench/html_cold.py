"""How fast the HTML engine turns pages into topics on one core, politeness delay excluded.

Three figures, from real Spirit pages (tests/fixtures/spirit):
- processing: decode + parse + extract (posts, authors, badges, dates) of a topic page, no network;
- processing with BeautifulSoup (lxml): the same extraction the way the scraper did it before it
  moved to selectolax (lexbor), as the baseline of that choice;
- end to end: the same through `fetch_topic` over loopback HTTP (pacing off), one request at a time.
Every topic is "cold": a new URL, parsed from bytes, no cache in between.

    .venv/bin/python bench/html_cold.py [--topics 300]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from selectolax.lexbor import LexborHTMLParser

from scrapers.base import EXCERPT_CHARS, ForumSettings, TopicSummary
from scrapers.encoding import decode_page
from scrapers.html import HtmlPage, HtmlScraper
from scrapers.http import Page as FetchedPage
from scrapers.profile import load_profile
from tests.hostile_server import HostileServer
from tests.html_site import Page, site

CAPTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "spirit"
SAMPLES = ("topic-closed.html", "topic-removed-comment.html")


def _settings(url: str) -> ForumSettings:
    return ForumSettings(
        forum_id="bench",
        url=url,
        requests_per_second=0.0,  # no pacing: the delay is politeness, not processing
        max_concurrency=1,
        max_retries=0,
        language="en",
        timezone="Europe/Kyiv",
        respect_robots=False,
        profile=load_profile("spirit").model_dump(exclude_none=True),
    )


def processing(topics: int) -> float:
    """Topics per second: bytes to posts, no network."""
    scraper = HtmlScraper(_settings("http://127.0.0.1:9/"))
    bodies = [(CAPTURES / name).read_bytes() for name in SAMPLES]
    headers = httpx.Headers({"content-type": "text/html; charset=utf-8"})
    started = time.perf_counter()
    posts = 0
    for number in range(topics):
        page = scraper._parsed(
            FetchedPage(f"http://127.0.0.1:9/topic/{number}/x/", bodies[number % 2], headers)
        )
        elements = page.document.css(scraper.profile.topic.post)
        posts += len([scraper._post(e, i + 1, str(number), page) for i, e in enumerate(elements)])
    elapsed = time.perf_counter() - started
    asyncio.run(scraper.aclose())
    assert posts >= topics * 2
    return topics / elapsed


def soup_processing(topics: int) -> float:
    """Topics per second: the same pages and fields through BeautifulSoup with lxml."""
    from bs4 import BeautifulSoup, Tag  # a test dependency: only this baseline uses it

    scraper = HtmlScraper(_settings("http://127.0.0.1:9/"))
    selectors = scraper.profile.topic
    bodies = [(CAPTURES / name).read_bytes() for name in SAMPLES]

    def text(element: Tag | None) -> str:
        return " ".join(element.get_text(" ").split()) if element is not None else ""

    started = time.perf_counter()
    posts = 0
    for number in range(topics):
        url = f"http://127.0.0.1:9/topic/{number}/x/"
        soup = BeautifulSoup(decode_page(bodies[number % 2], "text/html; charset=utf-8"), "lxml")
        page = HtmlPage(url, LexborHTMLParser(""), datetime.now(UTC))  # for dates' "now" only
        for element in soup.select(selectors.post):
            date = element.select_one(selectors.date)
            assert text(element.select_one(selectors.author)) and date is not None
            scraper._date(str(date.get(selectors.date_attr or "")), page, "date")
            roles = [text(b) for b in element.select(selectors.role or "x")]
            assert text(element.select_one(selectors.body))[:EXCERPT_CHARS] or roles is not None
            posts += 1
    elapsed = time.perf_counter() - started
    asyncio.run(scraper.aclose())
    assert posts >= topics * 2
    return topics / elapsed


def end_to_end(topics: int) -> float:
    """Topics per second through fetch_topic over loopback HTTP."""
    bodies = [(CAPTURES / name).read_bytes() for name in SAMPLES]
    pages = {f"/topic/{n}/x/": Page(bodies[n % 2]) for n in range(topics)}

    async def fetch_all(url: str) -> float:
        scraper = HtmlScraper(_settings(url))
        started = time.perf_counter()
        for number in range(topics):
            summary = TopicSummary(str(number), "", extra={"url": f"{url}/topic/{number}/x/"})
            await scraper.fetch_topic(summary)
        elapsed = time.perf_counter() - started
        await scraper.aclose()
        return topics / elapsed

    with HostileServer(site(pages)) as server:
        return asyncio.run(fetch_all(server.url))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=300)
    args = parser.parse_args()
    print(f"processing:  {processing(args.topics):7.1f} topics/s (decode, parse, extract)")
    print(f"processing with BeautifulSoup: {soup_processing(args.topics):7.1f} topics/s")
    print(f"end to end:  {end_to_end(args.topics):7.1f} topics/s (loopback HTTP, no pacing)")


if __name__ == "__main__":
    main()

"""How fast the HTML engine turns pages into topics on one core, politeness delay excluded.

Two figures, from real Spirit pages (tests/fixtures/spirit):
- processing: decode + parse + extract (posts, authors, badges, dates) of a topic page, no network;
- end to end: the same through `fetch_topic` over loopback HTTP (pacing off), one request at a time.
Every topic is "cold": a new URL, parsed from bytes, no cache in between.

    .venv/bin/python bench/html_cold.py [--topics 300]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import httpx

from scrapers.base import ForumSettings, TopicSummary
from scrapers.html import HtmlScraper
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
        elements = page.soup.select(scraper.profile.topic.post)
        posts += len([scraper._post(e, i + 1, str(number), page) for i, e in enumerate(elements)])
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
    print(f"end to end:  {end_to_end(args.topics):7.1f} topics/s (loopback HTTP, no pacing)")


if __name__ == "__main__":
    main()

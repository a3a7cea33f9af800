"""The Misago scraper against real captured Misago 0.39 responses, served over loopback HTTP.

The captures (tests/fixtures/misago, see its SOURCE.md) are replayed verbatim by a small HTTP
server that answers each request from index.json; a test that needs other data changes a copy.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
from bs4 import BeautifulSoup

from forumwatch.model import PostKind, Topic, TopicState
from scrapers.base import BadResponse, ForumSettings, MalformedTopic, TopicSummary, scraper_for
from scrapers.dates import parse_forum_date
from scrapers.misago import MisagoScraper
from scrapers.profile import load_profile

T = TypeVar("T")
CAPTURES = Path(__file__).parent / "fixtures" / "misago"
PAGE1 = "/api/threads/?category=4&list=all"
PAGE2 = "/api/threads/?category=4&list=all&start=12"
CLOSED = "/api/threads/2/posts/"
SOLVED = "/api/threads/3/posts/"
EVER = 365 * 100  # lookback_days that reach the capture's dates whatever today is


def capture(name: str) -> Any:
    return json.loads((CAPTURES / name).read_text(encoding="utf-8"))


class CaptureServer:
    """Answers GET requests from `routes` (request target → body), 404 otherwise; records the
    targets requested. A context manager on 127.0.0.1 with an ephemeral port."""

    def __init__(self) -> None:
        index: dict[str, str] = capture("index.json")
        self.routes: dict[str, bytes] = {
            target: (CAPTURES / name).read_bytes() for target, name in index.items()
        }
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                body = server.routes.get(self.path)
                status = 200 if body is not None else 404
                body = body if body is not None else b'{"detail": "Not found."}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        host, port = self._httpd.server_address[:2]
        self.url = f"http://{host!s}:{port}"

    def set_json(self, target: str, data: Any) -> None:
        self.routes[target] = json.dumps(data).encode()

    def __enter__(self) -> CaptureServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def server() -> Iterator[CaptureServer]:
    with CaptureServer() as running:
        yield running


def _settings(server: CaptureServer, **overrides: Any) -> ForumSettings:
    fields: dict[str, Any] = {
        "forum_id": "misago",
        "url": server.url,
        "categories": ("4",),
        "lookback_days": EVER,
        "requests_per_second": 1000.0,
        "timeout_seconds": 5.0,
        "max_retries": 0,
    }
    fields.update(overrides)
    return ForumSettings(**fields)


def _run(
    server: CaptureServer, work: Callable[[MisagoScraper], Awaitable[T]], **overrides: Any
) -> T:
    async def main() -> T:
        scraper = MisagoScraper(_settings(server, **overrides))
        try:
            return await work(scraper)
        finally:
            await scraper.aclose()

    return asyncio.run(main())


def _listing(
    server: CaptureServer,
    known: dict[str, str] | None = None,
    since: datetime | None = None,
    *,
    exhaustive: bool = False,
    **overrides: Any,
) -> list[TopicSummary]:
    async def work(scraper: MisagoScraper) -> list[TopicSummary]:
        return [s async for s in scraper.list_topics(known or {}, since, exhaustive=exhaustive)]

    return _run(server, work, **overrides)


def _fetch(server: CaptureServer, thread_id: int, **overrides: Any) -> Topic:
    async def work(scraper: MisagoScraper) -> Topic:
        return await scraper.fetch_topic(TopicSummary(str(thread_id), ""))

    return _run(server, work, **overrides)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# --- listing ----------------------------------------------------------------------------------


def test_category_list_is_read_newest_activity_first_across_cursor_pages(
    server: CaptureServer,
) -> None:
    summaries = _listing(server)
    assert [s.topic_id for s in summaries] == ["1", "5", "4", "3", "2"]
    assert server.requests == [PAGE1, PAGE2]  # `next` 12 is sent back as `start`
    assert [s.pinned for s in summaries] == [True, False, False, False, False]
    rows = capture("threads_page1.json")["results"]
    assert summaries[1].bumped_at == _time(rows[1]["last_post_on"])
    assert summaries[1].bumped_at.tzinfo is UTC
    assert summaries[1].extra["path"] == "/t/signature-fails/5/"


def test_relisting_with_unchanged_markers_reads_only_the_first_page(
    server: CaptureServer,
) -> None:
    known = {s.topic_id: s.marker for s in _listing(server)}
    server.requests.clear()
    assert [s.topic_id for s in _listing(server, known)] == ["1", "5", "4", "3"]
    assert server.requests == [PAGE1]


def test_exhaustive_relisting_reads_every_page(server: CaptureServer) -> None:
    known = {s.topic_id: s.marker for s in _listing(server)}
    server.requests.clear()
    assert len(_listing(server, known, exhaustive=True)) == 5
    assert server.requests == [PAGE1, PAGE2]


@pytest.mark.parametrize(
    ("field", "value"),
    [("replies", 2), ("last_post", 99), ("is_closed", True), ("best_answer", 17)],
)
def test_marker_changes_with_posts_closing_and_best_answers(
    server: CaptureServer, field: str, value: object
) -> None:
    before = {s.topic_id: s.marker for s in _listing(server)}
    page = capture("threads_page1.json")
    page["results"][1][field] = value  # thread 5
    server.set_json(PAGE1, page)
    after = {s.topic_id: s.marker for s in _listing(server)}
    assert {i for i in after if after[i] != before[i]} == {"5"}


def test_since_leaves_out_older_threads_and_stops_paging(server: CaptureServer) -> None:
    rows = capture("threads_page1.json")["results"]
    since = _time(rows[3]["last_post_on"]) + timedelta(microseconds=1)  # after thread 3
    summaries = _listing(server, since=since)
    assert [s.topic_id for s in summaries] == ["5", "4"]  # the pinned thread is older too
    assert server.requests == [PAGE1, PAGE2]  # page 2 is all older: the walk ends there
    server.requests.clear()
    assert _listing(server, since=_time(rows[1]["last_post_on"]) + timedelta(seconds=1)) == []
    assert server.requests == [PAGE1]


def test_max_pages_bounds_paging(server: CaptureServer) -> None:
    assert len(_listing(server, max_pages=1)) == 4
    assert server.requests == [PAGE1]


def test_without_categories_the_whole_forum_is_listed(server: CaptureServer) -> None:
    server.routes["/api/threads/?list=all"] = server.routes[PAGE1]
    server.routes["/api/threads/?list=all&start=12"] = server.routes[PAGE2]
    assert len(_listing(server, categories=())) == 5
    assert server.requests == ["/api/threads/?list=all", "/api/threads/?list=all&start=12"]


def test_a_category_slug_is_refused_with_the_fix(server: CaptureServer) -> None:
    with pytest.raises(BadResponse, match=r"not a Misago category id.*/c/<slug>/<id>/"):
        _listing(server, categories=("signed-files",))
    assert server.requests == []


def test_malformed_rows_are_skipped_with_warnings(server: CaptureServer) -> None:
    page = capture("threads_page1.json")
    page["results"][1]["id"] = "five"
    page["results"][2]["is_closed"] = "maybe"
    page["results"][3]["id"] = "3"  # an unambiguous id is coerced
    server.set_json(PAGE1, page)

    async def work(scraper: MisagoScraper) -> tuple[list[str], list[str]]:
        return [s.topic_id async for s in scraper.list_topics({}, None)], scraper.warnings

    ids, warnings = _run(server, work)
    assert ids == ["1", "3", "2"]
    assert len(warnings) == 2
    assert "thread-list row 2 of" in warnings[0]
    assert "'results[].id' is str, expected int (got 'five')" in warnings[0]
    assert "topic 4: field 'results[].is_closed' is str, expected true or false" in warnings[1]


def test_a_list_without_results_is_bad_response(server: CaptureServer) -> None:
    server.set_json(PAGE1, {"detail": "maintenance"})
    with pytest.raises(BadResponse, match="field 'results' is missing"):
        _listing(server)


# --- threads in full --------------------------------------------------------------------------


def test_closed_thread_reads_all_pages_with_events_and_without_hidden_posts(
    server: CaptureServer,
) -> None:
    topic = _fetch(server, 2)
    # page 1 first (it says how many pages there are), then pages 2 and 3, each once: they are
    # fetched concurrently, so they may reach the server in either order
    assert server.requests[0] == CLOSED
    assert sorted(server.requests[1:]) == [f"{CLOSED}?page=2", f"{CLOSED}?page=3"]
    # posts 3..12 by id, each once (pages overlap), numbered by position; 6 is hidden
    assert [(p.number, p.id) for p in topic.posts] == [
        (1, "3"), (2, "4"), (3, "5"), (5, "7"), (6, "8"),
        (7, "9"), (8, "10"), (9, "11"), (10, "12"),
    ]  # fmt: skip
    assert "partner_taras" not in {p.author.username for p in topic.posts}
    event = topic.posts[-1]
    assert (event.kind, event.author.username, event.body_text) == (
        PostKind.SYSTEM,
        "mod_quality",
        "[closed]",
    )
    assert event.author.forum_roles == frozenset({"Forum team", "Team"})
    assert all(p.kind is PostKind.REPLY for p in topic.posts[:-1])
    first = topic.posts[0]
    assert (first.author.username, first.body_text) == ("client_ivan", "Export crashes. Help?")
    assert first.author.forum_roles == frozenset({"Members"})
    page = capture("posts_closed_page1.json")
    assert first.created_at == _time(page["post_set"]["results"][0]["posted_on"])
    assert first.created_at.tzinfo is UTC and topic.created_at == first.created_at
    assert topic.state is TopicState.CLOSED
    assert topic.url == f"{server.url}/t/export-crashes-with-signed-files/2/"
    assert (topic.title, topic.category, topic.category_id) == (
        "Export crashes with signed files",
        "signed-files",
        "4",
    )
    assert topic.author.username == "client_ivan"
    assert topic.last_activity_at == event.created_at


def test_best_answer_makes_the_thread_solved(server: CaptureServer) -> None:
    topic = _fetch(server, 3)
    assert topic.state is TopicState.SOLVED
    assert [p.author.username for p in topic.posts] == ["client_maria", "dev_olena"]
    assert server.requests == [SOLVED]


def test_closed_wins_over_best_answer(server: CaptureServer) -> None:
    page = capture("posts_solved.json")
    page["is_closed"] = True
    server.set_json(SOLVED, page)
    assert _fetch(server, 3).state is TopicState.CLOSED


def test_open_thread_without_best_answer_is_open(server: CaptureServer) -> None:
    topic = _fetch(server, 5)
    assert topic.state is TopicState.OPEN
    assert [p.author.username for p in topic.posts] == ["client_maria", "partner_taras"]


def test_roles_come_from_rank_and_user_title(server: CaptureServer) -> None:
    page = capture("posts_solved.json")
    posts = page["post_set"]["results"]
    posts[1]["poster"]["title"] = "Vendor"
    posts[0]["poster"] = None  # a deleted account: only poster_name is left
    server.set_json(SOLVED, page)
    customer, developer = _fetch(server, 3).posts
    assert developer.author.forum_roles == frozenset({"Members", "Vendor"})
    assert (customer.author.username, customer.author.forum_roles) == ("client_maria", frozenset())


def test_unapproved_posts_are_left_out(server: CaptureServer) -> None:
    page = capture("posts_masked.json")
    page["post_set"]["results"][1]["is_unapproved"] = True
    server.set_json("/api/threads/5/posts/", page)
    assert [p.number for p in _fetch(server, 5).posts] == [1]


def test_post_without_date_is_malformed_topic(server: CaptureServer) -> None:
    page = capture("posts_solved.json")
    del page["post_set"]["results"][1]["posted_on"]
    server.set_json(SOLVED, page)
    with pytest.raises(MalformedTopic, match=r"topic 3, post 14: field 'post_set.results\[\]"):
        _fetch(server, 3)


def test_post_dated_in_the_far_future_is_malformed_topic(server: CaptureServer) -> None:
    page = capture("posts_solved.json")
    page["post_set"]["results"][1]["posted_on"] = "2999-01-01T00:00:00Z"
    server.set_json(SOLVED, page)
    with pytest.raises(MalformedTopic, match="dated 2999-01-01"):
        _fetch(server, 3)


def test_best_answer_that_is_not_an_id_is_malformed_topic(server: CaptureServer) -> None:
    page = capture("posts_solved.json")
    page["best_answer"] = "yes"
    server.set_json(SOLVED, page)
    with pytest.raises(MalformedTopic, match="'best_answer' is str, expected int"):
        _fetch(server, 3)


def test_thread_gone_is_a_404_bad_response(server: CaptureServer) -> None:
    with pytest.raises(BadResponse) as caught:
        _fetch(server, 77)
    assert caught.value.status == 404


# --- ranks as groups --------------------------------------------------------------------------


def test_group_members_are_a_ranks_members(server: CaptureServer) -> None:
    async def work(scraper: MisagoScraper) -> list[frozenset[str]]:
        return [await scraper.group_members(name) for name in ("Forum team", "team", "1")]

    assert _run(server, work) == [frozenset({"mod_quality"})] * 3
    assert server.requests[:2] == ["/api/ranks/", "/api/users/?rank=1&page=1"]


def test_unknown_group_says_to_list_usernames(server: CaptureServer) -> None:
    async def work(scraper: MisagoScraper) -> frozenset[str]:
        return await scraper.group_members("Developers")

    with pytest.raises(BadResponse, match=r"no rank 'Developers'.*usernames under `developers:`"):
        _run(server, work)


def test_registered_as_misago_engine(server: CaptureServer) -> None:
    scraper = scraper_for("misago", _settings(server))
    assert isinstance(scraper, MisagoScraper)
    asyncio.run(scraper.aclose())


# --- the bundled HTML profile on the captured pages -------------------------------------------


def test_html_profile_reads_the_captured_list_page() -> None:
    selectors = load_profile("misago").topic_list
    page = BeautifulSoup((CAPTURES / "list.html").read_text(encoding="utf-8"), "lxml")
    items = page.select(selectors.item)
    links = [item.select_one(selectors.link) for item in items]
    hrefs = [str(link["href"]) for link in links if link is not None]
    assert hrefs == [
        "/t/read-this-first/1/",
        "/t/signature-fails/5/",
        "/t/invoice-for-march/4/",
        "/t/where-is-the-licence-key/3/",
    ]
    assert [re.search(selectors.id_pattern, h)[1] for h in hrefs] == ["1", "5", "4", "3"]  # type: ignore[index]
    assert selectors.replies and selectors.last_activity and selectors.pinned
    replies = [item.select_one(selectors.replies) for item in items]
    assert [re.sub(r"\D", "", r.get_text()) for r in replies if r] == ["0", "1", "0", "1"]
    assert [bool(item.select_one(selectors.pinned)) for item in items] == [True] + [False] * 3
    day = items[1].select_one(selectors.last_activity)
    assert day is not None
    text = day.get_text(strip=True)
    when = parse_forum_date(text, language="en", timezone="UTC", now=datetime.now(UTC))
    assert when.date() == _time(capture("threads_page1.json")["results"][1]["last_post_on"]).date()
    assert selectors.next_page
    following = page.select_one(selectors.next_page)
    assert following is not None and following["href"] == "/c/signed-files/4/?start=12"


def test_html_profile_reads_the_captured_thread_page() -> None:
    selectors = load_profile("misago").topic
    page = BeautifulSoup((CAPTURES / "thread.html").read_text(encoding="utf-8"), "lxml")
    posts = page.select(selectors.post)
    authors = [p.select_one(selectors.author) for p in posts]
    assert [a.get_text(strip=True) for a in authors if a] == [
        "client_ivan",
        "dev_olena",
        "client_ivan",
        "dev_olena",  # the integrator's hidden post (id 6) is not selected
    ]
    dates = [p.select_one(selectors.date) for p in posts]
    assert selectors.date_attr == "datetime"
    api = capture("posts_closed_page1.json")["post_set"]["results"]
    expected = [_time(p["posted_on"]) for p in api if not p["is_hidden"]]
    assert [_time(str(d["datetime"])) for d in dates if d] == expected
    body = posts[0].select_one(selectors.body)
    assert body is not None and body.get_text(strip=True) == "Export crashes. Help?"
    assert selectors.role and selectors.closed and selectors.solved and selectors.title
    assert [r.get_text(strip=True) for r in posts[0].select(selectors.role)] == ["Members"]
    assert page.select_one(selectors.closed) is not None
    assert page.select_one(selectors.solved) is None
    title = page.select_one(selectors.title)
    assert title is not None and title.get_text(strip=True) == "Export crashes with signed files"
    assert selectors.category and selectors.next_page
    category = page.select_one(selectors.category)
    assert category is not None and category["href"] == "/c/signed-files/4/"
    following = page.select_one(selectors.next_page)
    assert following is not None and following["href"] == "/t/export-crashes-with-signed-files/2/2/"

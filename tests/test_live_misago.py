"""forumwatch against a real Misago 0.39 (PostgreSQL) on loopback: threads written by real users
over Misago's API, then the real `forumwatch` command polls it from a config file.

Runs with FORUMWATCH_LIVE=1 (or under CI); installs Misago into .live/ the first time.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from forumwatch.model import PostKind, Topic, TopicState
from scrapers.base import ForumSettings, TopicSummary
from scrapers.misago import MisagoScraper
from scrapers.profile import load_profile
from tests.live.misago import MisagoForum, misago_forum

__all__ = ["misago_forum"]  # the session fixture, imported to be found by pytest
pytestmark = pytest.mark.xdist_group("live-misago")  # one xdist worker: one install, one forum

FORUMWATCH = Path(sys.executable).parent / "forumwatch"
CONFIG = """\
database: {database}
forums:
  - id: misago
    engine: misago
    url: {url}
    categories: [{category}]
    developers: [dev_olena]
    staff: [mod_quality]
    requests_per_second: 20
    timeout: 30s
"""


@dataclass(frozen=True)
class Story:
    category: int
    unanswered: int  # (a) nobody answered
    masked: int  # (b) only the integrator replied
    answered: int  # (c) the developer replied
    closed: int  # (d) closed by the moderator, unanswered
    follow_up: int  # (e) the customer asked again after the developer's reply
    solved: int  # (f) the author marked the developer's answer best, then asked more
    staff_only: int  # (g) staff acknowledged, the developer never came


@pytest.fixture(scope="module")
def story(misago_forum: MisagoForum) -> Story:
    forum = misago_forum
    for name in ("dev_olena", "client_ivan", "client_maria", "partner_taras"):
        forum.create_user(name, f"pass-{name}")
    forum.create_user("mod_quality", "pass-mod_quality", moderator=True, staff=True)
    category = forum.create_category("Signed files")

    def thread(author: str, title: str, *replies: tuple[str, str]) -> int:
        thread_id = forum.post_thread(author, category, title, f"{title}: please help.")
        for user, body in replies:
            forum.post_reply(user, thread_id, body)
        return thread_id

    unanswered = thread("client_ivan", "Export crashes on startup")
    masked = thread("client_maria", "Signature fails", ("partner_taras", "Reinstall the cert."))
    answered = thread("client_maria", "Where is the key?", ("dev_olena", "Settings, About."))
    closed = thread("client_ivan", "Please call me back")
    forum.close_thread("mod_quality", closed)
    follow_up = thread(
        "client_maria",
        "Invoice is empty",
        ("dev_olena", "Fixed in 2.5."),
        ("client_maria", "Still empty in 2.5, what now?"),
    )
    solved = thread("client_ivan", "Licence transfer", ("dev_olena", "Use the transfer form."))
    answer = forum.post_reply("client_ivan", solved, "Thanks! And for two seats?")
    best = next(
        p["id"]
        for p in forum.get_json(f"/api/threads/{solved}/posts/")["post_set"]["results"]
        if p["poster_name"] == "dev_olena"
    )
    assert best != answer
    forum.mark_best_answer("client_ivan", solved, best)
    staff_only = thread("client_ivan", "Refund", ("mod_quality", "Passed on to the developer."))
    return Story(category, unanswered, masked, answered, closed, follow_up, solved, staff_only)


def forumwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FORUMWATCH), *args], capture_output=True, text=True, timeout=300, check=False
    )


def _requests(forum: MisagoForum) -> list[str]:
    """The requests the server has logged so far ("GET /api/threads/... HTTP/1.1" 200 ...)."""
    return [
        line.split('"')[1].split(" ")[1]
        for line in forum.server.log.read_text(errors="replace").splitlines()
        if line.count('"') >= 2 and '"GET ' in line
    ]


@pytest.mark.timeout(900)
def test_forumwatch_flags_the_silences_of_a_live_misago(
    misago_forum: MisagoForum, story: Story, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    database = tmp_path / "forumwatch.db"
    text = CONFIG.format(database=database, url=misago_forum.url, category=story.category)
    config.write_text(text, encoding="utf-8")

    first = forumwatch("run", "--config", str(config), "-v")
    assert first.returncode == 0, first.stdout + first.stderr + misago_forum.server.log_tail()
    assert "7 topics listed, 7 fetched" in first.stdout, first.stdout + first.stderr

    later = (datetime.now(UTC) + timedelta(hours=30)).isoformat()
    shown = forumwatch("findings", "--config", str(config), "--format", "json", "--now", later)
    assert shown.returncode == 0, shown.stderr
    found: list[dict[str, Any]] = json.loads(shown.stdout)
    rules: dict[int, set[str]] = {}
    for finding in found:
        rules.setdefault(int(finding["topic_id"]), set()).add(str(finding["rule"]))
    assert rules == {
        story.unanswered: {"unanswered"},
        story.masked: {"masked_silence"},
        story.follow_up: {"follow_up_ignored"},
        story.staff_only: {"no_diagnosis"},
    }  # answered, closed and solved threads raise nothing
    masked = next(f for f in found if int(f["topic_id"]) == story.masked)
    assert masked["topic_url"] == f"{misago_forum.url}/t/signature-fails/{story.masked}/"
    assert [(e["username"], e["role"]) for e in masked["evidence"]] == [("partner_taras", "other")]

    before = len(_requests(misago_forum))
    again = forumwatch("run", "--config", str(config), "-v")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "3 topics listed, 0 fetched, 0 changed" in again.stdout, again.stdout  # page 1
    time.sleep(1)  # runserver logs a request just after answering it
    second = _requests(misago_forum)[before:]
    # threads_per_page is 3: the first page was known and unchanged, so the walk stopped there
    assert second == [f"/api/threads/?category={story.category}&list=all"]


def _scrape(forum: MisagoForum, *thread_ids: int) -> list[Topic]:
    async def work() -> list[Topic]:
        settings = ForumSettings("live", forum.url, requests_per_second=50.0)
        scraper = MisagoScraper(settings)
        try:
            return [await scraper.fetch_topic(TopicSummary(str(i), "")) for i in thread_ids]
        finally:
            await scraper.aclose()

    return asyncio.run(work())


@pytest.mark.timeout(900)
def test_live_states_events_roles_and_ranks(misago_forum: MisagoForum, story: Story) -> None:
    closed, solved, follow_up = _scrape(misago_forum, story.closed, story.solved, story.follow_up)
    assert closed.state is TopicState.CLOSED
    event = closed.posts[-1]
    assert (event.number, event.kind, event.author.username) == (2, PostKind.SYSTEM, "mod_quality")
    assert event.author.forum_roles == frozenset({"Forum team", "Team"})
    assert solved.state is TopicState.SOLVED
    assert follow_up.state is TopicState.OPEN
    assert [p.author.username for p in follow_up.posts] == [
        "client_maria",
        "dev_olena",
        "client_maria",
    ]
    assert all(p.created_at.tzinfo is UTC for p in follow_up.posts)

    async def members() -> frozenset[str]:
        scraper = MisagoScraper(ForumSettings("live", misago_forum.url))
        try:
            return await scraper.group_members("Forum team")
        finally:
            await scraper.aclose()

    assert asyncio.run(members()) == frozenset({"mod_quality"})


@pytest.mark.timeout(900)
def test_bundled_html_profile_matches_live_pages(misago_forum: MisagoForum, story: Story) -> None:
    profile = load_profile("misago")
    listed = profile.topic_list
    api = misago_forum.get_json("/api/threads/", {"category": story.category, "list": "all"})
    page = BeautifulSoup(misago_forum.get_text(f"/c/signed-files/{story.category}/"), "lxml")
    items = page.select(listed.item)
    links = [item.select_one(listed.link) for item in items]
    assert [str(a["href"]) for a in links if a] == [t["url"]["index"] for t in api["results"]]
    assert listed.replies and listed.last_activity and listed.next_page
    replies = [item.select_one(listed.replies) for item in items]
    assert [int("".join(c for c in r.get_text() if c.isdigit())) for r in replies if r] == [
        t["replies"] for t in api["results"]
    ]
    assert all(item.select_one(listed.last_activity) for item in items)
    following = page.select_one(listed.next_page)
    assert following is not None
    second = BeautifulSoup(misago_forum.get_text(str(following["href"])), "lxml")
    assert len(second.select(listed.item)) == 3  # the rest of the seven threads

    shown = profile.topic
    assert shown.closed and shown.solved and shown.title and shown.role

    def thread_page(thread_id: int) -> tuple[BeautifulSoup, dict[str, Any]]:
        data = misago_forum.get_json(f"/api/threads/{thread_id}/posts/")
        return BeautifulSoup(misago_forum.get_text(data["url"]["index"]), "lxml"), data

    for thread_id, closed, solved in [
        (story.closed, True, False),
        (story.solved, False, True),
        (story.follow_up, False, False),
    ]:
        html, data = thread_page(thread_id)
        assert (html.select_one(shown.closed) is not None) == closed
        assert (html.select_one(shown.solved) is not None) == solved
        title = html.select_one(shown.title)
        assert title is not None and title.get_text(strip=True) == data["title"]
        posts = [p for p in data["post_set"]["results"] if not p["is_event"]]
        elements = html.select(shown.post)
        authors = [e.select_one(shown.author) for e in elements]
        assert [a.get_text(strip=True) for a in authors if a] == [p["poster_name"] for p in posts]
        dates = [e.select_one(shown.date) for e in elements]
        assert [datetime.fromisoformat(str(d[shown.date_attr or ""])) for d in dates if d] == [
            datetime.fromisoformat(p["posted_on"]) for p in posts
        ]
        assert all(e.select_one(shown.body) for e in elements)
        roles = [r.get_text(strip=True) for e in elements for r in e.select(shown.role)]
        assert set(roles) <= {"Members", "Team"} and roles

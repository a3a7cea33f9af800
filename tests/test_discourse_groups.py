"""Group membership through /groups/{name}/members.json, over real HTTP: the sample forum and the
real captures replayed verbatim."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from forumwatch.sample_forum.scenario import SampleForum, SamplePost, SampleTopic
from forumwatch.sample_forum.server import SampleForumServer
from scrapers.base import BadResponse, ForumSettings
from scrapers.discourse import DiscourseScraper

CAPTURES = Path(__file__).parent / "fixtures" / "discourse_api"
MEMBERS_PATH = "/groups/vendor-x/members.json"


def _capture_bytes(name: str) -> bytes:
    return (CAPTURES / name).read_bytes()


def _capture_usernames(name: str, key: str = "members") -> set[str]:
    return {entry["username"] for entry in json.loads(_capture_bytes(name))[key]}


def _forum(groups: dict[str, list[str]]) -> SampleForum:
    post = SamplePost("customer", datetime(2026, 3, 4, tzinfo=UTC), "hello")
    return SampleForum([SampleTopic(1, "Hello", [post])], groups=groups)


@pytest.fixture
def server() -> Iterator[SampleForumServer]:
    with SampleForumServer(_forum({})) as running:
        yield running


def _members(server: SampleForumServer, group: str = "vendor-x", **overrides: Any) -> set[str]:
    settings: dict[str, Any] = {
        "forum_id": "sample",
        "url": server.url,
        "requests_per_second": 1000.0,
        "max_retries": 1,
        "options": {"backoff_base": 0.001},
        **overrides,
    }

    async def main() -> frozenset[str]:
        scraper = DiscourseScraper(ForumSettings(**settings))
        try:
            return await scraper.group_members(group)
        finally:
            await scraper.aclose()

    return set(asyncio.run(main()))


# --- the sample forum -------------------------------------------------------------------------


def test_members_are_collected_across_pages_by_offset(server: SampleForumServer) -> None:
    developers = [f"dev_{n}" for n in range(120)]
    server.forum = _forum({"vendor-x": developers, "other": ["someone"]})
    assert _members(server) == set(developers)
    assert server.requests == [
        f"{MEMBERS_PATH}?offset=0&limit=50",
        f"{MEMBERS_PATH}?offset=50&limit=50",
        f"{MEMBERS_PATH}?offset=100&limit=50",
    ]


def test_small_group_takes_one_request(server: SampleForumServer) -> None:
    server.forum = _forum({"vendor-x": ["dev_ivan", "vendor_petro"]})
    assert _members(server) == {"dev_ivan", "vendor_petro"}
    assert len(server.requests) == 1


def test_empty_group_has_no_members(server: SampleForumServer) -> None:
    server.forum = _forum({"vendor-x": []})
    assert _members(server) == set()
    assert len(server.requests) == 1


def test_group_name_is_url_quoted(server: SampleForumServer) -> None:
    server.forum = _forum({"vendor x/ua": ["dev_ivan"]})
    assert _members(server, "vendor x/ua") == {"dev_ivan"}
    assert server.requests == ["/groups/vendor%20x%2Fua/members.json?offset=0&limit=50"]


def test_unknown_group_is_bad_response_saying_what_to_check(server: SampleForumServer) -> None:
    with pytest.raises(BadResponse, match="group 'vendor-x' not found or not visible") as caught:
        _members(server)
    assert "developer_groups/staff_groups" in str(caught.value)
    assert "api_key" in str(caught.value) and MEMBERS_PATH in str(caught.value)
    assert len(server.requests) == 1  # a 404 is not retried


# --- real captures, replayed verbatim ---------------------------------------------------------


def test_real_capture_with_meta_includes_owners_and_pages_to_total(
    server: SampleForumServer,
) -> None:
    server.fail(MEMBERS_PATH, status=200, body=_capture_bytes("members_2.json"))
    members = _members(server)
    owners = _capture_usernames("members_2.json", "owners")
    assert owners == {f"Owner_{n}" for n in range(7)}
    assert members == _capture_usernames("members_2.json") | owners
    assert len(members) == 107
    # meta.total is 107 and 100 members came: one more page, which brings nothing new
    assert server.requests == [
        f"{MEMBERS_PATH}?offset=0&limit=50",
        f"{MEMBERS_PATH}?offset=100&limit=50",
    ]


def test_real_captures_without_meta_page_until_nothing_new(server: SampleForumServer) -> None:
    server.fail(MEMBERS_PATH, status=200, body=_capture_bytes("members_0.json"), times=1)
    server.fail(MEMBERS_PATH, status=200, body=_capture_bytes("members_1.json"))
    members = _members(server)
    assert members == _capture_usernames("members_0.json") | _capture_usernames("members_1.json")
    assert len(members) == 190
    assert server.requests == [
        f"{MEMBERS_PATH}?offset=0&limit=50",
        f"{MEMBERS_PATH}?offset=100&limit=50",
        f"{MEMBERS_PATH}?offset=190&limit=50",
    ]


# --- malformed shapes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "field"),
    [
        ({"owners": []}, r"'members' is missing"),
        ({"members": {"username": "x"}}, r"'members' is dict, expected list"),
        ({"members": [{"id": 1}]}, r"'members\[\]\.username' is missing"),
        ({"members": [], "owners": [{"username": 7}]}, r"'owners\[\]\.username' is int"),
        ({"members": [], "meta": {"limit": 50}}, r"'meta\.total' is missing"),
        ({"members": [], "meta": {"total": "many"}}, r"'meta\.total' is str, expected int"),
    ],
)
def test_malformed_members_page_is_bad_response_naming_the_field(
    server: SampleForumServer, page: dict[str, Any], field: str
) -> None:
    server.fail(MEMBERS_PATH, status=200, body=json.dumps(page).encode())
    with pytest.raises(BadResponse, match=field):
        _members(server)


def test_members_page_that_is_not_an_object_is_bad_response(server: SampleForumServer) -> None:
    server.fail(MEMBERS_PATH, status=200, body=_capture_bytes("groups.json"))  # a JSON list
    with pytest.raises(BadResponse, match="expected an object holding 'members', got list"):
        _members(server)


def test_endless_member_paging_is_cut_off_and_reported(
    server: SampleForumServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("scrapers.discourse.MAX_MEMBER_PAGES", 2)
    server.forum = _forum({"vendor-x": [f"user_{n}" for n in range(120)]})
    with pytest.raises(BadResponse, match="over 100 members: is it the right group"):
        _members(server)
    assert len(server.requests) == 2

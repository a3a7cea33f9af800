"""The live Spirit harness works: users post over HTTP and the pages show it, read through the
bundled `spirit` selector profile. Runs with FORUMWATCH_LIVE=1 or under CI."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup, Tag

from tests.live.spirit import SpiritForum, spirit_forum  # noqa: F401

# both Spirit files run on one xdist worker: one engine install, one session forum
pytestmark = pytest.mark.xdist_group("live-spirit")

PROFILE = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "scrapers/profiles/spirit.yaml").read_text()
)
USERS = {  # name: (moderator, admin)
    "dev_olena": (False, False),
    "mod_quality": (True, False),
    "client_ivan": (False, False),
    "client_maria": (False, False),
    "partner_taras": (False, False),
}


def text(element: Tag | None) -> str:
    assert element is not None
    return " ".join(element.get_text(" ", strip=True).split())


@pytest.mark.timeout(900)
def test_users_post_over_http_and_the_profile_reads_it(spirit_forum: SpiritForum) -> None:  # noqa: F811
    forum = spirit_forum
    for name, (moderator, admin) in USERS.items():
        forum.create_user(name, f"pw-{name}-1", moderator=moderator, admin=admin)
    category = forum.create_category("Signed files (harness)")
    topic = forum.post_topic(
        "client_ivan", category, "Export fails with E42", "Exporting a **signed** file fails: E42"
    )
    forum.post_comment("dev_olena", topic, "Which version do you use?")
    forum.post_comment("mod_quality", topic, "Please attach the logs.")

    page = forum.get(topic.url)
    assert page.status_code == 200
    soup = BeautifulSoup(page.content, "lxml")
    selectors = PROFILE["topic"]
    posts = soup.select(selectors["post"])
    assert [text(post.select_one(selectors["author"])) for post in posts] == [
        "client_ivan",
        "dev_olena",
        "mod_quality",
    ]
    bodies = [text(post.select_one(selectors["body"])) for post in posts]
    assert bodies == [
        "Exporting a signed file fails: E42",
        "Which version do you use?",
        "Please attach the logs.",
    ]
    dates = [post.select_one(selectors["date"]) for post in posts]
    assert all(date is not None and date.get(selectors["date_attr"]) for date in dates)
    badges = [[b.get("title") for b in post.select(selectors["role"])] for post in posts]
    assert badges == [[], [], ["Moderator"]]
    assert text(soup.select_one(selectors["title"])) == "Export fails with E42"
    assert soup.select_one(selectors["closed"]) is None

    listing = BeautifulSoup(forum.get(f"/category/{category.id}/{category.slug}/").content, "lxml")
    items = listing.select(PROFILE["topic_list"]["item"])
    links = [item.select_one(PROFILE["topic_list"]["link"]) for item in items]
    assert [link.get("href") for link in links if link] == [f"/topic/{topic.id}/{topic.slug}/"]
    assert text(items[0].select_one(PROFILE["topic_list"]["replies"])) == "3"

    forum.close_topic("mod_quality", topic)
    closed = BeautifulSoup(forum.get(topic.url).content, "lxml")
    assert closed.select_one(selectors["closed"]) is not None
    assert len(closed.select(selectors["post"])) == 3  # the "closed this" note is no post

"""Bursts: many customers of one app at once is a likely outage, told once, as one message."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from forumwatch.model import Author, Post, Responders, Stage, Topic
from forumwatch.sample_forum.scenario import SamplePost, SampleTopic
from forumwatch.sample_forum.server import SampleForumServer
from rules.bursts import BurstSettings, burst_finding, find_bursts
from tests.conftest import NOW, forumwatch
from tests.rule_scenarios import DEVELOPER, RESPONDERS, START

SETTINGS = BurstSettings(topics=3, window=timedelta(hours=2), factor=3.0)


def customer_topic(n: int, at: datetime, app_category: str = "signed-files") -> Topic:
    author = Author(f"customer_{n}")
    return Topic(
        "market",
        str(n),
        f"https://forum.example/t/{n}",
        f"Problem {n}",
        author,
        at,
        (Post(f"{n}-1", 1, author, at, body_text="It fails"),),
        category=app_category,
    )


def app(topic: Topic) -> str:
    return topic.category


def responders(_topic: Topic) -> Responders:
    return RESPONDERS


def test_five_topics_of_one_app_within_an_hour_are_one_burst() -> None:
    topics = [customer_topic(n, START + timedelta(minutes=12 * n)) for n in range(5)]
    topics.append(customer_topic(9, START, app_category="other-app"))  # another app: not in it
    topics.append(customer_topic(8, START - timedelta(days=10)))  # its usual: 1 in 10 days
    now = START + timedelta(hours=1)
    (burst,) = find_bursts(topics, app, SETTINGS, now)
    assert [t.id for t in burst.topics] == ["0", "1", "2", "3", "4"]
    finding = burst_finding(burst, responders, now)
    assert finding is not None
    assert (finding.key.topic_id, finding.rule, finding.stage) == ("0", "burst", Stage.ESCALATED)
    assert finding.due_at == START + timedelta(minutes=24)  # when the third topic arrived
    assert [e.note for e in finding.evidence] == [f"#{n} Problem {n}" for n in range(5)]
    assert "Likely outage: 5 new topics about app signed-files within 48 min" in finding.summary
    assert "acknowledge once, publicly, for everyone" in finding.summary


def test_no_burst_for_an_app_that_is_always_this_busy_or_topics_spread_out() -> None:
    busy = [customer_topic(100 + n, START - timedelta(hours=n + 3)) for n in range(700)]
    now_three = [customer_topic(n, START + timedelta(minutes=n)) for n in range(3)]
    assert find_bursts(busy + now_three, app, SETTINGS, START + timedelta(hours=1)) == []
    spread = [customer_topic(n, START + timedelta(hours=3 * n)) for n in range(5)]
    assert find_bursts(spread, app, SETTINGS, START + timedelta(days=1)) == []


def test_a_forum_without_a_day_of_history_has_no_usual_rate_yet() -> None:
    topics = [customer_topic(n, START + timedelta(minutes=12 * n)) for n in range(5)]
    assert find_bursts(topics, app, SETTINGS, START + timedelta(hours=1)) == []


def test_the_burst_holds_until_every_topic_is_acknowledged() -> None:
    old = customer_topic(8, START - timedelta(days=10))
    topics = [customer_topic(n, START + timedelta(minutes=10 * n)) for n in range(3)]
    answered = []
    for topic in topics:
        reply = Post(f"{topic.id}-2", 2, DEVELOPER, START + timedelta(hours=2), body_text="On it")
        answered.append(Topic(**{**topic.__dict__, "posts": (*topic.posts, reply)}))
    later = START + timedelta(hours=3)
    (burst,) = find_bursts([old, *answered[:1], *topics[1:]], app, SETTINGS, later)
    finding = burst_finding(burst, responders, START + timedelta(hours=3))
    assert finding is not None and len(finding.evidence) == 2  # two still wait
    (burst,) = find_bursts([old, *answered], app, SETTINGS, later)
    assert burst_finding(burst, responders, START + timedelta(hours=3)) is None


def test_the_console_tells_the_burst_once_and_not_each_of_its_topics(
    forum: SampleForumServer, config_path: Path
) -> None:
    assert forumwatch("run", "-c", str(config_path), "--now", NOW.isoformat()).returncode == 0
    for n in range(5):
        at = NOW + timedelta(minutes=10 * n)
        post = SamplePost(f"shop_{n}", at, "Signed files are rejected since this morning")
        forum.forum.topics.append(
            SampleTopic(300 + n, f"Signing fails ({n})", [post], category_id=7)
        )
    later = (NOW + timedelta(hours=3)).isoformat()
    run = forumwatch("run", "-c", str(config_path), "--now", later)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("likely outage") == 1
    assert "ESCALATED market #300" in run.stdout
    assert not any(f"OVERDUE market #30{n}" in run.stdout for n in range(5))  # grouped
    assert "5 new topics about app signed-files" in run.stdout

"""SLA policies: a paid topic waits on its own, tighter clock; the first policy that matches wins,
and a topic that matches none keeps the default SLA. Real parts: the CLI polls a loopback
Discourse forum into a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from digests.build import build_digest
from digests.render import render_text
from forumwatch.config.load import load_config
from forumwatch.cycle.run import run_cycle
from forumwatch.model import Author, Post, Sla, SlaPolicy, Topic
from forumwatch.sample_forum.scenario import SampleForum, SamplePost, SampleTopic
from forumwatch.sample_forum.server import SampleForumServer
from forumwatch.store import Store
from rules.policies import applied_policy
from tests.conftest import NOW, forumwatch, write_config

PAID = """\
sla_policies:
  - name: paid
    match: {tags: [paid, платна-тема]}
    acknowledge: 30m
    diagnose: 4h
    follow_up: 4h
    escalate_after: 1h
"""


def customer_post(at_hours_ago: float, body: str = "Не працює експорт") -> SamplePost:
    return SamplePost("klient_a", NOW - timedelta(hours=at_hours_ago), body)


def policy_forum() -> SampleForum:
    """Paid and ordinary topics of the same age: unanswered for 1 h, and staff-only for 5 h."""
    staff_reply = SamplePost("anna_quality", NOW - timedelta(hours=4, minutes=50), "Передали")
    return SampleForum(
        [
            SampleTopic(201, "Платна: не працює експорт", [customer_post(1)], tags=["paid"]),
            SampleTopic(202, "Не працює експорт", [customer_post(1)]),
            SampleTopic(
                203, "Платна: помилка 500", [customer_post(5), staff_reply], tags=["платна-тема"]
            ),
            SampleTopic(204, "Помилка 500", [customer_post(5), staff_reply]),
        ]
    )


@pytest.fixture
def policy_site() -> Iterator[SampleForumServer]:
    with SampleForumServer(policy_forum()) as server:
        yield server


def findings(config: Path) -> dict[str, dict[str, object]]:
    result = forumwatch("findings", "-c", str(config), "--now", NOW.isoformat(), "--format", "json")
    assert result.returncode == 0, result.stderr
    return {str(item["topic_id"]): item for item in json.loads(result.stdout)}


def test_a_paid_topic_is_overdue_where_an_ordinary_one_of_the_same_age_is_not(
    tmp_path: Path, policy_site: SampleForumServer
) -> None:
    config = write_config(tmp_path, policy_site.url, extra=PAID)
    run = forumwatch("run", "-c", str(config), "--now", NOW.isoformat())
    assert run.returncode == 0, run.stderr

    found = findings(config)
    assert set(found) == {"201", "203"}  # 202 and 204 are within the default 2 h / 24 h
    assert (found["201"]["rule"], found["201"]["policy"]) == ("unanswered", "paid")
    assert found["201"]["due_at"] == (NOW - timedelta(minutes=30)).isoformat()
    assert found["201"]["stage"] == "due"  # escalates 1 h after the 30 min
    assert (found["203"]["rule"], found["203"]["policy"]) == ("no_diagnosis", "paid")
    assert found["203"]["due_at"] == (NOW - timedelta(hours=1)).isoformat()  # 5 h - 4 h

    tsv = forumwatch("findings", "-c", str(config), "--now", NOW.isoformat(), "--format", "tsv")
    header, *rows = tsv.stdout.splitlines()
    policy = header.split("\t").index("policy")
    assert sorted(row.split("\t")[policy] for row in rows) == ["paid", "paid"]

    table = forumwatch("findings", "-c", str(config), "--now", NOW.isoformat())
    assert "policy paid" in table.stdout

    history = forumwatch("topic", "market:201", "-c", str(config), "--now", NOW.isoformat())
    assert history.returncode == 0, history.stderr
    assert "SLA policy paid (tags: paid), applies since" in history.stdout
    plain = forumwatch("topic", "market:202", "-c", str(config), "--now", NOW.isoformat())
    assert "SLA policy" not in plain.stdout

    # an hour later the ordinary topic is due on the default clock, with no policy
    later = (NOW + timedelta(hours=1, minutes=1)).isoformat()
    forumwatch("run", "-c", str(config), "--now", later)
    result = forumwatch("findings", "-c", str(config), "--now", later, "--format", "json")
    items = {str(i["topic_id"]): i for i in json.loads(result.stdout)}
    assert (items["202"]["rule"], items["202"]["policy"]) == ("unanswered", "")
    assert items["201"]["stage"] == "escalated"  # 30 min + 1 h


@pytest.mark.slow  # long waits or several cycles: CI runs it
def test_a_policy_added_to_the_config_runs_from_the_next_run_not_back_into_the_wait(
    tmp_path: Path, policy_site: SampleForumServer
) -> None:
    config = write_config(tmp_path, policy_site.url)
    forumwatch("run", "-c", str(config), "--now", NOW.isoformat())
    assert findings(config) == {}
    config.write_text(config.read_text(encoding="utf-8") + PAID, encoding="utf-8")
    added = NOW + timedelta(minutes=1)
    forumwatch("run", "-c", str(config), "--now", added.isoformat())
    assert findings_at(config, added) == {}  # the config changed: every topic judged again
    later = added + timedelta(minutes=31)
    forumwatch("run", "-c", str(config), "--now", later.isoformat())
    found = findings_at(config, later)
    # 203's diagnosis is due 4 h after the policy was first used, not 4 h after it was asked
    assert {key: item["policy"] for key, item in found.items()} == {"201": "paid"}
    assert found["201"]["due_at"] == (added + timedelta(minutes=30)).isoformat()


def test_check_config_prints_the_policies_in_order(tmp_path: Path) -> None:
    extra = PAID + (
        "  - name: signed-files\n"
        "    match: {apps: [signed-files]}\n"
        "    acknowledge: 1h\n"
        "    business_hours: false\n"
    )
    config = write_config(tmp_path, "http://127.0.0.1:9", extra=extra)
    result = forumwatch("check-config", "-c", str(config))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    paid = next(i for i, line in enumerate(lines) if "policy 1. paid" in line)
    assert "(tags: paid, платна-тема): SLA ack 0.5h / diagnose 4h" in lines[paid]
    assert (
        "policy 2. signed-files (apps: signed-files): SLA ack 1h / diagnose 24h"
        in (lines[paid + 1])
    )


@pytest.mark.parametrize(
    ("policies", "message"),
    [
        (
            "  - name: crm\n    match: {apps: [crm]}\n    acknowledge: 1h\n",
            "sla_policies[1].match.apps: policy 'crm' can never match: app 'crm' is not in "
            "the config",
        ),
        (
            "  - name: other\n    match: {forums: [nowhere]}\n",
            "sla_policies[1].match.forums: policy 'other' can never match: forum 'nowhere' is "
            "not in the config",
        ),
        (
            "  - name: paid-again\n    match: {tags: [платна-тема, paid]}\n    acknowledge: 1h\n",
            "sla_policies[1].match: policy 'paid-again' can never match: policy 'paid' above "
            "has the same condition",
        ),
        (
            "  - name: paid-crm\n    match: {tags: [paid], apps: [signed-files]}\n",
            "sla_policies[1].match: policy 'paid-crm' can never match: policy 'paid' above "
            "has a wider condition",
        ),
    ],
)
def test_check_config_refuses_a_policy_that_can_never_match(
    tmp_path: Path, policies: str, message: str
) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9", extra=PAID + policies)
    result = forumwatch("check-config", "-c", str(config))
    assert result.returncode == 2
    text = config.read_text(encoding="utf-8").splitlines()
    name = policies.split("\n", 1)[0]
    match_line = text.index(name) + 2  # the line after `- name:`, 1-based
    assert f"{config}:{match_line} {message}" in result.stderr


def test_a_forums_own_policy_refuses_an_app_of_another_forum(tmp_path: Path) -> None:
    extra = "    sla_policies:\n      - name: crm\n        match: {apps: [crm]}\n"
    text = write_config(tmp_path, "http://127.0.0.1:9").read_text(encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(text + extra, encoding="utf-8")
    result = forumwatch("check-config", "-c", str(config))
    assert result.returncode == 2
    assert (
        "forums[0].sla_policies[0].match.apps: policy 'crm' can never match: app 'crm' is not "
        "in this forum" in result.stderr
    )


def topic(tags: tuple[str, ...] = (), category: str = "", category_id: str = "") -> Topic:
    author = Author("klient_a")
    post = Post("1", 1, author, NOW)
    return Topic(
        "market",
        "1",
        "u",
        "t",
        author,
        NOW,
        (post,),
        tags=tags,
        category=category,
        category_id=category_id,
    )


def test_the_first_policy_whose_conditions_all_hold_wins() -> None:
    fast, faster = Sla(acknowledge=timedelta(hours=1)), Sla(acknowledge=timedelta(minutes=30))
    policies = (
        SlaPolicy("paid-crm", faster, tags=frozenset({"Paid"}), apps=frozenset({"crm"})),
        SlaPolicy("support", fast, categories=frozenset({"7"}), forums=frozenset({"market"})),
        SlaPolicy("paid", fast, tags=frozenset({"paid"})),
    )
    default = Sla()
    assert applied_policy(topic(("paid",)), "crm", policies, default).name == "paid-crm"
    assert applied_policy(topic(("paid",)), "crm", policies, default).condition == (
        "tags: paid, apps: crm"
    )
    assert applied_policy(topic(("paid",)), "", policies, default).name == "paid"
    assert applied_policy(topic(category_id="7"), "", policies, default).condition == (
        "categories: 7, forums: market"
    )
    plain = applied_policy(topic(("question",)), "crm", policies, default)
    assert (plain.name, plain.sla, plain.condition) == ("", default, "")


def test_a_paid_topic_books_credits_in_its_policys_units(
    tmp_path: Path, policy_site: SampleForumServer
) -> None:
    paid = PAID + "    credits: {unit: consultation, acknowledge: 2, diagnose: 4, follow_up: 2}\n"
    extra = paid + "credits: {unit: UAH, acknowledge: 100, diagnose: 300}\n"
    config = write_config(tmp_path, policy_site.url, extra=extra)
    later = (NOW + timedelta(hours=1, minutes=1)).isoformat()  # 202 is due on the default clock
    for moment in (NOW.isoformat(), later):
        run = forumwatch("run", "-c", str(config), "--now", moment)
        assert run.returncode == 0, run.stderr
    with sqlite3.connect(tmp_path / "forumwatch.db") as conn:
        booked = sorted(conn.execute("SELECT topic_id, stage, amount, unit FROM credits"))
    assert booked == [
        ("201", "acknowledge", 2.0, "consultation"),
        ("202", "acknowledge", 100.0, "UAH"),
        ("203", "diagnose", 4.0, "consultation"),
    ]


@pytest.mark.slow  # paced sends or several cycles: CI runs it
def test_a_topic_made_paid_between_two_runs_runs_its_clock_from_the_second_run(
    tmp_path: Path, policy_site: SampleForumServer
) -> None:
    config = write_config(tmp_path, policy_site.url, extra=PAID)
    ordinary = next(t for t in policy_site.forum.topics if t.id == 202)  # asked 1 h before NOW

    def run(at: datetime) -> dict[str, dict[str, object]]:
        result = forumwatch("run", "-c", str(config), "--now", at.isoformat())
        assert result.returncode == 0, result.stderr
        return findings_at(config, at)

    assert "202" not in run(NOW)
    ordinary.tags = ["paid"]  # the customer paid after an hour of waiting
    upgraded = NOW + timedelta(minutes=10)
    assert "202" not in run(upgraded)  # its 30 min run from now, not from its creation
    found = run(upgraded + timedelta(minutes=31))["202"]
    assert (found["rule"], found["policy"]) == ("unanswered", "paid")
    assert found["due_at"] == (upgraded + timedelta(minutes=30)).isoformat()
    assert found["opened_at"] == (NOW - timedelta(hours=1)).isoformat()  # the wait's start

    # a view of a moment before forumwatch saw it paid sees the default clock
    assert "202" not in findings_at(config, NOW + timedelta(minutes=5))
    history = forumwatch("topic", "market:202", "-c", str(config), "--now", upgraded.isoformat())
    assert "SLA policy paid (tags: paid), applies since 2026-03-04 12:10" in history.stdout
    before = forumwatch(
        "topic", "market:202", "-c", str(config), "--now", (NOW + timedelta(minutes=5)).isoformat()
    )
    assert "SLA policy" not in before.stdout

    # untagged again: back on the default clock from the wait's original start (due at 2 h)
    ordinary.tags = []
    assert "202" not in run(NOW + timedelta(minutes=50))
    back = run(NOW + timedelta(hours=1, minutes=1))["202"]
    assert (back["rule"], back["policy"]) == ("unanswered", "")
    assert back["due_at"] == (NOW + timedelta(hours=1)).isoformat()


def findings_at(config: Path, at: datetime) -> dict[str, dict[str, object]]:
    result = forumwatch("findings", "-c", str(config), "--now", at.isoformat(), "--format", "json")
    assert result.returncode == 0, result.stderr
    return {str(item["topic_id"]): item for item in json.loads(result.stdout)}


def test_a_24_7_policy_runs_on_a_forum_that_counts_working_hours(
    tmp_path: Path, policy_site: SampleForumServer
) -> None:
    """The forum works Mondays only (NOW is a Wednesday): its default clock stands still, while
    the paid line (business_hours: false) counts calendar time."""
    config = write_config(tmp_path, policy_site.url, extra=PAID + "    business_hours: false\n")
    text = config.read_text(encoding="utf-8").replace(
        "    retry_backoff: 10ms\n",
        "    retry_backoff: 10ms\n    business_hours: {timezone: UTC, days: [mon]}\n",
    )
    config.write_text(text, encoding="utf-8")
    run = forumwatch("run", "-c", str(config), "--now", NOW.isoformat())
    assert run.returncode == 0, run.stderr
    found = findings(config)
    assert set(found) == {"201", "203"}
    assert found["201"]["due_at"] == (NOW - timedelta(minutes=30)).isoformat()
    checked = forumwatch("check-config", "-c", str(config))
    assert "(business hours)" in checked.stdout.splitlines()[1]  # the forum's default
    assert "policy 1. paid" in checked.stdout and "escalate after 1h\n" in checked.stdout


def test_the_digest_lists_paid_topics_first_and_gives_each_policy_its_own_scorecard(
    tmp_path: Path, policy_site: SampleForumServer
) -> None:
    """A real cycle, then the day's digest: the paid topics lead the ignored list though an
    ordinary one waited longer, and the paid topics are scored on their own row."""
    policy_site.forum.topics.append(SampleTopic(205, "Старе питання", [customer_post(10)]))
    config = load_config(write_config(tmp_path, policy_site.url, extra=PAID + "language: en\n"))
    store = Store(config.database)
    try:
        run_cycle(store, config, NOW, active=[])
        built = build_digest(store, config, NOW.date(), now=NOW)
    finally:
        store.close()
    listed = [(i.finding.key.topic_id, i.finding.policy) for i in built.ignored]
    assert listed == [("203", "paid"), ("201", "paid"), ("205", "")]
    cards = {card.label: card for card in built.scorecards}
    assert list(cards) == ["market · paid", "market"]
    assert (cards["market · paid"].topics, cards["market"].topics) == (2, 3)
    assert cards["market"].open_findings == 3  # the forum's ignored topics: on its own card
    assert cards["market · paid"].developer_within_sla == 0.0  # 203: no diagnosis within 4 h
    text = render_text(built)
    assert [line.split(" (")[0] for line in text.splitlines() if "median" in line][:2] == [
        "- market · paid",
        "- market",
    ]

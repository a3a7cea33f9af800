"""Re-posted requests: a customer repeats an ignored topic in a new one. One request, timed from
the first topic, reported once on the newest as `reposted`; an answer in either answers it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from forumwatch.config.models import Config, ForumConfig
from forumwatch.cycle.judge import evaluate_forum
from forumwatch.model import Author, Post, Topic
from tests.rule_scenarios import CUSTOMER, DEVELOPER, INTEGRATOR, START, Thread, hours

FORUM = ForumConfig(
    id="forum.example",
    engine="discourse",
    url="https://forum.example",
    developers=["dev_ivan"],
    staff=["anna_support"],
)
CONFIG = Config(forums=[FORUM], sla={"acknowledge": "2h", "diagnose": "24h", "follow_up": "24h"})


def topic(thread: Thread, topic_id: str, title: str, body: str = "It crashes.") -> Topic:
    made = thread.topic()
    opening = replace(made.posts[0], body_text=body)
    return replace(
        made,
        id=topic_id,
        url=f"https://forum.example/t/x/{topic_id}",
        title=title,
        posts=(opening, *made.posts[1:]),
    )


FIRST = topic(Thread().reply(INTEGRATOR, hours(2)), "10", "Export to XML fails at 40%")


def later(days: float, title: str, body: str = "Still broken.", author: Author = CUSTOMER) -> Topic:
    return topic(Thread(author=author, start=START + timedelta(days=days)), "20", title, body)


def test_a_repost_with_the_same_title_is_one_request_timed_from_the_first() -> None:
    second = later(3, "Export to XML fails at 40% !!")
    now = START + timedelta(days=3, hours=3)
    evaluation = evaluate_forum([FIRST, second], FORUM, CONFIG, now)
    (finding,) = evaluation.findings
    assert (finding.key.topic_id, finding.rule) == ("20", "reposted")
    assert finding.opened_at == START  # the clock never restarts
    assert finding.summary.startswith(
        "Re-posted after 72 h of silence (first asked at https://forum.example/t/x/10)"
    )
    assert evaluation.superseded[FIRST.key].id == "20"


def test_a_repost_that_links_to_the_first_topic_counts_whatever_its_title() -> None:
    second = later(2, "Help please", "Nobody answers here: https://forum.example/t/export/10")
    evaluation = evaluate_forum([FIRST, second], FORUM, CONFIG, START + timedelta(days=2, hours=1))
    assert [(f.key.topic_id, f.rule) for f in evaluation.findings] == [("20", "reposted")]


def test_a_developer_answer_in_either_topic_answers_the_request() -> None:
    second = later(2, "Export to XML fails at 40%")
    answer = Post("d1", 3, DEVELOPER, START + timedelta(days=2, hours=5), body_text="Fixed in 3.2")
    answered_first = replace(FIRST, posts=(*FIRST.posts, answer))
    now = START + timedelta(days=2, hours=6)
    assert evaluate_forum([answered_first, second], FORUM, CONFIG, now).findings == []
    answer_in_second = replace(second, posts=(*second.posts, replace(answer, number=2)))
    assert evaluate_forum([FIRST, answer_in_second], FORUM, CONFIG, now).findings == []


def test_not_a_repost_when_answered_before_another_author_or_outside_the_window() -> None:
    answer = Post("d1", 3, DEVELOPER, START + hours(3), body_text="Which version?")
    answered = replace(FIRST, posts=(*FIRST.posts, answer))
    second = later(2, "Export to XML fails at 40%")
    now = START + timedelta(days=2, hours=3)
    rules = {
        (f.key.topic_id, f.rule)
        for f in evaluate_forum([answered, second], FORUM, CONFIG, now).findings
    }
    assert ("20", "unanswered") in rules and not any(r == "reposted" for _, r in rules)
    stranger = later(2, "Export to XML fails at 40%", author=Author("someone_else"))
    rules = {f.rule for f in evaluate_forum([FIRST, stranger], FORUM, CONFIG, now).findings}
    assert "reposted" not in rules
    too_late = later(45, "Export to XML fails at 40%")
    now = START + timedelta(days=45, hours=3)
    rules = {f.rule for f in evaluate_forum([FIRST, too_late], FORUM, CONFIG, now).findings}
    assert "reposted" not in rules


def test_a_backdated_view_before_the_repost_sees_the_first_topic_alone() -> None:
    second = later(3, "Export to XML fails at 40%")
    now = START + timedelta(days=1)
    found = evaluate_forum([FIRST, second], FORUM, CONFIG, now).findings
    assert [(f.key.topic_id, f.rule) for f in found] == [("10", "masked_silence")]

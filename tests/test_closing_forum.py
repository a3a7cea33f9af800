"""Closing words on a real (loopback) Discourse forum, judged through the CLI: topics in Ukrainian,
Russian and English whose authors confirmed an answer raise nothing, their look-alikes stay
flagged, a wait that ends is resolved as "confirmed by the author", `topic` says why, and the
digest lists it among the topics that ended that day."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from forumwatch.sample_forum.scenario import SampleForum, SamplePost, SampleTopic
from forumwatch.sample_forum.server import SampleForumServer
from tests.conftest import NOW, forumwatch, write_config

DEV, HELPER = "dev_ivan", "integrator_oleg"

# (id, title, opening, who answered, the author's last words, closes?)
TOPICS = [
    (201, "Звіт ПДВ", "Звіт ПДВ не формується", DEV, "Дякую, все запрацювало!", True),
    (202, "Друк актів", "Акт звірки порожній", HELPER, "Вирішено, дякую!", True),
    (203, "Выгрузка", "Выгрузка падает", DEV, "Спасибо, вопрос снят.", True),
    (204, "Обмен", "Обмен зависает", HELPER, "Всё заработало, огромное спасибо!", True),
    (205, "Export", "Export to XML fails", DEV, "Perfect, that solved it. Thank you!", True),
    (206, "Склад", "Залишки не оновлюються", DEV, "Спасибі, все працює, вопрос снят 👍", True),
    (
        211,
        "Другий склад",
        "Як налаштувати склад?",
        DEV,
        "Дякую! А як зробити те саме для другого складу?",
        False,
    ),
    (212, "Порожній звіт", "Звіт падає", DEV, "Дякую, але тепер звіт порожній", False),
    (
        213,
        "Медленно",
        "Отчёт не строится",
        DEV,
        "Спасибо! Работает, но медленно. Можно ускорить?",
        False,
    ),
    (214, "Error 500", "Upload fails", DEV, "Thanks, but it still fails with error 500", False),
    (215, "Не допомогло", "Підпис не працює", HELPER, "Не допомогло, дякую", False),
]


def _forum() -> SampleForum:
    topics = []
    for topic_id, title, opening, answerer, last, _ in TOPICS:
        posts = [
            SamplePost(f"customer_{topic_id}", NOW - timedelta(hours=60), opening),
            SamplePost(answerer, NOW - timedelta(hours=58), "Оновіть модуль до 3.2.1 / update"),
            SamplePost(f"customer_{topic_id}", NOW - timedelta(hours=50), last),
        ]
        topics.append(SampleTopic(topic_id, title, posts))
    return SampleForum(topics=topics)


@pytest.fixture
def site() -> Iterator[SampleForumServer]:
    with SampleForumServer(_forum()) as server:
        yield server


def _findings(config: Path, now: datetime) -> dict[str, set[str]]:
    result = forumwatch("findings", "-c", str(config), "--now", now.isoformat(), "--format", "json")
    assert result.returncode == 0, result.stderr
    found: dict[str, set[str]] = {}
    for item in json.loads(result.stdout):
        found.setdefault(str(item["topic_id"]), set()).add(item["rule"])
    return found


def test_confirmed_topics_raise_nothing_and_look_alikes_stay_flagged(
    site: SampleForumServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path, site.url)
    run = forumwatch("run", "-c", str(config), "--now", NOW.isoformat())
    assert run.returncode == 0, run.stderr
    expected = {
        str(topic_id): ({"masked_silence"} if answerer == HELPER else {"follow_up_ignored"})
        for topic_id, _, _, answerer, _, closes in TOPICS
        if not closes
    }
    assert _findings(config, NOW) == expected

    shown = forumwatch("topic", f"market:{201}", "-c", str(config), "--now", NOW.isoformat())
    assert shown.returncode == 0, shown.stderr
    assert "closing words by the author: the wait ends" in shown.stdout
    look_alike = forumwatch("topic", "market:211", "-c", str(config), "--now", NOW.isoformat())
    assert "thanks, but a question remains" in look_alike.stdout


def test_a_wait_that_the_author_ends_resolves_as_confirmed_and_is_in_the_digest(
    site: SampleForumServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path, site.url, extra="language: en\n")  # the digest's words
    topic = next(t for t in site.forum.topics if t.id == 202)
    last = topic.posts.pop()  # before the author's "Вирішено, дякую!": a masked silence
    early = NOW - timedelta(hours=51)
    assert forumwatch("run", "-c", str(config), "--now", early.isoformat()).returncode == 0
    assert "202" in _findings(config, early)

    topic.posts.append(last)
    run = forumwatch("run", "-c", str(config), "--now", NOW.isoformat())
    assert run.returncode == 0, run.stderr
    assert "202" not in _findings(config, NOW)
    shown = forumwatch("topic", "market:202", "-c", str(config), "--format", "json")
    (finding,) = json.loads(shown.stdout)["findings"]
    assert finding["resolution"] == (
        "confirmed by the author after 10 h (answer by integrator_oleg, #2)"
    )

    day = NOW.date().isoformat()
    digest = forumwatch("digest", "-c", str(config), "--date", day, "--format", "text")
    assert digest.returncode == 0, digest.stderr
    confirmed = digest.stdout.split("CONFIRMED BY THEIR AUTHORS", 1)[1].split("\n\n", 1)[0]
    assert "Друк актів: confirmed by the author after 10 h" in confirmed

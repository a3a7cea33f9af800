"""`findings --format json` and `--format tsv` say the same thing: the same fields under the same
names, in the same order, with the same values (waiting hours rounded alike), whichever way a
finding reaches them: stored by the last cycle, judged again now, or judged read-only and parked.
A store built by real cycles over the demo forum on loopback, read by the real command."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from forumwatch.sample_forum.scenario import SamplePost, SampleTopic
from forumwatch.sample_forum.server import SampleForumServer
from tests.conftest import NOW, forumwatch, write_config

FIELDS = [
    "forum",
    "app",
    "topic_id",
    "topic_url",
    "title",
    "author",
    "rule",
    "stage",
    "policy",
    "opened_at",
    "due_at",
    "escalate_at",
    "waiting_hours",
    "silent",
    "summary",
    "evidence",
    "history",
]


def findings(config: Path, moment: datetime, output: str) -> str:
    result = forumwatch(
        "findings", "-c", str(config), "--now", moment.isoformat(), "--format", output
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def both(config: Path, moment: datetime) -> tuple[list[dict[str, object]], list[dict[str, str]]]:
    """The JSON items and the TSV rows (by header) at `moment`."""
    items = json.loads(findings(config, moment, "json"))
    text = findings(config, moment, "tsv")
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    header = text.split("\n", 1)[0].split("\t")
    assert [key for key in FIELDS if key != "evidence"] == header  # evidence: JSON only
    for item in items:
        assert list(item) == FIELDS
    return items, rows


@pytest.fixture
def store(tmp_path: Path, demo_site: SampleForumServer) -> Path:
    """The demo forum after a cycle at NOW, plus a topic asked an hour before it (due at
    NOW + 1 h, so a later `findings` judges it again instead of reading it stored)."""
    demo_site.forum.topics.append(
        SampleTopic(
            140,
            "Не\tвивантажується   прайс",  # a tab and a run of spaces: one space in tsv
            [SamplePost("nadia_price", NOW - timedelta(hours=1), "Прайс не вивантажується.")],
            category_id=7,
        )
    )
    config = write_config(tmp_path, demo_site.url)
    result = forumwatch("run", "-c", str(config), "--now", NOW.isoformat())
    assert result.returncode == 0, result.stderr
    return config


@pytest.mark.parametrize(
    "minutes",
    [
        70,  # stored findings, and topic 140 judged again (it came due)
        -50,  # before the last cycle: every topic judged read-only, parked, then listed
    ],
)
def test_json_and_tsv_carry_the_same_fields_and_values(store: Path, minutes: int) -> None:
    moment = NOW + timedelta(minutes=minutes)
    items, rows = both(store, moment)

    assert len(items) == len(rows) > 5
    tsv = {(row["topic_id"], row["rule"]): row for row in rows}
    assert len(tsv) == len(rows)
    for item in items:
        row = tsv[str(item["topic_id"]), str(item["rule"])]
        assert isinstance(item["topic_id"], str) and item["topic_id"].isdigit()  # Discourse
        assert isinstance(item["waiting_hours"], float)
        assert float(row["waiting_hours"]) == item["waiting_hours"]
        assert item["waiting_hours"] == round(item["waiting_hours"], 2)
        assert row["silent"].split(",") == item["silent"]
        assert isinstance(item["evidence"], list)
        for field in set(row) - {"waiting_hours", "silent"}:
            assert row[field] == " ".join(str(item[field]).split()), field

    by_topic = {str(item["topic_id"]): item for item in items}
    # 5 h + 70 min: hours to 2 decimals in both (TSV once printed 6.2 where JSON said 6.17)
    if minutes == 70:
        assert by_topic["101"]["waiting_hours"] == 6.17
        assert tsv["101", "unanswered"]["waiting_hours"] == "6.17"
        assert by_topic["140"]["rule"] == "unanswered"
        assert tsv["140", "unanswered"]["title"] == "Не вивантажується прайс"
        assert by_topic["140"]["title"] == "Не\tвивантажується   прайс"
    for topic_id, app, author in [
        ("101", "", "olena_buh"),
        ("102", "signed-files", "taras_fop"),
        ("121", "", "maria_shop"),  # a re-post: the newest topic's author, the customer
        ("130", "signed-files", "fop_kovalenko"),  # the burst's first topic, and its own
    ]:
        assert by_topic[topic_id]["app"] == app
        assert by_topic[topic_id]["author"] == author
        for (tid, _), row in tsv.items():
            if tid == topic_id:
                assert (row["app"], row["author"]) == (app, author)
    assert by_topic["102"]["topic_url"] == tsv["102", "masked_silence"]["topic_url"]
    assert str(by_topic["102"]["topic_url"]).endswith("/102")

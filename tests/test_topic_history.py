"""`forumwatch topic`: each demo topic's history read as a ticket, checked field by field."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from forumwatch.sample_forum.server import SampleForumServer
from tests.conftest import NOW, forumwatch, write_config

AT = NOW.isoformat()


def _history(config: Path, ref: str, now: str = AT) -> dict[str, Any]:
    done = forumwatch("topic", "-c", str(config), ref, "--format", "json", "--now", now)
    assert done.returncode == 0, done.stderr
    history: dict[str, Any] = json.loads(done.stdout)
    return history


def _hours(iso_text: str) -> float:
    from datetime import datetime

    return (NOW - datetime.fromisoformat(iso_text)).total_seconds() / 3600


def test_a_masked_topic_reads_as_waiting_with_nobody_counting(
    forum: SampleForumServer, config_path: Path
) -> None:
    assert forumwatch("run", "-c", str(config_path), "--now", AT).returncode == 0
    history = _history(config_path, "market:102")
    assert history["status"] == "waiting for acknowledgement"
    assert [(p["number"], p["role"], p["counts"]) for p in history["posts"]] == [
        (1, "author", False),
        (2, "other", False),
        (3, "author", False),
    ]
    assert history["posts"][1]["why"].startswith("a third party's comment: never an answer")
    acknowledge, diagnose = history["deadlines"]
    assert acknowledge["what"] == "acknowledge" and acknowledge["met_at"] is None
    assert acknowledge["status"].startswith("missed by ") and "still open" in acknowledge["status"]
    assert diagnose["what"] == "diagnose"
    (finding,) = history["findings"]
    assert (finding["rule"], finding["stage"], finding["episode"]) == (
        "masked_silence",
        "escalated",
        1,
    )
    (told,) = history["notifications"]  # no Telegram in this config: the console was told
    assert (told["channel"], told["rule"], told["stage"]) == (
        "console",
        "masked_silence",
        "escalated",
    )
    assert told["sent_at"] is not None
    assert history["title"] and history["url"].endswith("/102")


def test_a_whisper_and_a_follow_up_are_explained(
    forum: SampleForumServer, config_path: Path
) -> None:
    assert forumwatch("run", "-c", str(config_path), "--now", AT).returncode == 0
    whispered = _history(config_path, "market:105")
    assert whispered["posts"][1]["role"] == "developer"
    assert whispered["posts"][1]["kind"] == "whisper"
    assert whispered["posts"][1]["counts"] is False
    assert whispered["posts"][1]["why"] == "whisper: the customer never sees it"
    follow_up = _history(config_path, "market:104")
    assert follow_up["status"] == "waiting for an answer to a follow-up"
    acknowledge, diagnose, waiting = follow_up["deadlines"]
    assert acknowledge["status"] == diagnose["status"] == "met"
    assert acknowledge["met_by_post"] == diagnose["met_by_post"] == 2
    assert waiting["what"] == "follow-up to post 3" and waiting["met_at"] is None
    assert _hours(waiting["started_at"]) > 24  # the follow-up SLA is 24 h: missed
    assert waiting["status"].startswith("missed by")


def test_topic_by_url_and_as_text_and_a_clear_error(
    forum: SampleForumServer, config_path: Path
) -> None:
    assert forumwatch("run", "-c", str(config_path), "--now", AT).returncode == 0
    url = _history(config_path, "market:103")["url"]
    assert _history(config_path, url)["topic_id"] == "103"
    text = forumwatch("topic", "-c", str(config_path), "market:103", "--now", AT)
    assert text.returncode == 0, text.stderr
    assert "status: acknowledged, waiting for the developer's diagnosis" in text.stdout
    assert "staff acknowledged (only the developer can diagnose)" in text.stdout
    earlier = (NOW - timedelta(days=30)).isoformat()
    before = _history(config_path, "market:103", earlier)
    assert (before["status"], before["posts"]) == ("not posted yet at this moment", [])
    missing = forumwatch("topic", "-c", str(config_path), "market:999")
    assert missing.returncode == 2
    assert "topic market:999 is not stored" in missing.stderr


def test_findings_name_the_history_command(forum: SampleForumServer, config_path: Path) -> None:
    assert forumwatch("run", "-c", str(config_path), "--now", AT).returncode == 0
    done = forumwatch("findings", "-c", str(config_path), "--format", "json", "--now", AT)
    rows = json.loads(done.stdout)
    assert rows and all(r["history"] == f"forumwatch topic market:{r['topic_id']}" for r in rows)


def test_a_reposted_request_reads_as_one_ticket_from_the_first_topic(
    demo_site: SampleForumServer, tmp_path: Path
) -> None:
    config_path = write_config(tmp_path, demo_site.url)
    assert forumwatch("run", "-c", str(config_path), "--now", AT).returncode == 0
    request = _history(config_path, "market:121")
    (earlier,) = request["reposts"]
    assert earlier["topic_id"] == "120" and earlier["url"].endswith("/120")
    assert request["reposted_as"] is None
    assert [p["author"] for p in request["posts"]] == ["maria_shop", "integrator_max", "maria_shop"]
    assert _hours(request["deadlines"][0]["started_at"]) == 80  # timed from the first topic
    (finding,) = request["findings"]
    assert finding["rule"] == "reposted"
    assert "first asked at " in finding["summary"] and "/120)" in finding["summary"]
    first = _history(config_path, "market:120")
    assert first["reposted_as"]["topic_id"] == "121"
    assert first["status"].startswith("re-posted as ") and first["findings"] == []


def test_findings_fit_80_columns_without_cutting_words_and_pipe_as_tsv(
    forum: SampleForumServer, config_path: Path
) -> None:
    import io

    from rich.console import Console

    from forumwatch.config.load import load_config
    from forumwatch.cycle.current import current_findings
    from forumwatch.store import Store
    from forumwatch.views.report import findings_table

    assert forumwatch("run", "-c", str(config_path), "--now", AT).returncode == 0
    config = load_config(config_path)
    found = list(current_findings(Store(config.database, read_only=True), config, NOW))
    screen = io.StringIO()
    Console(file=screen, width=80, color_system=None).print(findings_table(found, NOW, 80))
    lines = screen.getvalue().splitlines()
    assert all(len(line) <= 80 for line in lines)
    words = {word for _, topic in found for word in topic.title.split()}
    shown = {w.strip("│ ") for line in lines for w in line.split()}
    assert words <= shown  # every word of every title whole, none cut mid-way

    tsv = forumwatch("findings", "-c", str(config_path), "--now", AT, "--format", "tsv")
    header, *rows = tsv.stdout.strip().split("\n")
    from forumwatch.views.report import TSV_FIELDS

    assert header.split("\t") == list(TSV_FIELDS)
    assert len(rows) == len(found) and all(len(r.split("\t")) == len(TSV_FIELDS) for r in rows)

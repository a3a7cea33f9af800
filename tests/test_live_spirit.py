"""forumwatch watches a real Spirit forum (django-spirit on loopback) through the bundled `spirit`
HTML profile: every rule, a moderator's badge as staff, paging, a closed topic, an incremental
re-run that fetches nothing, and `check-config --probe`. Runs with FORUMWATCH_LIVE=1 or under CI."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import forumwatch
from tests.live.spirit import SpiritForum, spirit_forum  # noqa: F401

# both Spirit files run on one xdist worker: one engine install, one session forum
pytestmark = pytest.mark.xdist_group("live-spirit")

USERS = {"dev_olena": False, "mod_quality": True, "client_ivan": False}
USERS |= {"client_maria": False, "partner_taras": False}

CONFIG = """\
database: {folder}/forumwatch.db
sla: {{acknowledge: 2h, diagnose: 24h, follow_up: 24h, escalate_after: 22h}}
forums:
  - id: spirit
    engine: html
    url: {url}
    profile: spirit
    language: en
    timezone: Europe/Kyiv
    developers: [dev_olena]
    staff_groups: [is-mod]
    requests_per_second: 20
    max_retries: 1
    timeout: 30s
"""


def _write_config(folder: Path, url: str) -> Path:
    path = folder / "config.yaml"
    path.write_text(CONFIG.format(folder=folder, url=url), encoding="utf-8")
    return path


@pytest.mark.timeout(900)
def test_forumwatch_finds_exactly_the_ignored_topics_on_live_spirit(
    spirit_forum: SpiritForum,  # noqa: F811
    tmp_path: Path,
) -> None:
    forum = spirit_forum
    for name, moderator in USERS.items():
        forum.create_user(name, f"pw-{name}-1", moderator=moderator)
    category = forum.create_category("Live SLA checks")
    post = forum.post_topic
    unanswered = post("client_ivan", category, "A: export is empty", "The export file is empty.")
    masked = post("client_maria", category, "B: signing fails", "Signing fails with E42.")
    forum.post_comment("partner_taras", masked, "Same for our customer, waiting for the vendor.")
    forum.post_comment("client_maria", masked, "Still relevant?")
    answered = post("client_ivan", category, "C: which version?", "Which version has the fix?")
    forum.post_comment("dev_olena", answered, "2.4.1 has it: update and it works.")
    closed = post("client_maria", category, "D: duplicate", "Report does not build.")
    forum.post_comment("dev_olena", closed, "Duplicate of B, closing.")
    forum.close_topic("mod_quality", closed)
    follow_up = post("client_ivan", category, "E: licence renewal", "How do I renew?")
    forum.post_comment("dev_olena", follow_up, "Settings → Licence → Renew.")
    forum.post_comment("client_ivan", follow_up, "There is no Renew button in 2.4.0?")
    acknowledged = post("client_maria", category, "F: slow reports", "Reports take a minute.")
    forum.post_comment("mod_quality", acknowledged, "Thanks, passed to the developer.")
    ids = {
        str(t.id): rule
        for t, rule in [
            (unanswered, "unanswered"),
            (masked, "masked_silence"),
            (follow_up, "follow_up_ignored"),
            (acknowledged, "no_diagnosis"),
        ]
    }

    url = f"{forum.url}/category/{category.id}/{category.slug}/"
    config = _write_config(tmp_path, url)
    first = forumwatch("run", "-c", str(config), "-v")
    assert first.returncode == 0, first.stderr
    assert "6 topics listed, 6 fetched" in first.stdout  # two list pages of 5
    later = (datetime.now(UTC) + timedelta(hours=30)).isoformat()
    found = forumwatch("findings", "-c", str(config), "--format", "json", "--now", later)
    assert found.returncode == 0, found.stderr
    rules = {row["topic_id"]: row["rule"] for row in json.loads(found.stdout)}
    assert rules == ids

    again = forumwatch("run", "-c", str(config), "-v")
    assert again.returncode == 0, again.stderr
    assert re.search(r"topics listed, 0 fetched", again.stdout), again.stdout

    probe = forumwatch("check-config", "-c", str(config), "--probe")
    assert probe.returncode == 0, probe.stderr
    assert "F: slow reports" in probe.stdout  # the newest topic, read whole
    assert re.search(r"mod_quality\s+│[^│]*is-mod[^│]*│\s+staff", probe.stdout), probe.stdout
    assert "Thanks, passed to the developer." in probe.stdout

"""Config that would break a run later is refused now, every problem at once; secrets never
leak into output or the database; a whole run has an upper bound on its time."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import NOW, forumwatch, write_config

from forumwatch.config.load import ConfigError, load_config
from forumwatch.config.secrets import Redactor
from forumwatch.sample_forum.demo_scenario import demo_forum
from forumwatch.sample_forum.server import SampleForumServer

SECRET = "s3cr3t-K3y-do-not-print"

BROKEN = """\
database: watch.db
forums:
  - id: market
    engine: discourse
    url: htp://forum.example.com
    business_hours: {timezone: Mars/Olympus, days: []}
    timeout: 0s
    max_response_size: lots
  - id: other
    engine: discourse
    url: https://other.example.com
    business_hours: {start: "18:00", end: "09:00"}
"""


def test_check_config_lists_every_problem_one_line_each(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BROKEN, encoding="utf-8")

    result = forumwatch("check-config", "-c", str(path))

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith("forumwatch: ") for line in lines)
    text = result.stderr
    assert f"{path}:5 forums[0].url: 'htp://x" not in text  # the real value is quoted
    assert f"{path}:5 forums[0].url: 'htp://forum.example.com' is not an http(s) URL" in text
    assert f"{path}:6 forums[0].business_hours.timezone: 'Mars/Olympus'" in text
    assert "forums[0].business_hours.days: needs at least one working day" in text
    assert f"{path}:7 forums[0].timeout: must be longer than zero" in text
    assert f"{path}:8 forums[0].max_response_size: 'lots' is not a size" in text
    assert "forums[1].business_hours: start 18:00:00 must be before end 09:00:00" in text
    assert len(lines) == 6


def test_empty_working_days_cannot_reach_a_run(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "forums:\n  - {id: m, engine: discourse, url: 'https://f.example',"
        " business_hours: {days: []}}\n",
        encoding="utf-8",
    )

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert caught.value.problems == [
        f"{path}:2 forums[0].business_hours.days: needs at least one working day, "
        "e.g. [mon, tue, wed, thu, fri]"
    ]


def test_secrets_from_the_environment_lose_their_trailing_newline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FW_KEY", f"  {SECRET}\r\n")
    path = write_config(tmp_path, "http://127.0.0.1:9")
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "    developers: [dev_ivan]\n", "    developers: [dev_ivan]\n    api_key: ${FW_KEY}\n"
        ),
        encoding="utf-8",
    )

    config = load_config(path)

    assert config.forums[0].api_key == SECRET
    masked = config.redactor()(f"Illegal header value b'{SECRET}\\n'")
    assert masked == "Illegal header value b'***\\n'"


def test_redactor_masks_every_spelling_of_a_secret() -> None:
    redact = Redactor(["pa ss/wo\nrd"])

    assert redact("x pa ss/wo\nrd y") == "x *** y"
    assert redact("x 'pa ss/wo\\nrd' y") == "x '***' y"
    assert redact("x pa%20ss%2Fwo%0Ard y") == "x *** y"
    assert redact("x pa+ss%2Fwo%0Ard y") == "x *** y"
    assert Redactor([])("nothing to hide") == "nothing to hide"


def test_an_api_key_never_reaches_output_or_the_database(tmp_path: Path) -> None:
    with SampleForumServer(demo_forum(NOW, lifecycle=False)) as forum:
        forum.fail("/latest.json", status=403)
        path = write_config(tmp_path, forum.url)
        text = path.read_text(encoding="utf-8")
        path.write_text(
            text.replace(
                "    developers: [dev_ivan]\n",
                "    developers: [dev_ivan]\n    api_key: ${FW_KEY}\n",
            ),
            encoding="utf-8",
        )
        env = {"FW_KEY": f"{SECRET}\n"}

        result = forumwatch("run", "-c", str(path), "--now", NOW.isoformat(), env=env)
        sent = forum.request_headers[0].get("api-key")

    assert result.returncode == 1
    assert "HTTP 403: access denied" in result.stderr
    assert sent == SECRET  # the stripped key is what the forum receives
    assert SECRET not in result.stdout + result.stderr
    dump = "\n".join(sqlite3.connect(tmp_path / "forumwatch.db").iterdump())
    assert SECRET not in dump


def test_a_slow_forum_cannot_hold_the_run_past_max_run_time(tmp_path: Path) -> None:
    with (
        SampleForumServer(demo_forum(NOW, lifecycle=False)) as slow,
        SampleForumServer(demo_forum(NOW, lifecycle=False)) as waiting,
    ):
        slow.fail("/latest.json", delay=30)  # far beyond the run's bound
        path = write_config(tmp_path, slow.url, timeout="60s")
        text = path.read_text(encoding="utf-8")
        second = text[text.index("  - id: market") :].replace("id: market", "id: later")
        path.write_text(
            "max_run_time: 1s\n" + text + second.replace(slow.url, waiting.url), encoding="utf-8"
        )

        result = forumwatch("run", "-c", str(path), "--now", NOW.isoformat())
        waiting_requests = list(waiting.requests)

    assert result.returncode == 1
    assert "forum 'market': the run reached max_run_time while polling it" in result.stderr
    assert "forum 'later': skipped, the run reached max_run_time" in result.stderr
    assert "1 forum(s) polled, 1 failed, 1 skipped" in result.stdout
    assert waiting_requests == []

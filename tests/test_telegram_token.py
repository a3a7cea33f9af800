"""A wrong Telegram token is noticed: `check-config --probe` names it, `run` keeps every message
and fails once, `invite` fails but still gives the code. The real `forumwatch` command,
python-telegram-bot doing real HTTP to the Bot API stand-in, a real SQLite file."""

from __future__ import annotations

import re
import socket
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from forumwatch.sample_forum.server import SampleForumServer
from tests.conftest import NOW, forumwatch, write_config
from tests.telegram_standin import BOT_USERNAME, BotApiStandIn

TOKEN = "123456:RIGHT-token-never-printed"
WRONG = "123456:WRONG-token-never-printed"  # a token's shape: Telegram answers 401
DEVELOPER, QUALITY = 601, -701
REFUSED = (
    "telegram: the bot token was refused (401 Unauthorized); "
    "check telegram.token / FORUMWATCH_TELEGRAM_TOKEN"
)
NOT_FOUND = "telegram: the Bot API answered 404 Not Found"


@pytest.fixture
def telegram() -> Iterator[BotApiStandIn]:
    with BotApiStandIn(TOKEN) as standin:
        yield standin


@pytest.fixture
def config(tmp_path: Path, forum: SampleForumServer, telegram: BotApiStandIn) -> Path:
    return token_config(tmp_path, forum.url, telegram.url)


def token_config(folder: Path, forum_url: str, api_url: str) -> Path:
    """The test config with Telegram at `api_url`, a developer and a quality chat."""
    extra = f"telegram:\n  token: ${{FW_TELEGRAM_TOKEN}}\n  api_url: {api_url}\n  language: en\n"
    path = write_config(folder, forum_url, extra=extra)
    text = path.read_text(encoding="utf-8").replace(
        "    staff: [anna_quality]\n",
        f"    staff: [anna_quality]\n    developer_chats: [{DEVELOPER}]\n"
        f"    quality_chats: [{QUALITY}]\n",
    )
    path.write_text(text, encoding="utf-8")
    return path


def cli(config: Path, *args: str, token: str = TOKEN) -> tuple[int, str, str]:
    result = forumwatch(*args, "-c", str(config), env={"FW_TELEGRAM_TOKEN": token})
    output = result.stdout + result.stderr
    for secret in (TOKEN, WRONG):
        assert secret.split(":")[-1] not in output, output
    return result.returncode, result.stdout, result.stderr


def outbox(config: Path) -> tuple[int, int]:
    """(pending, sent) Telegram rows of the real database file."""
    with sqlite3.connect(config.parent / "forumwatch.db") as db:
        rows = db.execute(
            "SELECT sum(sent_at IS NULL), sum(sent_at IS NOT NULL) FROM outbox "
            "WHERE channel = 'telegram'"
        ).fetchone()
    return int(rows[0] or 0), int(rows[1] or 0)


def closed_port_url() -> str:
    """A loopback address nothing listens on: Telegram unreachable."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- check-config --probe ---------------------------------------------------------------------


def test_probe_names_the_bot_and_only_with_a_telegram_section(
    config: Path, tmp_path: Path, forum: SampleForumServer
) -> None:
    code, out, err = cli(config, "check-config", "--probe")
    assert code == 0, out + err
    assert f"telegram: @{BOT_USERNAME}" in out

    (tmp_path / "plain").mkdir()
    without = write_config(tmp_path / "plain", forum.url)
    code, out, err = cli(without, "check-config", "--probe")
    assert code == 0, out + err
    assert "telegram:" not in out + err


def test_probe_names_a_refused_token_and_fails(config: Path, telegram: BotApiStandIn) -> None:
    code, out, err = cli(config, "check-config", "--probe", token=WRONG)
    assert code == 1, out + err
    assert REFUSED in out + err
    assert telegram.refused == ["getMe"]


def test_probe_names_a_404_from_a_wrong_api_url(
    tmp_path: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    """Telegram answers 404 for a token of the wrong shape (the config refuses those already)
    and for a Bot API server's wrong path."""
    config = token_config(tmp_path, forum.url, f"{telegram.url}/typo")
    code, out, err = cli(config, "check-config", "--probe")
    assert code == 1, out + err
    assert NOT_FOUND in out + err
    assert "telegram.api_url" in out + err and "FORUMWATCH_TELEGRAM_TOKEN" in out + err


def test_probe_names_an_unreachable_bot_api(tmp_path: Path, forum: SampleForumServer) -> None:
    config = token_config(tmp_path, forum.url, closed_port_url())
    code, out, err = cli(config, "check-config", "--probe")
    assert code == 1, out + err
    assert "telegram: cannot reach the Bot API" in out + err


# --- run --------------------------------------------------------------------------------------


def test_run_with_a_refused_token_keeps_every_message_and_says_so_once(
    config: Path, telegram: BotApiStandIn
) -> None:
    code, out, err = cli(config, "run", "--now", NOW.isoformat(), token=WRONG)
    assert code == 1, out + err
    assert err.count("bot token was refused") == 1, err
    assert REFUSED in err
    pending, sent = outbox(config)
    assert pending >= 2 and sent == 0  # nothing dropped, nothing marked sent
    assert telegram.sent == []
    assert telegram.refused.count("getMe") <= 2  # commands, then delivery: not once a message

    later = (NOW + timedelta(minutes=5)).isoformat()
    code, out, err = cli(config, "run", "--now", later)
    assert code == 0, out + err
    assert outbox(config) == (0, pending)
    assert len(telegram.sent) == pending


def test_run_meeting_a_404_fails_once(
    tmp_path: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    config = token_config(tmp_path, forum.url, f"{telegram.url}/typo")
    code, out, err = cli(config, "run", "-v", "--now", NOW.isoformat())
    assert code == 1, out + err
    assert err.count("404 Not Found") == 1, err
    assert outbox(config)[1] == 0


def test_run_with_a_refused_token_and_nothing_to_send_fails(
    config: Path, telegram: BotApiStandIn
) -> None:
    """Pending bot commands are never answered with a wrong token: that alone fails the run."""
    assert cli(config, "run", "--now", NOW.isoformat())[0] == 0  # everything sent
    telegram.push_message(DEVELOPER, "/help")
    later = (NOW + timedelta(minutes=5)).isoformat()
    code, out, err = cli(config, "run", "-v", "--now", later, token=WRONG)
    assert code == 1, out + err
    assert err.count("bot token was refused") == 1, err


def test_a_token_revoked_while_sending_stops_at_the_first_message(
    config: Path, telegram: BotApiStandIn
) -> None:
    telegram.revoke_token("getUpdates", "sendMessage")  # getMe still answers
    code, out, err = cli(config, "run", "--now", NOW.isoformat())
    assert code == 1, out + err
    assert err.count("bot token was refused") == 1, err
    assert telegram.refused == ["getUpdates", "sendMessage"]  # not one try per message
    pending, sent = outbox(config)
    assert pending >= 2 and sent == 0


# --- invite -----------------------------------------------------------------------------------


def test_invite_with_a_refused_token_fails_but_gives_the_code(config: Path) -> None:
    code, out, err = cli(config, "invite", "partner", "--forum", "market", token=WRONG)
    assert code == 1, out + err
    match = re.search(r"Invite code: ([\w-]+)", out)
    assert match, out
    assert f"/start {match[1]}" in out
    assert "t.me/" not in out
    assert err.count("bot token was refused") == 1, err

    code, out, err = cli(config, "invite", "partner")  # the token fixed: a link again
    assert code == 0, out + err
    assert re.search(rf"https://t\.me/{BOT_USERNAME}\?start=[\w-]+", out), out


def test_invite_with_telegram_unreachable_fails_but_gives_the_code(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    config = token_config(tmp_path, forum.url, closed_port_url())
    code, out, err = cli(config, "invite", "quality")
    assert code == 1, out + err
    match = re.search(r"Invite code: ([\w-]+)", out)
    assert match and f"/start {match[1]}" in out, out
    assert "cannot reach the Bot API" in err


def test_invite_with_an_api_url_that_is_no_bot_api_says_so_in_one_line(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    config = token_config(tmp_path, forum.url, forum.url)  # a web server, not a Bot API
    code, out, err = cli(config, "invite", "quality")
    assert code == 1, out + err
    assert "Invite code: " in out
    assert err.count("\n") == 1 and "not JSON (is telegram.api_url a Bot API server?)" in err, err


@pytest.mark.slow  # a daemon left running through three rounds of bot commands
def test_the_daemon_says_a_refused_token_once_not_every_few_seconds(config: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    env = {**os.environ, "FW_TELEGRAM_TOKEN": WRONG}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "forumwatch", "daemon", "-c", str(config)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(10)  # bot commands are read every 3 s: three or more rounds
    daemon.send_signal(signal.SIGTERM)
    output, _ = daemon.communicate(timeout=30)

    assert output.count("the bot token was refused (401 Unauthorized)") == 1, output
    assert WRONG not in output and WRONG.split(":")[1] not in output


def test_an_invite_tells_its_end_in_the_configured_timezone(
    tmp_path: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    config = token_config(tmp_path, forum.url, telegram.url)
    config.write_text(config.read_text(encoding="utf-8") + "timezone: Europe/Kyiv\n")

    code, out, err = cli(config, "invite", "partner")

    assert code == 0, err
    assert re.search(r"valid until \d{4}-\d\d-\d\d \d\d:\d\d \+0[23]:00\)", out), out

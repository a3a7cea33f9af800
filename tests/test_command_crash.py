"""A bot command is handled once, even when the run answering it is killed mid-reply.

The real `forumwatch run` in a subprocess answers commands through python-telegram-bot and the
Bot API stand-in, which records each reply to the partner's chat and then holds it in flight;
the run is SIGKILLed right then, between the command's effect and its reply. The next run must
not handle the command again: no second effect, no "invite already used", no "already follows".
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from forumwatch.config.load import load_config
from forumwatch.sample_forum.server import SampleForumServer
from forumwatch.store import Store
from forumwatch.telegram_bot.commands import Incoming, handle
from tests.conftest import NOW, ROOT
from tests.telegram_standin import BotApiStandIn
from tests.test_telegram import PARTNER, TOKEN, invite, run, telegram_config


@pytest.fixture
def telegram() -> Iterator[BotApiStandIn]:
    with BotApiStandIn(TOKEN) as standin:
        yield standin


def killed_mid_reply(config: Path, telegram: BotApiStandIn, replies: int) -> None:
    """Start `forumwatch run`; SIGKILL it once the partner's reply number `replies` is in
    flight (recorded by the stand-in, not yet answered)."""
    env = {**os.environ, "FW_TELEGRAM_TOKEN": TOKEN}
    command = [
        sys.executable,
        "-m",
        "forumwatch",
        "run",
        "-c",
        str(config),
        "--now",
        NOW.isoformat(),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        sent = telegram.wait_for(PARTNER, replies)
        assert len(sent) == replies, sent
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL  # killed, not finished


def test_a_command_is_handled_once_even_when_the_run_is_killed_while_replying(
    tmp_path: Path, forum: SampleForumServer, telegram: BotApiStandIn
) -> None:
    config = telegram_config(tmp_path, forum.url, telegram.url)
    code = invite(config, "partner")
    telegram.push_message(PARTNER, f"/start {code}")
    telegram.push_message(PARTNER, "/subscribe app signed-files")
    telegram.hold(PARTNER)

    killed_mid_reply(config, telegram, replies=1)  # "Connected as partner" in flight
    killed_mid_reply(config, telegram, replies=2)  # the next run: "Following ..." in flight
    telegram.release(PARTNER)
    status, output = run(config, NOW)  # and a run that completes

    assert status == 0, output
    replies = telegram.sent_to(PARTNER)
    assert replies[0].startswith("Connected as partner")
    assert replies[1] == "Following app signed-files (market)."
    handled_twice = ("already used", "already follows")
    assert not any(words in reply for reply in replies for words in handled_twice), replies
    assert sum("Connected" in r or "Following" in r for r in replies) == 2
    with sqlite3.connect(tmp_path / "forumwatch.db") as conn:
        assert conn.execute("SELECT used_by FROM invites WHERE code = ?", [code]).fetchall() == [
            (PARTNER,)
        ]
        assert conn.execute("SELECT chat_id, role FROM chats").fetchall() == [(PARTNER, "partner")]
        assert conn.execute("SELECT chat_id, forum_id, app_id FROM subscriptions").fetchall() == [
            (PARTNER, "market", "signed-files")
        ]
        offset = conn.execute("SELECT value FROM bot_state WHERE name = 'update_offset'")
        assert offset.fetchone() == ("3",)  # both updates handled


def test_a_commands_effect_and_its_offset_are_one_transaction(
    tmp_path: Path,
    forum: SampleForumServer,
    telegram: BotApiStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the kill above cannot time: a crash after the effect, before the offset, stores
    neither (the chat's writes join the transaction instead of committing on their own)."""
    config = telegram_config(tmp_path, forum.url, telegram.url)
    code = invite(config, "partner", "--forum", "market")
    monkeypatch.setenv("FW_TELEGRAM_TOKEN", TOKEN)
    settings = load_config(config)
    store = Store(tmp_path / "forumwatch.db")
    try:
        with pytest.raises(RuntimeError), store.transaction():
            handle(store, settings, Incoming(PARTNER, f"/start {code}"), NOW)
            store.set_bot_offset(7)
            raise RuntimeError("killed before COMMIT")
    finally:
        store.close()

    with sqlite3.connect(tmp_path / "forumwatch.db") as conn:
        assert conn.execute("SELECT used_at FROM invites").fetchall() == [(None,)]
        assert conn.execute("SELECT count(*) FROM chats").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM subscriptions").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM bot_state").fetchone() == (0,)

"""`forumwatch digest --send`: a real SMTP server on loopback (aiosmtpd) receives the mail, and
the quality chats get the headline figures through the Bot API stand-in."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from forumwatch.config.load import load_config
from forumwatch.store import Store
from tests.conftest import forumwatch
from tests.telegram_standin import BotApiStandIn
from tests.test_digest import CONFIG, topic

TOKEN = "123456:TEST-token-never-printed"


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()  # aiosmtpd's readiness check connects to the port it was given
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def config_with(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "config.yaml"
    chats = "    quality_chats: [-701]\n" if "telegram:" in extra else ""  # none without a bot
    text = CONFIG.format(folder=tmp_path) + chats + extra
    path.write_text(text, encoding="utf-8")
    store = Store(load_config(path).database)
    store.save_topic(topic(1, '<script>alert(1)</script> & "quotes"', None), "m")
    store.save_topic(topic(2, "Answered fast", 1), "m")
    store.close()
    return path


def test_send_mails_text_and_html_and_tells_the_quality_chats(
    tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    handler, port = inbox
    with BotApiStandIn(TOKEN) as telegram:
        path = config_with(
            tmp_path,
            f"smtp: {{host: 127.0.0.1, port: {port}, starttls: false, "
            "from: forumwatch@example.org, to: [quality@example.org]}\n"
            f"telegram: {{token: '{TOKEN}', api_url: '{telegram.url}'}}\n"
            "digest: {url: 'https://quality.example/digests/'}\n",
        )
        result = forumwatch("digest", "-c", str(path), "--date", "2026-03-04", "--send")
        summaries = telegram.sent_to(-701)

    assert result.returncode == 0, result.stderr
    assert "mailed to quality@example.org" in result.stdout
    (message,) = handler.messages
    assert handler.envelopes == [("forumwatch@example.org", ["quality@example.org"])]
    assert message["Subject"] == (
        "Дайджест forumwatch за 4 березня 2026: 1 ігнорована тема, 0 ескалацій"
    )
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert '<script>alert(1)</script> & "quotes"' in text.get_content()
    assert "<script" not in html.get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quotes&#34;" in html.get_content()
    assert len(summaries) == 1 and "Ігноровані теми: 1" in summaries[0]
    # the headline links to the day's page in the published archive (digest.url)
    link = '<a href="https://quality.example/digests/2026-03-04.html">Увесь дайджест</a>'
    assert summaries[0].endswith(link)
    assert TOKEN not in result.stdout + result.stderr


def test_a_refused_server_is_one_line_and_exit_1(tmp_path: Path) -> None:
    path = config_with(
        tmp_path,
        "smtp: {host: 127.0.0.1, port: 9, starttls: false, from: a@b.c, to: [d@e.f]}\n",
    )
    result = forumwatch("digest", "-c", str(path), "--date", "2026-03-04", "--send")

    assert result.returncode == 1
    assert result.stderr.startswith("forumwatch: SMTP 127.0.0.1:9 failed (ConnectionRefusedError")
    assert len(result.stderr.strip().splitlines()) == 1


def test_send_without_a_channel_says_what_to_configure(tmp_path: Path) -> None:
    path = config_with(tmp_path, "")
    result = forumwatch("digest", "-c", str(path), "--send")
    assert result.returncode == 2
    assert "--send needs an `smtp:` or a `telegram:` section" in result.stderr


def test_the_daemons_daily_job_writes_the_archive_and_tells_the_quality_chats(
    tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    from forumwatch.daemon import Daemon

    handler, port = inbox
    with BotApiStandIn(TOKEN) as telegram:
        path = config_with(
            tmp_path,
            "digest: {at: '07:30', out: archive}\n"
            f"smtp: {{host: 127.0.0.1, port: {port}, starttls: false, "
            "from: forumwatch@example.org, to: [quality@example.org]}\n"
            f"telegram: {{token: '{TOKEN}', api_url: '{telegram.url}'}}\n",
        )
        said: list[str] = []
        Daemon(load_config(path), said.append, lambda report: None).digest()
        summaries = telegram.sent_to(-701)

    pages = sorted(p.name for p in (tmp_path / "archive").iterdir())
    assert pages[-1] == "index.html" and len(pages) == 3  # yesterday's .html, .txt, the index
    assert len(handler.messages) == 1 and len(summaries) == 1
    assert any("mailed to quality@example.org" in line for line in said), said

"""Putting a built digest where people read it: the archive folder, the mail, the quality chats.
Used by `forumwatch digest` and by the daemon's daily job alike."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from digests.build import Digest
from digests.render import render_html, render_index, render_text
from digests.send import SendError, digest_email, send_email, telegram_summary
from forumwatch.config.models import Config


@dataclass
class Published:
    done: list[str] = field(default_factory=list)  # one line per place it reached
    errors: list[str] = field(default_factory=list)  # one line per place it did not


def write_archive(built: Digest, out: Path) -> Path:
    """DIR/<day>.html, DIR/<day>.txt and DIR/index.html linking every day; raises OSError."""
    out.mkdir(parents=True, exist_ok=True)
    page = out / f"{built.day.isoformat()}.html"
    page.write_text(render_html(built), encoding="utf-8")
    (out / f"{built.day.isoformat()}.txt").write_text(render_text(built), encoding="utf-8")
    days = [p.stem for p in out.glob("????-??-??.html")]
    (out / "index.html").write_text(render_index(days, built.language), encoding="utf-8")
    return page


def deliver(config: Config, built: Digest, quality: list[int]) -> Published:
    """Mail the digest (smtp:) and send its headline figures to the quality chats (telegram:);
    a failure of one still lets the other go out."""
    result = Published()
    if config.smtp is not None:
        message = digest_email(built, render_html(built), render_text(built), config.smtp)
        try:
            send_email(message, config.smtp)
            result.done.append(
                f"Digest for {built.day.isoformat()} mailed to {', '.join(config.smtp.to)}"
            )
        except SendError as err:
            result.errors.append(str(err))
    if config.telegram is not None and quality:
        url = config.digest.url if config.digest else None
        error = asyncio.run(_tell_chats(config, quality, telegram_summary(built, url)))
        if error:
            result.errors.append(error)
        else:
            result.done.append(f"Headline figures sent to {len(quality)} quality chat(s)")
    return result


async def _tell_chats(config: Config, chats: list[int], text: str) -> str | None:
    assert config.telegram is not None
    from telegram.error import TelegramError  # python-telegram-bot: only when it sends

    from forumwatch.telegram_bot.notifier import make_bot

    try:
        async with make_bot(config.telegram) as bot:
            for chat in chats:
                await bot.send_message(chat, text, parse_mode="HTML")
    except TelegramError as err:
        return f"telegram: the digest summary could not be sent ({err}); try --send again"
    return None

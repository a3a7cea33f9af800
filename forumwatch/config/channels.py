"""Who hears what, and in which words: the console, the Telegram bot, the digest's schedule and
archive, the mail server, and the language people read."""

from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from forumwatch.config.strict import Strict as _Strict
from forumwatch.config.values import ChatIds, PositiveDuration

Language = Literal["uk", "ru", "en"]  # what people read: the digest, the bot, resolutions


class NotifyConfig(_Strict):
    console: bool = True


class TelegramConfig(_Strict):
    """The bot: its token (from the environment), an optional local Bot API server, the admins
    who hear about broken scrapers, and the language of its messages."""

    token: str = Field(min_length=1)
    api_url: str | None = None  # e.g. http://127.0.0.1:8081 for a local Bot API server
    admins: ChatIds = Field(default_factory=list)
    language: Language = "uk"  # the bot's own; unset, the top-level `language` (see Config)
    invite_valid_for: PositiveDuration = timedelta(days=7)
    remind_every: PositiveDuration = timedelta(hours=24)  # an escalated finding still open
    warn_before: PositiveDuration | None = None  # e.g. 30m: a heads-up to the developer

    @field_validator("token")
    @classmethod
    def _token_shape(cls, token: str) -> str:
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", token):
            raise ValueError(
                "does not look like a bot token (digits:letters, as BotFather gives it); "
                "check FORUMWATCH_TELEGRAM_TOKEN"
            )
        return token

    @field_validator("api_url")
    @classmethod
    def _http_api_url(cls, url: str | None) -> str | None:
        if url is not None and not re.match(r"^https?://[^/\s]+", url):
            raise ValueError(f"{url!r} is not an http(s) URL")
        return url.rstrip("/") if url else url


class DigestConfig(_Strict):
    """When and where `forumwatch daemon` publishes yesterday's digest each day."""

    at: time = time(7, 0)  # in the top-level `timezone`
    out: Path | None = None  # the archive folder; relative paths follow the config file
    send: bool = True  # mail it (smtp:) and tell the quality chats (telegram:)
    # the public address of the `out` archive: the quality chats' headline links to
    # <url>/<YYYY-MM-DD>.html (`forumwatch digest --send` too)
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")


class SmtpConfig(_Strict):
    """Where `forumwatch digest --send` mails the digest."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    ssl: bool = False  # implicit TLS (usually port 465)
    username: str | None = None
    password: str | None = None
    sender: str = Field(alias="from", min_length=3)
    to: list[str] = Field(min_length=1)
    timeout: PositiveDuration = timedelta(seconds=30)

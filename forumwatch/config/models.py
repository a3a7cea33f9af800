"""The configuration's shape (pydantic): what to watch, who answers, which SLA applies, who
hears what. Every model refuses unknown keys, so a typo is an error, never a silent default.
"""

from __future__ import annotations

import codecs
import difflib
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from forumwatch.config.channels import (
    DigestConfig,
    Language,
    NotifyConfig,
    SmtpConfig,
    TelegramConfig,
)
from forumwatch.config.secrets import Redactor, secret_values
from forumwatch.config.sla import (
    BusinessHoursConfig,
    CreditsConfig,
    SlaConfig,
    SlaPolicyConfig,
)
from forumwatch.config.strict import Strict as _Strict
from forumwatch.config.values import (
    ByteSize,
    CategoryRefs,
    ChatIds,
    Duration,
    PositiveDuration,
    Share,
    known_zone,
    require_unique,
)
from forumwatch.model import ClosingWords, Sla
from rules.policies import SlaPolicies


def _checked_by_loader(info: ValidationInfo) -> bool:
    """True when `load_config` validates: it checks repeated ids itself, naming their lines."""
    return bool((info.context or {}).get("located_checks"))


class AppConfig(_Strict):
    """One third-party app on a marketplace forum: its topics are those in its categories/tags."""

    id: str
    categories: CategoryRefs = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    developers: list[str] = Field(default_factory=list)
    developer_groups: list[str] = Field(default_factory=list)
    developer_chats: ChatIds = Field(default_factory=list)  # told at `due` about this app
    quality_chats: ChatIds = Field(default_factory=list)  # told at `escalated` about this app


_FORUM_ROLES = {"staff", "moderator", "admin"}


class ClosingWordsConfig(_Strict):
    """The author's closing words ("Дякую, все запрацювало!") end their wait: the bundled
    uk/ru/en phrase lists (rules/closing_words/) plus the forum's own."""

    enabled: bool = True
    closing: list[str] = Field(default_factory=list)  # more phrases that thank or confirm
    not_closing: list[str] = Field(default_factory=list)  # phrases that keep the wait open

    @field_validator("closing", "not_closing")
    @classmethod
    def _phrases(cls, phrases: list[str]) -> list[str]:
        blank = [p for p in phrases if not p.strip()]
        if blank:
            raise ValueError("a phrase is empty; write the words to look for")
        return [p.strip() for p in phrases]

    def to_model(self) -> ClosingWords:
        return ClosingWords(self.enabled, frozenset(self.closing), frozenset(self.not_closing))


class ForumConfig(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    engine: str
    url: str
    categories: CategoryRefs = Field(default_factory=list)
    developers: list[str] = Field(default_factory=list)
    developer_groups: list[str] = Field(default_factory=list)
    staff: list[str] = Field(default_factory=list)
    staff_groups: list[str] = Field(default_factory=list)
    # bots, auto-responders, the forum's automation: their posts neither answer nor mask a
    # silence and their topics raise nothing ("system" and "discobot" always are)
    ignore_users: list[str] = Field(default_factory=list)
    # a customer's new topic repeating (same title, or a link to) their unanswered one within
    # this window is the same request: one `reposted` finding, timed from the first topic (0: off)
    repost_window: Duration = timedelta(days=30)
    # the author's "Thanks, it works now" after somebody's answer ends the wait: `false` turns
    # it off, or {closing: [...], not_closing: [...]} adds the forum's own phrases
    closing_words: ClosingWordsConfig = Field(default_factory=ClosingWordsConfig)
    # a likely outage: at least burst_topics new topics of one app within burst_window, and at
    # least burst_factor times its usual rate, is one grouped finding (burst_topics 0: off)
    burst_topics: int = Field(default=3, ge=0)
    burst_window: PositiveDuration = timedelta(hours=2)
    burst_factor: float = Field(default=3.0, ge=0)
    apps: list[AppConfig] = Field(default_factory=list)
    # Telegram chats known in advance (more are bound with `forumwatch invite`): the forum's
    # developers hear at `due`, the rights-holder's quality staff from `escalated` on
    developer_chats: ChatIds = Field(default_factory=list)
    quality_chats: ChatIds = Field(default_factory=list)
    sla: SlaConfig | None = None  # overrides the top-level SLA for this forum
    # tried before the top-level sla_policies: the first that matches a topic sets its clock
    sla_policies: list[SlaPolicyConfig] = Field(default_factory=list)
    business_hours: BusinessHoursConfig | None = None
    api_key: str | None = None
    api_username: str | None = None
    # HTML forums (engine: html): a selector profile (a bundled name, a YAML path relative to
    # this file, or the mapping inline) and how the pages write dates and text
    profile: str | dict[str, Any] | None = None
    language: str = Field(default="en", pattern=r"^[a-z]{2,3}$")  # uk, ru, en, ...
    timezone: str = "Europe/Kyiv"  # the zone the forum's pages write their times in
    encoding: str | None = None  # None: the HTTP header, a <meta> tag, then detection
    respect_robots: bool = True
    lookback: PositiveDuration = timedelta(days=90)
    # Closing or solving a topic does not bump it, so incremental polls can miss it; this often
    # the whole list (within lookback) is read again, and group memberships refreshed.
    full_scan_every: Duration = timedelta(hours=6)
    poll: PositiveDuration | None = None  # the daemon polls this forum this often
    max_pages: int = Field(default=50, ge=1)
    # a run that would open findings on more than this share of the open topics holds their
    # notifications (a changed layout, not a mass silence) and tells the admins
    hold_alerts_above: Share = Field(default=0.5, gt=0, le=1)
    requests_per_second: float = Field(default=1.0, gt=0, le=20)
    max_concurrency: int = Field(default=2, ge=1, le=2)
    # the whole of one request (connect, headers and body), so a server that drips bytes
    # cannot hold the run
    timeout: PositiveDuration = timedelta(seconds=20)
    # a response larger than this after decompression is refused (gzip bombs, runaway pages)
    max_response_size: ByteSize = Field(default=8 * 1024 * 1024, ge=64 * 1024)
    max_retries: int = Field(default=3, ge=0, le=10)
    retry_backoff: Duration = timedelta(seconds=1)  # first pause; doubles, with jitter

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str, info: ValidationInfo) -> str:
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError(f"{url!r} is not an http(s) URL")
        if info.data.get("engine") == "html":  # a list page's own address: kept as written
            return url
        return url.rstrip("/")

    @field_validator("closing_words", mode="before")
    @classmethod
    def _closing_switch(cls, value: object) -> object:
        """`closing_words: false` (or true) is short for {enabled: false}."""
        return {"enabled": value} if isinstance(value, bool) else value

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, engine: str) -> str:
        from scrapers.base import engine_names

        if engine not in engine_names():
            known = ", ".join(engine_names())
            close = difflib.get_close_matches(engine.lower(), engine_names(), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(f"unknown engine {engine!r}; {hint}known engines: {known}")
        return engine

    @field_validator("timezone")
    @classmethod
    def _forum_timezone(cls, zone: str) -> str:
        return known_zone(zone)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, encoding: str | None) -> str | None:
        if encoding is not None:
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise ValueError(
                    f"{encoding!r} is not an encoding Python knows; e.g. windows-1251, koi8-r"
                ) from None
        return encoding

    @field_validator("profile")
    @classmethod
    def _loadable_profile(
        cls, ref: str | dict[str, Any] | None, info: ValidationInfo
    ) -> str | dict[str, Any] | None:
        """The profile, checked and loaded: a name or path becomes the mapping it holds."""
        if ref is None:
            return None
        from scrapers.profile import ProfileError, load_profile  # HTML forums only: the parser

        base_dir = (info.context or {}).get("config_dir")
        try:
            return load_profile(ref, base_dir).model_dump(exclude_none=True)
        except ProfileError as err:
            raise ValueError(str(err)) from None

    @field_validator("developer_groups")
    @classmethod
    def _not_a_moderator_flag(cls, groups: list[str]) -> list[str]:
        flags = sorted({g for g in groups if g.lower() in _FORUM_ROLES})
        if flags:
            raise ValueError(
                f"{flags} are forum-wide roles, not an app's developers; "
                "name the vendor's forum group or list developer usernames"
            )
        return groups

    @model_validator(mode="after")
    def _app_ids_unique(self, info: ValidationInfo) -> ForumConfig:
        if not _checked_by_loader(info):  # load_config names the line of each repeat
            require_unique("app", [app.id for app in self.apps])
        return self

    @model_validator(mode="after")
    def _html_needs_profile(self) -> ForumConfig:
        if self.engine == "html" and self.profile is None:
            from scrapers.profile import bundled_profiles

            bundled = ", ".join(bundled_profiles())
            raise ValueError(
                f"forum '{self.id}': engine html needs a profile: a bundled one ({bundled}), "
                "a path to a YAML file, or the selectors inline (see README, HTML forums)"
            )
        return self

    def member_groups(self) -> set[str]:
        """Forum groups whose members must be looked up (forum-wide roles need no look-up)."""
        groups = {*self.developer_groups, *self.staff_groups}
        for app in self.apps:
            groups |= set(app.developer_groups)
        return {g for g in groups if g.lower() not in _FORUM_ROLES}


class Config(_Strict):
    database: Path = Path("forumwatch.db")
    # what people read (the digest, its mail and headline, bot replies, stored resolutions)
    # speaks this language; telegram.language may give the bot another
    language: Language = "uk"
    # a run that takes longer reports the forums it has not reached as skipped (cron runs
    # must never pile up behind one slow forum)
    max_run_time: PositiveDuration = timedelta(minutes=30)
    poll_every: PositiveDuration = timedelta(minutes=10)  # `forumwatch daemon`'s default
    timezone: str = "UTC"  # the digest's days begin at midnight here, e.g. Europe/Kyiv
    sla: SlaConfig = SlaConfig()
    # ordered: the first policy whose `match:` holds sets a topic's clock (after the forum's own)
    sla_policies: list[SlaPolicyConfig] = Field(default_factory=list)
    forums: list[ForumConfig] = Field(min_length=1)
    notify: NotifyConfig = NotifyConfig()
    telegram: TelegramConfig | None = None
    smtp: SmtpConfig | None = None
    credits: CreditsConfig | None = None
    digest: DigestConfig | None = None
    # requested after each run that read every forum (healthchecks.io, Uptime Kuma push
    # monitors...), so a monitor outside notices when runs stop or keep failing
    heartbeat_url: str | None = None

    @field_validator("heartbeat_url")
    @classmethod
    def _web_address(cls, url: str | None) -> str | None:
        if url is not None and not url.lower().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// address, e.g. https://hc-ping.com/…")
        return url

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, zone: str) -> str:
        return known_zone(zone)

    @model_validator(mode="after")
    def _forum_ids_unique(self, info: ValidationInfo) -> Config:
        if not _checked_by_loader(info):  # load_config names the line of each repeat
            require_unique("forum", [f.id for f in self.forums])
        return self

    @model_validator(mode="before")
    @classmethod
    def _bot_speaks_the_language(cls, data: Any) -> Any:
        """A `telegram:` section without its own `language` speaks the top-level one."""
        if isinstance(data, dict) and isinstance(data.get("telegram"), dict):
            telegram = data["telegram"]
            if "language" not in telegram and "language" in data:
                return {**data, "telegram": {**telegram, "language": data["language"]}}
        return data

    @property
    def bot_language(self) -> Language:
        """The bot's language: `telegram.language`, else the top-level `language`."""
        return self.telegram.language if self.telegram is not None else self.language

    def redactor(self) -> Redactor:
        """Masks every secret of this config (api keys, tokens, passwords) in a text."""
        return Redactor(secret_values(self.model_dump(mode="json")))

    def forum(self, forum_id: str) -> ForumConfig | None:
        return next((f for f in self.forums if f.id == forum_id), None)

    def policies_for(self, forum: ForumConfig) -> SlaPolicies:
        """The forum's clocks: its own policies, then the top-level ones, then the default."""
        default = self.sla_for(forum)
        ordered = [*forum.sla_policies, *self.sla_policies]
        return SlaPolicies(default, tuple(p.to_model(default) for p in ordered))

    def policy_config(self, forum: ForumConfig, name: str) -> SlaPolicyConfig | None:
        """The policy a finding names, as the forum applies it (its own first)."""
        ordered = [*forum.sla_policies, *self.sla_policies]
        return next((p for p in ordered if p.name == name), None) if name else None

    def sla_for(self, forum: ForumConfig) -> Sla:
        sla = forum.sla or self.sla
        hours = forum.business_hours.to_model() if forum.business_hours else None
        return Sla(
            acknowledge=sla.acknowledge,
            diagnose=sla.diagnose,
            follow_up=sla.follow_up,
            escalate_after=sla.escalate_after,
            business_hours=hours,
        )

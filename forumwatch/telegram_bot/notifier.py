"""The Telegram channel: who hears what, in HTML, paced within Telegram's limits.

Recipients are chat ids: those written in the config (`developer_chats`, `quality_chats`) and
those bound with an invite (`forumwatch invite`). At `due` the app's developers and the partners
subscribed to the forum or app hear; from `escalated` on, the quality staff as well.

Delivery problems are handled, not crashed on: a 429 waits `retry_after` and tries again, a 403
(bot blocked or removed) deactivates that chat only, a group that became a supergroup moves its
binding and the message goes to the new id; a refused token (401, or 404 for a token of a wrong
shape or a wrong api_url) stops the round at the first message (TokenRefused); anything else
stays in the outbox for the next run.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from telegram import Bot
    from telegram.error import TelegramError

from forumwatch.config.channels import TelegramConfig
from forumwatch.config.models import Config, ForumConfig
from forumwatch.credits import STAGE_OF_RULE
from forumwatch.model import (
    Change,
    Finding,
    OutboxMessage,
    PostKind,
    Stage,
    Topic,
    TopicKey,
    Transition,
)
from forumwatch.notify.base import TELEGRAM, DeliveryError, RecipientGone, register
from forumwatch.store import Store
from forumwatch.store.chats import ChatRole
from forumwatch.telegram_bot.links import ForumHome, Links
from forumwatch.telegram_bot.text import (
    BURST_LISTED,
    burst_topics,
    finding_message,
    summary_message,
)

CHANNEL = TELEGRAM
MAX_RETRY_AFTER = 60.0  # a longer wait is left to the next run, which cron starts anyway
PRIVATE_CHAT_INTERVAL = 1.0  # ≈1 message/s per chat
GROUP_CHAT_INTERVAL = 3.0  # 20 messages/minute per group
GLOBAL_INTERVAL = 1 / 30  # 30 messages/s overall
_ROLES_AT = {
    Stage.DUE: (ChatRole.DEVELOPER, ChatRole.PARTNER),
    Stage.ESCALATED: (ChatRole.DEVELOPER, ChatRole.PARTNER, ChatRole.QUALITY),
}


def make_bot(settings: TelegramConfig) -> Bot:
    """A python-telegram-bot Bot for the config (a local Bot API server when api_url is set).

    python-telegram-bot is imported here, not at start-up: a config without Telegram never
    pays for it (a cron run every few minutes, for years)."""
    from telegram import Bot

    _quiet_library_log()
    if settings.api_url:
        return Bot(settings.token, base_url=f"{settings.api_url}/bot")
    return Bot(settings.token)


def _quiet_library_log() -> None:
    """python-telegram-bot logs an answer that is not JSON (a wrong api_url's HTML page) with
    its traceback; forumwatch configures no logging, so Python's last-resort handler printed it
    to stderr before forumwatch's own line. A NullHandler keeps it out (a handler configured
    on the root logger still hears it)."""
    import logging

    library = logging.getLogger("telegram")
    if not library.handlers:
        library.addHandler(logging.NullHandler())


class TokenRefused(DeliveryError):
    """Telegram refused the bot token (401) or knows no bot by it (404): no message can go and
    no command can be read until the config is fixed. The delivery round stops at the first
    message and keeps them all (cycle.deliver reads `stops_channel`)."""

    stops_channel: ClassVar[bool] = True


def telegram_problem(err: TelegramError, settings: TelegramConfig) -> str:
    """What went wrong, in words that name the fix, and never the token (python-telegram-bot's
    own message for a token refused while it initializes quotes it)."""
    from telegram.error import InvalidToken, NetworkError

    if isinstance(err, InvalidToken):
        return str(refused_token(err, settings))
    where = api_url(settings)
    # an answer that is not JSON is quoted whole: "Not Implemented (501). Parsing … failed"
    said = err.message.split(". Parsing the server response", 1)[0]
    if said != err.message:
        return f"{where} answered {said}, not JSON (is telegram.api_url a Bot API server?)"
    if isinstance(err, NetworkError):
        return f"cannot reach the Bot API at {where} ({said})"
    return f"the Bot API at {where} answered: {said}"


def refused_token(err: TelegramError, settings: TelegramConfig) -> TokenRefused:
    """A 401 or a 404 (python-telegram-bot raises InvalidToken for both, with Telegram's
    description: "Unauthorized", "Not Found") as a TokenRefused."""
    from telegram.error import InvalidToken

    # Bot.initialize raises a new InvalidToken quoting the token, from the one it met
    cause = err.__cause__ if isinstance(err.__cause__, InvalidToken) else err
    if "Not Found" in cause.message or "404" in cause.message:
        return TokenRefused(
            f"the Bot API answered 404 Not Found (at {api_url(settings)}): a token of a wrong "
            "shape or a wrong telegram.api_url; check telegram.token / "
            "FORUMWATCH_TELEGRAM_TOKEN and telegram.api_url"
        )
    return TokenRefused(
        "the bot token was refused (401 Unauthorized); "
        "check telegram.token / FORUMWATCH_TELEGRAM_TOKEN"
    )


def api_url(settings: TelegramConfig) -> str:
    return settings.api_url or "https://api.telegram.org"


async def bot_username(settings: TelegramConfig) -> str:
    """The bot's @username, from getMe. Raises TokenRefused (401, 404), or DeliveryError naming
    the problem: the Bot API unreachable, or another error."""
    from telegram.error import InvalidToken, TelegramError

    try:
        async with make_bot(settings) as bot:
            return bot.username
    except InvalidToken as err:
        raise refused_token(err, settings) from None
    except TelegramError as err:
        raise DeliveryError(telegram_problem(err, settings)) from None


class Pacer:
    """Spaces sends: per chat (private 1/s, groups 20/min) and overall (30/s)."""

    def __init__(self) -> None:
        self._next_for_chat: dict[int, float] = {}
        self._next_any = 0.0

    async def wait(self, chat_id: int) -> None:
        now = time.monotonic()
        start = max(now, self._next_any, self._next_for_chat.get(chat_id, 0.0))
        self._next_any = start + GLOBAL_INTERVAL
        interval = GROUP_CHAT_INTERVAL if chat_id < 0 else PRIVATE_CHAT_INTERVAL
        self._next_for_chat[chat_id] = start + interval
        if start > now:
            await asyncio.sleep(start - now)


def policy_target(config: Config, finding: Finding) -> timedelta | None:
    """The deadline the finding's SLA policy sets for its stage (None: the default SLA)."""
    forum = config.forum(finding.key.forum_id)
    if not finding.policy or forum is None:
        return None
    policy = next(
        (p for p in config.policies_for(forum).policies if p.name == finding.policy), None
    )
    if policy is None:
        return None
    stage = STAGE_OF_RULE.get(finding.rule, "acknowledge")
    target: timedelta = getattr(policy.sla, stage)
    return target


class TelegramNotifier:
    channel: ClassVar[str] = CHANNEL
    summarises_backlog: ClassVar[bool] = True
    follows_up: ClassVar[bool] = True

    def __init__(self, config: Config, settings: TelegramConfig, store: Store) -> None:
        self.config = config
        self.settings = settings
        self.store = store
        self.pacer = Pacer()
        self._bot: Bot | None = None
        # made before the cycle notes each forum's url: a moved forum's old url is still
        # stored then, and is remembered for rebasing the links stored under it
        self.homes = forum_homes(store, config)

    @property
    def remind_every(self) -> timedelta:
        return self.settings.remind_every

    # --- who and what -------------------------------------------------------------------------

    def recipients(
        self, forum: ForumConfig, finding: Finding, stage: Stage, app_id: str
    ) -> list[str]:
        roles = _ROLES_AT.get(stage, ())
        chats = set(self.store.chats_to_tell(forum.id, app_id, roles)) if roles else set()
        if ChatRole.DEVELOPER in roles:
            chats |= set(forum.developer_chats)
            chats |= {c for app in forum.apps if app.id == app_id for c in app.developer_chats}
        if ChatRole.QUALITY in roles:
            chats |= set(forum.quality_chats)
            chats |= {c for app in forum.apps if app.id == app_id for c in app.quality_chats}
        return [str(c) for c in sorted(chats)]

    def developer_recipients(self, forum: ForumConfig, app_id: str) -> list[str]:
        """The developers' chats only: bound ones in scope, and those in the config."""
        chats = set(self.store.chats_to_tell(forum.id, app_id, (ChatRole.DEVELOPER,)))
        chats |= set(forum.developer_chats)
        chats |= {c for app in forum.apps if app.id == app_id for c in app.developer_chats}
        return [str(c) for c in sorted(chats)]

    def render(self, transition: Transition, now: datetime, *, heads_up: bool = False) -> str:
        context, grouped = None, {}
        if transition.change is not Change.RESOLVED:
            context = waiting_words(self.store.topic(transition.stored.finding.key))
            grouped = self._grouped_urls(transition.stored.finding)
        language, links = self.settings.language, Links(self.homes, grouped)
        target = policy_target(self.config, transition.stored.finding)
        return finding_message(
            transition,
            now,
            language,
            context=context,
            heads_up=heads_up,
            links=links,
            target=target,
        )

    def _grouped_urls(self, finding: Finding) -> dict[TopicKey, str]:
        """The stored URLs of the topics a burst's message lists (a row each by primary key;
        nothing for other findings)."""
        ids = [topic.topic_id for topic in burst_topics(finding)[:BURST_LISTED]]
        if not ids:
            return {}
        forum_id = finding.key.forum_id
        urls = self.store.topic_urls(forum_id, ids)
        return {TopicKey(forum_id, topic_id): url for topic_id, url in urls.items()}

    def backlog_text(self, forum: ForumConfig, count: int) -> str:
        return summary_message(count, self.settings.language)

    # --- delivery -----------------------------------------------------------------------------

    async def bot(self) -> Bot:
        from telegram.error import InvalidToken, TelegramError

        if self._bot is None:
            bot = make_bot(self.settings)
            try:
                await bot.initialize()
            except InvalidToken as err:
                raise refused_token(err, self.settings) from None
            except TelegramError as err:
                problem = telegram_problem(err, self.settings)
                raise DeliveryError(f"{problem}; retried next run") from None
            self._bot = bot
        return self._bot

    async def aclose(self) -> None:
        if self._bot is not None:
            bot, self._bot = self._bot, None
            await bot.shutdown()

    async def send(self, message: OutboxMessage) -> str | None:
        """Send one outbox row; the message id as the sent ref."""
        from telegram.constants import ParseMode
        from telegram.error import (
            ChatMigrated,
            Forbidden,
            InvalidToken,
            RetryAfter,
            TelegramError,
        )

        chat_id = int(message.recipient)
        chat = self.store.chat(chat_id)
        if chat is not None and not chat.active:
            raise RecipientGone(f"chat {chat_id} was deactivated earlier; not sent")
        bot = await self.bot()
        for _ in range(3):  # a rate limit and a migration may each cost one more try
            await self.pacer.wait(chat_id)
            try:
                sent = await bot.send_message(
                    chat_id,
                    message.message,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=None,
                )
                return str(sent.message_id)
            except RetryAfter as err:
                wait = _seconds(err.retry_after)
                if wait > MAX_RETRY_AFTER:
                    raise DeliveryError(f"rate limited for {wait:g} s; sent next run") from None
                await asyncio.sleep(wait)
            except ChatMigrated as err:
                self.store.migrate_chat(chat_id, err.new_chat_id)
                chat_id = err.new_chat_id
            except Forbidden as err:
                self.store.deactivate_chat(chat_id)
                raise RecipientGone(
                    f"chat {chat_id} blocked or removed the bot ({err.message}); "
                    "it gets nothing more until it is invited again"
                ) from None
            except InvalidToken as err:  # revoked since getMe: no other message will go either
                raise refused_token(err, self.settings) from None
            except TelegramError as err:
                raise DeliveryError(f"Telegram error ({err}); retried next run") from None
        raise DeliveryError(f"chat {chat_id}: still refused after retries; retried next run")


def forum_homes(store: Store, config: Config) -> dict[str, ForumHome]:
    """Where each configured forum lives now, and the URLs it lived under before (stored
    topics keep the links they were scraped with). Remembers an old URL the moment the config
    names a new one, since the next poll overwrites the only stored copy."""
    homes = {}
    for forum in config.forums:
        store.remember_forum_bases(forum.id, forum.url)
        before = tuple(url for url in store.forum_bases(forum.id) if url != forum.url)
        homes[forum.id] = ForumHome(forum.url, before)
    return homes


def waiting_words(topic: Topic | None) -> str | None:
    """What the customer is waiting on: the author's latest public post (the question or the
    follow-up), quoted in the message so the developer need not open the topic to triage it."""
    if topic is None:
        return None
    author = topic.author.username.casefold()
    theirs = [
        p
        for p in topic.posts
        if p.author.username.casefold() == author and p.kind is PostKind.REPLY
    ]
    latest = max(theirs, key=lambda p: p.number, default=None)
    return latest.body_text if latest is not None else None


def _seconds(retry_after: object) -> float:
    total_seconds = getattr(retry_after, "total_seconds", None)
    return float(total_seconds()) if callable(total_seconds) else float(retry_after)  # type: ignore[arg-type]


@register(CHANNEL)
def _telegram(config: Config, store: Store | None) -> TelegramNotifier | None:
    if config.telegram is None or store is None:
        return None
    return TelegramNotifier(config, config.telegram, store)

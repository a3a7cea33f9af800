"""The Notifier protocol and the registry that finds a channel by its config name."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, Protocol, cast

from forumwatch.config.models import Config, ForumConfig
from forumwatch.model import Finding, OutboxMessage, Stage, Transition

if TYPE_CHECKING:  # the protocol names the store; only notifiers that send use it
    from forumwatch.store import Store


TELEGRAM = "telegram"  # the channel of the config's `telegram:`; its admins hear health notices


class DeliveryError(Exception):
    """A message could not be delivered now; it stays in the outbox for the next run."""


class RecipientGone(Exception):
    """The recipient can no longer be reached (blocked the bot, left): the message is dropped,
    the recipient deactivated, and the run is not a failure."""


class Notifier(Protocol):
    channel: ClassVar[str]
    # True: a forum's first cycle (a backlog of old findings) is told as one summary per
    # recipient, never as one message per finding
    summarises_backlog: ClassVar[bool]
    # True: the notifier is a `FollowUps` (its recipients are chats that can mute a topic; it
    # sends heads-ups before deadlines and reminders of open escalations)
    follows_up: ClassVar[bool]

    def recipients(
        self, forum: ForumConfig, finding: Finding, stage: Stage, app_id: str
    ) -> list[str]:
        """Who on this channel hears about `finding` (of app `app_id`, "" = none) at `stage`."""
        ...

    def render(self, transition: Transition, now: datetime) -> str:
        """The words of one notification, in this channel's format."""
        ...

    def backlog_text(self, forum: ForumConfig, count: int) -> str:
        """The one message that tells a recipient of `count` findings already overdue."""
        ...

    async def send(self, message: OutboxMessage) -> str | None:
        """Deliver one message; returns the channel's id for it, if it has one."""
        ...

    async def aclose(self) -> None:
        """Release connections opened by send (called once after each delivery round)."""
        ...


class FollowUps(Notifier, Protocol):
    """A notifier that also follows a finding up: a heads-up to the developers before its
    deadline, and reminders while its escalation stays open (see cycle.followups)."""

    @property
    def remind_every(self) -> timedelta:
        """How often a still-open escalation is told again."""
        ...

    def developer_recipients(self, forum: ForumConfig, app_id: str) -> list[str]:
        """Who hears a heads-up before a deadline of app `app_id` ("" = none)."""
        ...

    def render(self, transition: Transition, now: datetime, *, heads_up: bool = False) -> str:
        """The words of one notification; `heads_up`: the deadline is still ahead."""
        ...


def follow_ups_channel(active: list[Notifier]) -> FollowUps | None:
    """The active notifier that sends heads-ups and reminders, if one is."""
    return next((cast(FollowUps, n) for n in active if n.follows_up), None)


NotifierFactory = Callable[[Config, "Store | None"], Notifier | None]  # None: not configured
_CHANNELS: dict[str, NotifierFactory] = {}


def register(channel: str) -> Callable[[NotifierFactory], NotifierFactory]:
    def wrap(factory: NotifierFactory) -> NotifierFactory:
        _CHANNELS[channel] = factory
        return factory

    return wrap


def notifiers(config: Config, store: Store | None = None) -> list[Notifier]:
    """The notifiers this config turns on, in a stable order."""
    import forumwatch.notify.console
    import forumwatch.telegram_bot.notifier  # noqa: F401

    active = (factory(config, store) for _, factory in sorted(_CHANNELS.items()))
    return [n for n in active if n is not None]

"""The Notifier protocol and the registry that finds a channel by its config name."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Protocol

from forumwatch.config import Config, ForumConfig
from forumwatch.model import Finding, Stage
from forumwatch.store import OutboxMessage


class DeliveryError(Exception):
    """A message could not be delivered now; it stays in the outbox for the next run."""


class Notifier(Protocol):
    channel: ClassVar[str]

    def recipients(self, forum: ForumConfig, finding: Finding, stage: Stage) -> list[str]:
        """Who on this channel hears about `finding` reaching `stage` (DESIGN.md §5)."""
        ...

    async def send(self, message: OutboxMessage) -> None: ...


NotifierFactory = Callable[[Config], Notifier | None]  # None: the channel is not configured
_CHANNELS: dict[str, NotifierFactory] = {}


def register(channel: str) -> Callable[[NotifierFactory], NotifierFactory]:
    def wrap(factory: NotifierFactory) -> NotifierFactory:
        _CHANNELS[channel] = factory
        return factory

    return wrap


def notifiers(config: Config) -> list[Notifier]:
    """The notifiers this config turns on, in a stable order."""
    import forumwatch.notify.console  # noqa: F401  (registers itself)

    active = (factory(config) for _, factory in sorted(_CHANNELS.items()))
    return [n for n in active if n is not None]

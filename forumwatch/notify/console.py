"""The console channel: prints each notification to standard output (cron mails it)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from forumwatch.config.models import Config, ForumConfig
from forumwatch.model import Finding, OutboxMessage, Stage, Transition
from forumwatch.notify.base import register
from forumwatch.notify.messages import notice_text
from forumwatch.store import Store

if TYPE_CHECKING:  # rich is loaded when a message is printed: most runs print none
    from rich.console import Console

_STYLE = {Stage.DUE: "yellow", Stage.ESCALATED: "bold red", Stage.RESOLVED: "green"}


class ConsoleNotifier:
    channel: ClassVar[str] = "console"
    summarises_backlog: ClassVar[bool] = False  # the console lists every finding, always
    follows_up: ClassVar[bool] = False

    def __init__(self, console: Console | None = None, zone: str = "UTC") -> None:
        self._console = console
        self.zone = zone  # times in messages are shown here

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False, soft_wrap=True)
        return self._console

    def recipients(
        self, forum: ForumConfig, finding: Finding, stage: Stage, app_id: str
    ) -> list[str]:
        return ["stdout"]

    def render(self, transition: Transition, now: datetime) -> str:
        return notice_text(transition, now, self.zone)

    def backlog_text(self, forum: ForumConfig, count: int) -> str:
        return f"{forum.id}: {count} topics already ignored"

    async def aclose(self) -> None:
        return None

    async def send(self, message: OutboxMessage) -> str | None:
        from rich.markup import escape

        head, _, rest = message.message.partition("\n")
        self.console.print(f"[{_STYLE[message.stage]}]{escape(head)}[/]")
        if rest:
            self.console.print(escape(rest))
        self.console.print()
        return None


@register("console")
def _console(config: Config, store: Store | None) -> ConsoleNotifier | None:
    return ConsoleNotifier(zone=config.timezone) if config.notify.console else None

"""The console channel: prints each notification to standard output (cron mails it)."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Console
from rich.markup import escape

from forumwatch.config import Config, ForumConfig
from forumwatch.model import Finding, Stage
from forumwatch.notify.base import register
from forumwatch.store import OutboxMessage

_STYLE = {Stage.DUE: "yellow", Stage.ESCALATED: "bold red", Stage.RESOLVED: "green"}


class ConsoleNotifier:
    channel: ClassVar[str] = "console"

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False, soft_wrap=True)

    def recipients(self, forum: ForumConfig, finding: Finding, stage: Stage) -> list[str]:
        return ["stdout"]

    async def send(self, message: OutboxMessage) -> None:
        head, _, rest = message.message.partition("\n")
        self.console.print(f"[{_STYLE[message.stage]}]{escape(head)}[/]")
        if rest:
            self.console.print(escape(rest))
        self.console.print()


@register("console")
def _console(config: Config) -> ConsoleNotifier | None:
    return ConsoleNotifier() if config.notify.console else None

"""What `run` shows while and after it works: a progress bar per forum on a terminal, and the
short summary at the end. Kept apart from the findings' views so a run loads no table code, and
rich only when a terminal is there to draw on."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from forumwatch.cycle.results import CycleReport, Progress
from forumwatch.model import Change, Stage
from forumwatch.telegram_bot.split import plain_text

if TYPE_CHECKING:
    from rich.progress import TaskID


def stderr_is_terminal() -> bool:
    """Whether rich would draw on standard error (its own test, without importing it)."""
    if os.environ.get("TTY_COMPATIBLE") in ("0", "1"):
        return os.environ["TTY_COMPATIBLE"] == "1"
    if "FORCE_COLOR" in os.environ:
        return os.environ["FORCE_COLOR"] != ""
    return sys.stderr.isatty()


_VERB = {Change.OPENED: "open", Change.ESCALATED: "escalate", Change.RESOLVED: "resolve"}


def summary_lines(report: CycleReport) -> list[str]:
    """The short summary `run` prints at the end."""
    failed = [f for f in report.forums if f.error and not f.skipped]
    skipped = [f for f in report.forums if f.skipped]
    lines = [f"Dry run: {report.dry_run_reason}."] if report.dry_run else []
    lines += [
        f"{len(report.forums) - len(skipped)} forum(s) polled"
        + (f", {len(failed)} failed" if failed else "")
        + (f", {len(skipped)} skipped" if skipped else "")
        + f": {sum(f.topics_listed for f in report.forums)} topics listed, "
        f"{sum(f.topics_fetched for f in report.forums)} fetched, "
        f"{sum(f.topics_changed for f in report.forums)} changed.",
        f"Findings: {report.count(Change.OPENED)} opened{_already_escalated(report)}, "
        f"{report.count(Change.ESCALATED)} escalated, {report.count(Change.RESOLVED)} resolved; "
        f"{report.messages_sent} message(s) sent.",
    ]
    if report.dry_run:
        lines += [
            f"  would {_VERB[t.change]}: {t.stored.finding.key.forum_id} "
            f"#{t.stored.finding.key.topic_id} {t.stored.finding.rule}"
            for t in report.transitions
            if t.notifies
        ]
        for m in report.would_send.values():
            if m.channel == "console":
                continue  # the console's messages are the lines above
            lines.append(f"  would send by {m.channel} to {m.recipient}:")
            lines += [f"    {line}" for line in plain_text(m.message).splitlines()]
    return lines


def _already_escalated(report: CycleReport) -> str:
    """' (2 already escalated)': findings first seen past their escalation time."""
    late = sum(
        1
        for t in report.transitions
        if t.change is Change.OPENED and t.stored.finding.stage is Stage.ESCALATED
    )
    return f" ({late} already escalated)" if late else ""


@contextmanager
def progress_printer() -> Iterator[Progress]:
    """A progress bar per forum on a terminal; silence when output goes to a file or cron."""
    if not stderr_is_terminal():
        yield lambda forum_id, what, done, total: None
        return
    from rich.console import Console
    from rich.progress import Progress as RichProgress

    tasks: dict[str, TaskID] = {}
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    with RichProgress(console=console, transient=True) as bar:

        def update(forum_id: str, what: str, done: int, total: int | None) -> None:
            if forum_id not in tasks:
                tasks[forum_id] = bar.add_task(forum_id, total=None)
            bar.update(
                tasks[forum_id], description=f"{forum_id}: {what}", completed=done, total=total
            )

        yield update

"""Commands that read the store: `findings`, `topic` (one topic's history), `credits` and
`status`."""

from __future__ import annotations

import itertools
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from forumwatch.cli.common import config_option, fail, load, now_option, open_store, stdout
from forumwatch.cli.group import cli
from forumwatch.cycle.current import current_findings, judge_now
from forumwatch.store import StoreError
from forumwatch.views.freshness import stale_warnings
from forumwatch.views.report import (
    credits_csv,
    credits_table,
    credits_totals,
    findings_json,
    findings_table,
    findings_tsv,
)


@cli.command()
@config_option
@now_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "tsv"]),
    default="table",
    show_default=True,
    help="json prints an array for scripts; tsv one tab-separated line per finding, with a "
    "header. The table fits the terminal (compact below 120 columns); piped, it is 160 wide.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="The table shows this many findings, the longest waiting first, and says how many "
    "there are in all; 0 shows every one. json and tsv always print every finding.",
)
def findings(
    config_path: Path | None, now: datetime | None, output_format: str, limit: int
) -> None:
    """Show what the rules flag now (or at --now) over the stored topics. Changes nothing.

    Reads the database without writing to it; with no database yet, says so (exit 2). When a
    forum's data is older than three poll intervals (its runs failed, or none ran), a warning
    on stderr says so first. Current findings come from the store, with only the topics that
    changed or came due since the last run judged again, so this stays quick on big forums.
    """
    config = load(config_path)
    moment = now or datetime.now(UTC)
    with open_store(config, read_only=True) as store:
        for warning in stale_warnings(store, config, moment):
            click.echo(f"warning: {warning}", err=True)
        if output_format == "json":
            sys.stdout.flush()
            sys.stdout.buffer.writelines(findings_json(judge_now(store, config, moment), moment))
        elif output_format == "tsv":
            found = current_findings(store, config, moment, evidence=False)
            sys.stdout.writelines(line + "\n" for line in findings_tsv(found, moment))
        else:
            current = judge_now(store, config, moment)
            shown = list(itertools.islice(current.listed(), limit or None))
            total = current.count()
            out = stdout()
            out.print(findings_table(shown, moment, out.width, total, config.timezone))


@cli.command()
@config_option
@now_option
@click.argument("ref", metavar="TOPIC")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json prints one object for scripts.",
)
def topic(config_path: Path | None, now: datetime | None, ref: str, output_format: str) -> None:
    """Show one request's history, like a ticket. Changes nothing.

    TOPIC is FORUM:ID (as `findings` prints it) or the topic's URL. Shows where the request
    stands (waiting for acknowledgement, acknowledged, diagnosed, closed without an answer),
    each post with its author's role and whether it counted and why, each SLA deadline met or
    missed and by how much, the findings, each notification (stage, channel, when) and the
    credits owed. --now shows it as it stood then.
    """
    from forumwatch.views.topic_history import (
        TopicNotFound,
        find_topic,
        history_view,
        topic_history,
    )

    config = load(config_path)
    moment = now or datetime.now(UTC)
    with open_store(config, read_only=True) as store:
        try:
            history = topic_history(store, config, find_topic(store, config, ref), moment)
        except TopicNotFound as err:
            fail(str(err), 2)
    if output_format == "json":
        click.echo(json.dumps(history, ensure_ascii=False, indent=2))
    else:
        stdout().print(history_view(history, config.timezone))


@cli.command()
@config_option
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only credits booked on or after this day (YYYY-MM-DD, UTC).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "csv"]),
    default="table",
    show_default=True,
    help="csv prints one line per credit for spreadsheets.",
)
def credits(config_path: Path | None, since: datetime | None, output_format: str) -> None:
    """The credits ledger: what is owed to customers for breached SLA stages.

    Each breached stage of a wait books `credits:` from the config to the topic's author, once,
    and stays booked when the topic is answered later. Reads the database only.
    """
    config = load(config_path)
    start = since.replace(tzinfo=UTC) if since else None
    with open_store(config, read_only=True) as store:
        try:
            ledger = store.credits_between(start, None)
        except StoreError as err:
            fail(str(err), 2)
    if output_format == "csv":
        click.echo(credits_csv(ledger), nl=False)
        return
    out = stdout()
    out.print(credits_table(ledger))
    for line in credits_totals(ledger):
        out.print(line, markup=False)


@cli.command()
@config_option
@now_option
def status(config_path: Path | None, now: datetime | None) -> None:
    """Is all well? Per forum its last good poll and open ignored topics, the outbox's
    undelivered messages, the bot's chats and the last run. Reads the database only.

    \b
    Exit 0 when all is well; 1 when a forum's data is stale or was never read, messages wait
    undelivered longer than two poll intervals, or nothing ever ran: for scripts and monitors.
    """
    from forumwatch.cli.common import exists
    from forumwatch.views.status import status as read_status

    config = load(config_path)
    now = now or datetime.now(UTC)
    out = stdout()
    if not exists(config.database):
        out.print(f"{config.database}: no run stored yet; start `forumwatch run` from cron")
        sys.exit(1)
    with open_store(config, read_only=True) as store:
        try:
            found = read_status(store, config, now)
        except StoreError as err:
            fail(str(err), 2)
    for line in found.lines:
        out.print(line, markup=False)
    for problem in found.problems:
        out.print(f"problem: {problem}", markup=False)
    out.print("all is well" if found.healthy else f"{len(found.problems)} problem(s)")
    sys.exit(0 if found.healthy else 1)

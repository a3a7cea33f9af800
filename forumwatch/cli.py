"""The `forumwatch` command: parses options, calls the library, prints. Nothing more.

Exit codes: 0 ok, 1 some forum or notifier failed (the others still ran), 2 usage or config error.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console
from rich.markup import escape

from forumwatch.config.load import ConfigError, default_config_path, load_config
from forumwatch.config.models import Config
from forumwatch.config.secrets import Redactor
from forumwatch.cycle.current import current_findings, judge_now
from forumwatch.cycle.results import CycleReport
from forumwatch.cycle.run import run_cycle, why_dry_run
from forumwatch.freshness import stale_warnings
from forumwatch.report import (
    credits_csv,
    credits_table,
    credits_totals,
    findings_json,
    findings_table,
    findings_tsv,
    progress_printer,
    summary_lines,
)
from forumwatch.store import AlreadyRunning, Store, StoreError, run_lock
from forumwatch.store.chats import ChatRole
from forumwatch.telegram_bot.commands import new_invite

CONFIG_HELP = "Config file. Default: $FORUMWATCH_CONFIG, then ./config.yaml."
NOW_HELP = (
    "Pretend it is this moment (ISO 8601, e.g. 2026-11-24T09:30+02:00; no offset means UTC). "
    "Ask 'what would be flagged then?'; makes runs reproducible."
)

stderr = Console(stderr=True, highlight=False, soft_wrap=True)
_redact = Redactor()  # replaced by the loaded config's: no secret reaches the terminal


def stdout() -> Console:
    """Standard output; wide enough for the findings table when it goes to a file or a pipe."""
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=160)


def say_error(message: str, label: str = "") -> None:
    """Each line of `message` on stderr as `forumwatch: ...`, secrets masked, markup inert."""
    for line in _redact(message).splitlines() or [""]:
        stderr.print(f"[bold red]forumwatch:[/] {label}{escape(line)}", markup=True)


def fail(message: str, code: int) -> NoReturn:
    say_error(message)
    sys.exit(code)


def parse_now(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not ISO 8601; try 2026-11-24T09:30Z") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


config_option = click.option(
    "-c", "--config", "config_path", type=click.Path(path_type=Path), help=CONFIG_HELP
)
now_option = click.option("--now", callback=parse_now, metavar="ISO", help=NOW_HELP)


def _load(config_path: Path | None) -> Config:
    global _redact
    try:
        config = load_config(config_path or default_config_path())
    except ConfigError as err:
        fail(str(err), 2)
    _redact = config.redactor()
    return config


@contextmanager
def _open_store(
    config: Config, *, dry_run: bool = False, read_only: bool = False
) -> Iterator[Store]:
    """The config's database: as it is, read-only, or (dry runs) a copy in memory."""
    database = config.database
    try:
        if dry_run:
            store = Store.in_memory(copy_of=database if _exists(database) else None)
        else:
            store = Store(database, create=not read_only, read_only=read_only)
    except StoreError as err:
        fail(str(err), 2)
    try:
        yield store
    finally:
        store.close()


def _exists(database: Path) -> bool:
    return database.exists() and database.stat().st_size > 0


def _last_run_now(database: Path) -> datetime | None:
    """The moment the latest stored run judged at, read without writing; None without a db."""
    if not _exists(database):
        return None
    try:
        store = Store(database, create=False, read_only=True)
    except StoreError as err:
        fail(str(err), 2)
    try:
        return store.last_run_now()
    finally:
        store.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="forumwatch")
def cli() -> None:
    """Make silence visible: flag forum topics that nobody responsible has answered.

    \b
    Start with the self-contained demo:     forumwatch demo
    Check your configuration:               forumwatch check-config -c config.yaml
    Poll, evaluate and notify (for cron):   forumwatch run -c config.yaml
    See what is overdue right now:          forumwatch findings -c config.yaml

    \b
    Exit codes: 0 ok; 1 a forum or notifier failed (the others still ran),
    or another run holds the database; 2 usage or config error.
    """


@cli.command()
@config_option
@now_option
@click.option("-v", "--verbose", is_flag=True, help="Print the summary even when nothing changed.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Poll and evaluate, but store and send nothing: not a byte on disk changes.",
)
def run(config_path: Path | None, now: datetime | None, verbose: bool, dry_run: bool) -> None:
    """Run one cycle: read bot commands, poll the forums, apply the rules, send notifications.

    Safe to start from cron every few minutes: a run that finds another one still going exits
    at once (code 1) without touching the database. Quiet when nothing changed (cron mails
    any output); one short summary when something did.

    \b
    --now may replay a past moment (stored like a real run), but a --now later than the
    real clock, or earlier than the last stored run, runs as a dry run: a simulated future
    must never mark scans done or resolve findings for later real runs.
    """
    config = _load(config_path)
    reason = why_dry_run(dry_run, now, _last_run_now(config.database), datetime.now(UTC))
    with _open_store(config, dry_run=reason is not None) as store:
        try:
            with (
                run_lock(config.database, write=reason is None),
                progress_printer(stderr) as progress,
            ):
                report = run_cycle(
                    store, config, now, dry_run=reason is not None, progress=progress
                )
        except AlreadyRunning as err:
            fail(str(err), 1)
        except StoreError as err:
            fail(str(err), 2)
    if reason is not None:
        report.dry_run_reason = reason
    if verbose or report.eventful:
        _print_report(report)
    sys.exit(report.exit_code)


def _print_report(report: CycleReport) -> None:
    for forum in report.forums:
        if forum.error:
            say_error(forum.error)
        for warning in forum.warnings:
            say_error(warning, "warning: ")
    for error in report.delivery_errors:
        say_error(error, "delivery failed: ")
    out = stdout()
    for line in summary_lines(report):
        out.print(_redact(line), markup=False)


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
    config = _load(config_path)
    moment = now or datetime.now(UTC)
    with _open_store(config, read_only=True) as store:
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
            out.print(findings_table(shown, moment, out.width, total))


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
    from forumwatch.topic_history import TopicNotFound, find_topic, history_view, topic_history

    config = _load(config_path)
    moment = now or datetime.now(UTC)
    with _open_store(config, read_only=True) as store:
        try:
            history = topic_history(store, config, find_topic(store, config, ref), moment)
        except TopicNotFound as err:
            fail(str(err), 2)
    if output_format == "json":
        click.echo(json.dumps(history, ensure_ascii=False, indent=2))
    else:
        stdout().print(history_view(history))


@cli.command()
@config_option
@click.argument("role", type=click.Choice([r.value for r in ChatRole]))
@click.option("--forum", "forum_id", default="", metavar="ID", help="The forum it is about.")
@click.option("--app", "app_id", default="", metavar="ID", help="One app of that forum.")
def invite(config_path: Path | None, role: str, forum_id: str, app_id: str) -> None:
    """Make a one-time invite that binds one Telegram chat to the bot.

    \b
    partner    an implementation partner; --forum/--app subscribe it at once,
               and it may /subscribe to more later
    developer  an app's developer (needs --forum, and --app for one app):
               told as soon as a topic of theirs is overdue
    quality    the rights-holder's quality staff (--forum, or every forum):
               told when a finding escalates

    Prints the code and a t.me link; opening the link in the chat (or sending /start CODE to
    the bot) binds it. A code works once and expires after telegram.invite_valid_for.
    """
    config = _load(config_path)
    if config.telegram is None:
        fail(
            "no `telegram:` section in the config; add one with the bot's token "
            "(see the README: Telegram)",
            2,
        )
    now = datetime.now(UTC)
    try:
        fresh = new_invite(config, ChatRole(role), forum_id, app_id, now)
    except ValueError as err:
        fail(str(err), 2)
    with _open_store(config) as store:
        store.create_invite(fresh, now)
    username = asyncio.run(_bot_username(config))
    out = Console(highlight=False)
    out.print(f"Invite code: {fresh.code} (valid until {fresh.expires_at:%Y-%m-%d %H:%M} UTC)")
    if username:
        out.print(f"Link: https://t.me/{username}?start={fresh.code}")
    else:
        out.print("(Telegram unreachable: no link; send the bot this instead:)")
    out.print(f"Or send the bot: /start {fresh.code}")


async def _bot_username(config: Config) -> str | None:
    """The bot's @username for the invite link; None when Telegram cannot be reached."""
    from telegram.error import TelegramError

    from forumwatch.telegram_bot.notifier import make_bot

    assert config.telegram is not None
    try:
        async with make_bot(config.telegram) as bot:
            return bot.username
    except TelegramError:
        return None


@cli.command()
@config_option
def daemon(config_path: Path | None) -> None:
    """Run for good: a cycle every `poll_every` (default 10m), bot commands answered within
    seconds. For systemd (Type=simple) or a terminal; SIGTERM or Ctrl-C stops it cleanly after
    the message in flight. Prints a summary for each cycle in which something happened."""
    from forumwatch.daemon import Daemon

    config = _load(config_path)

    def report(cycle: CycleReport) -> None:
        if cycle.eventful:
            _print_report(cycle)

    sys.exit(Daemon(config, say_error, report).run())


@cli.command()
@config_option
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day to digest (YYYY-MM-DD). Default: yesterday in the config's timezone.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="DIR",
    help="Write DIR/<day>.html, DIR/<day>.txt and DIR/index.html (the archive).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "html"]),
    default="text",
    show_default=True,
    help="What to print when there is no --out.",
)
@click.option(
    "--send",
    is_flag=True,
    help="Mail it (smtp:) and send the headline figures to the quality chats (telegram:).",
)
def digest(
    config_path: Path | None,
    day: datetime | None,
    out: Path | None,
    output_format: str,
    send: bool,
) -> None:
    """The daily digest for quality staff: ignored topics, scorecards, answers, failures.

    Built from the database only (no forum is contacted, nothing is written to it), judged as
    the forums stood at the end of that day, so a past day's digest rebuilt later is the same.
    """
    from digests.build import build_digest, yesterday
    from digests.publish import deliver, write_archive
    from digests.render import render_html, render_text

    config = _load(config_path)
    when = day.date() if day else yesterday(config.timezone)
    if send and config.smtp is None and config.telegram is None:
        fail("--send needs an `smtp:` or a `telegram:` section in the config", 2)
    with _open_store(config, read_only=True) as store:
        try:
            built = build_digest(store, config, when)
            from digests.build import quality_chats

            quality = quality_chats(store, config) if send else []
        except StoreError as err:
            fail(str(err), 2)
    failed = False
    if out is not None:
        try:
            click.echo(f"Digest for {when.isoformat()}: {write_archive(built, out)}")
        except OSError as err:
            fail(f"{out}: cannot write the digest there ({err.strerror}); choose another --out", 2)
    if send:
        published = deliver(config, built, quality)
        for line in published.done:
            click.echo(line)
        for error in published.errors:
            say_error(error)
        failed = bool(published.errors)
    if out is None and not send:
        text = render_html(built) if output_format == "html" else render_text(built)
        click.echo(text, nl=False)
    sys.exit(1 if failed else 0)


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
    config = _load(config_path)
    start = since.replace(tzinfo=UTC) if since else None
    with _open_store(config, read_only=True) as store:
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


@cli.command("check-config")
@config_option
@click.option(
    "--probe",
    is_flag=True,
    help="Also fetch one list page and one topic of each forum and show what was read: titles, "
    "authors, roles, parsed dates. Use it to write or fix an HTML profile.",
)
def check_config(config_path: Path | None, probe: bool) -> None:
    """Validate the config file and print what it watches; exit 2 listing every problem.

    With --probe, each forum is read a little (a list page, one topic; robots.txt and the
    forum's rate limit apply) and exit 1 names a forum that could not be read.
    """
    path = config_path or default_config_path()
    config = _load(path)
    out = Console(highlight=False)
    out.print(f"{path}: OK — database {config.database}")
    for forum in config.forums:
        sla = config.sla_for(forum)
        apps = f", apps: {', '.join(a.id for a in forum.apps)}" if forum.apps else ""
        hours = " (business hours)" if sla.business_hours else ""
        out.print(
            f"  {forum.id}: {forum.engine} {forum.url}; developers: "
            f"{', '.join(forum.developers) or '-'}; staff: {', '.join(forum.staff) or '-'}{apps}; "
            f"SLA ack {_h(sla.acknowledge)} / diagnose {_h(sla.diagnose)} / "
            f"follow-up {_h(sla.follow_up)}{hours}"
        )
    if probe:
        _probe_all(config, out)


def _probe_all(config: Config, out: Console) -> None:
    from forumwatch.probe import probe_forum, show_probe

    failed = False
    for forum in config.forums:
        result = asyncio.run(probe_forum(forum))
        show_probe(result, out)
        failed = failed or result.error is not None
    if failed:
        sys.exit(1)


def _h(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g}h"


@cli.command()
@now_option
@click.option(
    "--keep",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Keep the demo's config and database in DIR instead of a temporary folder.",
)
def demo(now: datetime | None, keep: Path | None) -> None:
    """Start a sample Discourse forum on loopback, watch it for one cycle, show the findings."""
    from forumwatch.demo import run_demo

    sys.exit(run_demo(stdout(), now=now, keep=keep))


def main() -> None:
    cli(prog_name="forumwatch")

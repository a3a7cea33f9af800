"""Commands that run cycles: `run` (one cycle, for cron), `daemon` (cycles and bot commands
on a schedule) and `demo` (a sample forum on loopback).
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

import click

from forumwatch.cli.common import (
    config_option,
    fail,
    last_run_now,
    load,
    now_option,
    open_store,
    redact,
    say_error,
    stdout,
)
from forumwatch.cli.group import cli
from forumwatch.cycle import heartbeat
from forumwatch.cycle.results import CycleReport
from forumwatch.cycle.run import run_cycle, why_dry_run
from forumwatch.store import AlreadyRunning, StoreError, daemon_holding, run_lock
from forumwatch.views.run_summary import progress_printer, summary_lines


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

    Safe to start from cron every few minutes: a run that finds another one still going, or
    the daemon watching the same database, exits at once (code 1) without touching it. Quiet
    when nothing changed (cron mails any output); one short summary when something did.
    --dry-run prints every message it would send, whole, and runs beside a cycle in progress.

    \b
    --now may replay a past moment (stored like a real run), but a --now later than the
    real clock, or earlier than the last stored run, runs as a dry run: a simulated future
    must never mark scans done or resolve findings for later real runs.
    """
    config = load(config_path)
    reason = why_dry_run(dry_run, now, last_run_now(config.database), datetime.now(UTC))
    daemon = daemon_holding(config.database) if reason is None else None
    if daemon is not None:
        fail(
            f"{config.database}: the forumwatch daemon ({daemon}) watches this database, so this "
            "run exits without touching it; stop the daemon, or remove the cron job",
            1,
        )
    with open_store(config, dry_run=reason is not None) as store:
        try:
            # a dry run reads a copy in memory and writes nothing: it needs no lock, and runs
            # beside a cycle that holds one
            lock = run_lock(config.database) if reason is None else nullcontext()
            with lock, progress_printer() as progress:
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
    if config.heartbeat_url is not None and heartbeat.due(config, report):
        problem = heartbeat.beat(config.heartbeat_url)
        if problem:
            say_error(problem)
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
        out.print(redact(line), markup=False)


@cli.command()
@config_option
def daemon(config_path: Path | None) -> None:
    """Run for good: a cycle every `poll_every` (default 10m), bot commands answered within
    seconds. For systemd (Type=simple) or a terminal; SIGTERM or Ctrl-C stops it cleanly after
    the message in flight. Prints a summary for each cycle in which something happened."""
    from forumwatch.daemon import Daemon

    config = load(config_path)

    def report(cycle: CycleReport) -> None:
        if cycle.eventful:
            _print_report(cycle)

    sys.exit(Daemon(config, say_error, report).run())


@cli.command()
@now_option
@click.option(
    "--keep",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Keep the demo's config, database and digest in DIR instead of a temporary folder.",
)
@click.option(
    "--serve",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Serve a kept demo's sample forum again (until Ctrl-C), so run, daemon, findings and "
    "the bot can be tried against DIR/config.yaml.",
)
def demo(now: datetime | None, keep: Path | None, serve: Path | None) -> None:
    """Start a sample Discourse forum on loopback, watch it for one cycle, show the findings.

    \b
    forumwatch demo --keep DIR     keep its config and database in DIR
    forumwatch demo --serve DIR    serve that forum again, for `run -c DIR/config.yaml`
    """
    from forumwatch.demo import DemoError, run_demo, serve_demo

    if keep is not None and serve is not None:
        fail("--keep makes a demo, --serve serves a kept one: give one of them", 2)
    if serve is not None:
        try:
            sys.exit(serve_demo(serve, stdout()))
        except DemoError as err:
            fail(str(err), 2)
    sys.exit(run_demo(stdout(), now=now, keep=keep))

"""The admin's commands: `invite` (a one-time Telegram invite), `digest` and `check-config`."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from rich.console import Console

from forumwatch.cli.common import config_option, fail, load, open_store, redact, say_error
from forumwatch.cli.group import cli
from forumwatch.config.load import default_config_path, notes
from forumwatch.config.models import Config
from forumwatch.config.values import local_time
from forumwatch.model import SlaPolicy
from forumwatch.store import StoreError
from forumwatch.store.chats import ChatRole
from forumwatch.telegram_bot.commands import new_invite


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
    the bot) binds it. A code works once and expires after telegram.invite_valid_for. When the
    bot cannot be reached (a refused token, no network) the code is printed all the same, the
    reason goes to stderr, and the exit code is 1.
    """
    config = load(config_path)
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
    with open_store(config) as store:
        store.create_invite(fresh, now)
    username, problem = _bot_username(config)
    out = Console(highlight=False, soft_wrap=True)  # piped output never wraps mid-field
    until = local_time(fresh.expires_at, config.timezone)
    out.print(f"Invite code: {fresh.code} (valid until {until})")
    if username:
        out.print(f"Link: https://t.me/{username}?start={fresh.code}")
        out.print(f"Or send the bot: /start {fresh.code}")
        return
    out.print(f"Send the bot: /start {fresh.code}")
    say_error(f"telegram: {problem}; no t.me link, but the code above works once that is fixed")
    sys.exit(1)


def _bot_username(config: Config) -> tuple[str | None, str | None]:
    """The bot's @username (getMe), or None and why Telegram could not tell it: a refused token,
    the Bot API unreachable."""
    from forumwatch.notify.base import DeliveryError
    from forumwatch.telegram_bot.notifier import bot_username

    assert config.telegram is not None
    try:
        return asyncio.run(bot_username(config.telegram)), None
    except DeliveryError as err:
        return None, str(err)


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

    Built from the database only (no forum is contacted, nothing is written to it), in the
    config's language and timezone, judged as the forums stood at the end of that day (so a
    past day's digest rebuilt later is the same), or as they stand now for today ("so far
    today"). A day before forumwatch first read a forum is judged from its stored posts.
    """
    from digests.build import build_digest, yesterday
    from digests.publish import deliver, write_archive
    from digests.render import render_html, render_text

    config = load(config_path)
    when = day.date() if day else yesterday(config.timezone)
    if send and config.smtp is None and config.telegram is None:
        fail("--send needs an `smtp:` or a `telegram:` section in the config", 2)
    with open_store(config, read_only=True) as store:
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
    forum's rate limit apply), the Telegram bot is asked its name (getMe), and exit 1 names a
    forum that could not be read or what Telegram refused (the token, the api_url).
    """
    path = config_path or default_config_path()
    config = load(path)
    out = Console(highlight=False, soft_wrap=True)  # piped output never wraps mid-field
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
        for order, policy in enumerate(config.policies_for(forum).policies, 1):
            match = _condition_text(policy)
            clock = policy.sla
            calendar = " (business hours)" if clock.business_hours else ""
            out.print(
                f"    policy {order}. {policy.name} ({match}): SLA ack {_h(clock.acknowledge)} / "
                f"diagnose {_h(clock.diagnose)} / follow-up {_h(clock.follow_up)} / "
                f"escalate after {_h(clock.escalate_after)}{calendar}"
            )
    for note in notes(config):
        out.print(f"  note: {note}")
    if probe:
        _probe_all(config, out)


def _probe_all(config: Config, out: Console) -> None:
    from forumwatch.views.probe import probe_forum, show_probe

    failed = False
    for forum in config.forums:
        result = asyncio.run(probe_forum(forum))
        show_probe(result, out)
        failed = failed or result.error is not None
    if config.telegram is not None:
        username, problem = _bot_username(config)
        if username:
            out.print(f"telegram: @{username} (the bot token works)", markup=False)
        else:
            out.print(f"telegram: {redact(problem or '')}", style="red", markup=False)
            failed = True
    if failed:
        sys.exit(1)


def _condition_text(policy: SlaPolicy) -> str:
    """A policy's `match:` as check-config prints it: "tags: paid, платна-тема; apps: crm"."""
    parts = [
        f"{label}: {', '.join(sorted(values))}"
        for label, values in (
            ("tags", policy.tags),
            ("categories", policy.categories),
            ("apps", policy.apps),
            ("forums", policy.forums),
        )
        if values
    ]
    return "; ".join(parts) or "every topic"


def _h(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g}h"

"""What every command shares: the -c and --now options, loading the config (exit 2 with
file:line problems), opening the store, and one-line errors on stderr with secrets masked.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from forumwatch.cli.group import CONFIG_HELP, GROUP_CONFIG, QUIET
from forumwatch.config.load import ConfigError, default_config_path, load_config
from forumwatch.config.models import Config
from forumwatch.config.secrets import Redactor
from forumwatch.store import Store, StoreError, unfinished

if TYPE_CHECKING:  # rich is imported when something is printed: a quiet cron run never is
    from rich.console import Console


NOW_HELP = (
    "Pretend it is this moment (ISO 8601, e.g. 2026-11-24T09:30+02:00; no offset means UTC). "
    "Ask 'what would be flagged then?'; makes runs reproducible."
)


@functools.cache
def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


_redact = Redactor()  # replaced by the loaded config's: no secret reaches the terminal


def redact(text: str) -> str:
    """`text` with every secret of the loaded config masked (read at call time: `load` replaces
    the redactor)."""
    return _redact(text)


def stdout() -> Console:
    """Standard output; wide enough for the findings table when it goes to a file or a pipe."""
    from rich.console import Console

    quiet = bool(
        click.get_current_context(silent=True) and click.get_current_context().meta.get(QUIET)
    )
    console = Console(highlight=False, quiet=quiet)
    # piped: text lines never wrap (soft_wrap), tables get 160 columns to lay out in
    piped = Console(highlight=False, width=160, quiet=quiet, soft_wrap=True)
    return console if console.is_terminal else piped


def say_error(message: str, label: str = "") -> None:
    """Each line of `message` on stderr as `forumwatch: ...`, secrets masked, markup inert."""
    from rich.markup import escape

    for line in _redact(message).splitlines() or [""]:
        stderr().print(f"[bold red]forumwatch:[/] {label}{escape(line)}", markup=True)


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


def _config_or_group(
    ctx: click.Context, _param: click.Parameter, value: Path | None
) -> Path | None:
    """-c after the command's name, else -c before it (`forumwatch -c x.yaml run`)."""
    return value if value is not None else ctx.meta.get(GROUP_CONFIG)


config_option = click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    callback=_config_or_group,
    help=CONFIG_HELP,
)


now_option = click.option("--now", callback=parse_now, metavar="ISO", help=NOW_HELP)


def load(config_path: Path | None) -> Config:
    global _redact
    try:
        config = load_config(config_path or default_config_path())
    except ConfigError as err:
        fail(str(err), 2)
    _redact = config.redactor()
    return config


@contextmanager
def open_store(
    config: Config, *, dry_run: bool = False, read_only: bool = False
) -> Iterator[Store]:
    """The config's database: as it is, read-only, or (dry runs) a copy in memory."""
    database = config.database
    try:
        if dry_run:
            store = Store.in_memory(copy_of=database if exists(database) else None)
        else:
            store = Store(database, create=not read_only, read_only=read_only)
    except StoreError as err:
        fail(str(err), 2)
    try:
        yield store
    finally:
        store.close()


def exists(database: Path) -> bool:
    return database.exists() and database.stat().st_size > 0


def last_run_now(database: Path) -> datetime | None:
    """The moment the latest stored run judged at, read without writing; None without a db."""
    if not exists(database) or unfinished(database):
        return None  # nothing ran yet (or the first run was cut off): this run finishes it
    try:
        store = Store(database, create=False, read_only=True)
    except StoreError as err:
        fail(str(err), 2)
    try:
        return store.last_run_now()
    finally:
        store.close()

"""The `forumwatch` command group, its help page and exit codes; each family of commands
registers itself on it (cycle.py, reading.py, admin.py).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

CONFIG_HELP = "Config file. Default: $FORUMWATCH_CONFIG, then ./config.yaml."
GROUP_CONFIG = "forumwatch.config"  # ctx.meta key: -c given before the command's name
QUIET = "forumwatch.quiet"  # ctx.meta key: --quiet given before the command's name

# Which family module registers each command: a command imports only its own family (and what
# that family uses), so `forumwatch run` never loads the digest, and --help loads them all.
FAMILIES = {
    "run": "cycle",
    "daemon": "cycle",
    "demo": "cycle",
    "findings": "reading",
    "topic": "reading",
    "credits": "reading",
    "status": "reading",
    "invite": "admin",
    "digest": "admin",
    "check-config": "admin",
}


class FamilyGroup(click.Group):
    """A group whose commands are registered by their family module when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(FAMILIES))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        family = FAMILIES.get(cmd_name)
        if family is not None and cmd_name not in self.commands:
            importlib.import_module(f"forumwatch.cli.{family}")
        return super().get_command(ctx, cmd_name)


@click.group(cls=FamilyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(None, "-V", "--version", package_name="forumwatch")
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), help=CONFIG_HELP)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="No summaries (for cron): only errors, and the console channel's notices if it is on.",
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, quiet: bool) -> None:
    """Make silence visible: flag forum topics that nobody responsible has answered.

    \b
    Start with the self-contained demo:     forumwatch demo
    Check your configuration:               forumwatch check-config -c config.yaml
    Poll, evaluate and notify (for cron):   forumwatch run -c config.yaml
    See what is overdue right now:          forumwatch findings -c config.yaml

    \b
    Exit codes: 0 ok; 1 a forum or notifier failed (the others still ran),
    or another run or the daemon holds the database; 2 usage or config error;
    130 interrupted (Ctrl-C).
    """
    if config_path is not None:
        ctx.meta[GROUP_CONFIG] = config_path
    ctx.meta[QUIET] = quiet


INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C


def main() -> None:
    """The `forumwatch` command: click's own handling, but Ctrl-C exits 130, not 1."""
    try:
        code = cli.main(prog_name="forumwatch", standalone_mode=False)
    except click.exceptions.Abort:  # click's word for Ctrl-C (and end of input at a prompt)
        sys.stderr.write("forumwatch: interrupted; nothing half-done was stored\n")
        sys.exit(INTERRUPTED)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    sys.exit(code if isinstance(code, int) else 0)

"""The `forumwatch` command group, its help page and exit codes; each family of commands
registers itself on it (cycle.py, reading.py, admin.py).
"""

from __future__ import annotations

import importlib

import click

# Which family module registers each command: a command imports only its own family (and what
# that family uses), so `forumwatch run` never loads the digest, and --help loads them all.
FAMILIES = {
    "run": "cycle",
    "daemon": "cycle",
    "demo": "cycle",
    "findings": "reading",
    "topic": "reading",
    "credits": "reading",
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


def main() -> None:
    cli(prog_name="forumwatch")

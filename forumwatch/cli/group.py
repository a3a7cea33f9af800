"""The `forumwatch` command group, its help page and exit codes; each family of commands
registers itself on it (cycle.py, reading.py, admin.py).
"""

from __future__ import annotations

import click


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


def main() -> None:
    from forumwatch.cli import admin, cycle, reading  # noqa: F401  (each registers its commands)

    cli(prog_name="forumwatch")

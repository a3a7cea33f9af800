"""The command line's shape: every command is found through its family, and a command loads
only the family it belongs to (start-up is paid per command, not for all of them)."""

from __future__ import annotations

import subprocess
import sys

from conftest import forumwatch

from forumwatch.cli.group import FAMILIES


def test_every_registered_command_is_named_in_its_family() -> None:
    code = (
        "from forumwatch.cli import admin, cycle, reading\n"
        "from forumwatch.cli.group import cli\n"
        "for name, command in sorted(cli.commands.items()):\n"
        "    print(name, command.callback.__module__.rsplit('.', 1)[1])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    registered = dict(line.split() for line in out.stdout.splitlines())

    assert registered == FAMILIES


def test_the_help_page_lists_every_command() -> None:
    result = forumwatch("--help")

    assert result.returncode == 0
    listed = {line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line}
    assert listed == set(FAMILIES)


def test_a_command_imports_only_its_own_family() -> None:
    code = (
        "import sys\n"
        "from forumwatch.cli.group import cli\n"
        "try:\n"
        "    cli(['run', '--help'], prog_name='forumwatch')\n"
        "except SystemExit:\n"
        "    pass\n"
        "mine = [m for m in sys.modules if m.startswith(('forumwatch.cli.', 'digests'))]\n"
        "print(' '.join(sorted(mine)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout.split("\n")[-2].split()

    assert "forumwatch.cli.cycle" in loaded
    assert not {"forumwatch.cli.reading", "forumwatch.cli.admin"} & set(loaded)
    assert not [m for m in loaded if m.startswith("digests")]

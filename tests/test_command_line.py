"""The command line's shape: every command is found through its family, and a command loads
only the family it belongs to (start-up is paid per command, not for all of them)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import NOW, ROOT, forumwatch, write_config

from forumwatch.cli.group import FAMILIES
from forumwatch.sample_forum.server import SampleForumServer
from forumwatch.store import run_lock


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


def interruptible() -> None:
    """In the child: Ctrl-C as a terminal delivers it. A pytest-xdist worker ignores SIGINT, and
    a child inherits that (Python then never raises KeyboardInterrupt in it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def started(*args: str) -> subprocess.Popen[str]:
    """A real `forumwatch` command left running (to be interrupted), its output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "forumwatch", *args],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )


def test_version_answers_to_dash_capital_v_and_long_version() -> None:
    short, long = forumwatch("-V"), forumwatch("--version")

    assert short.returncode == long.returncode == 0
    assert short.stdout == long.stdout and short.stdout.startswith("forumwatch, version ")


def test_config_may_come_before_or_after_the_command(config_path: Path) -> None:
    before = forumwatch("-c", str(config_path), "check-config")
    after = forumwatch("check-config", "-c", str(config_path))

    assert before.returncode == after.returncode == 0, before.stderr
    assert before.stdout == after.stdout and f"{config_path}: OK" in before.stdout


def test_quiet_prints_nothing_but_errors(config_path: Path) -> None:
    quiet = forumwatch("--quiet", "run", "-c", str(config_path), "--now", NOW.isoformat())
    broken = forumwatch("-q", "check-config", "-c", str(config_path.parent / "missing.yaml"))

    assert quiet.returncode == 0, quiet.stderr
    assert "forum(s) polled" not in quiet.stdout and quiet.stderr == ""  # no summary
    assert "OVERDUE market #101" in quiet.stdout  # the console channel it was told to use
    assert broken.returncode == 2 and "missing.yaml" in broken.stderr


def test_no_color_leaves_out_colours_even_where_colour_is_forced(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.yaml")
    coloured = forumwatch("check-config", "-c", missing, env={"FORCE_COLOR": "1"})
    plain = forumwatch("check-config", "-c", missing, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})

    assert "\x1b[31m" in coloured.stderr or "\x1b[1;31m" in coloured.stderr  # red, forced
    assert plain.returncode == 2 and "missing.yaml" in plain.stderr
    assert "31m" not in plain.stderr


def test_dry_run_runs_beside_a_cycle_that_holds_the_lock(config_path: Path) -> None:
    with run_lock(config_path.parent / "forumwatch.db"):
        result = forumwatch("run", "-c", str(config_path), "--now", NOW.isoformat(), "--dry-run")

    assert result.returncode == 0, result.stderr
    assert "would open: market #101 unanswered" in result.stdout


def test_ctrl_c_mid_poll_exits_130_and_leaves_the_store_sound(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    config = write_config(tmp_path, forum.url, timeout="30s")
    forum.fail("/t/", delay=20)  # the list comes at once, every topic hangs: mid-poll a while
    process = started("run", "-c", str(config), "--now", NOW.isoformat())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(r.startswith("/t/") for r in forum.requests):
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)

    assert process.returncode == 130, err
    assert "interrupted" in err and "Aborted" not in err and "Traceback" not in err
    with sqlite3.connect(tmp_path / "forumwatch.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.slow  # two demos' worth of cycles and a served forum
def test_a_kept_demo_can_be_served_again_and_watched(tmp_path: Path) -> None:
    kept = tmp_path / "demo"
    made = forumwatch("demo", "--keep", str(kept), env={"TMPDIR": str(tmp_path)})
    assert made.returncode == 0, made.stderr
    assert f"forumwatch demo --serve {kept}" in made.stdout.replace("\n", "")
    assert (kept / "digest").is_dir() and list((kept / "digest").glob("*.html"))
    config = str(kept / "config.yaml")
    assert forumwatch("run", "-c", config).returncode == 1  # nothing serves the forum now

    server = started("demo", "--serve", str(kept))
    try:
        assert server.stdout is not None
        assert "Sample Discourse forum serving on" in server.stdout.readline()
        again = forumwatch("run", "-c", config, "-v")
        listed = forumwatch("findings", "-c", config, "--format", "json")
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)

    assert again.returncode == 0, again.stderr
    assert "1 forum(s) polled" in again.stdout
    assert listed.returncode == 0, listed.stderr
    assert "unanswered" in {item["rule"] for item in json.loads(listed.stdout)}
    assert server.returncode == 130


@pytest.mark.slow  # two whole demos
def test_the_demo_digest_goes_to_a_fresh_folder_each_time(tmp_path: Path) -> None:
    first = forumwatch("demo", env={"TMPDIR": str(tmp_path)})
    second = forumwatch("demo", env={"TMPDIR": str(tmp_path)})

    pages = [
        Path(r.stdout.split("Today's digest for the quality staff: ")[1].split()[0])
        for r in (first, second)
    ]
    assert pages[0].parent != pages[1].parent
    assert all(p.exists() and p.parent.parent == tmp_path for p in pages)


def test_probe_shows_the_ends_of_a_long_topic_and_no_internals(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from forumwatch.sample_forum.scenario import SampleForum, SamplePost, SampleTopic

    now = datetime.now(UTC)  # the probe reads the forum as it is: within `lookback` of today

    posts = [
        SamplePost(
            "customer_anna" if n % 2 else "dev_ivan",
            now - timedelta(hours=30 - n),
            f"post number {n}",
        )
        for n in range(1, 26)
    ]
    long_topic = SampleTopic(201, "Звіт не формується", posts)
    with SampleForumServer(SampleForum([long_topic])) as server:
        config = write_config(tmp_path, server.url)
        probed = forumwatch("check-config", "-c", str(config), "--probe")

    assert probed.returncode == 0, probed.stderr
    out = probed.stdout
    assert "opening post" in out  # post 1 opened the topic; it replied to nothing
    assert "post number 1" in out and "post number 3" in out  # the first three
    assert "post number 23" in out and "post number 25" in out  # the last three
    assert "post number 12" not in out and "19 more posts" in out
    assert "change marker" not in out and "closed=False" not in out  # the scraper's own business


def test_topic_and_console_notices_show_times_in_the_configured_zone(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    config = str(write_config(tmp_path, forum.url, extra="timezone: Europe/Kyiv\n"))

    ran = forumwatch("run", "-c", config, "--now", NOW.isoformat())
    shown = forumwatch("topic", "market:101", "-c", config, "--now", NOW.isoformat())

    assert ran.returncode == 0 and shown.returncode == 0, ran.stderr + shown.stderr
    # topic 101 was asked at 07:00 UTC, due at 09:00 UTC: 09:00 and 11:00 in Kyiv (UTC+2)
    assert "since 2026-03-04 09:00 +02:00, due 2026-03-04 11:00 +02:00" in ran.stdout
    assert "when (Europe/Kyiv)" in shown.stdout and "2026-03-04 09:00" in shown.stdout
    listed = forumwatch("findings", "-c", config, "--now", NOW.isoformat())
    assert "finding(s) at 2026-03-04 14:00 +02:00" in listed.stdout


def test_no_store_mixin_shadows_another_ones_method() -> None:
    """`Store` is composed of one mixin per aggregate: a method defined in two of them would
    silently replace the other (as once happened to open_topic_count)."""
    from forumwatch.store import Store

    seen: dict[str, str] = {}
    clashes = []
    for cls in Store.__mro__[1:]:
        if not cls.__module__.startswith("forumwatch.store"):
            continue
        for name, value in vars(cls).items():
            if callable(value) and not name.startswith("__"):
                if name in seen:
                    clashes.append(f"{name}: {seen[name]} and {cls.__name__}")
                seen.setdefault(name, cls.__name__)
    assert clashes == []

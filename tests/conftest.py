"""Shared test parts: a real sample forum on loopback, a config file pointing at it, the CLI; and
how thorough a run is (FULL: everything at CI strength when `CI` is set)."""

from __future__ import annotations

import os
import socketserver
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from forumwatch.sample_forum.demo_scenario import demo_forum
from forumwatch.sample_forum.server import SampleForumServer

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
ROOT = Path(__file__).resolve().parent.parent

# CI (CI=true, see .ci/run) runs every sweep at full strength. A run without it keeps the slow
# sweeps short so that a newcomer's `python -m pytest` takes a couple of minutes: property tests
# try fewer examples, the incremental-vs-full comparison polls fewer cycles (the first cycles
# of the same scenario) and tests marked `slow` (scenarios of a simulated day or more of runs)
# skip. `CI=1 .venv/bin/python -m pytest` runs what CI runs.
FULL = bool(os.environ.get("CI"))

# Hypothesis profiles: "ci" is Hypothesis's own (loaded when CI is set: derandomized, no example
# database) with 200 examples a property; "dev" tries 50 and remembers failing examples in
# .hypothesis/. `--hypothesis-profile=ci` picks one explicitly.
settings.register_profile("ci", settings.get_profile("ci"), max_examples=200)
settings.register_profile(
    "dev", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if FULL else "dev")

# The loopback servers the tests run (sample forum, Bot API stand-in, hostile and HTML sites) are
# http.server handlers: they write a response's headers and its body separately, and with
# Nagle's algorithm on, each response after the first on a kept-alive connection waited for the
# client's delayed ACK: 43 ms a request instead of 2 ms.
socketserver.StreamRequestHandler.disable_nagle_algorithm = True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without CI, tests marked `slow` skip and say how to run them."""
    if FULL:
        return
    for item in items:
        if item.get_closest_marker("slow"):
            reason = f"slow: runs under CI; here: CI=1 .venv/bin/python -m pytest '{item.nodeid}'"
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """Workers for `-n auto` (pyproject.toml's addopts): two a core, at most 16. Most tests
    spend about half their time waiting (a loopback server, a `forumwatch` subprocess starting,
    Telegram's pacing), so one worker a core left the cores idle; past 16, workers only add
    start-up time. PYTEST_XDIST_AUTO_NUM_WORKERS, when set, decides instead (None: xdist's
    own hook reads it)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return min(2 * len(os.sched_getaffinity(0)), 16)


CONFIG_TEMPLATE = """\
database: {database}
sla: {{acknowledge: 2h, diagnose: 24h, follow_up: 24h, escalate_after: 22h}}
forums:
  - id: market
    engine: discourse
    url: {url}
    developers: [dev_ivan]
    staff: [anna_quality]
    apps:
      - {{id: signed-files, categories: [signed-files], developers: [vendor_petro]}}
    requests_per_second: 20
    timeout: {timeout}
    max_retries: {max_retries}
    retry_backoff: 10ms
"""


@pytest.fixture
def forum() -> Iterator[SampleForumServer]:
    """The demo's nine classic topics (one for each way silence happens), dated relative to
    NOW, served over real HTTP."""
    with SampleForumServer(demo_forum(NOW, lifecycle=False)) as server:
        yield server


@pytest.fixture
def demo_site() -> Iterator[SampleForumServer]:
    """The whole demo forum: the classic topics plus a re-post and a burst."""
    with SampleForumServer(demo_forum(NOW)) as server:
        yield server


def write_config(
    folder: Path, url: str, *, timeout: str = "5s", max_retries: int = 1, extra: str = ""
) -> Path:
    path = folder / "config.yaml"
    text = CONFIG_TEMPLATE.format(
        database=folder / "forumwatch.db", url=url, timeout=timeout, max_retries=max_retries
    )
    path.write_text(text + extra, encoding="utf-8")
    return path


@pytest.fixture
def config_path(tmp_path: Path, forum: SampleForumServer) -> Path:
    return write_config(tmp_path, forum.url)


def forumwatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `forumwatch` command in a subprocess, as cron would."""
    environment = {**os.environ, "COLUMNS": "200", **(env or {})}
    environment.pop("FORUMWATCH_CONFIG", None) if env is None else None
    return subprocess.run(
        [sys.executable, "-m", "forumwatch", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        cwd=ROOT,
    )

"""Shared test parts: a real sample forum on loopback, a config file pointing at it, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from forumwatch.sample_forum.demo_scenario import demo_forum
from forumwatch.sample_forum.server import SampleForumServer

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
ROOT = Path(__file__).resolve().parent.parent

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

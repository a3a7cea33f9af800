"""`forumwatch status` for scripts and monitors, and the heartbeat a monitor outside listens for."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import NOW, forumwatch, write_config

from forumwatch.sample_forum.server import SampleForumServer


class Monitor:
    """A healthchecks.io stand-in on loopback: records each ping, answers `status`."""

    def __init__(self) -> None:
        self.pings: list[str] = []
        self.status = 200
        monitor = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                monitor.pings.append(self.path)
                self.send_response(monitor.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/ping/3f1c-check"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def monitor() -> Iterator[Monitor]:
    found = Monitor()
    yield found
    found.httpd.shutdown()
    found.httpd.server_close()


def _at(minutes: int) -> str:
    return (NOW + timedelta(minutes=minutes)).isoformat()


def test_the_heartbeat_follows_good_runs_only(
    tmp_path: Path, forum: SampleForumServer, monitor: Monitor
) -> None:
    config = str(write_config(tmp_path, forum.url, extra=f"heartbeat_url: {monitor.url}\n"))

    good = forumwatch("run", "-c", config, "--now", _at(0))
    assert good.returncode == 0, good.stderr
    assert monitor.pings == ["/ping/3f1c-check"]

    forum.fail("/latest.json", status=503)
    failed = forumwatch("run", "-c", config, "--now", _at(10))
    assert failed.returncode == 1
    assert len(monitor.pings) == 1  # a failed run stays silent: the monitor notices

    forum.heal()
    monitor.status = 404  # the check was deleted on the monitor's side
    refused = forumwatch("run", "-c", config, "--now", _at(20))
    assert refused.returncode == 0  # the forums were read: the run itself succeeded
    assert "heartbeat *** refused: HTTP 404; check heartbeat_url" in refused.stderr
    assert "3f1c-check" not in refused.stderr  # the URL is a secret: it is masked


def test_a_heartbeat_url_that_is_not_a_web_address_is_a_config_error(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    config = write_config(tmp_path, forum.url, extra="heartbeat_url: hc-ping.com/abc\n")

    result = forumwatch("check-config", "-c", str(config))

    assert result.returncode == 2
    assert "heartbeat_url: must be an http:// or https:// address" in result.stderr


@pytest.mark.slow  # several cycles: CI runs it
def test_status_says_whether_all_is_well_with_its_exit_code(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    config = str(write_config(tmp_path, forum.url))

    before = forumwatch("status", "-c", config, "--now", _at(0))
    assert before.returncode == 1 and "no run stored yet" in before.stdout

    assert forumwatch("run", "-c", config, "--now", _at(0)).returncode == 0
    well = forumwatch("status", "-c", config, "--now", _at(5))
    assert well.returncode == 0, well.stdout
    assert "market: last good poll 2026-03-04 12:00 UTC (5 min ago)" in well.stdout
    assert "all is well" in well.stdout.splitlines()[-1]

    found = json.loads(
        forumwatch("findings", "-c", config, "--now", _at(5), "--format", "json").stdout
    )
    topics = {item["topic_id"] for item in found if item["rule"] != "burst"}
    assert f"{len(topics)} open ignored topic(s)" in well.stdout  # topics, not findings

    stale = forumwatch("status", "-c", config, "--now", _at(180))
    assert stale.returncode == 1
    assert "problem: data of market is 3 h old: no run since" in stale.stdout

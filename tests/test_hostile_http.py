"""The shared HTTP client against servers that misbehave on purpose, over real loopback HTTP:
a gzip bomb, an endless body, a drip, a redirect to another host that records what it receives."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from forumwatch.sample_forum.server import SampleForumServer
from scrapers.base import BadResponse, ForumSettings, ForumUnavailable
from scrapers.http import PoliteClient
from tests.conftest import NOW, ROOT, forumwatch
from tests.hostile_server import (
    HostileServer,
    drip,
    endless_body,
    gzip_bomb,
    json_body,
    redirect_to,
)

SECRET = "s3cr3t-key-that-must-stay-home"
PEAK_RSS_LIMIT_MB = 150


def _settings(url: str, **overrides: Any) -> ForumSettings:
    fields: dict[str, Any] = {
        "forum_id": "hostile",
        "url": url,
        "requests_per_second": 1000.0,
        "timeout_seconds": 5.0,
        "max_retries": 0,
        "headers": {"Api-Key": SECRET, "Api-Username": "system"},
        "options": {"backoff_base": 0.001},
    }
    fields.update(overrides)
    return ForumSettings(**fields)


def _get(url: str, path: str = "/latest.json", **overrides: Any) -> Any:
    async def main() -> Any:
        async with PoliteClient(_settings(url, **overrides)) as client:
            return await client.get_json(path)

    return asyncio.run(main())


# --- size caps ----------------------------------------------------------------------------------


def test_gzip_bomb_is_refused_at_the_cap_after_decompression() -> None:
    with (
        HostileServer(gzip_bomb(1024)) as bomb,
        pytest.raises(BadResponse, match=r"exceeds 8 MB after decompression") as caught,
    ):
        _get(bomb.url)
    assert f"response from {bomb.url}/latest.json" in str(caught.value)


def test_cap_follows_max_response_bytes() -> None:
    with (
        HostileServer(gzip_bomb(2)) as bomb,
        pytest.raises(BadResponse, match=r"exceeds 64 KB after decompression"),
    ):
        _get(bomb.url, max_response_bytes=64 * 1024)


def test_endless_plain_body_without_length_is_cut_at_the_cap() -> None:
    with (
        HostileServer(endless_body(300, declare_length=False)) as server,
        pytest.raises(BadResponse, match=r"exceeds 8 MB after decompression"),
    ):
        _get(server.url)


def test_declared_oversized_body_is_refused_without_reading_it() -> None:
    with HostileServer(endless_body(300, declare_length=True)) as server:
        started = time.monotonic()
        with pytest.raises(BadResponse, match=r"exceeds 8 MB"):
            _get(server.url)
    assert time.monotonic() - started < 5  # 300 MB were not read over loopback first


def test_gzip_and_deflate_bodies_within_the_cap_decode() -> None:
    document = {"topic_list": {"topics": [{"id": n} for n in range(2000)]}}
    raw = json.dumps(document).encode()
    with HostileServer(_encoded(gzip.compress(raw), "gzip")) as server:
        assert _get(server.url) == document
    with HostileServer(_encoded(_raw_deflate(raw), "deflate")) as server:
        assert _get(server.url) == document


def test_unasked_encoding_is_a_clear_error() -> None:
    with (
        HostileServer(_encoded(b"\x00\x01", "br")) as server,
        pytest.raises(BadResponse, match=r"Content-Encoding 'br', which was not asked for"),
    ):
        _get(server.url)


def _encoded(body: bytes, encoding: str) -> Any:
    def behave(handler: Any) -> None:
        handler.send_response(200)
        handler.send_header("Content-Encoding", encoding)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return behave


def _raw_deflate(data: bytes) -> bytes:
    import zlib

    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


# --- deadlines ----------------------------------------------------------------------------------


def test_drip_feed_hits_the_total_deadline() -> None:
    with HostileServer(drip(0.1)) as server:
        started = time.monotonic()
        with pytest.raises(ForumUnavailable, match=r"no complete response within 1 s"):
            _get(server.url, timeout_seconds=1.0)
        elapsed = time.monotonic() - started
    assert elapsed < 4, f"a drip held the client for {elapsed:.1f} s"  # read timeout never fired


# --- redirects ----------------------------------------------------------------------------------


def test_cross_host_redirect_is_refused_and_the_key_never_leaves() -> None:
    with (
        HostileServer(json_body(b'{"ok": true}'), host="127.0.0.2") as elsewhere,
        HostileServer(redirect_to(elsewhere.url)) as forum,
        pytest.raises(BadResponse, match=r"redirected to http://127\.0\.0\.2") as caught,
    ):
        _get(forum.url)
    assert elsewhere.requests == []  # not followed at all, so no header reached it
    assert forum.request_headers[0]["api-key"] == SECRET  # the forum itself did get it
    assert "set the forum's url" in str(caught.value)


def test_redirect_to_another_port_or_scheme_is_refused() -> None:
    with (
        HostileServer(json_body(b"{}")) as other_port,
        HostileServer(redirect_to(other_port.url)) as forum,
    ):
        with pytest.raises(BadResponse, match=r"outside the configured"):
            _get(forum.url)
        assert other_port.requests == []
    with (
        HostileServer(redirect_to("https://127.0.0.1")) as forum,
        pytest.raises(BadResponse, match=r"redirected to https://127\.0\.0\.1"),
    ):
        _get(forum.url)


def test_same_origin_redirect_is_followed_with_credentials() -> None:
    with SampleForumServer(_empty_forum()) as forum:
        forum.fail("/latest.json", status=301, headers={"Location": "/c/x.json"}, times=1)
        forum.fail("/c/x.json", status=200, body=b'{"topic_list": {"topics": []}}')
        assert _get(forum.url) == {"topic_list": {"topics": []}}
        assert forum.requests == ["/latest.json", "/c/x.json"]
        assert all(h.get("api-key") == SECRET for h in forum.request_headers)


def test_endless_same_origin_redirects_stop() -> None:
    with SampleForumServer(_empty_forum()) as forum:
        forum.fail("/latest.json", status=302, headers={"Location": "/latest.json"})
        with pytest.raises(BadResponse, match=r"more than 5 redirects"):
            _get(forum.url)


def test_gone_topic_is_http_410() -> None:
    with (
        HostileServer(json_body(b'{"errors": ["gone"]}', status=410)) as server,
        pytest.raises(BadResponse, match=r"HTTP 410: gone") as caught,
    ):
        _get(server.url, "/t/5.json")
    assert caught.value.status == 410


def _empty_forum() -> Any:
    from forumwatch.sample_forum.scenario import SampleForum

    return SampleForum(topics=[])


# --- a whole run, as cron starts it -------------------------------------------------------------


def _two_forum_config(folder: Path, hostile_url: str, good_url: str, good_extra: str = "") -> Path:
    path = folder / "config.yaml"
    path.write_text(
        f"""\
database: {folder / "forumwatch.db"}
forums:
  - id: hostile
    engine: discourse
    url: {hostile_url}
    api_key: ${{FW_TEST_KEY}}
    developers: [dev_ivan]
    requests_per_second: 20
    timeout: 3s
    max_retries: 0
  - id: market
    engine: discourse
    url: {good_url}
    developers: [dev_ivan]
    requests_per_second: 20
{good_extra}""",
        encoding="utf-8",
    )
    return path


def test_run_against_a_gzip_bomb_stays_small_and_other_forums_go_on(
    tmp_path: Path, forum: SampleForumServer
) -> None:
    with HostileServer(gzip_bomb(1024)) as bomb:
        config = _two_forum_config(tmp_path, bomb.url, forum.url)
        env = {**os.environ, "FW_TEST_KEY": SECRET, "COLUMNS": "200"}
        output = tmp_path / "output.txt"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "forumwatch",
                    "run",
                    "-c",
                    str(config),
                    "--now",
                    NOW.isoformat(),
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env=env,
            )
            _, status, usage = os.wait4(process.pid, 0)  # this child's own peak, nobody else's
    peak_mb = usage.ru_maxrss / 1024  # KiB on Linux
    text = output.read_text(encoding="utf-8")
    assert os.waitstatus_to_exitcode(status) == 1, text
    assert "forum 'hostile'" in text and "exceeds 8 MB after decompression" in text
    assert "1 failed" in text  # market was still polled
    assert peak_mb < PEAK_RSS_LIMIT_MB, f"peak RSS {peak_mb:.0f} MB"
    assert SECRET not in text
    assert SECRET.encode() not in (tmp_path / "forumwatch.db").read_bytes()
    listing = forumwatch(
        "findings", "-c", str(config), "--now", NOW.isoformat(), "--format", "json", env=env
    )
    assert listing.returncode == 0, listing.stderr
    assert {f["topic_id"] for f in json.loads(listing.stdout)} >= {"101", "102"}


@pytest.mark.slow  # long waits or several cycles: CI runs it
def test_run_against_a_drip_finishes_and_frees_the_lock(tmp_path: Path) -> None:
    with HostileServer(drip(0.2)) as server:
        config = _two_forum_config(
            tmp_path, server.url, server.url, "    timeout: 3s\n    max_retries: 0\n"
        )
        env = {"FW_TEST_KEY": SECRET}
        started = time.monotonic()
        first = forumwatch("run", "--config", str(config), env=env)
        elapsed = time.monotonic() - started
        assert first.returncode == 1, first.stderr
        assert "no complete response within 3 s" in first.stdout + first.stderr
        assert elapsed < 30  # two forums, one 3 s deadline each, plus start-up
        second = forumwatch("run", "--config", str(config), env=env)
    assert "another forumwatch run is in progress" not in second.stdout + second.stderr

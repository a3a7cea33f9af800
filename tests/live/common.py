"""What the live-engine tests share: when they run, where engines are installed, and servers.

Live tests install real forum software (Misago, Spirit) into their own virtualenvs under
`.live/` (or `$FORUMWATCH_LIVE_DIR`) and start it on loopback. They run when `CI` or
`FORUMWATCH_LIVE=1` is set; otherwise they skip and say how to enable them. Under CI a missing
part is a failure, never a silent skip.
"""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import NoReturn

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
LIVE_DIR = Path(os.environ.get("FORUMWATCH_LIVE_DIR", ROOT / ".live"))
ENABLE_HINT = "set FORUMWATCH_LIVE=1 (installs the engines into .live/; see README, Development)"


def live_enabled() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("FORUMWATCH_LIVE") == "1"


def require_live(engine: str) -> None:
    """Skip the calling test unless live tests are enabled."""
    if not live_enabled():
        pytest.skip(f"live {engine} test: {ENABLE_HINT}")


def unavailable(what: str, enable: str) -> NoReturn:
    """A part the live test needs is missing: fail under CI, skip with the fix elsewhere."""
    message = f"{what}; to enable: {enable}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run(command: Sequence[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a setup command; its output goes into the failure message when it fails."""
    done = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        **kwargs,  # type: ignore[call-overload]
    )
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-3000:]
        raise RuntimeError(f"{' '.join(map(str, command))} exited {done.returncode}:\n{tail}")
    return done


def engine_venv(name: str, requirements: Sequence[str]) -> Path:
    """The python of a virtualenv at LIVE_DIR/name holding `requirements`, made once and kept.

    A marker file records what was installed, so a changed requirement list reinstalls. A lock
    file keeps two pytest processes (xdist workers, two runs) from installing it at once.
    """
    venv = LIVE_DIR / name
    python = venv / "bin" / "python"
    marker = venv / ".forumwatch-installed"
    wanted = "\n".join(requirements)
    LIVE_DIR.mkdir(parents=True, exist_ok=True)
    with (LIVE_DIR / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if python.exists() and marker.exists() and marker.read_text() == wanted:
            return python
        run([sys.executable, "-m", "venv", "--clear", venv])
        run([python, "-m", "pip", "install", "-q", *requirements])
        marker.write_text(wanted)
    return python


def wait_for_http(
    url: str, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll `url` until it answers (any status below 500), the process dies, or time runs out."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:g} s ({last})")


class ServerProcess:
    """A server started in the background with its output logged to a file; a context manager
    that stops it (and its children) on exit."""

    def __init__(self, command: Sequence[str | Path], log: Path, **kwargs: object) -> None:
        self.command = [str(part) for part in command]
        self.log = log
        self.kwargs = kwargs
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServerProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("wb")
        self.process = subprocess.Popen(  # type: ignore[call-overload]
            self.command,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **self.kwargs,
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, 15)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait()

    def log_tail(self, size: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-size:] if self.log.exists() else ""

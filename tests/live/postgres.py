"""A throwaway PostgreSQL cluster for live tests: initdb in a temporary folder, started on a free
loopback port with its unix socket in that folder, stopped and deleted afterwards.

It uses Debian's server binaries (/usr/lib/postgresql/<version>/bin), never a system service.
PostgreSQL refuses to run as root, so as root the cluster is run as the `postgres` user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.live.common import free_port, run, unavailable

INSTALL_HINT = "apt-get install postgresql (Debian's server binaries; no service is used)"


@dataclass(frozen=True)
class Postgres:
    """A running cluster: connect over TCP to 127.0.0.1:port as `user` (trust auth)."""

    host: str
    port: int
    user: str
    socket_dir: Path
    bin_dir: Path

    def dsn(self, database: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        where = ["-h", self.host, "-p", str(self.port), "-U", self.user]
        run([self.bin_dir / "createdb", *where, name])


def server_bin_dir() -> Path:
    """The newest installed server's bin folder; skips (fails under CI) when there is none."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not found:
        unavailable("PostgreSQL is not installed", INSTALL_HINT)
    return found[-1].parent


def _as_owner() -> tuple[list[str], str | None]:
    """The command prefix that runs the server as a non-root user, and that user (root only)."""
    if os.geteuid() != 0:
        return [], None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        unavailable(
            "running as root, but there is no 'postgres' user to run the server", INSTALL_HINT
        )
    if shutil.which("runuser") is None:
        unavailable("running as root, but runuser is missing", "apt-get install util-linux")
    return ["runuser", "-u", "postgres", "--"], "postgres"


@contextmanager
def postgres_cluster() -> Iterator[Postgres]:
    """Start a fresh cluster (superuser `postgres`, trust auth on loopback) and remove it after."""
    bin_dir = server_bin_dir()
    prefix, owner = _as_owner()
    folder = Path(tempfile.mkdtemp(prefix="forumwatch-pg-"))
    data, log = folder / "data", folder / "server.log"
    if owner is not None:
        entry = pwd.getpwnam(owner)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    port = free_port()
    started = False
    try:
        run([*prefix, bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--locale=C.UTF-8"])  # fmt: skip
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        try:
            run([*prefix, bin_dir / "pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "start"])
        except RuntimeError as err:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {err}\n{tail}") from None
        started = True
        yield Postgres("127.0.0.1", port, "postgres", folder, bin_dir)
    finally:
        if started:
            run([*prefix, bin_dir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"])
        shutil.rmtree(folder, ignore_errors=True)

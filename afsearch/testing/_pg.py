"""A throwaway PostgreSQL server, started from the machine's binaries (Debian's
``/usr/lib/postgresql/*/bin``, else ``pg_ctl`` on the ``PATH``).

``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` user (through
``runuser``) in a data directory that user owns. The server listens on 127.0.0.1 and a socket
in its own directory, on a free port; its data directory is removed by :meth:`PgServer.stop`.
Only the standard library is imported here.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["PgServer", "find_bin"]


def find_bin() -> Path | None:
    """The folder of PostgreSQL's ``pg_ctl`` and ``initdb`` (the newest Debian version first),
    or ``None`` when the machine has none."""
    for pattern in ("/usr/lib/postgresql/*/bin",):
        for d in sorted(glob.glob(pattern), reverse=True):
            if Path(d, "pg_ctl").exists() and Path(d, "initdb").exists():
                return Path(d)
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).resolve().parent if pg_ctl else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """A PostgreSQL server in a temporary directory: :meth:`start` it, connect to :attr:`url`,
    :meth:`stop` it (which removes its data). :meth:`restart`, :meth:`halt` and :meth:`resume`
    inject faults while clients are connected."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="afsearch-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0
        self.password = "afsearch-test-pw"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the server's ``afsearch`` database (psycopg 3 driver)."""
        return f"postgresql+psycopg://afsearch:{self.password}@127.0.0.1:{self.port}/afsearch"

    def start(self) -> None:
        """Create the cluster, start the server and create the ``afsearch`` database."""
        self.root.chmod(0o755)
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self.as_postgres:
            shutil.chown(pwfile, "postgres", "postgres")
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "afsearch",
            "--pwfile",
            str(pwfile),
            "-A",
            "scram-sha-256",
            "--no-sync",
        )
        self._pg_ctl("start")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if (
                self._run(
                    str(self.bindir / "pg_isready"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    check=False,
                ).returncode
                == 0
            ):
                break
            time.sleep(0.2)
        env = {**os.environ, "PGPASSWORD": self.password}
        subprocess.run(
            [
                str(self.bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "afsearch",
                "afsearch",
            ],
            check=True,
            env=env,
            timeout=60,
            capture_output=True,
        )

    def _pg_ctl(self, action: str, *extra: str) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            opts,
            "-w",
            "-l",
            str(self.root / "log"),
            action,
            *extra,
        )

    def restart(self) -> None:
        """Restart the server (fast shutdown: open connections are cut)."""
        self._pg_ctl("restart", "-m", "fast")

    def halt(self) -> None:
        """Stop the server, keeping its data, until :meth:`resume`."""
        self._pg_ctl("stop", "-m", "fast")

    def resume(self) -> None:
        """Start the server that :meth:`halt` stopped."""
        self._pg_ctl("start")

    def stop(self) -> None:
        """Stop the server at once and remove its directory; safe to call more than once."""
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-m",
            "immediate",
            "-w",
            "stop",
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)

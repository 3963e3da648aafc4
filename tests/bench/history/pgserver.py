"""A throwaway PostgreSQL server for the history's tests and benchmark: Debian's postgresql package, a cluster
in a temporary folder, run as the `postgres` system user (initdb and postgres refuse root), listening only on a
unix socket in that folder, stopped by pg_ctl (and by its recorded PID if that fails)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER = "postgres"


def pg_bin() -> Path:
    """The newest /usr/lib/postgresql/N/bin with initdb (Debian keeps the programs off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if not found:
        raise RuntimeError(
            "no /usr/lib/postgresql/*/bin/initdb: the Debian package postgresql is needed (`make deps`)"
        )
    return Path(found[-1]).parent


def free_port() -> int:
    """A port no server here listens on: the socket file is named after it (.s.PGSQL.PORT)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    def __init__(self) -> None:
        self.bin = pg_bin()
        # Not under pytest's tmp_path: its parents are private to root, and the server runs as postgres.
        self.dir = Path(tempfile.mkdtemp(prefix="henb-bench-pg-"))
        os.chmod(self.dir, 0o755)
        self.data = self.dir / "data"
        self.port = free_port()
        self.pid: int | None = None
        shutil.chown(self.dir, USER, USER)

    def _as_postgres(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["runuser", "-u", USER, "--", *argv], capture_output=True, text=True, timeout=timeout, check=False
        )

    def start(self) -> PgServer:
        done = self._as_postgres(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            USER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")
        options = f"-k {self.dir} -p {self.port} -c listen_addresses='' -c fsync=off"
        done = self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w",
            "-t", "120", "start",
        )  # fmt: skip
        if done.returncode != 0:
            log = (self.dir / "log").read_text(errors="replace") if (self.dir / "log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stderr or done.stdout}\n{log}")
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{USER}@/{database}?host={self.dir}&port={self.port}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            host=str(self.dir), port=self.port, user=USER, dbname="postgres", autocommit=True
        ) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.pid is not None:
            done = self._as_postgres(
                str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"
            )
            if done.returncode != 0:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGQUIT)  # the postmaster we started, by its recorded PID
                time.sleep(1)
            self.pid = None
        shutil.rmtree(self.dir, ignore_errors=True)

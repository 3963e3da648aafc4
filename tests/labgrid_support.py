"""A labgrid lab for the tests: a real labgrid-coordinator and labgrid-exporters on 127.0.0.1 (a free port each),
stopped by their PIDs, and `labgrid-client` to make places as a lab admin does."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bench.place import Coordinator

BIN = Path(sys.executable).parent
EXPORTER = "lgexp"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def until(what: Callable[[], object], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout:g} s: {what}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """By its PID, as everything the tests start."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


class Lab:
    """A labgrid coordinator and exporters on 127.0.0.1, and `labgrid-client` to set up places as a lab admin does."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.address = f"127.0.0.1:{free_port()}"
        self.procs: list[subprocess.Popen[bytes]] = []
        self._start("coordinator", [str(BIN / "labgrid-coordinator"), "-l", self.address])
        host, port = self.address.split(":")
        until(lambda: _answers(host, int(port)))

    def _start(self, name: str, argv: list[str]) -> None:
        log = (self.folder / f"{name}.log").open("wb")
        self.procs.append(
            subprocess.Popen(
                argv, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        )
        log.close()

    def export(
        self, groups: dict[str, dict[str, Any]], name: str = EXPORTER, hostname: str | None = None
    ) -> None:
        """An exporter of these resource groups; `hostname`: the host it says it is on (default this one)."""
        config = self.folder / f"{name}.yaml"
        config.write_text(yaml.safe_dump(groups))
        where = ["--hostname", hostname] if hostname else []
        self._start(
            name, [str(BIN / "labgrid-exporter"), "-c", self.address, "-n", name, *where, str(config)]
        )
        wanted = {(g, r) for g, res in groups.items() for r in res}

        def exported() -> bool:
            with Coordinator(self.address) as c:
                have = c.session.resources.get(name, {})
                return wanted <= {(g, r) for g, res in have.items() for r in res}

        until(exported)

    def client(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(BIN / "labgrid-client"), "-x", self.address, *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **(env or {})},
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def place(self, name: str, group: str, exporter: str = EXPORTER, **tags: str) -> None:
        self.client("-p", name, "create")
        self.client("-p", name, "add-match", f"{exporter}/{group}/*")
        if tags:
            self.client("-p", name, "set-tags", *(f"{k}={v}" for k, v in tags.items()))

    def holder(self, place: str) -> str | None:
        with Coordinator(self.address) as c:
            return c.places()[place].acquired  # type: ignore[no-any-return]

    def close(self) -> None:
        for proc in reversed(self.procs):
            stop(proc)


def _answers(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False

"""Daemons started by the bench: spawned with a recorded PID, stopped by that PID only."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from bench.errors import InfraError


def netns_command(netns: str | None, argv: list[str], private_run: Path | None = None) -> list[str]:
    """argv run inside `netns` (ip netns exec gives it a private mount namespace), with `private_run`
    bind-mounted over /run so daemons with compiled-in pid files (charon) do not collide."""
    if netns is None:
        return argv
    if private_run is None:
        return ["ip", "netns", "exec", netns, *argv]
    quoted = " ".join(_quote(a) for a in argv)
    return [
        "ip",
        "netns",
        "exec",
        netns,
        "sh",
        "-c",
        f"mount --bind {_quote(str(private_run))} /run && exec {quoted}",
    ]


def _quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


def comm_of(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None


def kill_pid(pid: int, expect_comm: str | None = None, grace: float = 2.0) -> bool:
    """SIGTERM then SIGKILL the process `pid`, only if it is still what we started (its comm matches)."""
    comm = comm_of(pid)
    if comm is None or (expect_comm is not None and comm != expect_comm[:15]):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if comm_of(pid) is None or _is_zombie(pid):
            return True
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


def stop_process(proc: subprocess.Popen[bytes], grace: float = 3.0) -> None:
    """Terminate a child we started, kill it if it is still there after `grace` seconds, and reap it: the one
    terminate-then-kill of the bench's children (a daemon, a mock unit's process)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, IndexError):
        return True


class Daemon:
    """One child process; its stdout/stderr go to a log file (or a pipe the caller reads)."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        comm: str | None = None,
        pipe_output: bool = False,
    ) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self.comm = comm or Path(argv[0]).name
        self.pipe_output = pipe_output
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, **(self.env or {}))
        try:
            if self.pipe_output:
                self.proc = subprocess.Popen(
                    self.argv,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                )
            else:
                with self.log_path.open("ab") as log:
                    self.proc = subprocess.Popen(
                        self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
                    )
        except OSError as exc:
            raise InfraError(f"{self.name}: cannot start {self.argv[0]}: {exc}") from exc

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            tail = self.log_tail()
            raise InfraError(
                f"{self.name} exited with code {self.proc.returncode}; log {self.log_path}: {tail}"
            )

    def log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def stop(self) -> None:
        """Terminate (kill after 3 s) and close the pipe."""
        self.terminate()
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()

    def terminate(self) -> None:
        """Terminate (kill after 3 s); a pipe stays open for its reader to drain to EOF."""
        if self.proc is not None:
            stop_process(self.proc)

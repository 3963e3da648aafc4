"""chronyd as the internet's NTP server: serves the host's clock (`local stratum`) in a namespace, never sets it.

chronyd (Debian's build has no debug log) does not log each client's query: the bench puts NTP queries on the
timeline from the outer-link capture (`bench/outerlink.py`)."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

from bench.errors import InfraError
from bench.services.process import Daemon, netns_command
from drivers.retry import poll

NTP_PORT = 123
# LI 0, version 4, mode 3 (client); the rest of the 48-byte header may be zero in a client request.
CLIENT_REQUEST = bytes([0x23]) + bytes(47)
MODE_SERVER = 4


def ntp_query(server: str, timeout: float) -> int | None:
    """One NTP client request to `server`; the stratum of a server-mode answer, or None without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(CLIENT_REQUEST, (server, NTP_PORT))
            data, _ = sock.recvfrom(512)
        except OSError:
            return None
    if len(data) < 48 or data[0] & 0x07 != MODE_SERVER:
        return None
    return int(struct.unpack_from("!B", data, 1)[0])


class Chronyd:
    """One chronyd in the foreground in `netns`, answering on `listen`; its conf, pid and drift files in
    `workdir`, no command socket (several benches share the host's /run)."""

    def __init__(self, name: str, netns: str, listen: str, workdir: Path, stratum: int = 8) -> None:
        self.name = name
        self.netns = netns
        self.listen = listen
        self.workdir = workdir
        self.stratum = stratum
        self.daemon: Daemon | None = None

    def config(self) -> str:
        return "\n".join(
            [
                # The host's clock is the reference; -x keeps chronyd from ever adjusting it.
                f"local stratum {self.stratum}",
                "allow all",
                f"bindaddress {self.listen}",
                f"port {NTP_PORT}",
                "cmdport 0",
                "bindcmdaddress /",
                f"pidfile {self.workdir / 'chronyd.pid'}",
                f"driftfile {self.workdir / 'chrony.drift'}",
                "",
            ]
        )

    def start(self, timeout: float = 5.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "chrony.conf"
        conf.write_text(self.config(), encoding="utf-8")
        argv = ["chronyd", "-d", "-x", "-u", "root", "-f", str(conf)]
        self.daemon = Daemon(
            self.name, netns_command(self.netns, argv), self.workdir / "chronyd.log", comm="chronyd"
        )
        self.daemon.start()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        """Ready when it answers an NTP client request in its namespace (a real round trip)."""
        # Here, not at the top: the mock unit imports this module for ntp_query, without pyroute2 (8 MiB).
        from drivers.netns import run_in_netns

        def answers() -> bool:
            assert self.daemon is not None
            self.daemon.check_alive()  # a daemon that died is not waited for
            return run_in_netns(self.netns, ntp_query, self.listen, 0.2) is not None

        if poll(answers, bool, timeout, every=0.05):
            return
        raise InfraError(
            f"{self.name}: chronyd on {self.listen}:{NTP_PORT} in {self.netns} did not answer in {timeout:g} s; "
            f"log {self.workdir / 'chronyd.log'}"
        )

    def stop(self) -> None:
        if self.daemon:
            self.daemon.stop()

"""dnsmasq as the public DNS (with DHCP for the units' home link) and as the operator's private DNS.

Every query it logs becomes a `dns/query` timeline event, so plans can assert which DNS was asked and when.
"""

from __future__ import annotations

import contextlib
import re
import threading
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype

from bench.errors import InfraError
from bench.events import DnsKind, Source
from bench.services.process import Daemon, netns_command
from bench.timeline import Timeline

# dnsmasq --log-queries lines: "query[A] isegw.operator.example from 198.51.100.23"
QUERY = re.compile(r"query\[(?P<qtype>\w+)\] (?P<name>\S+) from (?P<client>\S+)")
DHCP = re.compile(r"(?P<what>DHCPACK|DHCPOFFER|DHCPDISCOVER|DHCPREQUEST)\((?P<iface>[^)]+)\) (?P<rest>.*)")


class Dnsmasq:
    """One dnsmasq in a namespace, in the foreground, logging queries to a pipe read into the timeline."""

    def __init__(
        self,
        name: str,
        netns: str,
        listen: str,
        records: dict[str, str],
        workdir: Path,
        timeline: Timeline,
        dhcp_range: tuple[str, str] | None = None,
        dhcp_iface: str | None = None,
        router: str | None = None,
        ntp: str | None = None,
    ) -> None:
        self.name = name
        self.netns = netns
        self.listen = listen
        self.records = records
        self.workdir = workdir
        self.timeline = timeline
        self.dhcp_range = dhcp_range
        self.dhcp_iface = dhcp_iface
        self.router = router
        self.ntp = ntp
        self.daemon: Daemon | None = None
        self._reader: threading.Thread | None = None

    def argv(self) -> list[str]:
        args = [
            "dnsmasq",
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            f"--listen-address={self.listen}",
            "--log-queries",
            "--log-facility=-",
            f"--pid-file={self.workdir / 'dnsmasq.pid'}",
            "--user=root",
            "--group=root",
            "--log-dhcp",
            "--no-ping",
            "--domain-needed",
        ]
        args += [f"--host-record={name},{ip}" for name, ip in self.records.items()]
        if self.dhcp_range:
            lo, hi = self.dhcp_range
            args += [
                f"--dhcp-range={lo},{hi},255.255.255.0,1h",
                f"--dhcp-leasefile={self.workdir / 'leases'}",
                f"--dhcp-option=option:dns-server,{self.listen}",
                "--dhcp-authoritative",
            ]
            if self.router:
                args.append(f"--dhcp-option=option:router,{self.router}")
            if self.ntp:
                args.append(f"--dhcp-option=option:ntp-server,{self.ntp}")  # option 42
            if self.dhcp_iface:
                args.append(f"--interface={self.dhcp_iface}")
        return args

    def start(self, timeout: float = 5.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.daemon = Daemon(
            self.name,
            netns_command(self.netns, self.argv()),
            self.workdir / "dnsmasq.log",
            comm="dnsmasq",
            pipe_output=True,
        )
        self.daemon.start()
        self._reader = threading.Thread(target=self._read_log, name=f"{self.name}-log", daemon=True)
        self._reader.start()
        self.wait_ready(timeout)

    def _read_log(self) -> None:
        assert (
            self.daemon is not None and self.daemon.proc is not None and self.daemon.proc.stdout is not None
        )
        # ValueError: stop() closed the pipe after its bound for this reader to finish.
        with self.daemon.log_path.open("a", encoding="utf-8") as log, contextlib.suppress(ValueError):
            for raw in self.daemon.proc.stdout:
                line = raw.decode(errors="replace").rstrip()
                log.write(line + "\n")
                log.flush()
                if m := QUERY.search(line):
                    self.timeline.add(
                        Source.DNS,
                        DnsKind.QUERY,
                        dns=self.name,
                        server=self.listen,
                        name=m["name"],
                        qtype=m["qtype"],
                        client=m["client"],
                    )
                elif m := DHCP.search(line):
                    self.timeline.add(Source.DHCP, m["what"].lower(), server=self.name, detail=m["rest"])

    def wait_ready(self, timeout: float) -> None:
        """Ready when it answers a query for one of its own records (a real round trip in its namespace)."""
        from drivers.netns import run_in_netns
        from drivers.retry import poll

        probe = next(iter(self.records), "localhost")

        def answers() -> bool:
            assert self.daemon is not None
            self.daemon.check_alive()  # a daemon that died is not waited for
            try:
                run_in_netns(self.netns, dns.query.udp, dns.message.make_query(probe, "A"), self.listen, 0.05)
            except (TimeoutError, OSError, dns.exception.Timeout):
                return False
            return True

        if poll(answers, bool, timeout, every=0.05):
            return
        raise InfraError(
            f"{self.name}: dnsmasq on {self.listen} in {self.netns} did not answer in {timeout:g} s; "
            f"log {self.workdir / 'dnsmasq.log'}"
        )

    def stop(self) -> None:
        if self.daemon:
            self.daemon.terminate()  # the reader reads what is left and ends at EOF; the pipe is closed after
        if self._reader:
            self._reader.join(timeout=2)
        if self.daemon:
            self.daemon.stop()

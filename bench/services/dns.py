"""dnsmasq as the public DNS (with DHCP for the units' home link) and as the operator's private DNS.

Every query it logs becomes a `dns/query` timeline event, so plans can assert which DNS was asked and when:
at the time the query reached the namespace's kernel (a raw socket's receive stamp), not when the bench read
dnsmasq's log line, which on a loaded bench running many units is up to seconds later.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import threading
import time
from collections import defaultdict, deque
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype

from bench.errors import InfraError
from bench.events import DnsKind, Source
from bench.services.process import Daemon, netns_command
from bench.timeline import Timeline
from drivers.netns import socket_in_netns

SO_TIMESTAMP = getattr(socket, "SO_TIMESTAMP", 29)

# dnsmasq --log-queries lines: "query[A] isegw.operator.example from 198.51.100.23"
QUERY = re.compile(r"query\[(?P<qtype>\w+)\] (?P<name>\S+) from (?P<client>\S+)")
# The name wait_ready() asks for: a record of the DNS's own, so the bench's probes (a probe that timed out on a
# loaded machine is still logged, and may be read late) never read as a query for a name a unit asks.
PROBE = "ready.henb-bench.invalid"
DHCP = re.compile(r"(?P<what>DHCPACK|DHCPOFFER|DHCPDISCOVER|DHCPREQUEST)\((?P<iface>[^)]+)\) (?P<rest>.*)")


class QueryStamps:
    """When each UDP query to the DNS's address reached its namespace: a raw UDP socket there gets a copy of
    every UDP datagram delivered to that address, with the kernel's receive time. The log reader matches a
    logged query to the earliest unmatched copy with the same client, name and type."""

    def __init__(self, netns: str, address: str) -> None:
        self.sock = socket_in_netns(netns, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((address, 0))  # only what is addressed to the DNS (not DHCP's broadcasts)
        self.sock.setblocking(False)
        self.seen: dict[tuple[str, str, str], deque[float]] = defaultdict(deque)

    def _drain(self) -> None:
        while True:
            try:
                data, anc, _, _ = self.sock.recvmsg(65535, socket.CMSG_SPACE(16))
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # closed
                return
            stamp = next((struct.unpack("@qq", raw[:16]) for lvl, kind, raw in anc
                          if lvl == socket.SOL_SOCKET and kind == SO_TIMESTAMP and len(raw) >= 16), None)  # fmt: skip
            ihl = (data[0] & 0x0F) * 4 if data else 0
            if stamp is None or len(data) < ihl + 8 or struct.unpack("!H", data[ihl + 2 : ihl + 4])[0] != 53:
                continue
            try:
                msg = dns.message.from_wire(data[ihl + 8 :])
            except Exception:  # noqa: BLE001  # a malformed query: dnsmasq logs none either
                continue
            client = socket.inet_ntoa(data[12:16])
            for q in msg.question:
                name = q.name.to_text(omit_final_dot=True).lower()
                self.seen[(client, name, dns.rdatatype.to_text(q.rdtype))].append(stamp[0] + stamp[1] / 1e6)

    def take(self, client: str, name: str, qtype: str) -> float | None:
        """The receive time of the logged query: the earliest unmatched one so stamped, or None (a query over
        TCP, or one the socket's buffer lost)."""
        self._drain()
        stamps = self.seen.get((client, name.lower(), qtype))
        return stamps.popleft() if stamps else None

    def unmatched_until(self, cutoff: float) -> int:
        """Queries that reached the namespace by `cutoff` and wait for their log line."""
        self._drain()
        return sum(1 for stamps in self.seen.values() for t in stamps if t <= cutoff)

    def forget(self, cutoff: float) -> None:
        """Drop the stamps up to `cutoff` that no log line took (a query dnsmasq did not log)."""
        for key, stamps in list(self.seen.items()):
            self.seen[key] = deque(t for t in stamps if t > cutoff)

    def close(self) -> None:
        self.sock.close()


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
        self._stamps: QueryStamps | None = None
        self._logged = threading.Condition()  # held while a logged query is matched and goes on the timeline

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
        args += [f"--host-record={name},{ip}" for name, ip in {PROBE: self.listen, **self.records}.items()]
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
        # Only once dnsmasq answers: a probe it never received would leave a stamp for a later query to take.
        self._stamps = QueryStamps(self.netns, self.listen)

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
                    with self._logged:
                        at = self._stamps.take(m["client"], m["name"], m["qtype"]) if self._stamps else None
                        if m["name"] != PROBE:  # the bench's own readiness probe is not a unit's query
                            self.timeline.add(
                                Source.DNS,
                                DnsKind.QUERY,
                                at=at,
                                dns=self.name,
                                server=self.listen,
                                name=m["name"],
                                qtype=m["qtype"],
                                client=m["client"],
                            )
                        self._logged.notify_all()
                elif m := DHCP.search(line):
                    self.timeline.add(Source.DHCP, m["what"].lower(), server=self.name, detail=m["rest"])

    def caught_up(self, timeout: float) -> bool:
        """Wait until every query that reached this DNS by now is on the timeline: the bench reads dnsmasq's log
        late when it is busy (many units), so a plan asking "was there a query before X?" asks this first
        instead of guessing a delay. False when `timeout` passed first (those queries are left to come)."""
        if self._stamps is None:
            return True
        stamps, cutoff = self._stamps, time.time()
        with self._logged:
            if self._logged.wait_for(lambda: stamps.unmatched_until(cutoff) == 0, timeout):
                return True
            stamps.forget(cutoff)  # not to wait for them again
            return False

    def wait_ready(self, timeout: float) -> None:
        """Ready when it answers a query for its own probe record (a real round trip in its namespace)."""
        from drivers.netns import run_in_netns
        from drivers.retry import poll

        def answers() -> bool:
            assert self.daemon is not None
            self.daemon.check_alive()  # a daemon that died is not waited for
            try:
                run_in_netns(self.netns, dns.query.udp, dns.message.make_query(PROBE, "A"), self.listen, 0.05)
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
        if self._stamps:
            self._stamps.close()

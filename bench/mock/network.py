"""The mock unit's WAN side: DHCP lease, address and routes, DNS lookups, NTP, and the traffic a buggy unit
sends in clear (syslog, a leaked packet)."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
from collections.abc import Callable

from bench.knobs import Knob
from bench.mock import dhcp
from bench.mock.config import MockConfig
from bench.mock.dnsquery import resolve_a

NTP_WAIT = 1.0  # s: how long boot waits for the NTP answer


class Network:
    """The unit's WAN port as `cfg` (its factory programming) describes it; `knobs` bend the lookups."""

    def __init__(self, cfg: MockConfig, knobs: set[str], log: Callable[[str], None]) -> None:
        self.cfg = cfg
        self.knobs = knobs
        self.log = log

    def dhcp(self) -> dict[str, str]:
        return dhcp.lease(self.cfg.wan)

    def configure_wan(self, lease: dict[str, str]) -> None:
        # iproute2 rather than pyroute2: four commands once per boot do not need a library in the mock's memory.
        wan = self.cfg.wan
        plen = ipaddress.IPv4Network(f"0.0.0.0/{lease['mask']}").prefixlen
        commands = [
            # A unit boots with no address: whatever the previous power-on configured is gone.
            ["ip", "addr", "flush", "dev", wan],
            ["ip", "addr", "add", f"{lease['ip']}/{plen}", "dev", wan],
            ["ip", "route", "replace", "default", "via", lease["router"]],
            # Never send to the operator core in clear while a tunnel is being replaced.
            *(["ip", "route", "replace", "unreachable", net] for net in self.cfg.protected),
        ]
        for argv in commands:
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            if done.returncode:
                raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")

    async def resolve(self, name: str, server: str) -> str:
        try:
            ipaddress.IPv4Address(name)
            return name
        except ValueError:
            pass
        for _ in range(5):
            try:
                address = await resolve_a(name, server)
            except TimeoutError:
                continue
            if address is not None:
                self.log(f"dns: {name} -> {address} (asked {server})")
                return address
            self.log(f"dns: {name} not found at {server}")
            raise LookupError(name)
        raise LookupError(name)

    async def lookup(self, name: str, server: str, knob: Knob) -> str:
        """Resolve like a careful unit, or (with `knob`) use a cached address without asking."""
        if knob in self.knobs:
            ip: str = self.cfg.cached_ips[name]
            self.log(f"dns: skipped, using cached IP {ip} for {name}")
            return ip
        return await self.resolve(name, server)

    def set_clock(self, server: str) -> None:
        """Ask the NTP server DHCP gave (a real unit sets its clock to validate certificates); a short bound,
        so a network without NTP does not hold up the boot."""
        from bench.services.ntp import ntp_query

        if not server:
            self.log("ntp: no server offered by DHCP")
            return
        stratum = ntp_query(server, NTP_WAIT)
        self.log(f"ntp: {server} answered, stratum {stratum}" if stratum else f"ntp: no answer from {server}")

    def syslog(self, server: str) -> None:
        """Not operator traffic, but not on the outer-link list either: one syslog message in clear."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"<14>henb: booted", (server, 514))
        self.log(f"syslog: sent a message to {server}:514")

    def leak(self) -> None:
        """A unit bug: one packet for the core sent straight out of the WAN port, bypassing the tunnel."""
        from scapy.layers.inet import IP, UDP
        from scapy.layers.l2 import Ether
        from scapy.sendrecv import sendp

        sendp(
            Ether(dst="ff:ff:ff:ff:ff:ff")
            / IP(dst=self.cfg.leak_to)
            / UDP(sport=40000, dport=7547)
            / b"cleartext",
            iface=self.cfg.wan,
            verbose=0,
        )
        self.log("bug: sent a cleartext packet to the core")

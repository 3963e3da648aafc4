"""The whole world around the units: namespaces, links, daemons and servers, brought up in order and torn
down on every exit path. One Initial HeMS, in the core and/or on the internet, as the units need it.

  unit0 ns --(home bridge)-- inet ns (DHCP, DNS, NTP, ----+-- isegw ns (charon) --+-- core ns (private DNS,
  unit1 ns --/               public Initial HeMS)         +-- ssegw ns (charon) --+   HeMSs, MME stand-in)
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyroute2 import IPRoute, netns

from bench.errors import ConfigError, InfraError
from bench.events import BenchKind, Source
from bench.hems.server import Hems
from bench.hems.tls import PeerCertificates
from bench.httpauth import Authenticator
from bench.impostors import SEGW_ROLES, Impostor, Missing, impostors
from bench.inventory import Inventory, is_ip
from bench.network.hems_certs import HemsCertificates
from bench.network.netns import in_netns, run_in_netns, socket_in_netns
from bench.network.state import RunState, leftovers, state_path
from bench.operator_pki import load_pki, load_unit_trust, operator_names
from bench.pki import CertFiles, CertificateAuthority, rogue_ca
from bench.services.dns import Dnsmasq
from bench.services.fileserver import FileServer
from bench.services.mme import MmeStandIn
from bench.services.ntp import Chronyd
from bench.services.segw import SeGW
from bench.timeline import Timeline


def _sysctl(path: str, value: str) -> None:
    with open(path, "w") as fh:
        fh.write(value)


def _host(net: ipaddress.IPv4Network, i: int) -> str:
    return str(net.network_address + i)


@dataclass(frozen=True)
class Names:
    """Every namespace and link name, all carrying the bench prefix."""

    prefix: str

    def ns(self, role: str) -> str:
        return f"{self.prefix}{role}"

    def unit_ns(self, index: int) -> str:
        return f"{self.prefix}unit{index}"

    def link(self, here: str, there: str) -> str:
        return f"{self.prefix}{here}-{there}"

    def unit_port(self, index: int) -> str:
        """The home-bridge end (in the internet namespace) of mock unit `index`'s veth."""
        return self.link("in", f"u{index}")


class Topology:
    """Build with `up()`, remove with `down()` (idempotent); use as a context manager."""

    ROLES = ("inet", "isegw", "ssegw", "core")

    def __init__(self, inventory: Inventory, workdir: Path, timeline: Timeline) -> None:
        self.inv = inventory
        self.net = inventory.network
        self.op = inventory.operator
        self.names = Names(inventory.bench.prefix)
        self.workdir = workdir
        self.timeline = timeline
        self.state = RunState(state_path(inventory.bench.state_dir, self.names.prefix), self.names.prefix)
        self.services: list[Any] = []
        self.hems: dict[str, Hems] = {}
        self.segw: dict[str, SeGW] = {}
        self.ca: CertificateAuthority | None = None
        self.rogue_ca: CertificateAuthority | None = None
        self.timings: dict[str, float] = {}
        self._fileserver: FileServer | None = None  # started on first use (the `fileserver` property)
        self._fileserver_lock = threading.Lock()
        self._down = False
        self.hems_certs: HemsCertificates | None = None  # the HTTPS HeMSs' certificates, made with the PKI

    @property
    def public_initial_hems(self) -> bool:
        """Some unit's Initial HeMS is on the internet (5.1.2.3): it listens there too, over TLS."""
        return "public" in self.inv.initial_hems_accesses()

    @property
    def private_initial_hems(self) -> bool:
        """Some unit's Initial HeMS is behind the Initial SeGW (5.1.2.2): it listens in the core too."""
        return "private" in self.inv.initial_hems_accesses()

    @property
    def hems_keylog(self) -> Path:
        """The Initial HeMS's TLS key log (NSS format) when it is on the internet (5.1.2.3)."""
        return self.workdir / "initial-hems-tls-keys.log"

    # -- addresses -------------------------------------------------------------------------------------
    @property
    def home_gw(self) -> str:
        return _host(self.net.home, 1)

    @property
    def isegw_outer(self) -> str:
        return _host(self.net.initial_segw_outer, 2)

    @property
    def ssegw_outer(self) -> str:
        return _host(self.net.serving_segw_outer, 2)

    def public_records(self) -> dict[str, str]:
        recs = {}
        pairs = [(self.op.initial_segw, self.isegw_outer), (self.op.serving_segw, self.ssegw_outer)]
        if self.public_initial_hems:
            pairs.append((self.op.initial_hems, str(self.net.public_hems)))
        for fqdn, ip in pairs:
            if not is_ip(fqdn):
                recs[fqdn] = ip
        return recs

    def cached_ips(self, access: str | None = None) -> dict[str, str]:
        """Name to address, as a unit that skips DNS would have cached it (the mock's knobs use this); the
        Initial HeMS's as a unit with that Initial HeMS access (default the operator's) knows it."""
        ips = {**self.public_records(), **self.private_records()}
        if not is_ip(self.op.initial_hems):
            public = (access or self.op.initial_hems_access) == "public"
            ips[self.op.initial_hems] = str(self.net.public_hems if public else self.net.initial_hems)
        return ips

    def dns_caught_up(self, timeout: float) -> bool:
        """Every DNS query that reached the bench's DNS servers by now is on the timeline (bench.services.dns)."""
        deadline = time.monotonic() + timeout
        return all(
            [
                d.caught_up(max(0.0, deadline - time.monotonic()))
                for d in self.services
                if isinstance(d, Dnsmasq)
            ]
        )

    def mme_caught_up(self, timeout: float) -> bool:
        """Every SCTP packet that reached the MME stand-in by now is on the timeline (bench.services.mme)."""
        return all([m.caught_up(timeout) for m in self.services if isinstance(m, MmeStandIn)])

    def private_records(self) -> dict[str, str]:
        """Split horizon: the private DNS answers the Initial HeMS's FQDN with its address in the core, the
        public DNS (public_records) with its address on the internet, each when some unit needs it."""
        recs = {}
        pairs = [(self.op.serving_hems, self.net.serving_hems), (self.op.fileserver, self.net.fileserver)]
        if self.private_initial_hems:
            pairs.insert(0, (self.op.initial_hems, self.net.initial_hems))
        for fqdn, ip in pairs:
            if not is_ip(fqdn):
                recs[fqdn] = str(ip)
        return recs

    # -- bring-up --------------------------------------------------------------------------------------
    def __enter__(self) -> Topology:
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def up(self) -> None:
        t0 = time.monotonic()
        left = leftovers(self.names.prefix)
        if left["namespaces"] or left["links"]:
            raise InfraError(
                f"an earlier run left {', '.join(left['namespaces'] + left['links'])} behind; "
                f"run `henb-bench clean` first"
            )
        if self.workdir.exists():
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(parents=True)
        self._pki()  # a certificate that does not match its name is a ConfigError: nothing is made yet
        self._down = False
        self.state.save()
        self._namespaces()
        self.timings["network"] = time.monotonic() - t0
        t1 = time.monotonic()
        self._services()
        self.timings["services"] = time.monotonic() - t1
        self.timings["up"] = time.monotonic() - t0
        self.timeline.add(Source.BENCH, BenchKind.TOPOLOGY_UP, seconds=round(self.timings["up"], 3))

    def _new_ns(self, name: str) -> None:
        netns.create(name)
        self.state.add_namespace(name)
        # No IPv6 in the bench's namespaces: MLD and RS packets would only clutter the captures.
        for path in (
            "/proc/sys/net/ipv6/conf/all/disable_ipv6",
            "/proc/sys/net/ipv6/conf/default/disable_ipv6",
        ):
            run_in_netns(name, _sysctl, path, "1")

    def _veth(self, ipr: IPRoute, a_ns: str, a: str, b_ns: str, b: str) -> None:
        ipr.link("add", ifname=a, kind="veth", peer={"ifname": b, "net_ns_fd": b_ns})
        ipr.link("set", index=ipr.link_lookup(ifname=a)[0], net_ns_fd=a_ns)

    def _namespaces(self) -> None:
        n = self.names
        for role in self.ROLES:
            self._new_ns(n.ns(role))
        with IPRoute() as ipr:
            self._veth(ipr, n.ns("inet"), n.link("in", "is"), n.ns("isegw"), n.link("is", "in"))
            self._veth(ipr, n.ns("inet"), n.link("in", "ss"), n.ns("ssegw"), n.link("ss", "in"))
            self._veth(ipr, n.ns("isegw"), n.link("is", "co"), n.ns("core"), n.link("co", "is"))
            self._veth(ipr, n.ns("ssegw"), n.link("ss", "co"), n.ns("core"), n.link("co", "ss"))
        t = self.net.transit
        isegw_out, ssegw_out = self.net.initial_segw_outer, self.net.serving_segw_outer
        plan: dict[str, list[tuple[str, str, int]]] = {
            "inet": [
                (n.link("in", "is"), _host(isegw_out, 1), 30),
                (n.link("in", "ss"), _host(ssegw_out, 1), 30),
            ],
            "isegw": [(n.link("is", "in"), self.isegw_outer, 30), (n.link("is", "co"), _host(t, 1), 30)],
            "ssegw": [(n.link("ss", "in"), self.ssegw_outer, 30), (n.link("ss", "co"), _host(t, 5), 30)],
            "core": [(n.link("co", "is"), _host(t, 2), 30), (n.link("co", "ss"), _host(t, 6), 30)],
        }
        core_lo = [
            str(a)
            for a in (
                self.net.private_dns,
                self.net.initial_hems,
                self.net.serving_hems,
                self.net.mme,
                self.net.factory_mme,
                self.net.fileserver,
            )
        ]
        for role, addrs in plan.items():
            in_netns(n.ns(role), self._configure, role, addrs, core_lo)
            if role != "core":
                run_in_netns(n.ns(role), _sysctl, "/proc/sys/net/ipv4/ip_forward", "1")

    def _configure(
        self, ns: IPRoute, role: str, addrs: list[tuple[str, str, int]], core_lo: list[str]
    ) -> None:
        n, t = self.names, self.net.transit
        isegw_out, ssegw_out = self.net.initial_segw_outer, self.net.serving_segw_outer
        ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")
        for ifname, addr, plen in addrs:
            idx = ns.link_lookup(ifname=ifname)[0]
            ns.addr("add", index=idx, address=addr, prefixlen=plen)
            ns.link("set", index=idx, state="up")
        if role == "inet":
            ns.link("add", ifname=n.link("in", "home"), kind="bridge")
            br = ns.link_lookup(ifname=n.link("in", "home"))[0]
            ns.addr("add", index=br, address=self.home_gw, prefixlen=self.net.home.prefixlen)
            ns.link("set", index=br, state="up")
            # The Initial HeMS on the public internet (5.1.2.3) answers on this address.
            ns.addr(
                "add", index=ns.link_lookup(ifname="lo")[0], address=str(self.net.public_hems), prefixlen=32
            )
        if role in ("isegw", "ssegw"):
            # charon's routes to inner addresses need a source inside the protected range.
            lo = ns.link_lookup(ifname="lo")[0]
            ns.addr("add", index=lo, address=_host(self.net.core, 1 if role == "isegw" else 2), prefixlen=32)
        if role == "isegw":
            ns.route("add", dst="0.0.0.0/0", gateway=_host(isegw_out, 1))
            ns.route("add", dst=str(self.net.core), gateway=_host(t, 2))
            # Safety: while an SA is replaced its routes vanish; never forward pool traffic in clear.
            ns.route("add", dst=str(self.net.initial_pool), type="unreachable")
        elif role == "ssegw":
            ns.route("add", dst="0.0.0.0/0", gateway=_host(ssegw_out, 1))
            ns.route("add", dst=str(self.net.core), gateway=_host(t, 6))
            for pool in self.net.serving_pools:
                ns.route("add", dst=str(pool), type="unreachable")
        elif role == "core":
            lo = ns.link_lookup(ifname="lo")[0]
            for addr in core_lo:
                ns.addr("add", index=lo, address=addr, prefixlen=32)
            # Connections the core opens toward units (connection requests) must leave from an address
            # inside the protected core range, or the SeGW's traffic selectors drop them.
            ns.route(
                "add", dst=str(self.net.initial_pool), gateway=_host(t, 1), prefsrc=str(self.net.initial_hems)
            )
            for pool in self.net.serving_pools:
                ns.route("add", dst=str(pool), gateway=_host(t, 5), prefsrc=str(self.net.serving_hems))

    def _pki(self) -> None:
        """The operator PKI: generated, or the CA and certificates a physical unit was provisioned with
        (operator.pki), each server certificate checked against the exact name the unit is given; and the
        trust anchors for the units' device certificates (operator CA, unit_trust, a mock vendor CA)."""
        pki = load_pki(self.op.pki, operator_names(self.op), self.workdir)
        self.ca_cert = pki.ca_cert
        self.ca = pki.issuer
        mocks = [n for n, u in self.inv.units.items() if u.kind == "mock" and not u.mock.vendor_ca]
        if self.ca is None and mocks:
            raise ConfigError(
                f"operator.pki: mock unit {mocks[0]} needs a certificate from the operator CA, and there is no "
                f"ca_key to issue it; give ca_key, or set units.{mocks[0]}.mock.vendor_ca: true"
            )
        wrong = self.op.initial_hems_cert_name
        if wrong and self.ca is None:
            raise ConfigError(
                "operator.initial_hems_cert_name: the bench needs operator.pki.ca_key to issue it"
            )
        # A second CA nobody trusts: the mock unit's 'untrusted_cert' knob presents a certificate from it.
        self.rogue_ca = rogue_ca(self.workdir / "pki-rogue")
        trust = [self.ca_cert.read_bytes()]
        trust += load_unit_trust(self.op.pki.unit_trust, "operator.pki.unit_trust")
        for name, unit in self.inv.units.items():
            trust += load_unit_trust(unit.unit_trust, f"units.{name}.unit_trust")
        # A vendor CA for mock units with mock.vendor_ca, its root trusted as a lab trusts the vendor's root.
        self.vendor_ca: CertificateAuthority | None = None
        if any(u.kind == "mock" and u.mock.vendor_ca for u in self.inv.units.values()):
            self.vendor_ca = CertificateAuthority(
                self.workdir / "pki-vendor", name="henb-bench mock vendor root"
            )
            trust.append(self.vendor_ca.files.cert.read_bytes())
        self.unit_trust = trust
        self.certs: dict[str, CertFiles] = {
            "isegw": pki.certs["initial_segw"],
            "ssegw": pki.certs["serving_segw"],
            "fileserver": pki.certs["fileserver"],
            "initial-hems": self.ca.issue(wrong) if wrong and self.ca else pki.certs["initial_hems"],
            "serving-hems": pki.certs["serving_hems"],
        }
        names = {"initial-hems": self.op.initial_hems, "serving-hems": self.op.serving_hems}
        self.hems_certs = HemsCertificates(self.workdir, self.timeline, names, self.ca, self.rogue_ca)
        # What each SeGW presents to a unit before itself, for the unit to refuse (TS 33.320).
        self.impostors: dict[str, tuple[list[Impostor], list[Missing]]] = {
            key: impostors(role, getattr(self.op, role), self.certs[key], self.ca, self.rogue_ca,
                           self.op.pki.refused.get(role), self.ca_cert, self.op.ike_proposals,
                           self.workdir / "pki-impostors")
            for key, role in SEGW_ROLES.items()
        }  # fmt: skip

    def _services(self) -> None:
        n, net = self.names, self.net
        ntp = Chronyd("ntp", n.ns("inet"), self.home_gw, self.workdir / "ntp")
        self.services.append(ntp)
        ntp.start()
        self._track_pid(ntp.daemon.pid if ntp.daemon else None, "chronyd", "NTP server")
        pub = Dnsmasq(
            "public-dns",
            n.ns("inet"),
            self.home_gw,
            self.public_records(),
            self.workdir / "public-dns",
            self.timeline,
            dhcp_range=(_host(net.home, 10), _host(net.home, 200)),
            dhcp_iface=n.link("in", "home"),
            router=self.home_gw,
            ntp=self.home_gw,
        )
        self.services.append(pub)
        pub.start()
        self._track_pid(pub.daemon.pid if pub.daemon else None, "dnsmasq", "public DNS + DHCP")
        priv = Dnsmasq(
            "private-dns",
            n.ns("core"),
            str(net.private_dns),
            self.private_records(),
            self.workdir / "private-dns",
            self.timeline,
        )
        self.services.append(priv)
        priv.start()
        self._track_pid(priv.daemon.pid if priv.daemon else None, "dnsmasq", "private DNS")
        core = [str(net.core)]
        for key, ip, ident, pools in (
            ("isegw", self.isegw_outer, self.op.initial_segw, [str(net.initial_pool)]),
            ("ssegw", self.ssegw_outer, self.op.serving_segw, [str(p) for p in net.serving_pools]),
        ):
            segw = SeGW(
                key,
                n.ns(key),
                ip,
                ident,
                core,
                pools,
                str(net.private_dns),
                self.workdir / key,
                self.timeline,
                self.op.ike_proposals,
                self.op.esp_proposals,
                clients=str(net.home),
            )
            self.services.append(segw)
            segw.start(self.unit_trust, self.certs[key])
            self._track_pid(segw.charon.pid, "charon", f"{key} charon")
            self.segw[key] = segw
        # Each unit's handshake gets the certificate shown to that unit (present_hems_cert), by its address.
        assert self.hems_certs is not None
        public_tls = serving_tls = None
        if self.public_initial_hems:
            # A deliberately wrong name is the operator's choice: do not insist that it matches.
            cert_id: str | None = self.op.initial_hems if self.op.initial_hems_cert_name is None else None
            public_tls = self.hems_certs.serve("initial-hems", self.certs["initial-hems"], cert_id)
        if self.op.serving_hems_tls:
            serving_tls = self.hems_certs.serve(
                "serving-hems", self.certs["serving-hems"], self.op.serving_hems
            )
        # One Initial HeMS, on each address some unit needs: in the core (plain HTTP through the Initial
        # SeGW's tunnel) and on the internet (HTTPS); one Serving HeMS in the core (HTTPS with serving_hems_tls).
        listeners: dict[str, list[tuple[str, ipaddress.IPv4Address, PeerCertificates | None]]] = {
            "initial-hems": [(n.ns("core"), net.initial_hems, None)] if self.private_initial_hems else [],
            "serving-hems": [(n.ns("core"), net.serving_hems, serving_tls)],
        }
        if self.public_initial_hems:
            listeners["initial-hems"].append((n.ns("inet"), net.public_hems, public_tls))
        for key, where in listeners.items():
            socks = []
            for ns_name, addr, _ in where:
                sock = socket_in_netns(ns_name, socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((str(addr), self.op.hems_port))
                sock.listen(128)
                socks.append(sock)
            hems = Hems(key, self.timeline, tls=where[0][2], auth=self.hems_authenticator())
            self.services.append(hems)
            # Threads inherit the namespace of the thread that creates them: started from inside the first
            # listener's namespace, the HeMS's own connections (connection requests) leave from there too.
            run_in_netns(where[0][0], hems.start, socks[0])
            for (_, _, tls), sock in zip(where[1:], socks[1:], strict=True):
                hems.listen(sock, tls)
            self.hems[key] = hems
        mme = MmeStandIn(n.ns("core"), self.timeline, self.op.s1_port, self.op.plmn,
                         self.op.s1_setup_failure, self.op.time_to_wait)  # fmt: skip
        self.services.append(mme)
        mme.start()

    @property
    def fileserver(self) -> FileServer:
        """The file server in the core, started when a plan first asks for it (before it names it to a unit):
        only 5.2.2 and 5.4 send a unit there, and its start (asyncssh, pyftpdlib, an SSH host key, two
        threads) was a third of a second of CPU in every run."""
        with self._fileserver_lock:
            if self._fileserver is None:
                if self._down:
                    raise InfraError("the file server was asked for after the bench was taken down")
                fs = FileServer(
                    self.names.ns("core"),
                    str(self.net.fileserver),
                    self.workdir / "fileserver",
                    self.timeline,
                    tls=self.certs["fileserver"],
                    hostname=self.op.fileserver,
                    # A second HTTPS port whose certificate (for the right name) comes from a CA no unit trusts:
                    # 5.2.2 and 5.4.2 send a unit there, and it must refuse it.
                    untrusted=self.rogue_ca.issue(self.op.fileserver, file="untrusted-fileserver")
                    if self.rogue_ca is not None
                    else None,
                )
                self.services.append(fs)
                run_in_netns(self.names.ns("core"), fs.start)
                self._fileserver = fs
            return self._fileserver

    def hems_bad_cert(self, kind: str, hems: str = "initial-hems") -> tuple[CertFiles, str]:
        """A certificate for `hems` that a careful unit refuses, made once per run, and how a failure describes
        it (bench.network.hems_certs.HemsCertificates.bad: `untrusted-ca`, `expired`, `wrong-name`)."""
        assert self.hems_certs is not None, "the topology is not up"
        return self.hems_certs.bad(hems, kind)

    def present_hems_cert(
        self, unit: str, kind: str | None, owns: Callable[[str], bool], hems: str = "initial-hems"
    ) -> str:
        """From now on `hems` (HTTPS: the Initial HeMS on the internet, the Serving HeMS with serving_hems_tls)
        presents to unit `unit` the bad certificate `kind` (hems_bad_cert), or its own again (None); returns
        how a failure describes what it presents. Chosen per connection by the client's address: `owns(address)`
        says whether it is this unit's (HemsCertificates.present)."""
        if self.hems_certs is None or hems not in self.hems:
            raise InfraError(f"the {hems} is not up")
        return self.hems_certs.present(hems, unit, kind, owns)

    def _track_pid(self, pid: int | None, comm: str, what: str) -> None:
        self.state.add_pid(pid, comm, what)

    # -- units -----------------------------------------------------------------------------------------
    def add_unit_port(self, index: int) -> tuple[str, str]:
        """A namespace for unit `index` with a veth on the home bridge; returns (namespace, WAN interface)."""
        n = self.names
        name = n.unit_ns(index)
        wan = n.link(f"u{index}", "wan")
        self._new_ns(name)
        with IPRoute() as ipr:
            self._veth(ipr, name, wan, n.ns("inet"), n.unit_port(index))
        self.plug_home(n.unit_port(index))

        def wake(ns: IPRoute) -> None:
            ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")
            ns.link("set", index=ns.link_lookup(ifname=wan)[0], state="up")

        in_netns(name, wake)
        return name, wan

    def hems_authenticator(self) -> Authenticator | None:
        """Basic or Digest challenges with each unit's credentials from the inventory (none: no challenge)."""
        users = {
            u.hems_credentials.username: u.hems_credentials.password.get_secret_value()
            for u in self.inv.units.values()
            if u.hems_credentials is not None
        }
        if self.op.hems_auth == "none" or not users:
            return None
        return Authenticator(self.op.hems_auth, users)

    def plug_home(self, ifname: str) -> None:
        """Put `ifname` (in the internet namespace) on the home link's bridge, where DHCP is served."""
        bridge = self.names.link("in", "home")

        def plug(ns: IPRoute) -> None:
            port = ns.link_lookup(ifname=ifname)[0]
            ns.link("set", index=port, master=ns.link_lookup(ifname=bridge)[0], state="up")

        in_netns(self.names.ns("inet"), plug)

    # -- teardown --------------------------------------------------------------------------------------
    def down(self) -> None:
        t0 = time.monotonic()
        errors = []
        with self._fileserver_lock:  # a file server being started is in `services` before this goes on
            self._down = True
        for svc in reversed(self.services):
            try:
                svc.stop()
            except Exception as exc:  # noqa: BLE001 - keep tearing down; report at the end
                errors.append(f"{type(svc).__name__}: {exc}")
        self.services.clear()
        self._fileserver = None
        from bench.network.state import clean

        clean(self.inv.bench.state_dir, self.names.prefix)
        # A namespace being made when the run was interrupted (pyroute2 mounts it from a child process) can
        # appear just after that sweep: look again, briefly.
        for _ in range(5):
            left = leftovers(self.names.prefix)
            if not (left["namespaces"] or left["links"]):
                break
            time.sleep(0.2)
            clean(self.inv.bench.state_dir, self.names.prefix)
        self.timings["down"] = time.monotonic() - t0
        if errors:
            raise InfraError("teardown: " + "; ".join(errors))

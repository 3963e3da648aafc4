"""Whose event is it: in a run with several units on one operator network, every event the shared services
report is attributed to the unit it concerns (by DeviceId, IKE identity, MAC or address), or to none. An
address not known yet is asked of the wire at once: a WAN address of the bridge port its MAC is behind, an
inner address of the SeGWs (which IKE SA holds it), so no unit's event is shown to every unit for want of a
report not read yet."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bench.ike import ike_id_matches
from bench.network.netns import in_netns

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$", re.I)
_IP = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
# Where each shared service's events say they came from (the first key present).
_ADDRESS_KEYS = {
    "hems": ("peer",),
    "dns": ("client",),
    "mme": ("peer", "src"),
    "ntp": ("peer",),
    "fileserver": ("peer",),
}


@dataclass(frozen=True)
class UnitKey:
    """What the bench knows of a unit from the inventory and the bench's own wiring, never from the unit."""

    name: str
    oui: str
    serial: str
    ike_id: str
    port: str  # its WAN link on the home bridge (in the internet namespace)


def bridge_macs(netns: str) -> dict[str, str]:
    """MAC -> bridge port name, from the home bridge's forwarding database (what the switch learned)."""

    def dump(ipr: Any) -> dict[str, str]:
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
        return {
            str(msg.get_attr("NDA_LLADDR")).lower(): names.get(msg["ifindex"], "")
            for msg in ipr.fdb("dump")
            if msg.get_attr("NDA_LLADDR")
        }

    return in_netns(netns, dump)


def neighbour_macs(netns: str) -> dict[str, str]:
    """IPv4 address -> MAC, from the namespace's neighbour (ARP) table: who a connection's peer is on the wire."""

    def dump(ipr: Any) -> dict[str, str]:
        return {
            str(msg.get_attr("NDA_DST")): str(msg.get_attr("NDA_LLADDR")).lower()
            for msg in ipr.get_neighbours(family=socket.AF_INET)
            if msg.get_attr("NDA_DST") and msg.get_attr("NDA_LLADDR")
        }

    return in_netns(netns, dump)


class Attributor:
    """Learns each unit's addresses as the events come (its DHCP lease by the bridge port its MAC is behind,
    its inner addresses from its IKE SAs) and attributes every event; installed as `Timeline.attributor`."""

    def __init__(
        self,
        units: list[UnitKey],
        macs: Callable[[], dict[str, str]],
        neighbours: Callable[[], dict[str, str]] | None = None,
        sas: Callable[[], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.units = {u.name: u for u in units}
        self._by_port = {u.port: u.name for u in units}
        self._macs = macs
        self._neighbours = neighbours
        self._sas = sas
        self._mac_owner: dict[str, str] = {}
        self._addr_owner: dict[str, str] = {}
        self._stale: set[str] = (
            set()
        )  # inner addresses whose SA went down (kept, as their packets arrive late)
        self._addrs: dict[str, set[str]] = {u.name: set() for u in units}
        self._inner: dict[str, set[str]] = {u.name: set() for u in units}
        self._lock = threading.Lock()

    def addresses(self, unit: str) -> set[str]:
        """Every address the unit had in this run (WAN and inner)."""
        with self._lock:
            return set(self._addrs[unit])

    def inner_addresses(self, unit: str) -> set[str]:
        """The unit's addresses inside its IPsec tunnels (what the inner capture is split by)."""
        with self._lock:
            return set(self._inner[unit])

    def unit_at(self, addr: str) -> str | None:
        """The unit whose address `addr` is (a connection's peer, at once): learned from its lease or SAs, else
        found now by the MAC the neighbour table has for it and the bridge port that MAC is behind (a unit
        that connects before its lease's log line is read), else by the SeGW IKE SA that holds it as an inner
        address (a unit that speaks through its tunnel before the SeGW's report of the SA is read); None for
        no unit's."""
        with self._lock:
            owner = self._by_addr(addr)
        if owner is not None or not _IP.match(addr):
            return owner
        return self._by_port_of(addr) or self._by_sa_of(addr)

    def _by_port_of(self, addr: str) -> str | None:
        if self._neighbours is None:
            return None
        try:
            mac = self._neighbours().get(addr)
            port = self._macs().get(mac) if mac else None
        except Exception:  # noqa: BLE001  # not known to be a unit's: the caller treats it as no unit's
            return None
        owner = self._by_port.get(port or "")
        if owner is not None and mac is not None:
            with self._lock:
                self._mac_owner.setdefault(mac, owner)
                if addr not in self._addr_owner:
                    self._learn(owner, addr)
        return owner

    def _by_sa_of(self, addr: str) -> str | None:
        """Asked of the SeGWs (outside the lock: a SeGW holding its vici lock may be recording an event)."""
        if self._sas is None:
            return None
        try:
            holding = [sa for sa in self._sas() if addr in (sa.get("remote_vips") or ())]
        except Exception:  # noqa: BLE001  # a SeGW that cannot say: no unit's, as before
            return None
        with self._lock:
            owners = {self._segw("child-up", sa) for sa in holding}
        return owners.pop() if len(owners) == 1 else None

    def __call__(self, source: str, kind: str, data: dict[str, Any]) -> str | None:
        source, kind = str(source), str(kind)
        with self._lock:
            if source == "segw":  # also when named: an IKE SA's addresses are learned from its report
                return self._segw(kind, data)
            named = self._named(source, data)
            if named is not None:
                return named
            if source == "dhcp":
                return self._dhcp(kind, str(data.get("detail", "")))
            addr = self._where(source, data)
            owner = self._by_addr(addr)
            stale = addr in self._stale
        if addr is None:
            return None
        if stale:
            # From an inner address whose SA went down: still its unit's (packets sent just before arrive
            # late), unless an SA the SeGW has not reported yet holds it for another unit now.
            return self._by_sa_of(addr) or owner
        if owner is None and not data.get("unit"):
            # From an address not known yet (a HeMS event with a wrong DeviceId or none, an SCTP INIT or a DNS
            # query through a tunnel whose SA the SeGW has not reported yet): the wire says whose it is.
            return self.unit_at(addr)
        return owner

    def _named(self, source: str, data: dict[str, Any]) -> str | None:
        """The unit an event names: by the bench's own name for it, or by the DeviceId of a HeMS event."""
        named = data.get("unit")
        if isinstance(named, str) and named in self.units:
            return named
        if source == "hems":
            serial, oui = data.get("serial"), data.get("oui")
            for u in self.units.values():
                if serial == u.serial and oui in (None, "", u.oui):
                    return u.name
        return None

    @staticmethod
    def _where(source: str, data: dict[str, Any]) -> str | None:
        """Where an event of a shared service came from (an address, or a connection request's URL): a unit
        that named itself wrongly, or not at all, is still known by it."""
        addr = next((data[k] for k in _ADDRESS_KEYS.get(source, ()) if data.get(k)), None)
        return addr if isinstance(addr, str) else None

    def _learn(self, unit: str | None, addr: Any, inner: bool = False) -> None:
        if unit is None or not isinstance(addr, str) or not _IP.match(addr):
            return
        self._addr_owner[addr] = unit
        self._addrs[unit].add(addr)
        if inner:
            self._inner[unit].add(addr)
            self._stale.discard(addr)

    def _by_addr(self, addr: Any) -> str | None:
        if not isinstance(addr, str):
            return None
        host = urlsplit(addr).hostname if "://" in addr else addr  # a connection request's peer is its URL
        return self._addr_owner.get(host or "")

    def _segw(self, kind: str, data: dict[str, Any]) -> str | None:
        remote, named = data.get("remote_id"), data.get("unit")
        # An impostor's connection is one unit's: its events name it (bench/services/segw.py).
        owner = named if isinstance(named, str) and named in self.units else None
        if owner is None:
            owner = next((u.name for u in self.units.values() if remote == u.ike_id), None)
        if owner is None:
            # A wrong identity still comes from the unit's own WAN address.
            owner = self._by_addr(data.get("remote_host"))
        if owner is None:
            matching = [u.name for u in self.units.values() if ike_id_matches(u.ike_id, remote)]
            owner = matching[0] if len(matching) == 1 else None
        if kind in ("ike-down", "child-down"):
            for vip in data.get("remote_vips") or ():
                if isinstance(vip, str) and self._addr_owner.get(vip) == owner:
                    self._stale.add(vip)
        if kind in ("ike-up", "child-up"):
            # Kept after the SA goes down: packets sent through it just before still arrive (the MME reports
            # them late); an address the pool gives to another unit is that unit's from its SA's report on.
            self._learn(owner, data.get("remote_host"))
            for vip in data.get("remote_vips") or ():
                self._learn(owner, vip, inner=True)
        return owner

    def _dhcp(self, kind: str, detail: str) -> str | None:
        words = detail.split()
        mac = next((w.lower() for w in words if _MAC.match(w)), None)
        if mac is None:
            return None
        owner = self._mac_owner.get(mac)
        if owner is None:
            try:
                port = self._macs().get(mac)
            except Exception:  # noqa: BLE001  # unattributed (shown to every unit), never a lost event
                port = None
            owner = self._by_port.get(port or "")
            if owner is not None:
                self._mac_owner[mac] = owner
        if kind in ("dhcpoffer", "dhcpack"):
            self._learn(owner, next((w for w in words if _IP.match(w)), None))
        return owner

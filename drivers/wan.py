"""The unit's WAN port: a physical NIC moved into the unit's home namespace for a run and given back after.

`restore()` finds a NIC a killed run left inside one of the bench's namespaces and brings it home.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Protocol

from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

from drivers.errors import EquipmentError
from drivers.events import EventSink
from drivers.netns import in_netns

if TYPE_CHECKING:
    from drivers.config import NicWan

IFF_UP = 0x1


class WanPort(Protocol):
    ifname: str

    def attach(self) -> None: ...

    def detach(self) -> None: ...


class NicWanPort:
    """Moves `ifname` from the bench's namespace into `netns` and back. pyroute2 sockets are made and closed
    inside each call (they work only in the thread that made them); namespaces are entered by a thread, as
    pyroute2's NetNS forks, which can deadlock once the bench has threads."""

    def __init__(
        self, ifname: str, netns_name: str, events: EventSink | None = None, unit: str | None = None
    ):
        self.ifname = ifname
        self.netns = netns_name
        self.events = events
        self.unit = unit
        self._was_up = False

    def attach(self) -> None:
        if self.netns not in netns.listnetns():
            raise EquipmentError(f"WAN port {self.ifname}: namespace {self.netns} does not exist")
        with IPRoute() as ipr:
            link = _link(ipr, self.ifname)
            if link is None:
                where = find_nic(self.ifname)
                hint = (
                    f"it is inside namespace {where}, left by an earlier run: run `henb-bench clean`"
                    if where
                    else "no such interface (check the inventory's wan.ifname)"
                )
                raise EquipmentError(f"WAN port {self.ifname} is not on the bench host: {hint}")
            self._was_up = bool(link["flags"] & IFF_UP)
            try:
                ipr.link("set", index=link["index"], net_ns_fd=self.netns)
            except NetlinkError as e:
                raise EquipmentError(f"cannot move WAN port {self.ifname} into {self.netns}: {e}") from e
        in_netns(
            self.netns, lambda ipr: ipr.link("set", index=ipr.link_lookup(ifname=self.ifname)[0], state="up")
        )
        self._event("wan-attached")

    def detach(self) -> None:
        """Give the NIC back to the host; a no-op when it is already there."""
        moved_from = _move_home(self.ifname, [self.netns])
        if moved_from is None:
            with IPRoute() as ipr:
                if _link(ipr, self.ifname) is None:
                    raise EquipmentError(f"WAN port {self.ifname} is neither in {self.netns} nor on the host")
        if self._was_up:
            with IPRoute() as ipr:
                ipr.link("set", ifname=self.ifname, state="up")
        self._event("wan-detached")

    def _event(self, kind: str) -> None:
        if self.events is not None:
            self.events.add("bench", kind, unit=self.unit, ifname=self.ifname, netns=self.netns)


def probe_nic(ifname: str, prefix: str = "hb-") -> str:
    """Whether the NIC is on the bench host, ready to be moved; EquipmentError when missing or inside a namespace."""
    with IPRoute() as ipr:
        link = _link(ipr, ifname)
    if link is None:
        where = find_nic(ifname, prefix)
        if where:
            raise EquipmentError(
                f"WAN port {ifname} is inside namespace {where} (a run is using it, or left it: "
                "`henb-bench clean`)"
            )
        raise EquipmentError(f"WAN port {ifname}: no such interface on the bench host")
    up = "up" if link["flags"] & IFF_UP else "down"
    carrier = link.get_attr("IFLA_CARRIER")
    cable = "" if carrier is None else ", link detected" if carrier else ", no link (cable, or unit off)"
    return f"present, {up}{cable}"


def find_nic(ifname: str, prefix: str = "") -> str | None:
    """The namespace (whose name starts with `prefix`) holding `ifname`, or None."""
    for name in netns.listnetns():
        if not name.startswith(prefix):
            continue
        try:
            if in_netns(name, lambda ipr: bool(ipr.link_lookup(ifname=ifname))):
                return str(name)
        except (OSError, NetlinkError, EquipmentError):
            continue  # a namespace removed while we looked
    return None


def restore(ifname: str, prefix: str = "hb-") -> str | None:
    """Move `ifname` back to the host from any namespace named `prefix`*; return where it was, or None."""
    return _move_home(ifname, [n for n in netns.listnetns() if n.startswith(prefix)])


def _move_home(ifname: str, namespaces: list[str]) -> str | None:
    def move(ipr: Any) -> bool:
        idx = ipr.link_lookup(ifname=ifname)
        if idx:
            # The kernel resolves the pid to the process's main thread, which stays in the bench's netns.
            ipr.link("set", index=idx[0], net_ns_pid=os.getpid())
        return bool(idx)

    for name in namespaces:
        try:
            if in_netns(name, move):
                return name
        except FileNotFoundError:
            continue  # removed while we looked
        except NetlinkError as e:
            raise EquipmentError(
                f"cannot move WAN port {ifname} from namespace {name} back to the host: {e}"
            ) from e
    return None


def _link(ipr: Any, ifname: str) -> Any:
    idx = ipr.link_lookup(ifname=ifname)
    return ipr.get_links(idx[0])[0] if idx else None


def build(cfg: NicWan, events: EventSink | None, unit: str | None, netns: str) -> NicWanPort:
    """The WAN port of a unit's `wan: {driver: nic}` entry, to be moved into `netns` (attach())."""
    return NicWanPort(cfg.ifname, netns, events, unit)

"""Tests for drivers/wan.py: a veth stands in for the physical NIC; real namespaces, cleaned up in finally."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest
from pyroute2 import IPRoute, netns

from bench.network.netns import in_netns
from bench.timeline import Timeline
from drivers.errors import EquipmentError
from drivers.wan import NicWanPort, find_nic, probe_nic, restore
from tests.support import PREFIX as TEST_PREFIX

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces"),
]

# Under the test prefix (HB_TEST_PREFIX), so concurrent runs on one machine never touch each other's names.
PREFIX = f"{TEST_PREFIX}t{os.getpid() % 10000}"
# One name per test: a veth left in a removed namespace is freed by the kernel only a moment later.
_NICS = (f"{TEST_PREFIX}n{os.getpid() % 10000}-{i}" for i in itertools.count())


def on_host(ifname: str) -> dict | None:  # type: ignore[type-arg]
    with IPRoute() as ipr:
        idx = ipr.link_lookup(ifname=ifname)
        return ipr.get_links(idx[0])[0] if idx else None


def in_ns(ns: str, ifname: str) -> dict | None:  # type: ignore[type-arg]
    def look(ipr: IPRoute) -> dict | None:  # type: ignore[type-arg]
        idx = ipr.link_lookup(ifname=ifname)
        return ipr.get_links(idx[0])[0] if idx else None

    return in_netns(ns, look)


@pytest.fixture
def nic() -> Iterator[str]:
    """A veth pair on the host; the test moves one end around like a physical NIC."""
    NIC = next(_NICS)
    with IPRoute() as ipr:
        ipr.link("add", ifname=NIC, kind="veth", peer=NIC + "p")
        ipr.link("set", ifname=NIC, state="up")
    try:
        yield NIC
    finally:
        restore(NIC, prefix=PREFIX)
        with IPRoute() as ipr:
            if ipr.link_lookup(ifname=NIC):
                ipr.link("del", ifname=NIC)


@pytest.fixture
def home_ns() -> Iterator[str]:
    names = [f"{PREFIX}-home", f"{PREFIX}-other"]
    for name in names:
        netns.create(name)
    try:
        yield names[0]
    finally:
        for name in names:
            netns.remove(name)


def test_attach_and_detach(nic: str, home_ns: str) -> None:
    tl = Timeline()
    port = NicWanPort(nic, home_ns, events=tl, unit="lab-henb-07")
    port.attach()
    assert on_host(nic) is None
    link_inside = in_ns(home_ns, nic)
    assert link_inside is not None and link_inside["flags"] & 1  # up inside the unit's namespace
    port.detach()
    link = on_host(nic)
    assert link is not None and link["flags"] & 1  # back, and up as it was before
    assert in_ns(home_ns, nic) is None
    port.detach()  # already home: nothing to do
    assert [e.kind for e in tl] == ["wan-attached", "wan-detached", "wan-detached"]
    assert tl.events()[0].data == {"unit": "lab-henb-07", "ifname": nic, "netns": home_ns}


def test_restore_after_a_killed_run(nic: str, home_ns: str) -> None:
    NicWanPort(nic, f"{PREFIX}-other").attach()
    # A new process (henb-bench clean) knows only the interface name and the bench prefix.
    assert find_nic(nic, prefix=PREFIX) == f"{PREFIX}-other"
    assert restore(nic, prefix=PREFIX) == f"{PREFIX}-other"
    assert on_host(nic) is not None
    assert restore(nic, prefix=PREFIX) is None  # nothing left to do


def test_nic_left_in_a_namespace_is_named_in_the_error(nic: str, home_ns: str) -> None:
    NicWanPort(nic, f"{PREFIX}-other").attach()
    with pytest.raises(EquipmentError) as exc:
        NicWanPort(nic, home_ns).attach()
    assert f"inside namespace {PREFIX}-other" in str(exc.value) and "henb-bench clean" in str(exc.value)


def test_missing_nic_or_namespace(home_ns: str) -> None:
    with pytest.raises(EquipmentError, match="no such interface"):
        NicWanPort(f"{TEST_PREFIX}nonic", home_ns).attach()
    with pytest.raises(EquipmentError, match=f"namespace {TEST_PREFIX}nons does not exist"):
        NicWanPort("lo", f"{TEST_PREFIX}nons").attach()
    with pytest.raises(EquipmentError, match="neither in"):
        NicWanPort(f"{TEST_PREFIX}nonic", home_ns).detach()


def test_probe_nic(nic: str, home_ns: str) -> None:
    assert probe_nic(nic, PREFIX).startswith("present, up")
    assert probe_nic("lo", PREFIX).startswith("present, up")
    port = NicWanPort(nic, home_ns)
    port.attach()
    with pytest.raises(EquipmentError, match=f"WAN port {nic} is inside namespace {home_ns}"):
        probe_nic(nic, PREFIX)
    with pytest.raises(EquipmentError, match="no such interface on the bench host"):
        probe_nic(f"{TEST_PREFIX}nonic", PREFIX)

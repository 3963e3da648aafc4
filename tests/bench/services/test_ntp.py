"""chronyd as the bench's NTP server (bench/services/ntp.py): answers in its namespace from the host's clock,
its files in its work dir, nothing left behind; and dnsmasq offers it as DHCP option 42."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pyroute2 import netns as pr_netns

from bench.errors import InfraError
from bench.network import netns
from bench.services.dns import Dnsmasq
from bench.services.ntp import Chronyd, ntp_query
from bench.services.process import comm_of
from bench.timeline import Timeline
from tests.support import PREFIX, needs_root


@pytest.mark.netns
@needs_root()
def test_chronyd_answers_in_its_namespace_and_stops(tmp_path: Path) -> None:
    ns = f"{PREFIX}ntp{threading.get_ident() % 10000}"
    pr_netns.create(ns)
    ntp = Chronyd("ntp", ns, "127.0.0.1", tmp_path / "ntp", stratum=9)
    try:
        netns.in_netns(ns, lambda ipr: ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up"))
        ntp.start()
        assert netns.run_in_netns(ns, ntp_query, "127.0.0.1", 5.0) == 9  # its `local stratum`
        assert (tmp_path / "ntp" / "chronyd.pid").is_file()
        assert "Disabled control of system clock" in (tmp_path / "ntp" / "chronyd.log").read_text()
        assert ntp.daemon is not None and ntp.daemon.pid is not None
        pid = ntp.daemon.pid
        assert comm_of(pid) == "chronyd"
        ntp.stop()
        assert comm_of(pid) is None
        # Nothing answers any more: the query gives up (port unreachable or its bound) instead of hanging.
        assert netns.run_in_netns(ns, ntp_query, "127.0.0.1", 0.5) is None
    finally:
        ntp.stop()
        pr_netns.remove(ns)


@pytest.mark.netns
@needs_root()
def test_chronyd_that_cannot_bind_is_an_infra_error(tmp_path: Path) -> None:
    ns = f"{PREFIX}ntq{threading.get_ident() % 10000}"
    pr_netns.create(ns)
    ntp = Chronyd("ntp", ns, "192.0.2.77", tmp_path / "ntp")  # not an address of the namespace
    try:
        with pytest.raises(InfraError, match=r"chronyd on 192\.0\.2\.77:123 .* did not answer"):
            ntp.start(timeout=1.5)
    finally:
        ntp.stop()
        pr_netns.remove(ns)


def test_dhcp_offers_the_ntp_server_as_option_42(tmp_path: Path) -> None:
    dhcp = Dnsmasq("pub", "ns", "198.51.100.1", {}, tmp_path, Timeline(), ("198.51.100.10", "198.51.100.20"))
    assert not [a for a in dhcp.argv() if "ntp-server" in a]
    dhcp.ntp = "198.51.100.1"
    assert "--dhcp-option=option:ntp-server,198.51.100.1" in dhcp.argv()

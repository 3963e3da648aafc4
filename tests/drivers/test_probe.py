"""Tests for every driver's probe() (what `henb-bench check --probe` asks): it reads, never switches, and says
what answered; a resource that does not answer is an EquipmentError."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.lab.sim.http_pdu import HttpPduServer
from bench.lab.sim.scpi_psu import ScpiPsuServer
from bench.lab.sim.snmp_pdu import SnmpPduAgent
from bench.lab.sim.ssh_server import SshServer, write_client_key
from drivers.console import PtyPair
from drivers.console.serial import probe_port
from drivers.errors import EquipmentError
from drivers.power import SerialRelay
from drivers.power.pdu_http import NETIO, HttpCall, HttpPdu, HttpPduApi
from drivers.power.pdu_snmp import PROFILES, SnmpOutletOids, SnmpPdu
from drivers.power.scpi import ScpiPower
from drivers.shell import SshShell


@pytest.fixture
def agent() -> Iterator[SnmpPduAgent]:
    with SnmpPduAgent("apc", community="pub") as a:
        yield a


def test_snmp_probe_reads_state_or_control_oid(agent: SnmpPduAgent) -> None:
    agent.pdu.outlets[2] = True
    assert SnmpPdu("127.0.0.1", 2, PROFILES["apc"], community="pub", port=agent.port).probe() == (
        "answers; outlet 2 is on"
    )
    blind = SnmpOutletOids(PROFILES["apc"].control_oid, 1, 2)
    detail = SnmpPdu("127.0.0.1", 2, blind, community="pub", port=agent.port).probe()
    assert detail.startswith("answers; outlet 2 control OID reads") and "no state OID" in detail
    assert agent.pdu.sets == []


def test_http_probe_with_and_without_a_state_call() -> None:
    with HttpPduServer(user="u", password="p") as server:
        assert HttpPdu(server.url, 1, NETIO, "u", "p").probe() == "answers; outlet 1 is off"
        no_state = HttpPduApi(HttpCall("POST", "/x"), HttpCall("POST", "/y"))
        assert HttpPdu(server.url, 1, no_state, "u", "p").probe().startswith("answers HTTP ")
        assert not [r for r in server.requests if r[0] == "POST"]
    with pytest.raises(EquipmentError, match="GET / failed"):
        HttpPdu(server.url, 1, no_state, timeout=0.5).probe()  # the server is gone


def test_scpi_probe_identifies_and_reads_the_error_queue() -> None:
    with ScpiPsuServer() as psu:
        with ScpiPower(psu.resource, 12.0, 1.0) as power:
            assert power.probe() == "answers 'henb-bench,SIM-PSU,0001,1.0'; error queue empty; output is off"
            psu.model.errors.extend(['-222,"Data out of range"', '-310,"System error"'])
            with pytest.raises(EquipmentError) as exc:
                power.probe()
        msg = str(exc.value)
        assert psu.resource in msg and "error queue not empty after *IDN?" in msg
        assert "-222" in msg and "-310" in msg
        assert not psu.model.output and not any(c.startswith(("VOLT", "OUTP ")) for c in psu.model.commands)


def test_relay_and_console_probe_open_the_port() -> None:
    with PtyPair() as pty:
        assert SerialRelay(pty.path, b"\x01", b"\x00").probe() == "port opens (the board has no state query)"
        assert probe_port(pty.path) == "port opens"
    with pytest.raises(EquipmentError, match="cannot open console /dev/hbo-nope \\(unit u9\\)"):
        probe_port("/dev/hbo-nope", unit="u9")


def test_ssh_probe_logs_in(tmp_path: Path) -> None:
    key, public = write_client_key(tmp_path)
    with SshServer(client_key=public) as server, SshShell("127.0.0.1", "root", server.port, key) as shell:
        assert shell.probe().startswith("logs in (SSH-2.0-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EquipmentError, match=f"ssh root@127.0.0.1:{port}: cannot connect"):
        SshShell("127.0.0.1", "root", port, key, connect_timeout=1).probe()

"""Tests for drivers/power/pdu_http.py against the HTTP PDU simulator in bench/lab/sim (NETIO and REST)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from bench.lab.sim.http_pdu import HttpPduServer
from bench.timeline import Timeline
from drivers.errors import EquipmentError, SettingsError
from drivers.power.pdu_http import NETIO, HttpCall, HttpPdu, HttpPduApi, lookup

PASSWORD = "pdu-pass-9f2"
REST = HttpPduApi(
    on=HttpCall("PUT", "/api/outlets/{outlet}", {"state": "on"}),
    off=HttpCall("PUT", "/api/outlets/{outlet}", {"state": "off"}),
    state=HttpCall("GET", "/api/outlets/{outlet}"),
    state_path="data.state",
    state_on="on",
    state_off="off",
)


@pytest.fixture
def server() -> Iterator[HttpPduServer]:
    with HttpPduServer(outlets=4, user="netio", password=PASSWORD) as s:
        yield s


def test_netio_on_off_state(server: HttpPduServer) -> None:
    tl = Timeline()
    pdu = HttpPdu(server.url, 2, NETIO, "netio", PASSWORD, events=tl, unit="u1")
    assert pdu.state() is False
    pdu.on()
    assert server.outlets == {1: False, 2: True, 3: False, 4: False}
    assert pdu.state() is True
    pdu.off()
    assert server.outlets[2] is False
    posts = [body for method, _, body in server.requests if method == "POST"]
    assert posts == [{"Outputs": [{"ID": 2, "Action": 1}]}, {"Outputs": [{"ID": 2, "Action": 0}]}]
    assert [e.data["action"] for e in tl if e.kind == "power"] == ["on", "off"]


def test_rest_backend(server: HttpPduServer) -> None:
    pdu = HttpPdu(server.url + "/", 4, REST, "netio", PASSWORD)
    pdu.on()
    assert server.outlets[4] is True and pdu.state() is True
    pdu.cycle(delay=0.01)
    assert server.outlets[4] is True
    assert [(m, p) for m, p, _ in server.requests if m == "PUT"] == [("PUT", "/api/outlets/4")] * 3


def test_wrong_password_is_infra_error_without_secret(server: HttpPduServer) -> None:
    pdu = HttpPdu(server.url, 1, NETIO, "netio", "not-the-password", unit="lab-henb-07")
    with pytest.raises(EquipmentError) as exc:
        pdu.on()
    msg = str(exc.value)
    assert server.url in msg and "outlet 1" in msg and "lab-henb-07" in msg and "HTTP 401" in msg
    assert "not-the-password" not in msg + repr(pdu) and PASSWORD not in msg
    assert exc.value.__cause__ is None  # the request (with its Authorization header) is not chained
    assert server.outlets[1] is False


def test_unreachable_and_bad_replies(server: HttpPduServer) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(
        EquipmentError, match=rf"HTTP PDU http://127.0.0.1:{port} outlet 1: cannot switch on: .*refused"
    ):
        HttpPdu(f"http://127.0.0.1:{port}", 1, NETIO, timeout=0.5).on()
    with pytest.raises(EquipmentError, match="HTTP 404"):
        HttpPdu(server.url, 9, REST, "netio", PASSWORD).on()  # no outlet 9
    with pytest.raises(EquipmentError, match=r"no Outputs\[ID=9\].State"):
        HttpPdu(server.url, 9, NETIO, "netio", PASSWORD).state()
    odd = HttpPduApi(REST.on, REST.off, REST.state, "data.state", state_on="ON", state_off="OFF")
    with pytest.raises(EquipmentError, match="data.state is 'off', expected 'ON'"):
        HttpPdu(server.url, 1, odd, "netio", PASSWORD).state()


def test_outlet_that_does_not_follow(server: HttpPduServer) -> None:
    # The PDU accepts the command but reports another outlet's state path: never the expected value.
    stuck = HttpPduApi(REST.on, REST.off, HttpCall("GET", "/api/outlets/1"), "data.state", "on", "off")
    with pytest.raises(EquipmentError, match="still reads off"):
        HttpPdu(server.url, 3, stuck, "netio", PASSWORD, verify_timeout=0.2).on()


def test_credentials_in_url_rejected() -> None:
    with pytest.raises(SettingsError) as exc:
        HttpPdu("http://admin:hunter2@10.0.0.5", 1, NETIO)
    assert "hunter2" not in str(exc.value)


def test_lookup_paths() -> None:
    doc = {"Outputs": [{"ID": 1, "State": 0}, {"ID": 2, "State": 1}], "a": {"b": [5, 6]}}
    assert lookup(doc, "Outputs[ID=2].State") == 1
    assert lookup(doc, "a.b[1]") == 6
    with pytest.raises(KeyError):
        lookup(doc, "Outputs[ID=3].State")

"""Tests for drivers/power/pdu_snmp.py: real SNMP v2c/v3 over UDP to the pysnmp agent in bench/lab/sim."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from bench.lab.sim.snmp_pdu import APC_CONTROL, RARITAN_CONTROL, SnmpPduAgent
from bench.timeline import Timeline
from drivers.errors import EquipmentError, SettingsError
from drivers.power.pdu_snmp import PROFILES, SnmpOutletOids, SnmpPdu, SnmpV3User

COMMUNITY = "s3cret-community"
AUTH, PRIV = "auth-pass-phrase", "priv-pass-phrase"


@pytest.fixture
def apc() -> Iterator[SnmpPduAgent]:
    with SnmpPduAgent("apc", community=COMMUNITY, v3_users={"bench": (AUTH, PRIV)}) as agent:
        yield agent


@pytest.fixture
def raritan() -> Iterator[SnmpPduAgent]:
    with SnmpPduAgent("raritan", community=COMMUNITY) as agent:
        yield agent


def test_apc_v2c_on_off_cycle(apc: SnmpPduAgent) -> None:
    tl = Timeline()
    pdu = SnmpPdu("127.0.0.1", 3, PROFILES["apc"], community=COMMUNITY, port=apc.port, events=tl, unit="u1")
    assert pdu.state() is False
    pdu.on()
    assert apc.pdu.outlets[3] is True and pdu.state() is True
    assert [o for o, on in apc.pdu.outlets.items() if on] == [3]  # only the unit's outlet
    pdu.cycle(delay=0.01)
    pdu.off()
    assert pdu.state() is False
    assert apc.pdu.sets == [(APC_CONTROL + (3,), v) for v in (1, 2, 1, 2)]
    assert [(e.data["action"], e.data["driver"]) for e in tl if e.kind == "power"] == [
        ("on", "snmp-pdu"),
        ("off", "snmp-pdu"),
        ("on", "snmp-pdu"),
        ("off", "snmp-pdu"),
    ]


def test_apc_v3_auth_priv(apc: SnmpPduAgent) -> None:
    pdu = SnmpPdu("127.0.0.1", 5, PROFILES["apc"], v3=SnmpV3User("bench", AUTH, PRIV), port=apc.port)
    pdu.on()
    assert apc.pdu.outlets[5] is True and pdu.state() is True
    pdu.off()
    assert apc.pdu.outlets[5] is False


def test_raritan_outlet_on_pdu(raritan: SnmpPduAgent) -> None:
    pdu = SnmpPdu("127.0.0.1", 7, PROFILES["raritan"], community=COMMUNITY, port=raritan.port)
    pdu.on()
    assert raritan.pdu.outlets[7] is True and pdu.state() is True
    pdu.off()
    assert raritan.pdu.sets == [(RARITAN_CONTROL + (7,), 1), (RARITAN_CONTROL + (7,), 0)]
    assert pdu.state() is False


def test_custom_oids(raritan: SnmpPduAgent) -> None:
    # Another vendor, given by OIDs and values only (here the Raritan table written out by hand).
    oids = SnmpOutletOids(
        control_oid="1.3.6.1.4.1.13742.6.4.1.2.1.2.1.{outlet}", on_value=1, off_value=0,
        state_oid="1.3.6.1.4.1.13742.6.4.1.2.1.3.1.{outlet}", state_on=7, state_off=8,
    )  # fmt: skip
    pdu = SnmpPdu("127.0.0.1", 2, oids, community=COMMUNITY, port=raritan.port)
    pdu.on()
    assert raritan.pdu.outlets[2] is True
    # Without a state OID the driver cannot tell, and says so instead of guessing.
    blind = SnmpPdu(
        "127.0.0.1", 2, SnmpOutletOids(oids.control_oid, 1, 0), community=COMMUNITY, port=raritan.port
    )
    assert blind.state() is None
    blind.off()
    assert raritan.pdu.outlets[2] is False


def assert_no_secrets(text: str) -> None:
    for secret in (COMMUNITY, AUTH, PRIV, "wrong-community", "wrong-auth-phrase"):
        assert secret not in text, text


def test_wrong_community_is_infra_error_without_the_community(apc: SnmpPduAgent) -> None:
    pdu = SnmpPdu(
        "127.0.0.1", 3, PROFILES["apc"], community="wrong-community", port=apc.port, timeout=0.2, retries=0,
        unit="lab-henb-07",
    )  # fmt: skip
    with pytest.raises(EquipmentError) as exc:
        pdu.on()
    msg = str(exc.value)
    assert f"127.0.0.1:{apc.port} outlet 3" in msg and "lab-henb-07" in msg and "wrong community" in msg
    assert_no_secrets(msg + repr(pdu) + repr(exc.value.__cause__))
    assert apc.pdu.outlets[3] is False


def test_wrong_v3_keys_and_user(apc: SnmpPduAgent) -> None:
    user = SnmpV3User("bench", "wrong-auth-phrase", PRIV)
    with pytest.raises(EquipmentError) as exc:
        SnmpPdu("127.0.0.1", 3, PROFILES["apc"], v3=user, port=apc.port, timeout=0.2, retries=0).on()
    assert "digest" in str(exc.value).lower()
    assert_no_secrets(str(exc.value) + repr(user))
    with pytest.raises(EquipmentError, match="Unknown USM user"):
        SnmpPdu("127.0.0.1", 3, PROFILES["apc"], v3=SnmpV3User("nobody", AUTH), port=apc.port).on()


def test_unreachable_pdu() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pdu = SnmpPdu("127.0.0.1", 1, PROFILES["apc"], community=COMMUNITY, port=port, timeout=0.2, retries=0)
    with pytest.raises(EquipmentError) as exc:
        pdu.off()
    assert f"127.0.0.1:{port} outlet 1" in str(exc.value) and "cannot switch off" in str(exc.value)


def test_wrong_outlet_or_model_is_infra_error(apc: SnmpPduAgent) -> None:
    with pytest.raises(EquipmentError, match="outlet 42: cannot switch on: agent answered wrongValue"):
        SnmpPdu("127.0.0.1", 42, PROFILES["apc"], community=COMMUNITY, port=apc.port).on()
    with pytest.raises(EquipmentError, match="does not exist"):
        SnmpPdu("127.0.0.1", 1, PROFILES["raritan"], community=COMMUNITY, port=apc.port).state()


def test_outlet_that_does_not_follow_is_infra_error(
    apc: SnmpPduAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The PDU acknowledges the command but the outlet stays off (a relay welded open, a locked outlet).
    monkeypatch.setattr(apc.pdu, "set", lambda oid, value: True)
    pdu = SnmpPdu("127.0.0.1", 3, PROFILES["apc"], community=COMMUNITY, port=apc.port, verify_timeout=0.3)
    with pytest.raises(EquipmentError, match="outlet still reads off 0.3 s after switching it on"):
        pdu.on()


def test_needs_exactly_one_credential() -> None:
    with pytest.raises(SettingsError):
        SnmpPdu("127.0.0.1", 1, PROFILES["apc"])
    with pytest.raises(SettingsError):
        SnmpPdu("127.0.0.1", 1, PROFILES["apc"], community="x", v3=SnmpV3User("u", "k" * 8))

"""S1AP encode and decode (bench/s1ap.py) on messages recorded from the mock unit and the MME stand-in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import s1ap

RECORDED = json.loads((Path(__file__).parent / "data" / "s1ap_recorded.json").read_text())["messages"]


def recorded(name: str) -> bytes:
    return bytes.fromhex(RECORDED[name]["hex"])


def test_recorded_s1_setup_request_decodes_with_what_the_hems_configured() -> None:
    msg = s1ap.decode(recorded("S1SetupRequest"))
    assert msg == {
        "message": "S1SetupRequest",
        "pdu": "initiatingMessage",
        "procedure": 17,
        "plmn": "00101",
        "enb_id": 0x101,
        "enb_id_type": "homeENB-ID",
        "enb_name": "mock-MOCK0001",
        "tacs": [1],
        "broadcast_plmns": ["00101"],
        "paging_drx": "v128",
    }
    # The encoder is what the mock used: the same values give the same bytes.
    assert s1ap.s1_setup_request(0x101, "00101", 1, "mock-MOCK0001") == recorded("S1SetupRequest")


def test_recorded_answers_and_configuration_update_decode() -> None:
    response = s1ap.decode(recorded("S1SetupResponse"))
    assert response["message"] == "S1SetupResponse" and response["pdu"] == "successfulOutcome"
    assert response["served_plmns"] == ["00101"] and response["mme_name"] == "henb-bench-mme"
    update = s1ap.decode(recorded("ENBConfigurationUpdate"))
    assert update["message"] == "ENBConfigurationUpdate" and update["procedure"] == 29
    assert update["tacs"] == [16142] and update["broadcast_plmns"] == ["00101"]
    ack = s1ap.decode(recorded("ENBConfigurationUpdateAcknowledge"))
    assert ack == {
        "message": "ENBConfigurationUpdateAcknowledge",
        "pdu": "successfulOutcome",
        "procedure": 29,
    }


def test_s1_setup_failure_carries_cause_and_time_to_wait() -> None:
    msg = s1ap.decode(s1ap.s1_setup_failure("misc:om-intervention", "v10s"))
    assert msg["message"] == "S1SetupFailure" and msg["pdu"] == "unsuccessfulOutcome"
    assert msg["cause"] == "misc:om-intervention" and msg["time_to_wait"] == "v10s"
    with pytest.raises(ValueError, match="GROUP:VALUE"):
        s1ap.check_cause("misc:no-such-cause")


@pytest.mark.parametrize(("plmn", "raw"), [("00101", "00f110"), ("310410", "130014"), ("26201", "62f210")])
def test_plmn_identity_is_tbcd(plmn: str, raw: str) -> None:
    assert s1ap.plmn_bytes(plmn).hex() == raw
    assert s1ap.plmn_str(bytes.fromhex(raw)) == plmn


def test_wrong_plmn_and_garbage_are_refused() -> None:
    with pytest.raises(ValueError, match="MCC\\+MNC"):
        s1ap.plmn_bytes("0010")
    with pytest.raises(ValueError, match="not an S1AP PDU"):
        s1ap.decode(b"\xff\xff\xff")

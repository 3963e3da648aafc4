"""S1AP encode and decode (bench/s1ap.py) on messages recorded from the mock unit and the MME stand-in, and the
cache of pycrate's built S1AP objects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import s1ap
from bench.mock import s1ap_codec

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


# The mock's own codec (bench/mock/s1ap_codec.py, no pycrate in the mock process) against pycrate's.
SETUPS = [
    (0x101, "00101", 1, "mock-MOCK0001", "v128"),
    (0, "310410", 0, "", "v32"),
    ((1 << 28) - 1, "26201", 65535, "x" * 150, "v256"),
    (0x1234567, "00101", 16142, "a b(c)-'+,./:=?", "v64"),
]


@pytest.mark.parametrize(("enb_id", "plmn", "tac", "name", "drx"), SETUPS)
def test_mock_codec_encodes_s1_setup_request_as_pycrate(
    enb_id: int, plmn: str, tac: int, name: str, drx: str
) -> None:
    mine = s1ap_codec.s1_setup_request(enb_id, plmn, tac, name, drx)
    assert mine == s1ap.s1_setup_request(enb_id, plmn, tac, name, drx)
    got = s1ap.decode(mine)
    assert (got["enb_id"], got["plmn"], got["tacs"], got.get("enb_name", ""), got["paging_drx"]) == (
        enb_id, plmn, [tac], name, drx,
    )  # fmt: skip


@pytest.mark.parametrize(("plmn", "tac"), [("00101", 1), ("310410", 65535), ("26201", 0)])
def test_mock_codec_encodes_enb_configuration_update_as_pycrate(plmn: str, tac: int) -> None:
    assert s1ap_codec.enb_configuration_update(plmn, tac) == s1ap.enb_configuration_update(plmn, tac)
    assert s1ap.decode(s1ap_codec.enb_configuration_update(plmn, tac))["tacs"] == [tac]


def all_causes() -> list[str]:
    from pycrate_asn1dir import S1AP

    groups = S1AP.S1AP_IEs.Cause._cont
    return [f"{g}:{v}" for g in groups for v in [*groups[g]._root, *(groups[g]._ext or [])]]


def test_mock_codec_knows_every_cause_pycrate_knows() -> None:
    from pycrate_asn1dir import S1AP

    groups = S1AP.S1AP_IEs.Cause._cont
    assert list(s1ap_codec.CAUSES) == list(groups)
    for g, (root, ext) in s1ap_codec.CAUSES.items():
        assert (list(root), list(ext)) == (list(groups[g]._root), list(groups[g]._ext or [])), g


@pytest.mark.parametrize("cause", all_causes())
def test_mock_codec_reads_every_s1_setup_failure(cause: str) -> None:
    wait = s1ap.TIME_TO_WAIT[len(cause) % len(s1ap.TIME_TO_WAIT)]
    assert s1ap_codec.decode(s1ap.s1_setup_failure(cause, wait)) == {
        "message": "S1SetupFailure",
        "pdu": "unsuccessfulOutcome",
        "procedure": 17,
        "cause": cause,
        "time_to_wait": wait,
    }


def test_mock_codec_reads_the_answers_by_name() -> None:
    for message in ("S1SetupResponse", "ENBConfigurationUpdateAcknowledge"):
        want = s1ap.decode(recorded(message))
        assert s1ap_codec.decode(recorded(message)) == {k: want[k] for k in ("message", "pdu", "procedure")}
    assert s1ap_codec.decode(s1ap.s1_setup_failure("misc:unspecified")).get("time_to_wait") is None
    assert s1ap_codec.decode(recorded("S1SetupRequest"))["message"] == "S1SetupRequest"


@pytest.mark.parametrize("garbage", [b"", b"\xff\xff\xff", b"\x00\x11\x00\x7f\x00", b"\x60\x11\x00\x00"])
def test_mock_codec_refuses_what_is_not_s1ap(garbage: bytes) -> None:
    with pytest.raises(ValueError, match="not an S1AP PDU"):
        s1ap_codec.decode(garbage)


def test_mock_codec_refuses_what_s1ap_cannot_carry() -> None:
    for bad in [(1 << 28, "00101", 1), (1, "00101", 1 << 16), (1, "0010", 1)]:
        with pytest.raises(ValueError):
            s1ap_codec.s1_setup_request(*bad)
    with pytest.raises(ValueError, match="1 to 150"):
        s1ap_codec.s1_setup_request(1, "00101", 1, "x" * 151)


# bench/s1ap.py's cache of pycrate's built S1AP objects: a process that loads them from the cache encodes and
# decodes as one that imported pycrate's module, and a cache file that cannot be trusted or read is not used.
# What the other process computes: every encoder of bench.s1ap, and the decoding of every recorded message,
# of every S1 Setup Failure cause and of a message the bench never builds (an Error Indication, decoded through
# the same open types, named as anything else).
SCRIPT = """
import json, sys
from bench import s1ap
hexes, causes = json.loads(sys.stdin.read())
out = {
    "setup": s1ap.s1_setup_request(0x1234567, "310410", 16142, "a b(c)", "v64").hex(),
    "update": s1ap.enb_configuration_update("26201", 65535).hex(),
    "response": s1ap.s1_setup_response("00101").hex(),
    "ack": s1ap.enb_configuration_update_ack().hex(),
    "failures": [s1ap.s1_setup_failure(c, "v10s").hex() for c in causes],
    "decoded": [s1ap.decode(bytes.fromhex(h)) for h in hexes],
    "imported": "pycrate_asn1dir.S1AP" in sys.modules,
}
print(json.dumps(out))
"""


def error_indication() -> bytes:
    ies = [s1ap._ie(s1ap.ID_CAUSE, "ignore", "Cause", ("radioNetwork", "unspecified"))]
    return s1ap._encode("initiatingMessage", 15, "ErrorIndication", ies)


def other_process(cache: Path, hexes: list[str], causes: list[str]) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], input=json.dumps([hexes, causes]), env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(done.stdout)


def test_objects_loaded_from_the_cache_encode_and_decode_as_pycrates_module(tmp_path: Path) -> None:
    hexes = [m["hex"] for m in RECORDED.values()] + [error_indication().hex()]
    causes = all_causes()
    first = other_process(tmp_path, hexes, causes)  # imports pycrate's module and writes the cache
    assert first["imported"]
    assert [p.name for p in (tmp_path / "henb-bench").iterdir()] == [s1ap.cache_file().name]  # type: ignore[union-attr]
    second = other_process(tmp_path, hexes, causes)
    assert not second["imported"]  # the cache, not pycrate's module
    assert second == {**first, "imported": False}
    assert second["decoded"][-1] == {"message": "ErrorIndication", "pdu": "initiatingMessage", "procedure": 15,
                                     "cause": "radioNetwork:unspecified"}  # fmt: skip
    # and as this process, which imported pycrate's module itself (tests/bench/test_s1ap.py)
    assert second["decoded"] == [s1ap.decode(bytes.fromhex(h)) for h in hexes]
    assert second["failures"] == [s1ap.s1_setup_failure(c, "v10s").hex() for c in causes]


@pytest.mark.parametrize("mode", [0o620, 0o602])
def test_a_cache_file_others_may_write_is_not_loaded(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "s1ap.pickle"
    s1ap._write_cache(path, s1ap._pdu(), [])
    assert s1ap._load_cached(path) is not None
    path.chmod(mode)
    assert s1ap._load_cached(path) is None


def test_a_cut_short_or_missing_cache_file_is_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "s1ap.pickle"
    assert s1ap._load_cached(path) is None
    s1ap._write_cache(path, s1ap._pdu(), [])
    path.write_bytes(path.read_bytes()[:1000])
    assert s1ap._load_cached(path) is None


def test_without_a_home_the_s1ap_objects_are_pycrates_import(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(Path, "home", no_home)
    assert s1ap.cache_file() is None


def test_objects_that_cannot_be_pickled_leave_no_cache_and_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pickle

    def cannot(*_: object, **__: object) -> None:
        raise pickle.PicklingError("a pycrate object of another version")

    monkeypatch.setattr(pickle, "dump", cannot)
    s1ap._write_cache(tmp_path / "s1ap.pickle", s1ap._pdu(), [])
    assert list(tmp_path.iterdir()) == []

"""`henb-bench judge` on what a lab hands over: a unit-side capture whose CWMP runs in ESP (opened with the SAs
of an esp_sa file, not observable without), a malformed esp_sa file, and hostile captures (empty, not a capture,
cut in a packet, a wrong link type): a clear error or a partial verdict with a note, never a traceback."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.bench import esp_capture
from tests.support import henb_bench

IDENTITY = "-".join(esp_capture.IDENTITY)


def judge(tmp: Path, *args: str, code: int = 0) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    out = tmp / "judged"
    res = henb_bench("judge", *args, "--out", str(out), timeout=120)
    assert res.returncode == code and "Traceback" not in res.stderr, res.stdout[-3000:] + res.stderr[-3000:]
    run_dir = next(out.iterdir()) if out.is_dir() else None
    return res, json.loads((run_dir / "run.json").read_text()) if run_dir else {}


def steps(summary: dict[str, Any], test: str) -> dict[str, dict[str, Any]]:
    """Each step's verdict (the first, where a step has two: 5.1.3's 1.1 is the Inform and its DeviceId)."""
    result = next(r for r in summary["results"] if r["test"] == test)
    return {v["step"]: v for v in reversed(result["verdicts"])}


@pytest.fixture(params=sorted(esp_capture.SUITES))
def unit_side(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, Path]:
    capture, sas = tmp_path / "unit-side.pcap", tmp_path / "esp_sa"
    esp_capture.write(capture, sas, request.param)
    return capture, sas


def test_the_sas_open_the_cwmp_session_in_the_tunnel(unit_side: tuple[Path, Path], tmp_path: Path) -> None:
    capture, sas = unit_side
    _, summary = judge(tmp_path, str(capture), "--esp-sa", str(sas), "--unit-identity", IDENTITY,
                       "--clause", "5.1.3")  # fmt: skip
    got = steps(summary, "test_registration_with_serving_hems")
    assert got["1.1"]["outcome"] == got["2.2"]["outcome"] == "passed", got
    assert got["1.1"]["frames"][0] == {"capture": str(capture), "frames": [4, 5]}  # the Inform and its answer
    assert not any("ESP" in note for note in summary["not_observable"]), summary["not_observable"]
    run_dir = next((tmp_path / "judged").iterdir())
    events = [json.loads(line) for line in (run_dir / "timeline.jsonl").read_text().splitlines()]
    inform = next(e for e in events if e["kind"] == "inform")
    assert inform["data"]["serial"] == "ESP0001" and inform["data"]["peer"] == esp_capture.INNER_UNIT


def test_without_the_sas_the_tunnel_is_not_observable(unit_side: tuple[Path, Path], tmp_path: Path) -> None:
    capture, _ = unit_side
    _, summary = judge(tmp_path, str(capture), "--unit-identity", IDENTITY, "--clause", "5.1.3")
    got = steps(summary, "test_registration_with_serving_hems")
    # the outer link's policy is judged on the outer link itself: no cleartext in it
    assert got.pop("security")["outcome"] == "passed"
    assert {v["outcome"] for v in got.values()} == {"not-observable"}, got
    assert "ESP without SAs" in got["1.1"]["why"]
    assert any("9 ESP frames" in n and "ESP without SAs" in n for n in summary["not_observable"])


def test_sas_that_do_not_open_the_tunnel_say_so(tmp_path: Path) -> None:
    capture, sas = tmp_path / "c.pcap", tmp_path / "esp_sa"
    esp_capture.write(capture, sas, "aes-gcm")
    esp_capture.write(tmp_path / "other.pcap", sas, "aes-cbc-sha256")  # the same SPIs, other keys
    _, summary = judge(tmp_path, str(capture), "--esp-sa", str(sas), "--clause", "5.1.3")
    assert any("the SAs given do not open (SPI 0xc0ffee01" in n for n in summary["not_observable"]), summary


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ('"IPv4","1.2.3.4","5.6.7.8","0x1"', "4 fields, expected 8"),
        ('"IPv5","1.2.3.4","5.6.7.8","0x1","NULL","","NULL",""', "protocol 'IPv5'"),
        ('"IPv4","1.2.3.4","5.6.7.8","12","NULL","","NULL",""', "SPI '12'"),
        (
            '"IPv4","1.2.3.4","5.6.7.8","0x1","AES-XYZ","0x00","NULL",""',
            "unknown encryption algorithm 'AES-XYZ'",
        ),
        ('"IPv4","1.2.3.4","5.6.7.8","0x1","AES-CBC [RFC3602]","0x0g","NULL",""', "encryption key '0x0g'"),
        ("IPv4,1.2.3.4", "expected quoted fields"),
    ],
)
def test_a_malformed_esp_sa_file_names_its_line(line: str, why: str, tmp_path: Path) -> None:
    capture, sas = tmp_path / "c.pcap", tmp_path / "esp_sa"
    esp_capture.write(capture, sas)
    sas.write_text(f"# saved by hand\n{sas.read_text().splitlines()[0]}\n{line}\n")
    res, _ = judge(tmp_path, str(capture), "--esp-sa", str(sas), code=2)
    assert f"--esp-sa {sas}: line 3: {why}" in res.stderr, res.stderr


def test_strongswan_s_spelling_of_the_algorithms_is_taken(tmp_path: Path) -> None:
    capture, sas = tmp_path / "c.pcap", tmp_path / "esp_sa"
    esp_capture.write(capture, sas)
    sas.write_text(sas.read_text().replace("AES-CBC [RFC3602]", "aes-cbc [rfc3602]"))
    _, summary = judge(tmp_path, str(capture), "--esp-sa", str(sas), "--clause", "5.1.3")
    assert steps(summary, "test_registration_with_serving_hems")["2.2"]["outcome"] == "passed"


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"", "an empty file (0 bytes), not a capture"), (b"GET / HTTP/1.1\r\n" * 50, "tshark cannot read it")],
    ids=["empty", "not-a-capture"],
)
def test_a_file_tshark_cannot_read_is_an_error_naming_it(content: bytes, why: str, tmp_path: Path) -> None:
    path = tmp_path / "field.pcap"
    path.write_bytes(content)
    res, _ = judge(tmp_path, str(path), code=2)
    assert f"ConfigError: {path}: {why}" in res.stderr, res.stderr


def _record_at(data: bytes, n: int) -> int:
    """Where the pcap's record `n` (from 1) begins."""
    off = 24
    for _ in range(n - 1):
        off += 16 + struct.unpack_from("<I", data, off + 8)[0]
    return off


@pytest.mark.parametrize("damage", ["cut in the last packet", "a record length of 4 GB"])
def test_a_damaged_capture_is_judged_up_to_the_damage(damage: str, tmp_path: Path) -> None:
    capture, sas = tmp_path / "c.pcap", tmp_path / "esp_sa"
    esp_capture.write(capture, sas)
    data = bytearray(capture.read_bytes())
    last = _record_at(data, 9)  # the HeMS's 204
    if damage.startswith("cut"):
        del data[last + 40 :]
    else:
        struct.pack_into("<I", data, last + 8, 0xFFFFFFF0)
    capture.write_bytes(bytes(data))
    _, summary = judge(tmp_path, str(capture), "--esp-sa", str(sas), "--unit-identity", IDENTITY,
                       "--clause", "5.1.3")  # fmt: skip
    assert any("read up to frame 8 only" in n and "partial" in n for n in summary["not_observable"]), summary
    assert steps(summary, "test_registration_with_serving_hems")["1.1"]["outcome"] == "passed"


def test_a_wrong_link_type_is_a_note_not_a_verdict(tmp_path: Path) -> None:
    capture, sas = tmp_path / "c.pcap", tmp_path / "esp_sa"
    esp_capture.write(capture, sas)
    data = bytearray(capture.read_bytes())
    struct.pack_into("<I", data, 20, 147)  # LINKTYPE_USER0 where Ethernet was
    capture.write_bytes(bytes(data))
    _, summary = judge(tmp_path, str(capture), "--esp-sa", str(sas), "--clause", "5.1.3")
    assert any("none of them IP" in n and "wrong link type" in n for n in summary["not_observable"]), summary
    got = steps(summary, "test_registration_with_serving_hems")
    assert {v["outcome"] for v in got.values()} == {"not-observable"}, got


def test_a_capture_with_no_packets_is_a_note(tmp_path: Path) -> None:
    capture = tmp_path / "c.pcap"
    capture.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    _, summary = judge(tmp_path, str(capture))
    assert summary["not_observable"] == [f"{capture}: no packets in it: nothing in it is observable"]


def test_a_reordered_capture_proves_no_failure(tmp_path: Path) -> None:
    """The InformResponse recorded before the Inform (a capture merged from two taps): not a failure."""
    capture, sas = tmp_path / "c.pcap", tmp_path / "esp_sa"
    esp_capture.write(capture, sas)
    data = capture.read_bytes()
    inform, answer, after = _record_at(data, 4), _record_at(data, 5), _record_at(data, 6)
    capture.write_bytes(data[:inform] + data[answer:after] + data[inform:answer] + data[after:])
    _, summary = judge(tmp_path, str(capture), "--esp-sa", str(sas), "--unit-identity", IDENTITY,
                       "--clause", "5.1.3")  # fmt: skip
    got = steps(summary, "test_registration_with_serving_hems")
    assert "failed" not in {v["outcome"] for v in got.values()}, got


def test_rejudge_opens_esp_with_the_run_folder_s_esp_sa_file(tmp_path: Path) -> None:
    """A run folder with an esp_sa file in logs/ (the bench cannot write one: a lab whose SeGW exports its SAs
    puts it there, beside the TLS key logs): rejudge opens the tunnel with it, as judge --esp-sa does."""
    run_dir, test = tmp_path / "run", "test_registration_with_serving_hems"
    (run_dir / test).mkdir(parents=True)
    (run_dir / "logs").mkdir()
    esp_capture.write(run_dir / test / "outer.pcapng", tmp_path / "esp_sa")
    ident = dict(zip(("oui", "product_class", "serial_number"), esp_capture.IDENTITY, strict=True))
    result = {"test": test, "clause": "5.1.3", "outcome": "passed", "message": ""}
    (run_dir / "run.json").write_text(json.dumps({"results": [result], "identity": ident}))
    res = henb_bench("rejudge", str(run_dir), timeout=120)
    # without the SAs, only the outer link's policy is judged (passed): the CWMP steps are not observable
    assert res.returncode == 0 and f"  same     {test}: run passed, today passed: " in res.stdout, res.stdout
    assert "step 1.1: not observable: no CWMP with the Serving HeMS" in res.stdout, res.stdout
    (tmp_path / "esp_sa").rename(run_dir / "logs" / "segw-esp_sa")
    res = henb_bench("rejudge", str(run_dir), timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"ESP opened with the SAs of {run_dir / 'logs' / 'segw-esp_sa'}" in res.stdout, res.stdout
    assert f"  same     {test}: run passed, today passed" in res.stdout, res.stdout
    assert "step 1.1: not observable" not in res.stdout, res.stdout

"""Reading captures with tshark (bench/evidence/tshark.py): a CWMP session is read as HTTP whatever ephemeral
port the unit opened it from, also one that tshark's tables give another protocol (44818: EtherNet/IP; a CI
run lost a 5.3.2 session that way and judged its step 2 not observable)."""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import PcapNgWriter

from bench.evidence.tshark import read_frames
from bench.report.pcaprw import read_capture
from bench.report.tlsplain import decrypt, find_tls
from bench.wireshark import CARRIED, port_squatters

UNIT, HEMS = "10.182.0.2", "10.180.0.20"
INFORM = (
    b"<?xml version='1.0' encoding='UTF-8'?>\n<soap-env:Envelope xmlns:soap-env="
    b'"http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><soap-env:Body>'
    b"<cwmp:Inform><DeviceId><OUI>00D0B7</OUI></DeviceId></cwmp:Inform></soap-env:Body></soap-env:Envelope>"
)


def _session(sport: int, dport: int = 7547, first: bytes | None = None) -> list[Ether]:
    """A TCP connection from the unit's `sport` to `dport` carrying one HTTP POST (or `first`) and a 204."""
    post = first or (
        b"POST / HTTP/1.1\r\nHost: shems.operator.example:7547\r\nContent-Type: text/xml\r\n"
        + f"Content-Length: {len(INFORM)}\r\n\r\n".encode()
        + INFORM
    )
    answer = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
    c, s = (UNIT, sport), (HEMS, dport)

    def seg(
        a: tuple[str, int], b: tuple[str, int], flags: str, seq: int, ack: int, data: bytes = b""
    ) -> Ether:
        return (
            Ether()
            / IP(src=a[0], dst=b[0])
            / TCP(sport=a[1], dport=b[1], flags=flags, seq=seq, ack=ack)
            / data
        )

    return [
        seg(c, s, "S", 100, 0),
        seg(s, c, "SA", 500, 101),
        seg(c, s, "A", 101, 501),
        seg(c, s, "PA", 101, 501, post),
        seg(s, c, "PA", 501, 101 + len(post), answer),
    ]


def _pcapng(path: Path, frames: list[Ether]) -> Path:
    with PcapNgWriter(str(path)) as w:
        for i, f in enumerate(frames):
            f.time = 1000.0 + i / 10
            w.write(f)
    return path


@pytest.mark.parametrize("sport", [44818, 34980, 40000])
def test_a_cwmp_session_from_any_ephemeral_port_is_read_as_http(tmp_path: Path, sport: int) -> None:
    frames = list(read_frames(_pcapng(tmp_path / "inner.pcapng", _session(sport))))
    methods = [f.get("http.request.method") for f in frames if f.get("http.request.method")]
    codes = [f.get("http.response.code") for f in frames if f.get("http.response.code")]
    assert methods == ["POST"] and codes == ["204"], [f.get("frame.protocols") for f in frames]
    assert "xml" in (frames[3].get("frame.protocols") or ""), frames[3].fields


def test_the_squatters_are_tsharks_own_table_less_what_the_bench_carries() -> None:
    squatters = port_squatters()
    assert "enip" in squatters and "ecatf" in squatters, (
        squatters
    )  # 44818 and 34980, in Linux's ephemeral range
    assert not CARRIED & set(squatters), CARRIED & set(squatters)


def test_a_tls_session_to_the_hems_port_from_a_squatted_port_is_found_and_followed(tmp_path: Path) -> None:
    hello = bytes.fromhex("160301002f0100002b0303") + bytes(32) + bytes.fromhex("000002002f0100")
    cap = _pcapng(tmp_path / "tls.pcapng", _session(44818, 7547, hello))
    frames = list(read_frames(cap))
    assert "tls" in (frames[3].get("frame.protocols") or ""), frames[3].fields
    streams = find_tls(read_capture(cap))
    assert [s.client for s in streams] == [f"{UNIT}:44818"], streams
    decrypt(
        cap, streams, tmp_path / "no-keys.log"
    )  # no key: tshark follows the stream and gives no plaintext
    assert streams[0].plaintext == {}, streams[0].plaintext

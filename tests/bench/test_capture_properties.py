"""Property tests of the pcap/pcapng reader (bench/capture.py iter_ipv4): what the writer wrote reads back
exactly; a corrupt, truncated or random file gives packets or a CaptureFormatError naming the file, never
another exception, never a hang."""

from __future__ import annotations

import random
import socket
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.capture import (
    LINKTYPE_ETHERNET,
    LINKTYPE_RAW,
    CaptureFormatError,
    PcapngWriter,
    Pkt,
    iter_ipv4,
)
from tests.hostile import FUZZ, watchdog

BOUND = 60.0
ETH = bytes.fromhex("020000000002020000000001") + b"\x08\x00"


def ipv4(
    src: bytes, dst: bytes, proto: int, sport: int, dport: int, payload: bytes, flags: int = 0x02
) -> bytes:
    if proto == 17:
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    elif proto == 6:
        l4 = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, flags, 1024, 0, 0) + payload
    else:
        l4 = payload
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 7, 0, 64, proto, 0, src, dst) + l4


packets = st.lists(
    st.tuples(
        st.binary(min_size=4, max_size=4),
        st.binary(min_size=4, max_size=4),
        st.sampled_from([6, 17, 50, 1, 132]),
        st.integers(0, 65535),
        st.integers(0, 65535),
        st.binary(max_size=200),
        st.integers(0, 2**33),  # microseconds
    ),
    max_size=8,
)


def write_pcapng(
    path: Path, linktype: int, pkts: list[tuple[bytes, bytes, int, int, int, bytes, int]]
) -> None:
    w = PcapngWriter(path, linktype, "hb-x0", "fuzz")
    for src, dst, proto, sport, dport, payload, us in pkts:
        frame = ipv4(src, dst, proto, sport, dport, payload)
        w.write(ETH + frame if linktype == LINKTYPE_ETHERNET else frame, us / 1e6)
    w.close()


def write_pcap(path: Path, linktype: int, pkts: list[tuple[bytes, bytes, int, int, int, bytes, int]]) -> None:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)]
    for src, dst, proto, sport, dport, payload, us in pkts:
        frame = ipv4(src, dst, proto, sport, dport, payload)
        frame = ETH + frame if linktype == LINKTYPE_ETHERNET else frame
        out.append(struct.pack("<IIII", us // 1_000_000, us % 1_000_000, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))


def _read(path: Path) -> list[Pkt] | None:
    """The packets, or None after a CaptureFormatError naming the file; anything else fails the test."""
    with watchdog(BOUND):
        try:
            pkts = list(iter_ipv4(path))
        except CaptureFormatError as exc:
            assert str(path) in str(exc)
            return None
    for p in pkts:
        assert 0 <= p.proto <= 255 and p.length >= 0
        assert p.sport is None or 0 <= p.sport <= 65535
        assert len(p.payload) <= 65535
    return pkts


@FUZZ
@given(packets, st.sampled_from([LINKTYPE_ETHERNET, LINKTYPE_RAW]), st.sampled_from(["pcapng", "pcap"]))
def test_what_was_written_reads_back(
    tmp_path_factory: pytest.TempPathFactory,
    pkts: list[tuple[bytes, bytes, int, int, int, bytes, int]],
    linktype: int,
    fmt: str,
) -> None:
    path = tmp_path_factory.mktemp("cap") / f"x.{fmt}"
    (write_pcapng if fmt == "pcapng" else write_pcap)(path, linktype, pkts)
    got = _read(path)
    assert got is not None
    assert [(p.src, p.dst, p.proto) for p in got] == [
        (socket.inet_ntoa(s), socket.inet_ntoa(d), proto) for s, d, proto, *_ in pkts
    ]
    for p, (_, _, proto, sport, dport, payload, us) in zip(got, pkts, strict=True):
        assert round(p.t * 1e6) == us
        if proto in (6, 17):
            assert (p.sport, p.dport, p.payload) == (sport, dport, payload)


def _corrupt(data: bytes, rnd: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rnd.choice([1, 1, 2, 3])):
        roll = rnd.random()
        if roll < 0.25:
            b = b[: rnd.randrange(len(b) + 1)]
        elif roll < 0.5 and len(b) >= 4:
            # A length, interface number, caplen or link type: a 32-bit field set to something odd.
            pos = rnd.randrange(0, len(b) - 3) & ~3
            b[pos : pos + 4] = struct.pack(
                "<I", rnd.choice([0, 1, 3, 11, 12, 13, 16, 28, 255, 2**31, 2**32 - 1])
            )
        elif roll < 0.8 and b:
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        else:
            pos = rnd.randrange(len(b) + 1)
            b[pos:pos] = rnd.randbytes(rnd.choice([1, 4, 12, 40]))
    return bytes(b)


@FUZZ
@given(
    packets.filter(bool),
    st.sampled_from([LINKTYPE_ETHERNET, LINKTYPE_RAW]),
    st.sampled_from(["pcapng", "pcap"]),
    st.randoms(use_true_random=False),
)
def test_a_corrupt_file_gives_packets_or_a_format_error(
    tmp_path_factory: pytest.TempPathFactory,
    pkts: list[tuple[bytes, bytes, int, int, int, bytes, int]],
    linktype: int,
    fmt: str,
    rnd: random.Random,
) -> None:
    path = tmp_path_factory.mktemp("cap") / f"x.{fmt}"
    (write_pcapng if fmt == "pcapng" else write_pcap)(path, linktype, pkts)
    path.write_bytes(_corrupt(path.read_bytes(), rnd))
    _read(path)


@FUZZ
@given(st.binary(max_size=1000), st.sampled_from([b"", b"\x0a\x0d\x0d\x0a", b"\xd4\xc3\xb2\xa1"]))
def test_random_bytes_give_packets_or_a_format_error(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, magic: bytes
) -> None:
    path = tmp_path_factory.mktemp("cap") / "x.pcapng"
    path.write_bytes(magic + data)
    _read(path)


def _block(kind: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", kind, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))


SHB = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
IDB = _block(1, struct.pack("<HHI", LINKTYPE_RAW, 0, 0))
FRAME = ipv4(bytes(4), bytes(4), 17, 1, 2, b"abc")


def _epb(iface: int, frame: bytes, caplen: int | None = None) -> bytes:
    return _block(
        6, struct.pack("<IIIII", iface, 0, 0, len(frame) if caplen is None else caplen, len(frame)) + frame
    )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (SHB + IDB + _epb(1, FRAME), "interface 1 of 1"),  # was IndexError
        (SHB + _block(3, struct.pack("<I", len(FRAME)) + FRAME), "before any interface"),  # was IndexError
        (
            SHB + IDB + _epb(0, FRAME, caplen=400) + _epb(0, FRAME),
            "400 bytes captured",
        ),  # read the next block
        (SHB + IDB + struct.pack("<II", 6, 12) + b"\0" * 4, "corrupt pcapng block"),  # was struct.error
        (SHB + _block(1, struct.pack("<HHI", 1234, 0, 0)) + _epb(0, FRAME), "unsupported pcap linktype 1234"),
        (SHB + _block(1, struct.pack("<HHIHH", LINKTYPE_RAW, 0, 0, 9, 40)), "option past its end"),
        (b"\xd4\xc3\xb2\xa1\0\0", "not a pcap or pcapng file"),  # was scapy's Scapy_Exception
    ],
    ids=[
        "undescribed-interface",
        "spb-first",
        "caplen-past-block",
        "short-epb",
        "linktype",
        "idb-option",
        "pcap",
    ],
)
def test_corrupt_pcapng_is_a_format_error_naming_the_file(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "bad.pcapng"
    path.write_bytes(data)
    with pytest.raises(CaptureFormatError, match=reason) as exc:
        list(iter_ipv4(path))
    assert str(path) in str(exc.value)


def test_a_packet_cut_by_the_snap_length_reads_what_was_captured(tmp_path: Path) -> None:
    # Regression: an IP total length beyond the captured bytes raised struct.error reading the ports.
    frame = ipv4(bytes(4), bytes(4), 17, 1, 2, b"x" * 100)
    path = tmp_path / "snap.pcapng"
    path.write_bytes(SHB + IDB + _epb(0, frame[:24]) + _epb(0, frame[:40]))
    first, second = iter_ipv4(path)
    assert (first.sport, first.payload) == (None, b"")
    assert (second.sport, second.dport, second.payload, second.length) == (1, 2, b"x" * 12, 128)

"""Reading a capture with tshark (Wireshark's dissectors, a well-kept tool, rather than hand-written TLS, IKE
or S1AP): one JSON object per frame (`-T ek`) with the fields the evidence decoders use."""

from __future__ import annotations

import json
import mmap
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from bench.errors import ConfigError, InfraError

# The fields asked of tshark: enough for DHCP, DNS, IKEv2, ESP, HTTP (CWMP, transfers), FTP, SCTP and S1AP.
FIELDS = (
    "frame.number", "frame.time_epoch", "frame.protocols",
    "ip.src", "ip.dst", "udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport", "tcp.stream",
    "tcp.flags.fin", "tcp.flags.reset",
    "dhcp.option.dhcp", "dhcp.hw.mac_addr", "dhcp.ip.your",
    "dns.flags.response", "dns.qry.name", "dns.qry.type", "dns.a", "dns.id",
    "isakmp.exchangetype", "isakmp.flag_r", "isakmp.notify.msgtype", "isakmp.ispi", "isakmp.typepayload",
    "esp.spi",
    "http.request.method", "http.request.uri", "http.host", "http.response.code", "http.file_data",
    "http.content_length_header", "http.authorization", "http.www_authenticate", "http.request_in",
    "http.authbasic",
    "tls.handshake.type", "tls.alert_message.desc",
    "ftp.request.command", "ftp.request.arg", "ftp.response.code",
    "sctp.chunk_type", "sctp.srcport", "sctp.dstport", "sctp.data_payload_proto_id",
    "s1ap.S1AP_PDU", "s1ap.procedureCode", "s1ap.tAC", "s1ap.pLMNidentity",
)  # fmt: skip


@dataclass(frozen=True)
class Frame:
    """One frame as tshark dissected it: its number in its capture file, its time and the fields asked."""

    capture: str
    number: int
    t: float
    fields: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return self.fields.get(name, [])

    @cached_property
    def protocols(self) -> frozenset[str]:
        return frozenset((self.get("frame.protocols") or "").split(":"))

    def has(self, proto: str) -> bool:
        return proto in self.protocols


def tshark_path() -> str:
    found = shutil.which("tshark")
    if found is None:
        raise InfraError(
            "tshark is not installed (Debian package tshark, in bench/deb-packages.txt): make deps"
        )
    return found


# tshark's ek output names a field with underscores for its dots.
_EK_NAMES = {name.replace(".", "_"): name for name in FIELDS}


def capture_end(capture: Path) -> float | None:
    """When a pcapng capture ended, from its last interface statistics block's isb_endtime (dumpcap and the
    bench write one at close): a capture that ran on after its last packet saw that nothing came. None for a
    pcap file, or a pcapng without one (then the last packet is as far as the evidence goes)."""
    with capture.open("rb") as fh:
        if fh.seek(0, 2) < 12:
            return None
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _isb_end(data) if data[:4] == b"\x0a\x0d\x0d\x0a" else None


def _isb_end(data: mmap.mmap) -> float | None:
    order = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    off, end, tick = 0, None, 1e-6
    while off + 12 <= len(data):
        kind, total = struct.unpack_from(order + "II", data, off)
        if total < 12 or off + total > len(data):
            break  # cut short: the blocks before are what there is
        if kind == 1 and total >= 20:  # interface description: its time resolution (if_tsresol, option 9)
            tick = _tsresol(data, off + 16, off + total - 4, order) or tick
        elif kind == 5 and total >= 24:  # interface statistics: isb_endtime (option 3)
            pos = off + 20
            while pos + 4 <= off + total - 4:
                code, length = struct.unpack_from(order + "HH", data, pos)
                if code == 0:
                    break
                if code == 3 and length == 8:
                    hi, lo = struct.unpack_from(order + "II", data, pos + 4)
                    end = max(end or 0.0, ((hi << 32) | lo) * tick)
                pos += 4 + length + (-length % 4)
        off += total
    return end


def _tsresol(data: mmap.mmap, pos: int, stop: int, order: str) -> float | None:
    while pos + 4 <= stop:
        code, length = struct.unpack_from(order + "HH", data, pos)
        if code == 0:
            return None
        if code == 9 and length >= 1:
            v = data[pos + 4]
            return float(2.0 ** -(v & 0x7F) if v & 0x80 else 10.0**-v)
        pos += 4 + length + (-length % 4)
    return None


def _reason(stderr: str) -> str:
    lines = [line.removeprefix("tshark: ") for line in stderr.splitlines() if "dangerous" not in line]
    return " ".join(line.strip() for line in lines if line.strip())[-500:] or "no reason given"


def _command(capture: Path, keylog: Path | None) -> list[str]:
    cmd = [tshark_path(), "-n", "-r", str(capture), "-o", "tcp.desegment_tcp_streams:TRUE"]
    cmd += ["-o", "http.desegment_body:TRUE", "-T", "ek"] + [a for name in FIELDS for a in ("-e", name)]
    if keylog is not None:
        cmd += ["-o", f"tls.keylog_file:{keylog}"]
    return cmd


def read_frames(
    capture: Path, keylog: Path | None = None, notes: list[str] | None = None, timeout: float = 3600
) -> list[Frame]:
    """Every frame of `capture` (pcap or pcapng), TLS decrypted with the NSS key log `keylog` when given,
    read as tshark writes them (a big capture's JSON is never held whole). A capture cut short gives the frames
    before the cut, and a note in `notes` saying so; a file tshark cannot read at all is a ConfigError naming it
    and tshark's reason (the input is wrong, not the bench)."""
    frames = []
    with tempfile.TemporaryFile("w+") as err:
        with subprocess.Popen(
            _command(capture, keylog), stdout=subprocess.PIPE, stderr=err, text=True
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                if not line.startswith("{") or '"layers"' not in line:
                    continue  # the index lines of the ek format
                layers: dict[str, Any] = json.loads(line)["layers"]
                got = {
                    _EK_NAMES[k]: v if isinstance(v[0], str) else [str(x) for x in v]
                    for k, v in layers.items()
                    if v
                }
                frames.append(
                    Frame(str(capture), int(got["frame.number"][0]), float(got["frame.time_epoch"][0]), got)
                )
            proc.wait(timeout)
        err.seek(0)
        stderr = err.read()
    if proc.returncode != 0:
        if not frames:
            raise ConfigError(f"{capture}: tshark cannot read it: {_reason(stderr)}")
        if notes is not None:
            notes.append(
                f"{capture}: read up to frame {frames[-1].number} only: {_reason(stderr)} (the verdicts are "
                "partial: what came after is not observable)"
            )
    return frames

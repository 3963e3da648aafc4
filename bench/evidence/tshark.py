"""Reading a capture with tshark (Wireshark's dissectors, a well-kept tool, rather than hand-written TLS, IKE
or S1AP): one JSON object per frame (`-T ek`) with the fields the evidence decoders use."""

from __future__ import annotations

import json
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from bench.errors import ConfigError
from bench.evidence.espsa import write_profile
from bench.wireshark import profile_settings, tshark_path

# The fields asked of tshark: enough for DHCP, DNS, IKEv2, ESP, HTTP (CWMP, transfers), FTP, SCTP and S1AP.
FIELDS = (
    "frame.number", "frame.time_epoch", "frame.protocols",
    "ip.src", "ip.dst", "udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport", "tcp.stream",
    "tcp.flags.fin", "tcp.flags.reset",
    "dhcp.option.dhcp", "dhcp.hw.mac_addr", "dhcp.ip.your",
    "dns.flags.response", "dns.qry.name", "dns.qry.type", "dns.a", "dns.id",
    "isakmp.exchangetype", "isakmp.flag_r", "isakmp.notify.msgtype", "isakmp.ispi", "isakmp.typepayload",
    "isakmp.tf.id.dh",
    "esp.spi",
    "http.request.method", "http.request.uri", "http.host", "http.response.code", "http.file_data",
    "http.content_length_header", "http.authorization", "http.www_authenticate", "http.request_in",
    "http.authbasic",
    "tls.handshake.type", "tls.alert_message.desc",
    "ftp.request.command", "ftp.request.arg", "ftp.response.code",
    "sctp.chunk_type", "sctp.srcport", "sctp.dstport", "sctp.data_payload_proto_id",
    "s1ap.S1AP_PDU", "s1ap.procedureCode", "s1ap.tAC", "s1ap.pLMNidentity", "s1ap.PLMNidentity",
    "s1ap.homeENB_ID", "s1ap.macroENB_ID", "s1ap.TimeToWait",
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


# tshark's ek output names a field with underscores for its dots.
_EK_NAMES = {name.replace(".", "_"): name for name in FIELDS}


def capture_end(capture: Path) -> float | None:
    """When a pcapng capture ended, from its last interface statistics block's isb_endtime (dumpcap and the
    bench write one at close): a capture that ran on after its last packet saw that nothing came. None for a
    pcap file, or a pcapng without one (then the last packet is as far as the evidence goes). Only the blocks'
    headers are read (a packet block is skipped), so a big capture's pages are not all brought in."""
    with capture.open("rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(0)
        head = fh.read(12)
        if size < 12 or head[:4] != b"\x0a\x0d\x0d\x0a":
            return None
        order = "<" if head[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        off, end, tick = 0, None, 1e-6
        while off + 12 <= size:
            fh.seek(off)
            kind, total = struct.unpack(order + "II", fh.read(8))
            if total < 12 or off + total > size:
                break  # cut short: the blocks before are what there is
            if kind == 1 and total >= 20:  # interface description: its time resolution (if_tsresol, option 9)
                block = fh.read(total - 8)
                tick = _tsresol(block, 8, total - 12, order) or tick
            elif kind == 5 and total >= 24:  # interface statistics: isb_endtime (option 3)
                end = _isb_end(fh.read(total - 8), order, tick, end)
            off += total
    return end


def _isb_end(block: bytes, order: str, tick: float, end: float | None) -> float | None:
    """The later of `end` and an interface statistics block's isb_endtime (`block`: after its type and length)."""
    pos = 12
    while pos + 4 <= len(block) - 4:
        code, length = struct.unpack_from(order + "HH", block, pos)
        if code == 0:
            break
        if code == 3 and length == 8:
            hi, lo = struct.unpack_from(order + "II", block, pos + 4)
            end = max(end or 0.0, ((hi << 32) | lo) * tick)
        pos += 4 + length + (-length % 4)
    return end


def _tsresol(data: bytes, pos: int, stop: int, order: str) -> float | None:
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


def _command(capture: Path, keylog: Path | None, esp_sa: bool, files: Path | None = None) -> list[str]:
    cmd = [tshark_path(), "-n", "-r", str(capture), "-o", "tcp.desegment_tcp_streams:TRUE"]
    if files is not None:  # each FTP data connection's file, written when tshark ends
        cmd += ["--export-objects", f"ftp-data,{files}"]
    cmd += ["-o", "http.desegment_body:TRUE", "-T", "ek"] + [a for name in FIELDS for a in ("-e", name)]
    if keylog is not None:
        cmd += ["-o", f"tls.keylog_file:{keylog}"]
    if esp_sa:
        cmd += ["-o", "esp.enable_encryption_decode:TRUE"]
    return cmd


def _frame(capture: str, line: str) -> Frame:
    layers: dict[str, Any] = json.loads(line)["layers"]
    got = {_EK_NAMES[k]: v if isinstance(v[0], str) else [str(x) for x in v] for k, v in layers.items() if v}
    if len(got.get("ip.src", ())) > 1 and "esp" in got.get("frame.protocols", [""])[0].split(":"):
        for name in (
            "ip.src",
            "ip.dst",
        ):  # ESP decrypted: the tunnel's addresses apart, the inner ones as ip.*
            got[f"outer.{name}"], got[name] = got[name][:1], got[name][-1:]
    return Frame(capture, int(got["frame.number"][0]), float(got["frame.time_epoch"][0]), got)


def read_frames(
    capture: Path,
    keylog: Path | None = None,
    notes: list[str] | None = None,
    timeout: float = 3600,
    esp_sa: list[list[str]] | None = None,
    files: Path | None = None,
) -> Iterator[Frame]:
    """Every frame of `capture` (pcap or pcapng), one at a time as tshark writes them (a big capture is never
    held whole: neither its JSON nor its frames), TLS decrypted with the NSS key log `keylog` and ESP with the
    SAs `esp_sa` (records of an esp_sa file, bench/evidence/espsa.py) when given; with `files`, the file of each
    FTP data connection is written there (named after its command's path, URL-escaped) once every frame is
    read. tshark runs with a
    configuration folder of its own, so the user's Wireshark profile does not change what it reads. A capture
    cut short gives the frames before the cut and a note in `notes` saying so; one whose frames carry no IP
    (a wrong link type) a note; a file tshark cannot read at all is a ConfigError naming it and tshark's reason
    (the input is wrong, not the bench)."""
    last, count, with_ip, first_layer = 0, 0, 0, ""
    with tempfile.TemporaryDirectory(prefix="henb-tshark-") as profile, tempfile.TemporaryFile("w+") as err:
        if esp_sa:
            write_profile(esp_sa, Path(profile))
        env = profile_settings(Path(profile))
        cmd = _command(capture, keylog, bool(esp_sa), files)
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env) as proc:
            assert proc.stdout is not None
            try:
                for line in proc.stdout:
                    if not line.startswith("{") or '"layers"' not in line:
                        continue  # the index lines of the ek format
                    frame = _frame(str(capture), line)
                    last, count = frame.number, count + 1
                    first_layer = first_layer or frame.get("frame.protocols") or "?"
                    with_ip += frame.has("ip") or frame.has("ipv6")
                    yield frame
                proc.wait(timeout)
            finally:
                if proc.poll() is None:  # the reader stopped early (or failed): tshark goes with it
                    proc.kill()
        err.seek(0)
        stderr = err.read()
    if proc.returncode != 0:
        if not count:
            raise ConfigError(f"{capture}: tshark cannot read it: {_reason(stderr)}")
        if notes is not None:
            notes.append(
                f"{capture}: read up to frame {last} only: {_reason(stderr)} (the verdicts are partial: what "
                "came after is not observable)"
            )
    if notes is not None and count and not with_ip:
        notes.append(
            f"{capture}: {count} frames, none of them IP (tshark reads them as {first_layer.split(':')[:2]}): "
            "a wrong link type or not a packet capture of the unit's links; nothing in it is observable"
        )
    elif notes is not None and not count and proc.returncode == 0:
        notes.append(f"{capture}: no packets in it: nothing in it is observable")

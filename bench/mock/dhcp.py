"""The mock unit's DHCP client (RFC 2131 DISCOVER, OFFER, REQUEST, ACK) over a UDP socket bound to its WAN port:
no packet library in the mock process (scapy alone took a third of its memory)."""

from __future__ import annotations

import ipaddress
import random
import select
import socket
import struct
import time
from pathlib import Path

CLIENT_PORT, SERVER_PORT = 68, 67
MAGIC = b"\x63\x82\x53\x63"
DISCOVER, OFFER, REQUEST, ACK = 1, 2, 3, 5
OPT_MASK, OPT_ROUTER, OPT_DNS, OPT_NTP = 1, 3, 6, 42
OPT_REQUESTED, OPT_TYPE, OPT_SERVER_ID, OPT_PARAMS = 50, 53, 54, 55
# op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr (16), sname (64), file (128)
_BOOTP = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")


def build(kind: int, xid: int, mac: bytes, options: dict[int, bytes]) -> bytes:
    """A BOOTREQUEST with the broadcast flag (the client has no address to be answered at)."""
    zero = bytes(4)
    head = _BOOTP.pack(1, 1, 6, 0, xid, 0, 0x8000, zero, zero, zero, zero, mac, b"", b"")
    opts = bytes([OPT_TYPE, 1, kind])
    for code, value in options.items():
        opts += bytes([code, len(value)]) + value
    return head + MAGIC + opts + b"\xff"


def parse(data: bytes) -> tuple[int, bytes, dict[int, bytes]] | None:
    """(xid, yiaddr, options) of a BOOTREPLY; None for anything else."""
    if len(data) < _BOOTP.size + 4 or data[0] != 2 or data[_BOOTP.size : _BOOTP.size + 4] != MAGIC:
        return None
    fields = _BOOTP.unpack_from(data)
    opts: dict[int, bytes] = {}
    pos = _BOOTP.size + 4
    while pos < len(data):
        code = data[pos]
        if code == 255:
            break
        if code == 0:
            pos += 1
            continue
        if pos + 1 >= len(data):
            break
        size = data[pos + 1]
        opts[code] = data[pos + 2 : pos + 2 + size]
        pos += 2 + size
    return fields[4], fields[8], opts


def _first_ip(value: bytes | None) -> str:
    return str(ipaddress.IPv4Address(value[:4])) if value and len(value) >= 4 else ""


def _await(sock: socket.socket, xid: int, kind: int, timeout: float) -> tuple[bytes, dict[int, bytes]] | None:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([sock], [], [], left)[0]:
            return None
        got = parse(sock.recv(4096))
        if got is not None and got[0] == xid and got[2].get(OPT_TYPE) == bytes([kind]):
            return got[1], got[2]
    return None


def lease(iface: str, tries: int = 10, wait: float = 2.0) -> dict[str, str]:
    """Ask for an address on `iface`: ip, mask, router, dns, ntp (option 42, '' when the network has none)."""
    mac = bytes.fromhex(Path(f"/sys/class/net/{iface}/address").read_text().strip().replace(":", ""))
    xid = random.getrandbits(32)
    wanted = {OPT_PARAMS: bytes([OPT_MASK, OPT_ROUTER, OPT_DNS, OPT_NTP])}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
        sock.bind(("0.0.0.0", CLIENT_PORT))
        to = ("255.255.255.255", SERVER_PORT)
        for _ in range(tries):
            sock.sendto(build(DISCOVER, xid, mac, wanted), to)
            offer = _await(sock, xid, OFFER, wait)
            if offer is None or OPT_SERVER_ID not in offer[1]:
                continue
            yiaddr, opts = offer
            ask = {OPT_REQUESTED: yiaddr, OPT_SERVER_ID: opts[OPT_SERVER_ID], **wanted}
            sock.sendto(build(REQUEST, xid, mac, ask), to)
            ack = _await(sock, xid, ACK, wait)
            if ack is None:
                continue
            opts = ack[1]
            return {
                "ip": str(ipaddress.IPv4Address(ack[0])),
                "mask": _first_ip(opts.get(OPT_MASK)) or "255.255.255.0",
                "router": _first_ip(opts.get(OPT_ROUTER)),
                "dns": _first_ip(opts.get(OPT_DNS)),
                "ntp": _first_ip(opts.get(OPT_NTP)),
            }
    raise RuntimeError("no DHCP lease")

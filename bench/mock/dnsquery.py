"""The mock unit's DNS stub resolver: one A query over UDP and the first A record of the answer, like a unit's
libc (stdlib only; dnspython cost the mock process 3.7 MiB, importlib.metadata and email with it)."""

from __future__ import annotations

import asyncio
import random
import socket
import struct

TYPE_A, CLASS_IN = 1, 1


class DnsError(Exception):
    """The answer is not one to this query, or not DNS."""


def query(name: str, qid: int) -> bytes:
    """A recursive query for `name`'s A record."""
    labels = [p.encode("idna") for p in name.rstrip(".").split(".") if p]
    if any(not 0 < len(p) < 64 for p in labels):
        raise ValueError(f"not a host name: {name!r}")
    qname = b"".join(bytes([len(p)]) + p for p in labels) + b"\x00"
    return struct.pack("!6H", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!2H", TYPE_A, CLASS_IN)


def _skip_name(msg: bytes, pos: int) -> int:
    while True:
        if pos >= len(msg):
            raise DnsError("name runs past the message")
        n = msg[pos]
        if n & 0xC0 == 0xC0:  # a compression pointer ends the name
            return pos + 2
        if n == 0:
            return pos + 1
        pos += 1 + n


def answer(msg: bytes, qid: int) -> str | None:
    """The first A record's address in the response `msg` to query `qid`; None when the name has none or the
    server gives no answer (any error code: a public DNS refusing an operator name says REFUSED)."""
    if len(msg) < 12:
        raise DnsError("shorter than a DNS header")
    rid, flags, qd, an = struct.unpack("!4H", msg[:8])
    if rid != qid or not flags & 0x8000:
        raise DnsError("not the answer to this query")
    if flags & 0xF:  # NXDOMAIN, REFUSED, SERVFAIL: no address from this server, as a stub takes it
        return None
    pos = 12
    for _ in range(qd):
        pos = _skip_name(msg, pos) + 4
    for _ in range(an):
        pos = _skip_name(msg, pos)
        if pos + 10 > len(msg):
            raise DnsError("record runs past the message")
        rtype, rclass, _, size = struct.unpack("!2HIH", msg[pos : pos + 10])
        pos += 10
        if rtype == TYPE_A and rclass == CLASS_IN and size == 4 and pos + 4 <= len(msg):
            return socket.inet_ntoa(msg[pos : pos + 4])
        pos += size
    return None


async def resolve_a(name: str, server: str, timeout: float = 2.0, port: int = 53) -> str | None:
    """Ask `server` once for `name`'s A record: the address, or None when it has none; TimeoutError when no
    answer came in `timeout` (answers to other queries are ignored, as a stub resolver does)."""
    qid = random.randrange(1 << 16)
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        await loop.sock_connect(sock, (server, port))
        await loop.sock_sendall(sock, query(name, qid))
        async with asyncio.timeout(timeout):
            while True:
                msg = await loop.sock_recv(sock, 4096)
                try:
                    return answer(msg, qid)
                except DnsError as exc:
                    if "not the answer" not in str(exc):
                        raise

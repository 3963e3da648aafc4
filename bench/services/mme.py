"""An MME stand-in: sees a unit's S1 setup start as an SCTP INIT on port 36412.

Kernel SCTP is used where the kernel has it; this kernel has none, so a raw IP-protocol-132 socket reads the
INIT chunks instead (the unit's side does the same).
"""

from __future__ import annotations

import socket
import struct
import threading

from bench.network.netns import socket_in_netns
from bench.timeline import Timeline

IPPROTO_SCTP = 132
SCTP_INIT = 1
SO_TIMESTAMP = getattr(socket, "SO_TIMESTAMP", 29)


def parse_sctp(ip_packet: bytes) -> dict[str, object] | None:
    """Source, destination, ports and first chunk type of an IPv4/SCTP packet, or None if it is not one."""
    if len(ip_packet) < 20 or ip_packet[0] >> 4 != 4 or ip_packet[9] != IPPROTO_SCTP:
        return None
    ihl = (ip_packet[0] & 0x0F) * 4
    sctp = ip_packet[ihl:]
    if len(sctp) < 16:
        return None
    sport, dport, vtag = struct.unpack("!HHI", sctp[:8])
    return {
        "src": socket.inet_ntoa(ip_packet[12:16]),
        "dst": socket.inet_ntoa(ip_packet[16:20]),
        "sport": sport,
        "dport": dport,
        "vtag": vtag,
        "chunk": sctp[12],
    }


class MmeStandIn:
    """Listens in the core namespace and puts every SCTP INIT it sees on the timeline as `mme/sctp-init`."""

    def __init__(self, netns: str, address: str, timeline: Timeline) -> None:
        self.netns = netns
        self.address = address
        self.timeline = timeline
        self.sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.mode = "raw"

    def start(self) -> None:
        # A raw socket sees INITs to every port, so a unit aiming at the wrong port is seen (and named) too.
        self.sock = socket_in_netns(self.netns, socket.AF_INET, socket.SOCK_RAW, IPPROTO_SCTP)
        self.sock.settimeout(0.1)  # how long stop() may wait for the reader to notice
        # Kernel receive timestamps: the INIT's time is exact even if this thread reads it late.
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
        self._thread = threading.Thread(target=self._serve, name="mme", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        assert self.sock is not None
        while self.sock.fileno() != -1:
            try:
                data, anc, _, _ = self.sock.recvmsg(65535, socket.CMSG_SPACE(16))
            except TimeoutError:
                continue
            except OSError:
                return
            info = parse_sctp(data)
            if info is None or info["chunk"] != SCTP_INIT:
                continue
            at = None
            for level, kind, raw in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMP and len(raw) >= 16:
                    sec, usec = struct.unpack("@qq", raw[:16])
                    at = sec + usec / 1e6
            self.timeline.add("mme", "sctp-init", at=at, mode=self.mode, **info)

    def stop(self) -> None:
        if self.sock is not None:
            self.sock.close()
        if self._thread is not None:
            self._thread.join(timeout=2)

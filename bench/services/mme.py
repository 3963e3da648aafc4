"""An MME stand-in: answers a unit's S1 setup (SCTP association, S1AP S1 Setup, eNB Configuration Update)
in the core namespace and puts every SCTP INIT and every S1AP message, decoded, on the timeline.

Kernel SCTP serves where the kernel has it; where it has none (CI), the userspace endpoint in bench.sctp does,
on a raw IP-protocol-132 socket. Either way a raw socket sees every INIT, so one to a wrong port is named too.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from bench import s1ap, sctp
from bench.events import MmeKind, Source
from bench.timeline import Timeline
from drivers.netns import run_in_netns, socket_in_netns


class MmeStandIn:
    """Events: `mme/sctp-init` (src, dst, sport, dport, vtag), `mme/sctp-up` and `mme/sctp-down` (peer, reason),
    `mme/s1ap` (direction uplink/downlink, message, peer, and the decoded fields of bench.s1ap.decode)."""

    def __init__(self, netns: str, timeline: Timeline, port: int = s1ap.PORT, plmn: str = "00101",
                 failure: str | None = None, time_to_wait: str | None = None) -> None:  # fmt: skip
        self.netns = netns
        self.timeline = timeline
        self.port = port
        self.plmn = plmn
        self.failure = failure
        self.time_to_wait = time_to_wait
        self.mode = "kernel" if run_in_netns(netns, sctp.kernel_sctp) else "raw"
        self.raw: sctp.RawSctp | None = None
        self.listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        s1ap.preload()
        sock = socket_in_netns(self.netns, socket.AF_INET, socket.SOCK_RAW, sctp.IPPROTO_SCTP)
        self.raw = sctp.RawSctp(sock, on_seen=self._seen)
        if self.mode == "raw":
            self.raw.listen(self.port, self._raw_data, self._raw_state)
            return
        # Kernel SCTP: the raw socket above only watches; one-to-one sockets serve.
        self.listener = socket_in_netns(self.netns, socket.AF_INET, socket.SOCK_STREAM, sctp.IPPROTO_SCTP)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("0.0.0.0", self.port))
        self.listener.listen(16)
        self.listener.settimeout(0.1)
        self._spawn(self._accept)

    def _spawn(self, target: Any, *args: Any) -> None:
        th = threading.Thread(target=target, args=args, name="mme", daemon=True)
        self._threads.append(th)
        th.start()

    def _seen(self, src: str, dst: str, pkt: sctp.Packet, at: float | None) -> None:
        if pkt.chunks[0][0] == sctp.INIT:
            self.timeline.add(Source.MME, MmeKind.SCTP_INIT, at=at, mode=self.mode, src=src, dst=dst, sport=pkt.sport,
                              dport=pkt.dport, vtag=pkt.vtag, chunk=sctp.INIT)  # fmt: skip

    # -- S1AP, whichever SCTP carries it ---------------------------------------------------------------
    def _answer(
        self, peer: str, local: str, ppid: int, payload: bytes, at: float | None = None
    ) -> bytes | None:
        """The MME's answer to an uplink message that arrived at `at` (the kernel's receive time, when known: an
        S1 Setup Request sent too soon after a TimeToWait stays too soon, however late the reader got to it)."""
        if ppid != s1ap.PPID:
            self.timeline.add(Source.MME, MmeKind.SCTP_DATA, at=at, peer=peer, ppid=ppid, size=len(payload))
            return None
        try:
            msg = s1ap.decode(payload)
        except ValueError as exc:
            self.timeline.add(Source.MME, MmeKind.S1AP, at=at, direction="uplink", peer=peer, local=local,
                              message="undecodable", error=str(exc), hex=payload.hex())  # fmt: skip
            return None
        self.timeline.add(
            Source.MME,
            MmeKind.S1AP,
            at=at,
            direction="uplink",
            peer=peer,
            local=local,
            hex=payload.hex(),
            **msg,
        )
        if msg["message"] == "S1SetupRequest":
            if self.failure:
                reply = s1ap.s1_setup_failure(self.failure, self.time_to_wait)
            else:
                reply = s1ap.s1_setup_response(self.plmn)
        elif msg["message"] == "ENBConfigurationUpdate":
            reply = s1ap.enb_configuration_update_ack()
        else:
            return None
        self.timeline.add(
            Source.MME, MmeKind.S1AP, direction="downlink", peer=peer, hex=reply.hex(), **s1ap.decode(reply)
        )
        return reply

    def _raw_data(self, a: sctp.Association, stream: int, ppid: int, payload: bytes) -> None:
        assert self.raw is not None
        reply = self._answer(a.peer, a.local, ppid, payload, self.raw.arrived)
        if reply is not None:
            a.send(s1ap.PPID, reply, stream)  # called with the endpoint's lock held

    def _raw_state(self, a: sctp.Association, state: str, reason: str) -> None:
        if state == "established":
            self.timeline.add(Source.MME, MmeKind.SCTP_UP, peer=a.peer, sport=a.peer_port, mode=self.mode)
        elif state in ("closed", "aborted"):
            self.timeline.add(
                Source.MME, MmeKind.SCTP_DOWN, peer=a.peer, sport=a.peer_port, state=state, reason=reason
            )

    # -- kernel SCTP -----------------------------------------------------------------------------------
    def _accept(self) -> None:
        assert self.listener is not None
        while self.listener.fileno() != -1:
            try:
                conn, (peer, port) = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sctp.kernel_subscribe(conn)
            self.timeline.add(Source.MME, MmeKind.SCTP_UP, peer=peer, sport=port, mode=self.mode)
            self._spawn(self._serve_kernel, conn, peer, port)

    def _serve_kernel(self, conn: socket.socket, peer: str, port: int) -> None:
        with conn:
            while True:
                try:
                    stream, ppid, data = sctp.kernel_recv(conn)
                except OSError as exc:
                    self.timeline.add(
                        Source.MME, MmeKind.SCTP_DOWN, peer=peer, sport=port, state="aborted", reason=str(exc)
                    )
                    return
                if not data:
                    self.timeline.add(
                        Source.MME, MmeKind.SCTP_DOWN, peer=peer, sport=port, state="closed", reason="peer"
                    )
                    return
                reply = self._answer(peer, conn.getsockname()[0], ppid, data)
                if reply is not None:
                    sctp.kernel_send(conn, s1ap.PPID, reply, stream)

    def caught_up(self, timeout: float) -> bool:
        """Every SCTP packet that reached the stand-in by now is on the timeline (its INITs, and in the userspace
        mode its S1AP too; kernel SCTP's associations are read by their own threads)."""
        return self.raw is None or self.raw.drained(timeout)

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.close()
        if self.raw is not None:
            self.raw.close()
        for th in self._threads:
            th.join(timeout=2)

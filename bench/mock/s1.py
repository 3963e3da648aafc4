"""The mock unit's S1 side: an SCTP association to the MME it was given (kernel SCTP where present, else
bench.sctp's userspace endpoint), S1 Setup with what it is configured with, eNB Configuration Update on change."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from bench import sctp
from bench.knobs import Knob

PPID = 18  # S1AP over SCTP (TS 36.412)


class S1Client:
    """One S1 link. Knobs: no_s1_setup (the association comes up, no S1 Setup follows), s1_wrong_tac,
    s1_wrong_plmn (S1 carries other values than configured), no_enb_config_update, ignore_time_to_wait (S1 Setup
    again at once after an S1 Setup Failure with TimeToWait).

    TS 36.413 8.7.3.3: after an S1 Setup Failure with TimeToWait, no S1 Setup Request towards that MME before
    the time has passed, whatever happens meanwhile: a new association (setup again after an address change, a
    reboot or a factory reset) holds its request until then, and the retry timed for an association that is gone
    is dropped with it."""

    def __init__(self, log: Callable[[str], None], knobs: set[str]) -> None:
        self.log = log
        self.knobs = knobs
        self.raw: sctp.RawSctp | None = None
        self.assoc: sctp.Association | None = None
        self.kernel: socket.socket | None = None
        self.sent: tuple[str, int] | None = None  # (PLMN, TAC) the MME last heard
        self.target: tuple[str, int] | None = None  # the MME's address and port
        self.request: bytes | None = None  # the S1 Setup Request, sent again after an S1 Setup Failure's wait
        self.lock = threading.Lock()
        self.hurried = False  # ignore_time_to_wait: the one retry at once was sent
        # The MME's address and port -> time.monotonic() before which no S1 Setup Request goes to it (its
        # TimeToWait). Kept over close(): the rule is per MME, not per association.
        self.not_before: dict[tuple[str, int], float] = {}
        self.epoch = 0  # bumped by close(): a send timed for the association before does not happen
        self.timer: threading.Timer | None = None

    def carried(self, plmn: str, tac: int) -> tuple[str, int]:
        if Knob.S1_WRONG_TAC in self.knobs:
            tac = (tac + 1) % 65536
        if Knob.S1_WRONG_PLMN in self.knobs:
            plmn = plmn[:3] + ("99" if plmn[3:] != "99" else "98")
        return plmn, tac

    def setup(self, address: str, port: int, enb_id: int, plmn: str, tac: int, name: str) -> None:
        """Open the association and send S1 Setup Request over it (once up); returns at once."""
        from bench.mock import s1ap_codec as s1ap

        self.close()
        self.target = (address, port)
        plmn, tac = self.carried(plmn, tac)
        if Knob.S1_WRONG_ENB_ID in self.knobs:
            enb_id = (enb_id + 1) % (1 << 28)
        request = None if Knob.NO_S1_SETUP in self.knobs else s1ap.s1_setup_request(enb_id, plmn, tac, name)
        with self.lock:
            self.sent = (plmn, tac) if request else None
            self.request = request
            hold = max(0.0, self.not_before.get((address, port), 0.0) - time.monotonic())
        if request is not None and hold > 0:
            self.log(f"s1: S1 Setup Request held {hold:.1f} s: the MME's TimeToWait has not passed")
        if sctp.kernel_sctp():
            threading.Thread(target=self._kernel, args=(address, port, request, hold), daemon=True).start()
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, sctp.IPPROTO_SCTP)
        self.raw = sctp.RawSctp(sock, rto_initial=0.5, rto_max=2.0, max_retrans=8)
        self.assoc = self.raw.connect(address, port, self._data, self._state)
        if request is not None:
            if hold > 0:
                self._later(hold, request)
            else:
                self.raw.send(self.assoc, PPID, request)  # queued until the association is up

    def update(self, plmn: str, tac: int) -> None:
        """After a configuration change: eNB Configuration Update when S1 carries something new."""
        from bench.mock import s1ap_codec as s1ap

        plmn, tac = self.carried(plmn, tac)
        with self.lock:
            if self.sent is None or self.sent == (plmn, tac):
                return
            self.sent = (plmn, tac)
        if Knob.NO_ENB_CONFIG_UPDATE in self.knobs:
            self.log(f"s1: TAC/PLMN now {tac}/{plmn}, no eNB Configuration Update (mock knob)")
            return
        self._send(s1ap.enb_configuration_update(plmn, tac))
        self.log(f"s1: eNB Configuration Update sent (TAC {tac}, PLMN {plmn})")

    def _later(self, delay: float, payload: bytes) -> None:
        """Send `payload` after `delay` seconds over this association; not if it is closed by then."""
        with self.lock:
            if self.timer is not None:
                self.timer.cancel()
            self.timer = threading.Timer(delay, self._send_if, (self.epoch, payload))
            self.timer.daemon = True
            self.timer.start()

    def _send_if(self, epoch: int, payload: bytes) -> None:
        with self.lock:
            if epoch != self.epoch:
                return
            self.timer = None
        self._send(payload)

    def _send(self, payload: bytes) -> None:
        if self.raw is not None and self.assoc is not None:
            self.raw.send(self.assoc, PPID, payload)
        elif self.kernel is not None:
            sctp.kernel_send(self.kernel, PPID, payload)

    def _state(self, a: sctp.Association, state: str, reason: str) -> None:
        self.log(
            f"s1: SCTP association to {a.peer}:{a.peer_port} {state}" + (f" ({reason})" if reason else "")
        )

    def _data(self, a: sctp.Association, stream: int, ppid: int, payload: bytes) -> None:
        if a is self.assoc:  # not from an association closed meanwhile
            self._received(ppid, payload)

    def _received(self, ppid: int, payload: bytes) -> None:
        from bench.mock import s1ap_codec as s1ap

        try:
            msg = s1ap.decode(payload)
        except ValueError as exc:
            self.log(f"s1: undecodable message (PPID {ppid}): {exc}")
            return
        extra = f" cause {msg['cause']}" if "cause" in msg else ""
        self.log(f"s1: {msg['message']} received{extra}")
        wait = msg.get("time_to_wait")
        if msg["message"] == "S1SetupFailure" and wait and self.request is not None:
            # TS 36.413 8.7.3.3: not before TimeToWait has passed, then S1 Setup again.
            delay = float(wait[1:-1])
            if self.target is not None:
                with self.lock:
                    self.not_before[self.target] = time.monotonic() + delay
            if Knob.IGNORE_TIME_TO_WAIT in self.knobs and not self.hurried:
                self.hurried = True  # once: a unit that retries at once, then backs off
                delay = 0.2
                self.log(f"s1: bug: S1 Setup again at once, not after TimeToWait {wait}")
            self._later(delay, self.request)

    def _kernel(self, address: str, port: int, request: bytes | None, hold: float) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, sctp.IPPROTO_SCTP)
        try:
            s.connect((address, port))
            sctp.kernel_subscribe(s)
            self.kernel = s
            self._state_kernel(address, port, "established")
            if request is not None and hold > 0:
                self._later(hold, request)
            elif request is not None:
                sctp.kernel_send(s, PPID, request)
            while True:
                _, ppid, data = sctp.kernel_recv(s)
                if not data or s is not self.kernel:
                    break
                self._received(ppid, data)
        except OSError as exc:
            self.log(f"s1: SCTP to {address}:{port}: {exc}")
        self._state_kernel(address, port, "closed")

    def _state_kernel(self, address: str, port: int, state: str) -> None:
        self.log(f"s1: SCTP association to {address}:{port} {state}")

    def close(self) -> None:
        with self.lock:  # not held over the endpoint's close: its receive thread calls _received
            self.epoch += 1
            timer, self.timer = self.timer, None
        if timer is not None:
            timer.cancel()
        if self.raw is not None:
            self.raw.close()
        if self.kernel is not None:
            self.kernel.close()
        self.raw, self.assoc, self.kernel, self.sent, self.target = None, None, None, None, None

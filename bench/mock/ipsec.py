"""The mock unit's IPsec: its own charon (kernel-libipsec) over VICI, IKEv2 up and down toward a SeGW, the
private DNS from the configuration payload, and a watch on CHILD_SA updown for a new inner address."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from bench.knobs import Knob
from bench.mock.config import MockConfig
from bench.services.charon import Charon

ESP = ["aes128gcm16"]
IKE = ["aes128-sha256-ecp256"]
# What 'accept_weak_ike_proposal' offers besides: the first of bench.impostors.WEAK_PROPOSALS.
WEAK_IKE = ["aes128-sha1-modp1024"]
# libfaketime (Debian faketime): how 'accept_expired_segw_cert' sets its IKE's clock back; the multi-threaded
# build for charon's threads; monotonic time (charon's timers) left alone.
FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


class Ipsec:
    """IKE as the unit does it, with the identity and CA of its factory programming `cfg`."""

    def __init__(self, cfg: MockConfig, knobs: set[str]) -> None:
        self.cfg = cfg
        self.knobs = knobs
        self.charon: Charon | None = None
        self.ike_name = ""

    def start(self, workdir: Path) -> None:
        """Start the charon and load the operator CA and the unit's certificate and key (blocking)."""
        env = {}
        if self.cfg.clock_behind:
            env = {
                "LD_PRELOAD": FAKETIME,
                "FAKETIME": f"-{self.cfg.clock_behind}",
                "DONT_FAKE_MONOTONIC": "1",
                "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            }
        self.charon = Charon("unit", workdir / "charon", None, retransmit_timeout=1.0, env=env)
        # The unit's /run is its own (a private mount): a pid file left there is of a charon its power-off
        # killed (under libfaketime charon does not get round to removing it).
        Path("/run/charon.pid").unlink(missing_ok=True)
        self.charon.start()
        self.charon.load_ca(Path(self.cfg.ca).read_bytes())
        for extra in self.cfg.segw_trust:
            self.charon.load_ca(Path(extra).read_bytes())
        self.charon.load_identity(Path(self.cfg.cert).read_bytes(), Path(self.cfg.key).read_bytes())

    def ike_up(self, name: str, segw_ip: str, segw_id: str) -> str:
        assert self.charon is not None
        cert = Path(self.cfg.cert).read_bytes()
        self.charon.load_conn(
            name,
            {
                "version": "2",
                "remote_addrs": [segw_ip],
                "vips": ["0.0.0.0"],
                "proposals": self._proposals(),
                "local": {"auth": "pubkey", "certs": [cert], "id": self.cfg.ike_id},
                "remote": self._remote(segw_id),
                "children": {
                    name: {
                        "remote_ts": self.cfg.protected,
                        "esp_proposals": ESP,
                        "close_action": "start",
                        "dpd_action": "restart",
                    }
                },
            },
        )
        # Under libfaketime charon's timed waits return at once: no timeout then (charon's retransmissions end
        # an attempt nobody answers).
        timeout = 0 if self.cfg.clock_behind else 10000
        for _ in self.charon.session.initiate({"child": name, "ike": name, "timeout": timeout}):
            pass
        self.ike_name = name
        return self.current_vip(name)

    def _proposals(self) -> list[str]:
        if Knob.WEAK_IKE_PROPOSAL in self.knobs:
            return ["aes256-sha512-modp4096"]
        return IKE + WEAK_IKE if Knob.ACCEPT_WEAK_IKE_PROPOSAL in self.knobs else IKE

    def _remote(self, segw_id: str) -> dict[str, Any]:
        """How the unit authenticates the SeGW: its certificate from a trusted CA naming `segw_id`, or a pinned
        public key for that name (then nothing else of the certificate is checked)."""
        remote: dict[str, Any] = {"auth": "pubkey", "id": segw_id}
        pin = self.cfg.segw_pins.get(segw_id)
        if pin:
            remote["pubkeys"] = [Path(pin).read_bytes()]
        return remote

    def current_vip(self, name: str) -> str:
        assert self.charon is not None
        for entry in self.charon.session.list_sas({"ike": name}):
            for sa in entry.values():
                vips = sa.get("local-vips", [])
                if vips:
                    return vips[0].decode()
        raise RuntimeError(f"IKE SA {name} has no inner address")

    def ike_down(self, name: str) -> None:
        assert self.charon is not None
        self.charon.session.unload_conn({"name": name})
        # Under libfaketime: not waited for (-1), as no timed wait works there.
        timeout = -1 if self.cfg.clock_behind else 3000
        for _ in self.charon.session.terminate({"ike": name, "timeout": timeout, "force": "yes"}):
            pass

    def watch_address(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str]) -> None:
        """VICI child-updown from the unit's own charon: each new inner address goes into `queue` (a thread).

        CHILD_SA up, not IKE_SA up: only then are the tunnel's routes in place to reach the HeMS."""
        assert self.charon is not None
        session = self.charon.connect()
        with contextlib.suppress(OSError):
            self._watch(session, loop, queue)

    def _watch(self, session: Any, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str]) -> None:
        for label, event in session.listen(["child-updown"]):
            if label is None or not event.get("up"):
                continue
            for sa in event.values():
                if isinstance(sa, dict) and sa.get("local-vips"):
                    vip = sa["local-vips"][0].decode()
                    loop.call_soon_threadsafe(queue.put_nowait, vip)

    def private_dns(self) -> str:
        assert self.charon is not None
        for line in self.charon.resolv_path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                return parts[1]
        raise RuntimeError("the SeGW gave no DNS server in the IKE configuration payload")

    def stop(self) -> None:
        if self.charon is not None:
            self.charon.stop()

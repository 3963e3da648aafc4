"""The mock unit's procedures (TS 32.593 5.1, 5.2.4): discovery through the Initial SeGW/HeMS (private) or
straight to the Initial HeMS (public), registration with the Serving SeGW/HeMS and S1 setup, the registered loop
of sessions, the inner-address change and periodic Informs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, Protocol
from urllib.parse import urlsplit

from bench import cwmp
from bench.knobs import Knob
from bench.mock.config import MockConfig
from bench.mock.datamodel import NOTIFY_ACTIVE, DataModel
from bench.mock.flash import Flash
from bench.mock.hems_trust import HemsTrust
from bench.mock.ipsec import Ipsec
from bench.mock.network import Network
from bench.mock.pm import is_true
from bench.mock.s1 import S1Client
from bench.mock.session import CwmpClient, Restart

S1AP_PORT = 36412
# A failed IKE attempt (the unit refused the SeGW, or the SeGW the unit) is tried again after these waits, the
# last one repeated: a unit's IKE backoff, with the mock's short waits.
IKE_RETRY = (0.1, 0.1, 0.1, 0.1, 0.3, 1.0, 2.0, 5.0)


class Unit(Protocol):
    """What the procedures need of the unit's core: its parts and the state they share."""

    cfg: MockConfig
    knobs: set[str]
    ms: str
    p: dict[str, str]
    device_id: cwmp.DeviceId
    net: Network
    ipsec: Ipsec
    client: CwmpClient
    flash: Flash
    s1: S1Client
    s1_early: S1Client
    model: DataModel
    public_dns: str | None
    vip: str | None
    serving: tuple[str, str] | None
    shems: tuple[str, str]
    registered: bool
    reboot: tuple[str, str] | None
    wake: asyncio.Event
    queue: asyncio.Queue[str]
    requests: list[dict[str, Any]]
    pending: dict[str, str]
    pending_params: list[str]
    deferred: dict[str, str]
    deferred_params: list[str]
    address_change: str | None
    apply_at_boot: bool
    s1_held: tuple[str, int] | None

    def log(self, msg: str) -> None: ...
    def set_state(self, state: str) -> None: ...
    def set_inner(self, vip: str, notify: bool = False) -> None: ...
    def notify(
        self, events: dict[str, str], params: list[str] | None = None, at_once: bool = True
    ) -> None: ...


class Procedures:
    """What `unit` does from discovery on, one step after the other, as its knobs bend them."""

    def __init__(self, unit: Unit) -> None:
        self.unit = unit
        self.cfg = unit.cfg
        self.knobs = unit.knobs
        self.log = unit.log
        self.hems_trust = HemsTrust(unit.cfg.ca, unit.knobs, unit.log, unit.set_state)

    def s1_values(self) -> tuple[str, int, int]:
        """(PLMN, TAC, cell identity) as configured now."""

        got = {
            k: self.unit.model.get(self.unit.p[k]) if self.unit.p[k] in self.unit.model.params else ""
            for k in ("plmn", "tac", "cell_identity")
        }
        tac, cell = (int(got[k]) if got[k].isdigit() else 0 for k in ("tac", "cell_identity"))
        return got["plmn"], tac, cell

    def s1_setup(self, s1: S1Client, address: str, port: int) -> None:
        plmn, tac, cell = self.s1_values()
        # Never set by the HeMS: a factory PLMN no operator uses, so the plan notices.
        s1.setup(address, port, cell, plmn or "99970", tac, f"mock-{self.unit.device_id.serial_number}")

    async def periodic_loop(self) -> None:
        due: tuple[int, float] | None = None
        while True:
            await asyncio.sleep(0.1)
            g = self.unit.model.get
            if not self.unit.registered or not is_true(g(self.unit.ms + "PeriodicInformEnable")):
                due = None
                continue
            interval = int(g(self.unit.ms + "PeriodicInformInterval") or "0")
            if interval <= 0:
                continue
            if due is None or due[0] != interval:
                due = (interval, time.monotonic() + interval)
            if time.monotonic() >= due[1]:
                due = (interval, due[1] + interval)
                self.unit.notify({"2 PERIODIC": ""})

    async def address_pump(self) -> None:
        """5.2.4: every new inner address is reported with an Inform as soon as possible."""
        while True:
            new = await self.unit.queue.get()
            if new == self.unit.vip or not self.unit.registered:
                continue
            old = self.unit.vip
            self.unit.set_inner(new, notify=True)
            self.log(f"ipsec: inner address changed {old} -> {new}")
            if Knob.NO_INFORM_AFTER_ADDRESS_CHANGE in self.knobs or Knob.INFORM_BEFORE_CHANGE in self.knobs:
                self.unit.model.changed.pop(self.unit.p["ipsec_address"], None)
            else:
                if self.unit.address_change is None:
                    self.unit.address_change = old
                # Reported as the HeMS asked (TR-069 3.2.1): at once under Active notification, in the next Inform
                # under Passive (set_internal recorded it), not at all under none. Before S1 is set up again: the
                # report does not wait for the S1 stack.
                if self.unit.model.params[self.unit.p["ipsec_address"]].notification == NOTIFY_ACTIVE:
                    self.unit.notify({"4 VALUE CHANGE": ""}, [self.unit.p["ipsec_address"]])
            # The association was bound to the old address: S1 setup again.
            if self.unit.s1.target is not None:
                try:
                    self.s1_setup(self.unit.s1, *self.unit.s1.target)
                except Exception as exc:  # noqa: BLE001  # a unit logs an S1 failure and goes on reporting
                    self.log(f"s1: setup again after the address change failed: {type(exc).__name__}: {exc}")

    async def discover(self, events: list[tuple[str, str]]) -> None:
        """5.1.2.2 (Initial HeMS behind the Initial SeGW) or 5.1.2.3 (Initial HeMS on the internet)."""
        assert self.unit.public_dns is not None
        self.unit.set_state("discovering")
        ihems_url = self.unit.model.get(self.unit.ms + "URL")
        ihost = urlsplit(ihems_url).hostname or ""
        public = self.cfg.initial_hems_access == "public"
        if public and Knob.INITIAL_SEGW_FOR_PUBLIC_HEMS in self.knobs:
            self.log("bug: turning to the Initial SeGW although the Initial HeMS is on the public internet")
            public = False
        if public:
            ihems_ip = await self.unit.net.lookup(ihost, self.unit.public_dns, Knob.HEMS_BY_IP)
            await self.hems_trust.trusted(ihems_url, ihems_ip, "Initial HeMS")
            self.unit.model.changed.clear()
            await self.unit.client.session(ihems_url, ihems_ip, events, [], "discovery")
        else:
            isegw = self.cfg.initial_segw
            isegw_ip = await self.unit.net.lookup(isegw, self.unit.public_dns, Knob.SEGW_BY_IP)
            vip = await self.tunnel("initial", isegw_ip, isegw)
            self.unit.set_inner(vip)
            self.log(f"ipsec: tunnel to Initial SeGW up, inner address {vip}")
            private_dns = self.unit.ipsec.private_dns()
            if Knob.HEMS_DNS_PUBLIC in self.knobs:
                with contextlib.suppress(LookupError):
                    await self.unit.net.resolve(ihost, self.unit.public_dns)
            ihems_ip = await self.unit.net.lookup(ihost, private_dns, Knob.HEMS_BY_IP)
            self.unit.model.changed.clear()
            await self.unit.client.session(ihems_url, ihems_ip, events, [], "discovery")
        # Steps 4-6: release, drop the first tunnel (private case), Serving SeGW, Serving HeMS.
        ssegw = self.unit.model.get(self.unit.p["serving_segw"])
        shems_url = self.unit.model.get(self.unit.ms + "URL")
        if Knob.IGNORE_SERVING_HEMS in self.knobs:
            self.log(f"bug: ignoring the Serving HeMS {shems_url}; staying with {ihems_url}")
            shems_url = ihems_url
            self.unit.model.params[self.unit.ms + "URL"].value = ihems_url
        if Knob.IGNORE_SERVING_ASSIGNMENT in self.knobs or not ssegw:
            self.log("discovery: no Serving SeGW assigned (or ignored); staying with the Initial SeGW")
            self.unit.set_state("stuck")
            await asyncio.Event().wait()
        if not public:
            if Knob.KEEP_SESSION_OPEN in self.knobs:
                # The session held, and the tunnel it runs in with it (dropping it would end it), past bounds.step.
                self.log("bug: holding the Initial HeMS session open for 60 s")
                await asyncio.sleep(60.0)
            await asyncio.to_thread(self.unit.ipsec.ike_down, "initial")
            self.log("ipsec: tunnel to Initial SeGW released")
        self.unit.serving = (ssegw, shems_url)
        self.unit.flash.save(self.unit.model, self.unit.serving)

    async def again(self, name: str, lookup: Any) -> str:
        """`lookup()` of the Serving SeGW until the DNS knows `name` (a flash configured for another operator), with
        the unit's backoff; Restart when the console reboots or resets the unit meanwhile, as a unit does at once."""
        tries = 0
        while True:
            try:
                return str(await lookup())
            except LookupError:
                wait = IKE_RETRY[min(tries, len(IKE_RETRY) - 1)]
                if not tries:
                    self.unit.set_state("stuck")
                tries += 1
                self.log(f"dns: {name} not found; trying again in {wait:g} s")
                self.unit.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.unit.wake.wait(), wait)
                if self.unit.reboot is not None:
                    raise Restart(name) from None

    async def tunnel(self, name: str, ip: str, segw: str) -> str:
        """IKE with the SeGW `segw` until it is up (its inner address), tried again with the unit's backoff."""
        tries = 0
        while True:
            try:
                return await asyncio.to_thread(self.unit.ipsec.ike_up, name, ip, segw)
            except Exception as exc:  # noqa: BLE001  # vici's CommandException: charon's own words
                wait = IKE_RETRY[min(tries, len(IKE_RETRY) - 1)]
                tries += 1
                self.log(f"ipsec: IKE with {segw} failed ({exc}); trying again in {wait:g} s")
                await asyncio.sleep(wait)

    async def register(self, events: list[tuple[str, str]]) -> None:
        """5.1.2.2 step 6 and 5.1.3: Serving SeGW, Serving HeMS, then S1 setup toward the far end it gave."""
        assert self.unit.serving is not None and self.unit.public_dns is not None
        ssegw, shems_url = self.unit.serving
        public_dns = self.unit.public_dns
        ssegw_ip = await self.again(
            ssegw, lambda: self.unit.net.lookup(ssegw, public_dns, Knob.SERVING_SEGW_BY_IP)
        )
        vip = await self.tunnel("serving", ssegw_ip, ssegw)
        if Knob.S1_BEFORE_REGISTRATION in self.knobs:
            self.s1_setup(self.unit.s1_early, self.cfg.factory_s1, S1AP_PORT)
            self.log(f"s1: S1 setup to factory address {self.cfg.factory_s1} before registration")
        self.unit.set_inner(vip)
        self.log(f"ipsec: tunnel to Serving SeGW up, inner address {self.unit.vip}")
        shost = urlsplit(shems_url).hostname or ""
        if self.cfg.initial_hems_access == "public" and Knob.IGNORE_SERVING_HEMS in self.knobs:
            shems_ip = await self.unit.net.resolve(shost, self.unit.public_dns)
        else:
            shems_ip = await self.unit.net.resolve(shost, self.unit.ipsec.private_dns())
        if urlsplit(shems_url).scheme == "https":  # the Serving HeMS over HTTPS (operator.serving_hems_tls)
            await self.hems_trust.trusted(shems_url, shems_ip, "Serving HeMS")
        self.unit.shems = (shems_url, shems_ip)
        self.unit.set_state("registering")
        first = [("0 BOOTSTRAP", ""), ("1 BOOT", "")] if ("0 BOOTSTRAP", "") in events else events
        if Knob.NO_BOOTSTRAP in self.knobs or Knob.NO_BOOTSTRAP_AT_SERVING_HEMS in self.knobs:
            first = [e for e in first if e[0] != "0 BOOTSTRAP"] or [("1 BOOT", "")]
        self.unit.model.changed.clear()
        requests = list(self.unit.requests) if ("7 TRANSFER COMPLETE", "") in first else None
        await self.unit.client.session(
            shems_url, shems_ip, first, [self.unit.p["ipsec_address"]], "registration", requests=requests
        )
        self.unit.registered = True
        self.unit.set_state("registered")
        if Knob.INFORM_BEFORE_CHANGE in self.knobs:
            # Before S1 setup, so a plan that waits for S1 has seen it before it changes the address.
            await self.unit.client.session(
                shems_url, shems_ip, ["4 VALUE CHANGE"], [self.unit.p["ipsec_address"]], "address-change"
            )
        s1 = self.unit.model.get(self.unit.p["s1_far_end"]).split(",")[0].strip()
        if Knob.S1_TO_FACTORY_ADDRESS in self.knobs:
            s1 = self.cfg.factory_s1
        if s1 and Knob.NO_S1_INIT not in self.knobs:
            port = S1AP_PORT + 1 if Knob.S1_WRONG_PORT in self.knobs else S1AP_PORT
            if Knob.WAIT_FOR_ADMIN_STATE in self.knobs and not self.unlocked():
                self.unit.s1_held = (s1, port)
                self.log("s1: cell locked (FAPControl.LTE.AdminState false): S1 setup waits to be unlocked")
                return
            self.s1_setup(self.unit.s1, s1, port)
            self.log(f"s1: S1 setup toward {s1}:{port}")

    def unlocked(self) -> bool:
        """TR-196 FAPControl.LTE.AdminState true: the cell may serve (a model without it: always)."""
        path = self.unit.p.get("admin_state", "")
        return path not in self.unit.model.params or self.unit.model.get(path) == "true"

    def release_s1(self) -> None:
        """wait_for_admin_state: the held S1 setup, once the HeMS has unlocked the cell."""
        if self.unit.s1_held is not None and self.unlocked():
            s1, port = self.unit.s1_held
            self.unit.s1_held = None
            self.s1_setup(self.unit.s1, s1, port)
            self.log(f"s1: cell unlocked, S1 setup toward {s1}:{port}")

    def due(self) -> bool:
        """Something to report now: an event that opens a session, a CPE request, an Active change."""
        return bool(
            self.unit.pending
            or self.unit.requests
            or any(level == 2 for level in self.unit.model.changed.values())
        )

    async def operate(self) -> None:
        """Registered: one session at a time, whenever something has to be reported; until a reboot."""
        url, ip = self.unit.shems
        while self.unit.reboot is None:
            if not self.due():
                self.unit.wake.clear()
                await self.unit.wake.wait()
                continue
            changed = dict(self.unit.model.changed)
            requests = list(self.unit.requests)
            events = {**self.unit.deferred, **self.unit.pending}
            if changed:
                events.setdefault("4 VALUE CHANGE", "")
            extra: list[str] = []
            for n in [*self.unit.pending_params, *self.unit.deferred_params, *changed]:
                if n not in extra:
                    extra.append(n)
            old = self.unit.address_change
            self.unit.pending.clear()
            self.unit.pending_params.clear()
            self.unit.deferred.clear()
            self.unit.deferred_params.clear()
            self.unit.model.changed.clear()
            self.unit.address_change = None
            overrides = (
                {self.unit.p["ipsec_address"]: old}
                if old is not None and Knob.OLD_ADDRESS_IN_INFORM in self.knobs
                else None
            )
            try:
                kind = "address-change" if old else "operate"
                await self.unit.client.session(
                    url, ip, list(events.items()), extra, kind, overrides, requests
                )
                plmn, tac, _ = self.s1_values()
                if self.unit.apply_at_boot:
                    self.log(
                        "s1: new values committed, applied at the next boot (SetParameterValues Status 1)"
                    )
                else:
                    self.unit.s1.update(plmn, tac)
                self.release_s1()
            except RuntimeError as exc:
                self.log(f"cwmp: {exc}; will report at the next session")
                for k, v in events.items():
                    self.unit.pending.setdefault(k, v)
                self.unit.pending_params.extend(n for n in extra if n not in self.unit.pending_params)
                await asyncio.sleep(1.0)

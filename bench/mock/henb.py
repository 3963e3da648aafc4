"""The mock HeNB process: DHCP, DNS, IKEv2 with its own charon, TR-069 sessions and S1 setup, like a unit.

Run by the mock power driver as `python -m bench.mock.henb CONFIG.json` inside the unit's namespace, with its
console (stdin/stdout) on a pty and a private /run. Each misbehaviour knob in the config bends one step.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import cwmp
from bench.errors import ConfigError
from bench.knobs import Knob
from bench.mock import cr_server
from bench.mock.alarms import Alarms
from bench.mock.config import MockConfig, load
from bench.mock.cr_server import CR_PORT
from bench.mock.datamodel import (
    NOTIFY_ACTIVE,
    DataModel,
    factory,
)
from bench.mock.flash import Flash
from bench.mock.ipsec import Ipsec
from bench.mock.network import Network
from bench.mock.pm import PerfMgmt, is_true
from bench.mock.rpc import Rpc
from bench.mock.s1 import S1Client
from bench.mock.session import CwmpClient
from bench.mock.transfer_jobs import Transfers
from bench.profiles import mock_profile

S1AP_PORT = 36412


class RebootRequested(Exception):
    pass


class MockHeNB:
    def __init__(self, cfg: MockConfig) -> None:
        self.cfg = cfg
        self.knobs: set[str] = {str(k) for k in cfg.knobs}
        # Which CLI its console speaks: the bench's own, or a vendor's (bench/mock/vendor_cli.py).
        self.dialect: str = cfg.console_dialect
        self.ns = cfg.cwmp_ns
        # Where this unit keeps what the HeMSs set (its firmware's own data model, not the inventory's profile).
        self.p = mock_profile(cfg.data_model).paths.model_dump()
        self.workdir = Path(cfg.workdir)
        self.state = "booting"
        self.vip: str | None = None
        self.public_dns: str | None = None
        self.t0 = time.monotonic()
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.loop: asyncio.AbstractEventLoop | None = None
        ident = cfg.identity
        self.identity = ident.model_dump()
        self.device_id = cwmp.DeviceId(
            ident.manufacturer, ident.oui, ident.product_class, ident.serial_number
        )
        self.wrong_id = cwmp.DeviceId(
            ident.manufacturer, ident.oui, ident.product_class, ident.serial_number + "X"
        )
        # The data model: Device:2 or InternetGatewayDevice (TR-262 FAP components); same procedures.
        self.kind: str = cfg.data_model
        root = "InternetGatewayDevice." if self.kind == "igd" else "Device."
        self.ms = root + "ManagementServer."
        self.fm = root + "FaultMgmt."
        self.pm_table = root + "FAP.PerfMgmt.Config."
        self.model = self.factory_model()
        self.flash = Flash(cfg.flash, self.log)
        self.pm = PerfMgmt(
            lambda: self.model,
            self.pm_table,
            self.knobs,
            f"{ident.oui}-{ident.serial_number}",
            lambda: self.registered,
            self.spawn,
            self.resolve_private,
            Path(cfg.ca),
            self.log,
        )
        self.alarms = Alarms(
            lambda: self.model, self.fm, self.knobs, self.dialect, ident.serial_number, self.log, self.notify
        )
        # What the next session reports: event code -> CommandKey, extra parameters, CPE requests.
        self.pending: dict[str, str] = {}
        self.pending_params: list[str] = []
        self.deferred: dict[str, str] = {}
        self.deferred_params: list[str] = []
        self.shems: tuple[str, str] = ("", "")
        self.requests: list[dict[str, Any]] = []
        self.address_change: str | None = None
        self.wake = asyncio.Event()
        self.reboot: tuple[str, str] | None = None
        self.registered = False
        self.serving: tuple[str, str] | None = None
        self.log_lines: list[str] = []
        self.tasks: set[asyncio.Task[Any]] = set()
        self.net = Network(cfg, self.knobs, self.log)
        self.ipsec = Ipsec(cfg, self.knobs)
        self.transfers = Transfers(self)
        self.rpc = Rpc(self)
        self.client = CwmpClient(self)
        self.s1 = S1Client(self.log, self.knobs)
        self.s1_early = S1Client(self.log, self.knobs)

    def factory_cr(self) -> tuple[str, str]:
        """The connection-request credentials the unit leaves the factory with: the inventory's `own` ones, or a
        vendor default the bench does not know (it learns the HeMS's through SetParameterValues)."""
        own = self.cfg.factory_cr
        if own:
            return own.username, own.password
        return "factory", f"cr-{self.device_id.serial_number}-factory"

    def factory_model(self) -> DataModel:
        cfg = self.cfg
        m = factory(
            self.identity,
            {
                self.ms + "URL": cfg.initial_hems_url,
                self.ms + "Username": cfg.hems_username,
                self.ms + "Password": cfg.hems_password,
                self.ms + "ConnectionRequestUsername": self.factory_cr()[0],
                self.ms + "ConnectionRequestPassword": self.factory_cr()[1],
            },
            self.kind,
        )
        m.params[self.p["ipsec_usage"]].value = "true"
        return m

    # -- console ---------------------------------------------------------------------------------------
    def log(self, msg: str) -> None:
        stamp = f"[{time.monotonic() - self.t0:9.3f}]"
        line = f"{stamp} {msg}"
        self.log_lines = self.log_lines[-999:] + [line]
        sys.stdout.write(f"{line}\r\n")
        sys.stdout.flush()

    def set_state(self, state: str) -> None:
        self.state = state
        self.log(f"state: {state}")

    def console_reader(self) -> None:
        """The unit's CLI on its serial console."""
        from bench.mock.bench_cli import bench_command
        from bench.mock.vendor_cli import PROMPT, vendor_command

        handle = lambda cmd: bench_command(self, cmd)  # noqa: E731
        if self.dialect == "vendor":
            sys.stdout.write(PROMPT)
            sys.stdout.flush()
            handle = lambda cmd: vendor_command(self, cmd)  # noqa: E731
        for raw in sys.stdin:
            cmd = raw.strip()
            if cmd and self.loop is not None:
                self.loop.call_soon_threadsafe(handle, cmd)

    def restart(self, kind: str, key: str = "") -> None:
        """A reboot the unit's console (or a Download that needs one, `key` its CommandKey) asked for: `factory`
        wipes its configuration while going down (after its confirming line, as a real unit writes its flash
        during shutdown)."""
        self.reboot = (kind, key)
        self.wake.set()

    def s1_values(self) -> tuple[str, int, int]:
        """(PLMN, TAC, cell identity) as configured now."""

        got = {
            k: self.model.get(self.p[k]) if self.p[k] in self.model.params else ""
            for k in ("plmn", "tac", "cell_identity")
        }
        tac, cell = (int(got[k]) if got[k].isdigit() else 0 for k in ("tac", "cell_identity"))
        return got["plmn"], tac, cell

    def s1_setup(self, s1: S1Client, address: str, port: int) -> None:
        plmn, tac, cell = self.s1_values()
        # Never set by the HeMS: a factory PLMN no operator uses, so the plan notices.
        s1.setup(address, port, cell, plmn or "99970", tac, f"mock-{self.device_id.serial_number}")

    # -- TR-069 ----------------------------------------------------------------------------------------
    # -- asynchronous work started by RPCs, the console and timers --------------------------------------
    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.log(f"bug: background task failed: {task.exception()!r}")

    def notify(self, events: dict[str, str], params: list[str] | None = None, at_once: bool = True) -> None:
        """Report `events` (code -> CommandKey) and `params`: at once (a session now) or in the next Inform."""
        ev, ps = (self.pending, self.pending_params) if at_once else (self.deferred, self.deferred_params)
        ev.update(events)
        ps.extend(p for p in params or [] if p not in ps)
        self.wake.set()

    def change(self, name: str, value: str) -> None:
        """A value the unit changes itself (console `set`): notified per the parameter's attribute."""
        if name not in self.model.params:
            self.log(f"set: no parameter {name}")
            return
        self.model.set_internal(name, value)
        self.log(f"param: {name} = {value} (notification {self.model.params[name].notification})")
        self.wake.set()

    async def resolve_private(self, host: str) -> str:
        return await self.net.resolve(host, self.ipsec.private_dns())

    # -- alarms (TS 32.593 5.3, TR-181 FaultMgmt) ----------------------------------------------------------
    # -- periodic Inform and connection requests ----------------------------------------------------------
    async def periodic_loop(self) -> None:
        due: tuple[int, float] | None = None
        while True:
            await asyncio.sleep(0.1)
            g = self.model.get
            if not self.registered or not is_true(g(self.ms + "PeriodicInformEnable")):
                due = None
                continue
            interval = int(g(self.ms + "PeriodicInformInterval") or "0")
            if interval <= 0:
                continue
            if due is None or due[0] != interval:
                due = (interval, time.monotonic() + interval)
            if time.monotonic() >= due[1]:
                due = (interval, due[1] + interval)
                self.notify({"2 PERIODIC": ""})

    def set_inner(self, vip: str, notify: bool = False) -> None:
        self.vip = vip
        self.model.set_internal(self.p["ipsec_address"], vip, notify=notify)
        self.model.set_internal(self.ms + "ConnectionRequestURL", f"http://{vip}:{CR_PORT}/cr", notify=False)

    async def address_pump(self) -> None:
        """5.2.4: every new inner address is reported with an Inform as soon as possible."""
        while True:
            new = await self.queue.get()
            if new == self.vip or not self.registered:
                continue
            old = self.vip
            self.set_inner(new, notify=True)
            self.log(f"ipsec: inner address changed {old} -> {new}")
            if self.s1.target is not None:  # the association was bound to the old address: S1 setup again
                self.s1_setup(self.s1, *self.s1.target)
            if Knob.NO_INFORM_AFTER_ADDRESS_CHANGE in self.knobs or Knob.INFORM_BEFORE_CHANGE in self.knobs:
                self.model.changed.pop(self.p["ipsec_address"], None)
                continue
            if self.address_change is None:
                self.address_change = old
            # Reported as the HeMS asked (TR-069 3.2.1): at once under Active notification, in the next Inform
            # under Passive (set_internal recorded it), not at all under none.
            if self.model.params[self.p["ipsec_address"]].notification == NOTIFY_ACTIVE:
                self.notify({"4 VALUE CHANGE": ""}, [self.p["ipsec_address"]])

    # -- the procedures --------------------------------------------------------------------------------
    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.log(f"mock HeNB {self.device_id.serial_number} booting (knobs: {sorted(self.knobs) or 'none'})")
        threading.Thread(target=self.console_reader, daemon=True).start()
        lease = await asyncio.to_thread(self.net.dhcp)
        await asyncio.to_thread(self.net.configure_wan, lease)
        self.public_dns = lease["dns"]
        if (wan := "Device.IP.Interface.1.IPv4Address.1.IPAddress") in self.model.params:
            self.model.set_internal(wan, lease["ip"], notify=False)
        self.log(f"wan: {lease['ip']} via {lease['router']}, dns {lease['dns']}")
        await asyncio.to_thread(self.net.set_clock, lease["ntp"])
        if Knob.OTHER_TRAFFIC in self.knobs:
            self.net.syslog(lease["router"])
        await asyncio.to_thread(self.ipsec.start, self.workdir)
        if Knob.LEAK_CLEARTEXT in self.knobs:
            self.net.leak()
        await cr_server.serve(lambda: self.model, self.ms, self.knobs, self.log, self.notify)
        for coro in (self.periodic_loop(), self.pm.run(), self.address_pump()):
            self.spawn(coro)
        events = (
            [("1 BOOT", "")] if Knob.NO_BOOTSTRAP in self.knobs else [("0 BOOTSTRAP", ""), ("1 BOOT", "")]
        )
        if (saved := self.flash.load(self.model)) is not None:
            self.serving = saved
            events = [("1 BOOT", "")]
        watching = False
        while True:
            if self.serving is None:
                await self.discover(events)
            await self.register(events)
            if Knob.KERNEL_PANIC in self.knobs:
                self.log("Kernel panic - not syncing: Fatal exception in interrupt")
                await asyncio.Event().wait()
            if not watching:
                watch = self.ipsec.watch_address
                threading.Thread(target=watch, args=(self.loop, self.queue), daemon=True).start()
                watching = True
            await self.operate()
            kind, key = self.reboot or ("reboot", "")
            self.reboot = None
            self.registered = False
            self.set_state("factory-reset" if kind == "factory" else "rebooting")
            self.s1.close()
            self.s1_early.close()
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.ipsec.ike_down, self.ipsec.ike_name)
            self.pending.clear()
            self.pending_params.clear()
            self.deferred.clear()
            self.deferred_params.clear()
            self.requests = [r for r in self.requests if r["method"] == "TransferComplete"]
            self.model.changed.clear()
            if kind == "factory":
                self.model = self.factory_model()
                self.serving = None
                self.flash.wipe()
                events = (
                    [("1 BOOT", "")]
                    if Knob.NO_BOOTSTRAP in self.knobs
                    else [("0 BOOTSTRAP", ""), ("1 BOOT", "")]
                )
            elif kind == "download":
                # TR-069: the boot Inform reports the Download's completion, its TransferComplete in that session.
                done = any(r["command_key"] == key for r in self.requests)
                events = (
                    [("1 BOOT", ""), ("M Download", key), ("7 TRANSFER COMPLETE", "")]
                    if done
                    else [("1 BOOT", "")]
                )
            else:  # a Reboot RPC's reboot also reports M Reboot; one from the console does not
                events = [("1 BOOT", ""), ("M Reboot", key)] if kind == "reboot" else [("1 BOOT", "")]
            await asyncio.sleep(0.2)
            self.log("boot: up again")

    async def discover(self, events: list[tuple[str, str]]) -> None:
        """5.1.2.2 (Initial HeMS behind the Initial SeGW) or 5.1.2.3 (Initial HeMS on the internet)."""
        assert self.public_dns is not None
        self.set_state("discovering")
        ihems_url = self.model.get(self.ms + "URL")
        ihost = urlsplit(ihems_url).hostname or ""
        if self.cfg.initial_hems_access == "public":
            ihems_ip = await self.net.lookup(ihost, self.public_dns, Knob.HEMS_BY_IP)
            if not await self.check_hems_cert(ihems_url, ihems_ip):
                self.set_state("stuck")
                await asyncio.Event().wait()
            self.model.changed.clear()
            await self.client.session(ihems_url, ihems_ip, events, [], "discovery")
        else:
            isegw = self.cfg.initial_segw
            isegw_ip = await self.net.lookup(isegw, self.public_dns, Knob.SEGW_BY_IP)
            vip = await asyncio.to_thread(self.ipsec.ike_up, "initial", isegw_ip, isegw)
            self.set_inner(vip)
            self.log(f"ipsec: tunnel to Initial SeGW up, inner address {vip}")
            private_dns = self.ipsec.private_dns()
            if Knob.HEMS_DNS_PUBLIC in self.knobs:
                with contextlib.suppress(LookupError):
                    await self.net.resolve(ihost, self.public_dns)
            ihems_ip = await self.net.lookup(ihost, private_dns, Knob.HEMS_BY_IP)
            self.model.changed.clear()
            await self.client.session(ihems_url, ihems_ip, events, [], "discovery")
        # Steps 4-6: release, drop the first tunnel (private case), Serving SeGW, Serving HeMS.
        ssegw = self.model.get(self.p["serving_segw"])
        shems_url = self.model.get(self.ms + "URL")
        if Knob.IGNORE_SERVING_HEMS in self.knobs:
            self.log(f"bug: ignoring the Serving HeMS {shems_url}; staying with {ihems_url}")
            shems_url = ihems_url
            self.model.params[self.ms + "URL"].value = ihems_url
        if Knob.IGNORE_SERVING_ASSIGNMENT in self.knobs or not ssegw:
            self.log("discovery: no Serving SeGW assigned (or ignored); staying with the Initial SeGW")
            self.set_state("stuck")
            await asyncio.Event().wait()
        if self.cfg.initial_hems_access != "public":
            await asyncio.to_thread(self.ipsec.ike_down, "initial")
            self.log("ipsec: tunnel to Initial SeGW released")
        self.serving = (ssegw, shems_url)
        self.flash.save(self.model, self.serving)

    async def check_hems_cert(self, url: str, ip: str) -> bool:
        """5.1.2.3: the Initial HeMS's certificate must chain to the operator CA and name exactly the
        configured FQDN or IP; a careful unit refuses anything else."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if Knob.ACCEPT_ANY_CERT in self.knobs:
            self.log(f"tls: not checking the certificate of {host} (accept_any_cert)")
            return True

        def handshake() -> str | None:
            ctx = ssl.create_default_context(cafile=self.cfg.ca)
            try:
                with (
                    socket.create_connection((ip, parts.port or 443), timeout=5) as raw,
                    ctx.wrap_socket(raw, server_hostname=host) as tls,
                ):
                    cert = tls.getpeercert() or {}
            except ssl.SSLCertVerificationError as exc:
                return exc.verify_message or str(exc)
            except OSError as exc:
                return f"TLS to {ip}: {exc}"
            raw_sans: Any = cert.get("subjectAltName", ())
            sans = [str(entry[1]) for entry in raw_sans]
            if host not in sans:
                return f"SubjectAltName {sans} does not hold exactly {host!r}"
            return None

        problem = await asyncio.to_thread(handshake)
        if problem is not None:
            self.log(f"tls: refusing the Initial HeMS certificate for {host}: {problem}")
            return False
        self.log(f"tls: certificate of {host} verified against the operator CA")
        return True

    async def register(self, events: list[tuple[str, str]]) -> None:
        """5.1.2.2 step 6 and 5.1.3: Serving SeGW, Serving HeMS, then S1 setup toward the far end it gave."""
        assert self.serving is not None and self.public_dns is not None
        ssegw, shems_url = self.serving
        ssegw_ip = await self.net.lookup(ssegw, self.public_dns, Knob.SERVING_SEGW_BY_IP)
        vip = await asyncio.to_thread(self.ipsec.ike_up, "serving", ssegw_ip, ssegw)
        if Knob.S1_BEFORE_REGISTRATION in self.knobs:
            self.s1_setup(self.s1_early, self.cfg.factory_s1, S1AP_PORT)
            self.log(f"s1: S1 setup to factory address {self.cfg.factory_s1} before registration")
        self.set_inner(vip)
        self.log(f"ipsec: tunnel to Serving SeGW up, inner address {self.vip}")
        shost = urlsplit(shems_url).hostname or ""
        if self.cfg.initial_hems_access == "public" and Knob.IGNORE_SERVING_HEMS in self.knobs:
            shems_ip = await self.net.resolve(shost, self.public_dns)
        else:
            shems_ip = await self.net.resolve(shost, self.ipsec.private_dns())
        self.shems = (shems_url, shems_ip)
        self.set_state("registering")
        first = [("0 BOOTSTRAP", ""), ("1 BOOT", "")] if ("0 BOOTSTRAP", "") in events else events
        if Knob.NO_BOOTSTRAP in self.knobs:
            first = [e for e in first if e[0] != "0 BOOTSTRAP"] or [("1 BOOT", "")]
        self.model.changed.clear()
        requests = list(self.requests) if ("7 TRANSFER COMPLETE", "") in first else None
        await self.client.session(
            shems_url, shems_ip, first, [self.p["ipsec_address"]], "registration", requests=requests
        )
        self.registered = True
        self.set_state("registered")
        if Knob.INFORM_BEFORE_CHANGE in self.knobs:
            # Before S1 setup, so a plan that waits for S1 has seen it before it changes the address.
            await self.client.session(
                shems_url, shems_ip, ["4 VALUE CHANGE"], [self.p["ipsec_address"]], "address-change"
            )
        s1 = self.model.get(self.p["s1_far_end"]).split(",")[0].strip()
        if Knob.S1_TO_FACTORY_ADDRESS in self.knobs:
            s1 = self.cfg.factory_s1
        if s1 and Knob.NO_S1_INIT not in self.knobs:
            port = S1AP_PORT + 1 if Knob.S1_WRONG_PORT in self.knobs else S1AP_PORT
            self.s1_setup(self.s1, s1, port)
            self.log(f"s1: S1 setup toward {s1}:{port}")

    def due(self) -> bool:
        """Something to report now: an event that opens a session, a CPE request, an Active change."""
        return bool(self.pending or self.requests or any(level == 2 for level in self.model.changed.values()))

    async def operate(self) -> None:
        """Registered: one session at a time, whenever something has to be reported; until a reboot."""
        url, ip = self.shems
        while self.reboot is None:
            if not self.due():
                self.wake.clear()
                await self.wake.wait()
                continue
            changed = dict(self.model.changed)
            requests = list(self.requests)
            events = {**self.deferred, **self.pending}
            if changed:
                events.setdefault("4 VALUE CHANGE", "")
            extra: list[str] = []
            for n in [*self.pending_params, *self.deferred_params, *changed]:
                if n not in extra:
                    extra.append(n)
            old = self.address_change
            self.pending.clear()
            self.pending_params.clear()
            self.deferred.clear()
            self.deferred_params.clear()
            self.model.changed.clear()
            self.address_change = None
            overrides = (
                {self.p["ipsec_address"]: old}
                if old is not None and Knob.OLD_ADDRESS_IN_INFORM in self.knobs
                else None
            )
            try:
                await self.client.session(
                    url,
                    ip,
                    list(events.items()),
                    extra,
                    "address-change" if old else "operate",
                    overrides,
                    requests,
                )
                plmn, tac, _ = self.s1_values()
                self.s1.update(plmn, tac)
            except RuntimeError as exc:
                self.log(f"cwmp: {exc}; will report at the next session")
                for k, v in events.items():
                    self.pending.setdefault(k, v)
                self.pending_params.extend(n for n in extra if n not in self.pending_params)
                await asyncio.sleep(1.0)

    def shutdown(self) -> None:
        self.flash.save(self.model, self.serving)
        self.s1.close()
        self.ipsec.stop()


def main() -> None:
    try:
        cfg = load(Path(sys.argv[1]))
    except ConfigError as exc:  # the bench wrote it wrong: say which field, on the console
        print(f"mock: {exc}", flush=True)
        sys.exit(exc.exit_code)
    unit = MockHeNB(cfg)

    def on_term(*_: object) -> None:
        unit.log("power lost")
        unit.shutdown()
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    try:
        asyncio.run(unit.run())
    except Exception as exc:  # a real unit would reboot; the mock reports and stops
        unit.log(f"fatal: {type(exc).__name__}: {exc}")
        for line in traceback.format_exc().splitlines():
            unit.log(line)
        unit.shutdown()
        sys.exit(1)


if __name__ == "__main__":
    main()

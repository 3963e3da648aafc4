"""The mock HeNB process's core: the unit's state, its parts (network, ipsec, session, rpc, procedures, ...)
and the boot/reboot loop, like a unit.

Run by the mock power driver as `python -m bench.mock.henb CONFIG.json` inside the unit's namespace, with its
console (stdin/stdout) on a pty and a private /run. Each misbehaviour knob in the config bends one step.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from bench import cwmp
from bench.errors import ConfigError
from bench.knobs import Knob
from bench.mock import cr_server
from bench.mock.alarms import Alarms
from bench.mock.config import MockConfig, load, own_paths
from bench.mock.cr_server import CR_PORT
from bench.mock.datamodel import DataModel, factory
from bench.mock.flash import Flash
from bench.mock.ipsec import Ipsec
from bench.mock.network import Network
from bench.mock.pm import PerfMgmt
from bench.mock.procedures import Procedures
from bench.mock.rpc import Rpc
from bench.mock.s1 import S1Client
from bench.mock.session import CwmpClient, Restart
from bench.mock.transfer_jobs import Transfers


class MockHeNB:
    """One unit: the state its parts share (each part gets this object through a narrow protocol)."""

    def __init__(self, cfg: MockConfig) -> None:
        self.cfg = cfg
        self.knobs: set[str] = {str(k) for k in cfg.knobs}
        # Which CLI its console speaks: the bench's own, or a vendor's (bench/mock/vendor_cli.py).
        self.dialect: str = cfg.console_dialect
        self.ns = cfg.cwmp_ns
        # Where this unit keeps what the HeMSs set (its firmware's own data model, not the inventory's profile).
        self.p = own_paths(cfg.data_model)
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
        # spv_status_1: values set with Status 1 are committed, applied (S1 carries them) at the next boot.
        self.apply_at_boot = False
        # download_applied_at_reboot: checked files (values, URL, CommandKey, StartTime) applied at the next boot.
        self.at_boot: list[tuple[dict[str, str], str, str, str]] = []
        # wait_for_admin_state: the S1 setup (address, port) held while the cell is locked.
        self.s1_held: tuple[str, int] | None = None
        self.serving: tuple[str, str] | None = None
        self.log_lines: list[str] = []
        self.tasks: set[asyncio.Task[Any]] = set()
        self.net = Network(cfg, self.knobs, self.log)
        self.ipsec = Ipsec(cfg, self.knobs)
        self.transfers = Transfers(self)
        self.rpc = Rpc(self)
        self.client = CwmpClient(self)
        self.procedures = Procedures(self)
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
        if self.p.get("admin_state") in m.params:
            m.params[self.p["admin_state"]].value = "false"  # TR-196: locked until the HeMS unlocks the cell
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

    def set_inner(self, vip: str, notify: bool = False) -> None:
        self.vip = vip
        self.model.set_internal(self.p["ipsec_address"], vip, notify=notify)
        self.model.set_internal(self.ms + "ConnectionRequestURL", f"http://{vip}:{CR_PORT}/cr", notify=False)

    # -- boot and the reboot loop (the procedures themselves are procedures.py) ----------------------------
    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.log(f"mock HeNB {self.device_id.serial_number} booting (knobs: {sorted(self.knobs) or 'none'})")
        threading.Thread(target=self.console_reader, daemon=True).start()
        await self.booting()
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
        for coro in (self.procedures.periodic_loop(), self.pm.run(), self.procedures.address_pump()):
            self.spawn(coro)
        events = (
            [("1 BOOT", "")] if Knob.NO_BOOTSTRAP in self.knobs else [("0 BOOTSTRAP", ""), ("1 BOOT", "")]
        )
        if (saved := self.flash.load(self.model)) is not None:
            self.serving = saved
            events = [("1 BOOT", "")]
        watching = False
        while True:
            try:
                if self.serving is None:
                    await self.procedures.discover(events)
                await self.procedures.register(events)
            except Restart:  # reset or rebooted from the console before it found its Serving SeGW
                pass
            else:
                if Knob.KERNEL_PANIC in self.knobs:
                    self.log("Kernel panic - not syncing: Fatal exception in interrupt")
                    await asyncio.Event().wait()
                if not watching:
                    watch = self.ipsec.watch_address
                    threading.Thread(target=watch, args=(self.loop, self.queue), daemon=True).start()
                    watching = True
                await self.procedures.operate()
            kind, key = self.reboot or ("reboot", "")
            self.reboot = None
            self.registered = False
            self.apply_at_boot = False
            self.s1_held = None
            self.set_state("factory-reset" if kind == "factory" else "rebooting")
            self.s1.close()
            self.s1_early.close()
            # A reboot forgets what the running unit knew of the MMEs (a TimeToWait still running, its retries).
            self.s1, self.s1_early = S1Client(self.log, self.knobs), S1Client(self.log, self.knobs)
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
                self.at_boot.clear()
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
                if kind == "reboot" and Knob.STATUS_1_NO_M_REBOOT in self.knobs:
                    self.log(f"bug: boot Inform without M Reboot {key!r}")
                    events = [("1 BOOT", "")]
                events += self.transfers.apply_at_boot()
            await asyncio.sleep(0.2)
            await self.booting()
            self.log("boot: up again")

    async def booting(self) -> None:
        """As long as the inventory says the unit takes to boot (mock.boot_time), before it does anything."""
        if self.cfg.boot_time:
            self.log(f"boot: loading (mock.boot_time {self.cfg.boot_time:g} s)")
            await asyncio.sleep(self.cfg.boot_time)

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

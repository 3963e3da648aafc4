"""The mock unit's answers to the HeMS's RPCs (TR-069 A.3): parameters and attributes, objects, Reboot,
FactoryReset, ScheduleInform, Download and Upload (their work is transfer_jobs.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Protocol

from bench import cwmp
from bench.knobs import Knob
from bench.mock.datamodel import CwmpError, DataModel, SpvRefused
from bench.mock.transfer_jobs import AT_BOOT, Transfers


class Unit(Protocol):
    """What the RPC handlers need of the unit's core."""

    knobs: set[str]
    ns: str
    p: dict[str, str]
    ms: str
    model: DataModel
    registered: bool
    apply_at_boot: bool
    reboot: tuple[str, str] | None
    transfers: Transfers

    def log(self, msg: str) -> None: ...
    def notify(
        self, events: dict[str, str], params: list[str] | None = None, at_once: bool = True
    ) -> None: ...
    def spawn(self, coro: Coroutine[Any, Any, None]) -> None: ...


class Rpc:
    """Answers an RPC of `unit`'s session: the response, or a fault naming what was wrong."""

    def __init__(self, unit: Unit) -> None:
        self.unit = unit

    async def answer(self, env: cwmp.Envelope) -> bytes:
        """The body to send back for `env`; download_status_0 fetches and applies within a Download."""
        if env.method == "Download" and Knob.DOWNLOAD_STATUS_0 in self.unit.knobs:
            return await self.unit.transfers.download_now(env)
        if env.method == "Download" and AT_BOOT & self.unit.knobs:
            return await self.unit.transfers.download_now(env, held=True)
        return self.handle_rpc(env)

    def handle_rpc(self, env: cwmp.Envelope) -> bytes:
        self.unit.log(f"cwmp: {env.method}")
        try:
            return self._rpc(env)
        except CwmpError as exc:
            self.unit.log(f"cwmp: {env.method} fault {exc.code} {exc.text}")
            return cwmp.fault(self.unit.ns, env.id, exc.code, exc.text)

    def _rpc(self, env: cwmp.Envelope) -> bytes:
        b, m = env.body, env.method
        if m == "SetParameterValues":
            return self.spv(env)
        if m == "GetParameterValues":
            if Knob.GPV_FAULT in self.unit.knobs and self.unit.registered:
                self.unit.log("bug: GetParameterValues answered with fault 9002")
                return cwmp.fault(self.unit.ns, env.id, 9002, "Internal error")
            names_el = b.find("ParameterNames")
            names = [e.text or "" for e in (names_el if names_el is not None else [])]
            return cwmp.get_parameter_values_response(self.unit.ns, env.id, self.unit.model.values(names))
        if m == "GetParameterNames":
            path = b.findtext("ParameterPath") or ""
            next_level = (b.findtext("NextLevel") or "").strip().lower() in ("1", "true")
            return cwmp.response(self.unit.ns, env.id, m, params=self.unit.model.names(path, next_level))
        if m == "GetParameterAttributes":
            names_el = b.find("ParameterNames")
            names = [e.text or "" for e in (names_el if names_el is not None else [])]
            return cwmp.response(self.unit.ns, env.id, m, attributes=self.unit.model.attributes(names))
        if m == "SetParameterAttributes":
            changes = []
            plist = b.find("ParameterList")
            for s in plist if plist is not None else []:
                if (s.findtext("NotificationChange") or "").strip().lower() in ("1", "true"):
                    changes.append((s.findtext("Name") or "", int(s.findtext("Notification") or "0")))
            if Knob.REFUSE_NOTIFICATION_ATTRIBUTES in self.unit.knobs and self.unit.registered:
                self.unit.log("bug: SetParameterAttributes refused (9004)")
                return cwmp.fault(self.unit.ns, env.id, 9004, "Resources exceeded")
            if Knob.IGNORE_NOTIFICATION_ATTRIBUTES in self.unit.knobs:
                self.unit.log(f"bug: notification changes acknowledged, not applied: {changes}")
                return cwmp.response(self.unit.ns, env.id, m)
            self.unit.model.set_attributes(changes)
            for name, level in changes:
                self.unit.log(f"param: notification {name} = {level}")
            return cwmp.response(self.unit.ns, env.id, m)
        if m in ("AddObject", "DeleteObject"):
            obj = b.findtext("ObjectName") or ""
            key = b.findtext("ParameterKey") or ""
            if m == "AddObject":
                n = self.unit.model.add_object(obj)
                self.unit.model.params[self.unit.model.parameter_key].value = key
                self.unit.log(f"param: added {obj}{n}.")
                return cwmp.response(self.unit.ns, env.id, m, instance=n, status=0)
            self.unit.model.delete_object(obj)
            self.unit.model.params[self.unit.model.parameter_key].value = key
            self.unit.log(f"param: deleted {obj}")
            return cwmp.response(self.unit.ns, env.id, m, status=0)
        if m == "Reboot":
            self.unit.reboot = ("reboot", b.findtext("CommandKey") or "")
            return cwmp.response(self.unit.ns, env.id, m)
        if m == "FactoryReset":
            self.unit.reboot = ("factory", "")
            return cwmp.response(self.unit.ns, env.id, m)
        if m == "ScheduleInform":
            delay = int(b.findtext("DelaySeconds") or "0")
            self.unit.spawn(self.schedule_inform(delay, b.findtext("CommandKey") or ""))
            return cwmp.response(self.unit.ns, env.id, m)
        if m in ("Download", "Upload"):
            args = {c.tag: (c.text or "") for c in b if isinstance(c.tag, str)}
            if m == "Download" and args.get("FileType") != "3 Vendor Configuration File":
                raise CwmpError(9003, f"FileType {args.get('FileType')!r} not supported (only 3)")
            if m == "Upload" and args.get("FileType") not in (
                "1 Vendor Configuration File",
                "2 Vendor Log File",
            ):
                raise CwmpError(9003, f"FileType {args.get('FileType')!r} not supported (1 or 2)")
            self.unit.spawn(
                self.unit.transfers.download(args) if m == "Download" else self.unit.transfers.upload(args)
            )
            return cwmp.response(self.unit.ns, env.id, m, status=1)
        if m == "GetRPCMethods":
            methods = [
                "GetRPCMethods",
                "SetParameterValues",
                "GetParameterValues",
                "GetParameterNames",
                "SetParameterAttributes",
                "GetParameterAttributes",
                "AddObject",
                "DeleteObject",
                "Reboot",
                "Download",
                "Upload",
                "FactoryReset",
                "ScheduleInform",
            ]
            return cwmp.get_rpc_methods_response(self.unit.ns, env.id, methods)
        return cwmp.fault(self.unit.ns, env.id, 9000, f"Method not supported: {m}")

    def spv(self, env: cwmp.Envelope) -> bytes:
        values = {}
        plist = env.body.find("ParameterList")
        for pvs in plist if plist is not None else []:
            values[pvs.findtext("Name") or ""] = pvs.findtext("Value") or ""
        key = env.body.findtext("ParameterKey") or ""
        pk = self.unit.model.params.get(self.unit.model.parameter_key)
        old_key = pk.value if pk is not None else ""
        reject = {}
        if Knob.REJECT_SERVING_ASSIGNMENT in self.unit.knobs:
            reject[self.unit.p["serving_segw"]] = "Serving SeGW refused (mock knob)"
        if Knob.REJECT_S1_CONFIG in self.unit.knobs:
            reject[self.unit.p["s1_far_end"]] = "S1 address refused (mock knob)"
        if Knob.REFUSE_PM_DISABLE in self.unit.knobs:
            for name, value in values.items():
                if ".PerfMgmt.Config." in name and name.endswith(".Enable") and value in ("false", "0"):
                    reject[name] = "PM uploads cannot be switched off (mock knob)"
        cr = {
            n: self.unit.model.get(n)
            for n in (self.unit.ms + "ConnectionRequestUsername", self.unit.ms + "ConnectionRequestPassword")
        }
        try:
            if Knob.SPV_NOT_APPLIED in self.unit.knobs and self.unit.registered:
                if faults := self.unit.model.check(values, reject):
                    raise SpvRefused(faults)
                self.unit.log("bug: SetParameterValues acknowledged but not applied")
                return cwmp.set_parameter_values_response(self.unit.ns, env.id, 0)
            if Knob.ACCEPT_INVALID_VALUES in self.unit.knobs and self.unit.registered:
                faults = self.unit.model.check(values, reject)
                if faults:
                    bad = {name for name, _, _ in faults}
                    self.unit.model.apply({n: v for n, v in values.items() if n not in bad}, key)
                    self.unit.log(f"bug: invalid values acknowledged and ignored: {sorted(bad)}")
                    return cwmp.set_parameter_values_response(self.unit.ns, env.id, 0)
            self.unit.model.apply(values, key, reject, partial=Knob.PARTIAL_SPV in self.unit.knobs)
        except SpvRefused as exc:
            faults = exc.faults
            if Knob.BAD_SPV_FAULT_CODES in self.unit.knobs:
                faults = [(n, 9002, "Internal error") for n, _, _ in faults]
            self.unit.log(f"cwmp: SetParameterValues refused: {faults}")
            return cwmp.fault(self.unit.ns, env.id, 9003, "Invalid arguments", spv_faults=faults)
        if Knob.IGNORE_CR_CREDENTIALS in self.unit.knobs and set(cr) & set(values):
            for name, value in cr.items():
                self.unit.model.params[name].value = value
            self.unit.log("bug: connection-request credentials acknowledged, factory ones kept")
        for name, value in values.items():
            self.unit.log(f"param: {name} = {'***' if self.unit.model.params[name].secret else value}")
        if self.unit.registered and Knob.STALE_PARAMETER_KEY in self.unit.knobs and pk is not None:
            pk.value = old_key
            self.unit.log(f"bug: ParameterKey {key!r} not stored, still {old_key!r}")
        if self.unit.registered and self.unit.knobs & {Knob.SPV_STATUS_1, Knob.STATUS_1_NO_M_REBOOT}:
            self.unit.apply_at_boot = True
            self.unit.log("cwmp: SetParameterValues committed, applied at the next boot (Status 1)")
            return cwmp.set_parameter_values_response(self.unit.ns, env.id, 1)
        return cwmp.set_parameter_values_response(self.unit.ns, env.id, 0)

    async def schedule_inform(self, delay: int, key: str) -> None:
        await asyncio.sleep(delay)
        self.unit.notify({"3 SCHEDULED": "", "M ScheduleInform": key})

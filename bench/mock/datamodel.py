"""The mock unit's data model: instances of the BBF-derived schema (bench/mock/bbf.py) with values,
notification attributes and the TR-069 semantics of every parameter RPC (SPV all or nothing, faults 9005-9008)."""

from __future__ import annotations

import copy
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bench.mock import bbf

FAULT_INVALID_ARGUMENTS = 9003
FAULT_INTERNAL = 9002
FAULT_INVALID_NAME = 9005
FAULT_INVALID_TYPE = 9006
FAULT_INVALID_VALUE = 9007
FAULT_NOT_WRITABLE = 9008
FAULT_NOTIFICATION_REJECTED = 9009
UNKNOWN_TIME = "0001-01-01T00:00:00Z"
INSTANCE = re.compile(r"\.\d+(?=\.)")
PARAMETER_KEY = "Device.ManagementServer.ParameterKey"
NOTIFY_ACTIVE = 2
NOTIFY_PASSIVE = 1


@dataclass
class Param:
    value: str
    type: str = "xsd:string"
    writable: bool = False
    notification: int = 0
    cons: dict[str, Any] = field(default_factory=dict)
    notify_policy: str = "normal"
    secret: bool = False
    forced: bool = False


class CwmpError(Exception):
    """An RPC the model refuses as a whole: a TR-069 fault code and text."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text


class SpvRefused(Exception):
    """SetParameterValues refused as a whole: per-parameter faults (name, code, text)."""

    def __init__(self, faults: list[tuple[str, int, str]]) -> None:
        super().__init__(f"{len(faults)} parameter fault(s)")
        self.faults = faults


def template_of(path: str) -> str:
    """'Device.IP.Interface.2.IPv4Address.1.' -> 'Device.IP.Interface.{i}.IPv4Address.{i}.'"""
    return INSTANCE.sub(".{i}", path)


def value_problem(p: Param, value: str) -> tuple[int, str] | None:
    """Why `value` cannot be set into `p` (fault 9006 wrong type, 9007 bad value), or None."""
    t = p.type.removeprefix("xsd:")
    if t == "boolean":
        if value not in ("0", "1", "true", "false"):
            return FAULT_INVALID_TYPE, f"expected a boolean, got {value!r}"
    elif t in ("unsignedInt", "unsignedLong", "int", "long"):
        if not re.fullmatch(r"-?\d+" if t in ("int", "long") else r"\d+", value):
            return FAULT_INVALID_TYPE, f"expected {t}, got {value!r}"
        n = int(value)
        lo, hi = p.cons.get("min"), p.cons.get("max")
        if t == "unsignedInt" and n > 2**32 - 1:
            return FAULT_INVALID_VALUE, f"{n} is out of range for unsignedInt"
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            return FAULT_INVALID_VALUE, f"{n} is outside [{lo}, {hi}]"
    elif t == "dateTime":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return FAULT_INVALID_TYPE, f"expected a dateTime, got {value!r}"
    else:
        maxlen = p.cons.get("maxlen")
        if maxlen is not None and len(value) > maxlen:
            return FAULT_INVALID_VALUE, f"longer than {maxlen} characters"
        enum = p.cons.get("enum")
        if enum is not None and value not in enum:
            return FAULT_INVALID_VALUE, f"{value!r} is not one of {enum}"
        if p.cons.get("ip") and value:
            try:
                ipaddress.IPv4Address(value)
            except ValueError:
                return FAULT_INVALID_VALUE, f"{value!r} is not an IPv4 address"
    return None


def _default(info: dict[str, Any]) -> str:
    if "default" in info:
        return str(info["default"])
    return {
        "boolean": "false",
        "unsignedInt": "0",
        "int": "0",
        "unsignedLong": "0",
        "long": "0",
        "dateTime": UNKNOWN_TIME,
    }.get(info["type"], "")


class DataModel:
    """Objects and parameters of one unit. `params` maps full names to Param; `objects` holds every object
    instance path (ending in '.')."""

    def __init__(self, params: dict[str, Param] | None = None, schema: dict[str, Any] | None = None) -> None:
        self.schema: dict[str, Any] = schema if schema is not None else {"objects": {}}
        # The root object: 'Device.' (Device:2) or 'InternetGatewayDevice.'.
        self.root: str = next(iter(self.schema["objects"]), "Device.").split(".")[0] + "."
        self.parameter_key = self.root + "ManagementServer.ParameterKey"
        self.params: dict[str, Param] = dict(params or {})
        self.objects: set[str] = set()
        self.next_instance: dict[str, int] = {}
        # Value changes waiting to be reported: name -> notification level (1 passive, 2 active).
        self.changed: dict[str, int] = {}
        # Notification set on a partial path (an event table, say): instances added later under it get it too.
        self.path_notification: dict[str, int] = {}
        self._children: dict[str, list[str]] = {}
        for path in self.schema["objects"]:
            parent = _parent_template(path)
            if parent is not None:
                self._children.setdefault(parent, []).append(path)

    # -- building --------------------------------------------------------------------------------------
    def instantiate(self, path: str) -> None:
        """Create object `path` (concrete, ending in '.') with default values, and its single-instance
        sub-objects; tables below it start empty. Parent objects must exist (or be created first)."""
        tmpl = template_of(path)
        obj = self.schema["objects"].get(tmpl)
        if obj is None:
            raise CwmpError(FAULT_INVALID_NAME, f"no object {tmpl} in the data model")
        self.objects.add(path)
        for name, info in obj["params"].items():
            self.params[path + name] = Param(
                _default(info),
                "xsd:" + info["type"],
                bool(info["writable"]),
                NOTIFY_ACTIVE if info["notify"] in ("forceEnabled", "forceDefaultEnabled") else 0,
                dict(info.get("cons", {})),
                info["notify"],
                bool(info.get("secret")),
                bool(info["forced"]),
            )
            inherited = [lvl for pre, lvl in self.path_notification.items() if (path + name).startswith(pre)]
            if inherited and not info["notify"].startswith("force"):
                self.params[path + name].notification = inherited[-1]
        for child in self._children.get(tmpl, []):
            if not child.endswith(".{i}."):
                self.instantiate(path + child[len(tmpl) :])
        self._count(path)

    def add(self, table: str, number: int | None = None) -> int:
        """AddObject on `table` ('Device.FAP.PerfMgmt.Config.'): the new instance number."""
        if table not in self.objects and _parent(table) not in self.objects:
            raise CwmpError(FAULT_INVALID_NAME, f"{table} does not exist")
        tmpl = template_of(table) + "{i}."
        obj = self.schema["objects"].get(tmpl)
        if obj is None:
            raise CwmpError(FAULT_INVALID_NAME, f"{table} is not a table")
        n = number if number is not None else self.next_instance.get(table, 1)
        self.next_instance[table] = max(self.next_instance.get(table, 1), n + 1)
        self.instantiate(f"{table}{n}.")
        return n

    def add_internal(self, table: str) -> int:
        return self.add(table)

    def add_object(self, table: str) -> int:
        """AddObject from the ACS: only tables the model says are writable."""
        tmpl = template_of(table) + "{i}."
        obj = self.schema["objects"].get(tmpl)
        if obj is None or not table.endswith("."):
            raise CwmpError(FAULT_INVALID_NAME, f"{table} is not a table")
        if not obj["writable"]:
            raise CwmpError(FAULT_NOT_WRITABLE, f"{table} does not allow AddObject")
        return self.add(table)

    def delete(self, path: str) -> None:
        if path not in self.objects or not re.search(r"\.\d+\.$", path):
            raise CwmpError(FAULT_INVALID_NAME, f"{path} is not an object instance")
        for name in [n for n in self.params if n.startswith(path)]:
            del self.params[name]
            self.changed.pop(name, None)
        self.objects -= {o for o in self.objects if o.startswith(path)}
        self._count(path)

    def delete_object(self, path: str) -> None:
        obj = self.schema["objects"].get(template_of(path))
        if obj is None:
            raise CwmpError(FAULT_INVALID_NAME, f"{path} is not an object instance")
        if not obj["writable"]:
            raise CwmpError(FAULT_NOT_WRITABLE, f"{path} does not allow DeleteObject")
        self.delete(path)

    def _count(self, instance: str) -> None:
        """Keep the table's NumberOfEntries parameter right."""
        m = re.match(r"^(.*\.)\d+\.$", instance)
        if not m:
            return
        table = m.group(1)
        obj = self.schema["objects"].get(template_of(table) + "{i}.")
        parent = _parent(table)
        if obj and obj.get("num") and parent is not None and parent + obj["num"] in self.params:
            n = sum(1 for o in self.objects if re.fullmatch(re.escape(table) + r"\d+\.", o))
            self.params[parent + obj["num"]].value = str(n)

    def instances(self, table: str) -> list[int]:
        found = [re.fullmatch(re.escape(table) + r"(\d+)\.", o) for o in self.objects]
        return sorted(int(m.group(1)) for m in found if m)

    # -- values ----------------------------------------------------------------------------------------
    def get(self, name: str) -> str:
        return self.params[name].value

    def set_internal(self, name: str, value: str, notify: bool = True) -> None:
        """A change the unit makes itself: reported per the parameter's notification attribute."""
        p = self.params[name]
        if p.value == value:
            return
        p.value = value
        if notify and p.notification:
            self.changed[name] = max(self.changed.get(name, 0), p.notification)

    def check(
        self, values: dict[str, str], reject: dict[str, str] | None = None
    ) -> list[tuple[str, int, str]]:
        """Every per-parameter fault of a SetParameterValues, in TR-069's order of precedence."""
        faults = []
        for name, value in values.items():
            p = self.params.get(name)
            if p is None:
                faults.append((name, FAULT_INVALID_NAME, "Invalid parameter name"))
            elif not p.writable:
                faults.append((name, FAULT_NOT_WRITABLE, "Attempt to set a non-writable parameter"))
            elif (problem := value_problem(p, value)) is not None:
                faults.append((name, problem[0], problem[1]))
            elif reject and name in reject:
                faults.append((name, FAULT_INVALID_VALUE, reject[name]))
        return faults

    def apply(
        self,
        values: dict[str, str],
        parameter_key: str,
        reject: dict[str, str] | None = None,
        partial: bool = False,
    ) -> None:
        """Check every parameter first, then change all of them, or none (TR-069 A.3.2.1). With `partial`
        (a unit bug), the valid ones are changed even when others are refused."""
        faults = self.check(values, reject)
        if faults:
            if partial:
                bad = {f[0] for f in faults}
                for name, value in values.items():
                    if name not in bad:
                        self.params[name].value = value
            raise SpvRefused(faults)
        for name, value in values.items():
            self.params[name].value = value
        if self.parameter_key in self.params:
            self.params[self.parameter_key].value = parameter_key

    def is_object(self, path: str) -> bool:
        """An object instance, or a table whose parent exists ('Device.FaultMgmt.CurrentAlarm.')."""
        if path in self.objects:
            return True
        parent = _parent(path)
        return (
            template_of(path) + "{i}." in self.schema["objects"]
            and parent is not None
            and parent in self.objects
        )

    def _match(self, path: str) -> list[str]:
        if path == "" or path == self.root:
            return list(self.params)
        if path.endswith("."):
            if not self.is_object(path):
                raise CwmpError(FAULT_INVALID_NAME, f"Invalid parameter name {path}")
            return [n for n in self.params if n.startswith(path)]
        if path not in self.params:
            raise CwmpError(FAULT_INVALID_NAME, f"Invalid parameter name {path}")
        return [path]

    def values(self, names: list[str]) -> list[tuple[str, str, str]]:
        """GetParameterValues: full names or partial paths; an unknown one is fault 9005."""
        out = []
        for req in names:
            for name in self._match(req):
                p = self.params[name]
                out.append((name, "" if p.secret else p.value, p.type))
        return out

    def names(self, path: str, next_level: bool) -> dict[str, bool]:
        """GetParameterNames: name -> writable (objects end in '.')."""
        if path and not path.endswith("."):
            if path not in self.params:
                raise CwmpError(FAULT_INVALID_NAME, f"Invalid parameter name {path}")
            if next_level:
                raise CwmpError(FAULT_INVALID_ARGUMENTS, "NextLevel true with a parameter name")
            return {path: self.params[path].writable}
        base = path or self.root
        if not self.is_object(base):
            raise CwmpError(FAULT_INVALID_NAME, f"Invalid parameter name {path}")
        out: dict[str, bool] = {}
        if not next_level:
            out[base] = False
        tables: set[str] = set()
        for obj in self.objects:
            tmpl = template_of(obj)
            for child in self._children.get(tmpl, []):
                if child.endswith(".{i}."):
                    tables.add(obj + child[len(tmpl) : -len("{i}.")])
        for table in sorted(tables):
            rest = table[len(base) :].rstrip(".")
            if table.startswith(base) and table != base and (not next_level or "." not in rest):
                out[table] = bool(self.schema["objects"][template_of(table) + "{i}."]["writable"])
        for obj in sorted(self.objects):
            if obj.startswith(base) and obj != base:
                rest = obj[len(base) :].rstrip(".")
                if not next_level or "." not in rest:
                    tmpl = self.schema["objects"].get(template_of(obj), {})
                    out[obj] = bool(tmpl.get("writable")) and bool(re.search(r"\.\d+\.$", obj))
        for name, p in self.params.items():
            if name.startswith(base) and (not next_level or "." not in name[len(base) :]):
                out[name] = p.writable
        return out

    def attributes(self, names: list[str]) -> dict[str, tuple[int, list[str]]]:
        out: dict[str, tuple[int, list[str]]] = {}
        for req in names:
            for name in self._match(req):
                out[name] = (self.params[name].notification, [])
        return out

    def set_attributes(self, changes: list[tuple[str, int]]) -> None:
        """SetParameterAttributes (Notification only); all or nothing, 9009 for a forced notification."""
        plan: list[tuple[str, int]] = []
        for req, level in changes:
            if level not in (0, 1, 2):
                raise CwmpError(FAULT_INVALID_ARGUMENTS, f"Notification {level} for {req}")
            for name in self._match(req):
                p = self.params[name]
                if p.notify_policy == "forceEnabled" and level != NOTIFY_ACTIVE:
                    raise CwmpError(FAULT_NOTIFICATION_REJECTED, f"{name} is always Active")
                plan.append((name, level))
        for name, level in plan:
            self.params[name].notification = level
        for req, level in changes:
            if req.endswith(".") and req != self.root:
                self.path_notification.pop(req, None)  # the latest setting last
                self.path_notification[req] = level

    def snapshot(self) -> DataModel:
        return copy.deepcopy(self)


def _parent_template(path: str) -> str | None:
    """'A.B.{i}.' -> 'A.', 'A.B.' -> 'A.'."""
    parts = path.rstrip(".").split(".")
    if parts and parts[-1] == "{i}":
        parts = parts[:-1]
    if len(parts) <= 1:
        return None
    return ".".join(parts[:-1]) + "."


def _parent(path: str) -> str | None:
    parts = path.rstrip(".").split(".")
    if len(parts) <= 1:
        return None
    return ".".join(parts[:-1]) + "."


# -- the mock unit's factory state --------------------------------------------------------------------

# (EventType, ProbableCause, SpecificProblem, PerceivedSeverity): ITU-T X.733 event types; the console's
# `alarm raise N` raises SupportedAlarm.N.
SUPPORTED_ALARMS = [
    ("Communications Alarm", "S1 link failure", "S1 SCTP association lost", "Major"),
    ("Equipment Alarm", "Transmitter failure", "RF transmitter off", "Critical"),
    ("Environmental Alarm", "High temperature", "Board temperature above threshold", "Minor"),
    ("Processing Error Alarm", "Software error", "Process restarted", "Warning"),
    ("Quality of Service Alarm", "Threshold crossed", "Cell load above threshold", "Warning"),
]
FAP = "Device.Services.FAPService.1."
WAN_IF = "Device.IP.Interface.1."
TUNNEL_IF = "Device.IP.Interface.2."


def _alarms(m: DataModel) -> None:
    fm = m.root + "FaultMgmt."
    for ev, cause, problem, severity in SUPPORTED_ALARMS:
        n = m.add(fm + "SupportedAlarm.")
        base = f"{fm}SupportedAlarm.{n}."
        for k, v in (
            ("EventType", ev),
            ("ProbableCause", cause),
            ("SpecificProblem", problem),
            ("PerceivedSeverity", severity),
            ("ReportingMechanism", "0 Expedited"),
        ):
            m.params[base + k].value = v


def _preset(m: DataModel, preset: dict[str, str]) -> DataModel:
    for name, value in preset.items():
        if name in m.params:
            m.params[name].value = value
    return m


def factory(
    identity: dict[str, str], values: dict[str, str] | None = None, kind: str = "device2"
) -> DataModel:
    """A unit as it leaves the factory: the BBF-derived schema with FAPService.1, the WAN and tunnel IP
    interfaces, one IPsec tunnel, the SupportedAlarm entries and one PerfMgmt.Config (disabled). `kind`
    'igd' gives the InternetGatewayDevice model instead (factory_igd)."""
    if kind == "igd":
        return factory_igd(identity, values)
    m = DataModel(schema=bbf.schema())
    for obj in ("Device.", "Device.Services.", "Device.DeviceInfo.", "Device.ManagementServer."):
        m.instantiate(obj)
    m.instantiate("Device.IP.")
    m.instantiate("Device.IPsec.")
    m.instantiate("Device.FaultMgmt.")
    m.instantiate("Device.FAP.")
    m.add("Device.Services.FAPService.")
    m.add(FAP + "CellConfig.LTE.EPC.PLMNList.")
    for _ in range(2):
        n = m.add("Device.IP.Interface.")
        m.add(f"Device.IP.Interface.{n}.IPv4Address.")
    m.add("Device.IPsec.Tunnel.")
    m.add("Device.FAP.PerfMgmt.Config.")
    _alarms(m)
    preset = {
        "Device.RootDataModelVersion": "2.17",
        "Device.DeviceInfo.Manufacturer": identity["manufacturer"],
        "Device.DeviceInfo.ManufacturerOUI": identity["oui"],
        "Device.DeviceInfo.ProductClass": identity["product_class"],
        "Device.DeviceInfo.SerialNumber": identity["serial_number"],
        "Device.DeviceInfo.HardwareVersion": "mock-1",
        "Device.DeviceInfo.SoftwareVersion": "henb-bench-mock-0.2",
        "Device.FaultMgmt.MaxCurrentAlarmEntries": "16",
        "Device.ManagementServer.PeriodicInformInterval": "300",
        "Device.ManagementServer.CWMPRetryMinimumWaitInterval": "5",
        "Device.ManagementServer.CWMPRetryIntervalMultiplier": "2000",
        WAN_IF + "Enable": "true",
        WAN_IF + "Name": "wan",
        WAN_IF + "IPv4Address.1.AddressingType": "DHCP",
        WAN_IF + "IPv4Address.1.Enable": "true",
        TUNNEL_IF + "Enable": "true",
        TUNNEL_IF + "Name": "ipsec0",
        TUNNEL_IF + "IPv4Address.1.AddressingType": "IKEv2",
        TUNNEL_IF + "IPv4Address.1.Enable": "true",
        TUNNEL_IF + "IPv4Address.1.IPAddress": "0.0.0.0",
        "Device.IPsec.Enable": "true",
        "Device.IPsec.Tunnel.1.TunnelInterface": TUNNEL_IF.rstrip("."),
        FAP + "FAPControl.LTE.Gateway.S1SigLinkPort": "36412",
        "Device.FAP.PerfMgmt.Config.1.PeriodicUploadInterval": "900",
        **(values or {}),
    }
    return _preset(m, preset)


IGD = "InternetGatewayDevice."
IGD_FAP = IGD + "Services.FAPService.1."
# Where the IGD unit keeps its IPsec inner address: TR-262's IKE SA table (readOnly, forceDefaultEnabled).
IGD_TUNNEL_ADDRESS = IGD + "FAP.Tunnel.IKESA.1.IPAddress"


def factory_igd(identity: dict[str, str], values: dict[str, str] | None = None) -> DataModel:
    """The InternetGatewayDevice unit: the IGD root objects, FAPService.1 (one PLMNList), TR-262's FAP.GPS,
    FAP.Tunnel with CryptoProfile.1 (its Enable: the IPsec usage indicator) and IKESA.1 (the inner address) and FAP.PerfMgmt.Config.1 (disabled), FaultMgmt's alarms."""
    m = DataModel(schema=bbf.schema("igd"))
    for obj in ("", "DeviceInfo.", "ManagementServer.", "Services.", "FaultMgmt.", "FAP."):
        m.instantiate(IGD + obj)
    m.add(IGD + "Services.FAPService.")
    m.add(IGD_FAP + "CellConfig.LTE.EPC.PLMNList.")
    m.add(IGD + "FAP.Tunnel.CryptoProfile.")
    m.add(IGD + "FAP.Tunnel.IKESA.")
    m.add(IGD + "FAP.PerfMgmt.Config.")
    _alarms(m)
    preset = {
        IGD + "DeviceSummary": "InternetGatewayDevice:1.4[](Baseline:1), FAPService:2.1[1](Baseline:1)",
        IGD + "DeviceInfo.Manufacturer": identity["manufacturer"],
        IGD + "DeviceInfo.ManufacturerOUI": identity["oui"],
        IGD + "DeviceInfo.ProductClass": identity["product_class"],
        IGD + "DeviceInfo.SerialNumber": identity["serial_number"],
        IGD + "DeviceInfo.SpecVersion": "1.0",
        IGD + "DeviceInfo.HardwareVersion": "mock-1",
        IGD + "DeviceInfo.SoftwareVersion": "henb-bench-mock-0.2",
        IGD + "FaultMgmt.MaxCurrentAlarmEntries": "16",
        IGD + "ManagementServer.PeriodicInformInterval": "300",
        IGD_TUNNEL_ADDRESS: "0.0.0.0",
        IGD + "FAP.Tunnel.IKESA.1.Status": "Disabled",
        IGD + "FAP.Tunnel.CryptoProfile.1.Enable": "true",
        IGD_FAP + "FAPControl.LTE.Gateway.S1SigLinkPort": "36412",
        IGD + "FAP.PerfMgmt.Config.1.PeriodicUploadInterval": "900",
        **(values or {}),
    }
    return _preset(m, preset)

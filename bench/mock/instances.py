"""The mock unit's instance store: the objects and parameters of one unit on a BBF-derived schema
(bench/mock/bbf.py), with the TR-069 semantics of every parameter RPC (SPV all or nothing, faults 9005-9009)."""

from __future__ import annotations

import copy
import re
from typing import Any

from bench.mock.parameter import (
    FAULT_INVALID_ARGUMENTS,
    FAULT_INVALID_NAME,
    FAULT_INVALID_VALUE,
    FAULT_NOT_WRITABLE,
    FAULT_NOTIFICATION_REJECTED,
    NOTIFY_ACTIVE,
    CwmpError,
    Param,
    SpvRefused,
    default_value,
    template_of,
    value_problem,
)


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
                default_value(info),
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
    return _parent(path.removesuffix("{i}."))


def _parent(path: str) -> str | None:
    parts = path.rstrip(".").split(".")
    if len(parts) <= 1:
        return None
    return ".".join(parts[:-1]) + "."

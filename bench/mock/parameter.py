"""One parameter of the mock unit's data model: its value, type, constraints and notification attributes,
the TR-069 faults a parameter RPC answers with, and the rule that says why a value cannot be set (9006/9007)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bench.cwmp import UNKNOWN_TIME

FAULT_INVALID_ARGUMENTS = 9003
FAULT_INVALID_NAME = 9005
FAULT_INVALID_TYPE = 9006
FAULT_INVALID_VALUE = 9007
FAULT_NOT_WRITABLE = 9008
FAULT_NOTIFICATION_REJECTED = 9009
INSTANCE = re.compile(r"\.\d+(?=\.)")
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


def default_value(info: dict[str, Any]) -> str:
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

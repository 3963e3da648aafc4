"""The mock unit's parameters: values, types, writability; SetParameterValues applied all or nothing."""

from __future__ import annotations

from dataclasses import dataclass

FAULT_INVALID_ARGUMENTS = 9003
FAULT_INVALID_NAME = 9005
FAULT_INVALID_TYPE = 9006
FAULT_INVALID_VALUE = 9007
FAULT_NOT_WRITABLE = 9008


@dataclass
class Param:
    value: str
    type: str = "xsd:string"
    writable: bool = False


class SpvRefused(Exception):
    """SetParameterValues refused as a whole: per-parameter faults (name, code, text)."""

    def __init__(self, faults: list[tuple[str, int, str]]) -> None:
        super().__init__(f"{len(faults)} parameter fault(s)")
        self.faults = faults


def _type_ok(ptype: str, value: str) -> bool:
    if ptype in ("xsd:boolean", "boolean"):
        return value in ("0", "1", "true", "false")
    if ptype in ("xsd:unsignedInt", "unsignedInt"):
        return value.isdigit()
    if ptype in ("xsd:int", "int"):
        return value.lstrip("-").isdigit()
    return True


class DataModel:
    def __init__(self, params: dict[str, Param]) -> None:
        self.params = params

    def get(self, name: str) -> str:
        return self.params[name].value

    def set_internal(self, name: str, value: str) -> None:
        self.params[name].value = value

    def apply(self, values: dict[str, str], parameter_key: str, reject: dict[str, str] | None = None) -> None:
        """Check every parameter first, then change all of them, or none (TR-069 A.3.2.1)."""
        faults = []
        for name, value in values.items():
            p = self.params.get(name)
            if p is None:
                faults.append((name, FAULT_INVALID_NAME, "Invalid parameter name"))
            elif not p.writable:
                faults.append((name, FAULT_NOT_WRITABLE, "Attempt to set a non-writable parameter"))
            elif not _type_ok(p.type, value):
                faults.append((name, FAULT_INVALID_TYPE, f"Invalid parameter type, expected {p.type}"))
            elif reject and name in reject:
                faults.append((name, FAULT_INVALID_VALUE, reject[name]))
        if faults:
            raise SpvRefused(faults)
        for name, value in values.items():
            self.params[name].value = value
        if "Device.ManagementServer.ParameterKey" in self.params:
            self.params["Device.ManagementServer.ParameterKey"].value = parameter_key

    def values(self, names: list[str]) -> list[tuple[str, str, str]]:
        out = []
        for req in names:
            for name, p in self.params.items():
                if name == req or (req.endswith(".") and name.startswith(req)) or req == "":
                    out.append((name, p.value, p.type))
        return out

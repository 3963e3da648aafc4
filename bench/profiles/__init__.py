"""Data-model profiles: where a unit keeps what the bench sets and reads, a map from the bench's logical names
(serving_segw, tac, fault_mgmt...) to the unit's paths. Shipped: tr181 (Device:2, the default) and tr098
(InternetGatewayDevice with TR-262); a lab writes its own as a YAML file (docs/profiles.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

HERE = Path(__file__).resolve().parent
SHIPPED = {"tr181": HERE / "tr181.yaml", "tr098": HERE / "tr098.yaml"}
DEFAULT = "tr181"
ROOTS = ("Device.", "InternetGatewayDevice.")
INSTANCE = "{i}"

_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_PART = rf"(?:{_NAME}|[1-9][0-9]*|\{{i\}})"
_PARAMETER = re.compile(rf"{_NAME}\.(?:{_PART}\.)*{_NAME}")
_OBJECT = re.compile(rf"{_NAME}\.(?:{_PART}\.)*")


def _parameter(v: str) -> str:
    if not _PARAMETER.fullmatch(v):
        raise ValueError(f"expected a parameter path such as Device.DeviceInfo.SerialNumber, found {v!r}")
    return v


def _object(v: str) -> str:
    if not _OBJECT.fullmatch(v):
        raise ValueError(f"expected an object path ending in '.' such as Device.FaultMgmt., found {v!r}")
    return v


Parameter = Annotated[str, AfterValidator(_parameter)]
Object = Annotated[str, AfterValidator(_object)]


class Paths(BaseModel):
    """The unit's path for each thing the bench sets or reads. An object path ends in '.'; `supported_alarm`
    holds `{i}` where the plan puts the alarm's instance number."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    management_server: Object = Field(description="the ManagementServer object")
    serving_hems: Parameter = Field(description="the HeMS URL: the Initial HeMS sets the Serving HeMS here")
    parameter_key: Parameter
    connection_request_url: Parameter
    connection_request_username: Parameter
    connection_request_password: Parameter
    periodic_inform_interval: Parameter
    serial_number: Parameter = Field(description="DeviceInfo.SerialNumber (read-only: 5.2.3 expects 9008)")
    serving_segw: Parameter = Field(description="the Serving SeGW the Initial HeMS assigns (SecGWServer1)")
    s1_far_end: Parameter = Field(description="the S1 far end the Serving HeMS sets at registration")
    ipsec_usage: Parameter = Field(description="the IPsec usage indicator set at registration (a boolean)")
    ipsec_address: Parameter = Field(description="the IPsec inner address the unit reports (5.2.4)")
    tac: Parameter
    eaid: Parameter
    plmn: Parameter
    cell_identity: Parameter
    admin_state: Parameter | None = Field(
        None,
        description="the cell's TR-196 FAPControl.LTE.AdminState, set true at registration "
        "(units.NAME.unlock_at_registration); none: the bench does not set it",
    )
    fault_mgmt: Object = Field(description="the FaultMgmt object (TR-157)")
    supported_alarm: Object = Field(description="a SupportedAlarm entry, with {i} for its instance number")
    history_event: Object = Field(description="the HistoryEvent table (Logged alarms)")
    pm_config: Object = Field(description="the PerfMgmt.Config entry the PM plans configure")

    @model_validator(mode="after")
    def _instances(self) -> Paths:
        for name, path in self:
            if path is None:
                continue
            want = 1 if name == "supported_alarm" else 0
            if path.count(INSTANCE) != want:
                raise ValueError(f"{name}: {path!r} must hold {INSTANCE} {want} time(s)")
        return self

    def alarm(self, n: int) -> str:
        """SupportedAlarm entry `n`."""
        return self.supported_alarm.replace(INSTANCE, str(n))


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    root: Literal["Device.", "InternetGatewayDevice."]
    paths: Paths

    @model_validator(mode="after")
    def _one_root(self) -> Profile:
        wrong = [f"{n} ({p})" for n, p in self.paths if p is not None and not p.startswith(self.root)]
        if wrong:
            raise ValueError(f"root is {self.root} but these paths are not under it: {', '.join(wrong)}")
        return self


def _problems(err: ValidationError) -> str:
    missing = [str(e["loc"][-1]) for e in err.errors() if e["type"] == "missing"]
    said = [f"missing {', '.join(missing)}"] if missing else []
    for e in err.errors():
        if e["type"] != "missing":
            where = ".".join(str(p) for p in e["loc"])
            said.append(f"{where + ': ' if where else ''}{e['msg'].removeprefix('Value error, ')}")
    return "; ".join(said)


@lru_cache(maxsize=len(SHIPPED))
def _shipped(name: str) -> dict[str, Any]:
    return _file(SHIPPED[name])


def _read(source: str) -> dict[str, Any]:
    """A profile file as data: a shipped name or a YAML path; `base: NAME` starts from a shipped profile."""
    if source in SHIPPED:
        return _shipped(source)
    path = Path(source)
    if not path.suffix:
        raise ValueError(f"{source!r}: expected {' or '.join(SHIPPED)}, or a profile YAML file")
    return _file(path)


def _file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read profile {path}: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ValueError(f"profile {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("paths", {}), dict):
        raise ValueError(f"profile {path}: expected a mapping with name, root, paths (and optionally base)")
    base = data.pop("base", None)
    if base is not None:
        if base not in SHIPPED:
            raise ValueError(f"profile {path}: base {base!r}: expected one of {', '.join(SHIPPED)}")
        start = _shipped(base)
        data = {**start, **data, "paths": {**start["paths"], **data.get("paths", {})}}
    return dict(data)


def load(source: str = DEFAULT, overrides: Mapping[str, str] | None = None) -> Profile:
    """The profile `source` (tr181, tr098 or a YAML file) with `overrides` (logical name -> path) over its
    paths; ValueError naming the file, the name and what was expected."""
    data = _read(source)
    unknown = sorted(set(overrides or {}) - set(Paths.model_fields))
    if unknown:
        raise ValueError(
            f"overrides: unknown name(s) {', '.join(unknown)}; expected {', '.join(Paths.model_fields)}"
        )
    try:
        return Profile.model_validate({**data, "paths": {**data.get("paths", {}), **(overrides or {})}})
    except ValidationError as err:
        where = "" if source in SHIPPED else f"profile {source}: "
        raise ValueError(f"{where}{_problems(err)}") from None


def mock_profile(kind: str) -> Profile:
    """The shipped profile of the mock unit's own data model (units.NAME.mock.data_model): the firmware's
    knowledge of itself, not the bench's (which is units.NAME.data_model)."""
    return load("tr098" if kind == "igd" else "tr181")


@lru_cache(maxsize=len(ROOTS))
def _model_objects(root: str) -> dict[str, set[str]]:
    """Object path template -> parameter names, from the vendored BBF XML, for the root data model `root`:
    Device: TR-181 with TR-196 under Services; InternetGatewayDevice: TR-262's components and TR-157's FaultMgmt
    (read from TR-181) at the top, TR-196 under Services, and the TR-098 root objects the mock writes by hand
    (TR-098's XML is not vendored: bench.bbf.igd.IGD_ROOT)."""
    from lxml import etree

    from bench.bbf import BBF_DIR, TR181, TR196, TR262

    parser = etree.XMLParser(remove_comments=True, resolve_entities=False, no_network=True, huge_tree=True)

    def objects(parent: Any, prefix: str, keep: str = "") -> dict[str, set[str]]:
        return {
            prefix + o.get("name", "").removeprefix(keep): {
                p.get("name", "") for p in o.iterfind("parameter")
            }
            for o in parent.iterfind("object")
            if o.get("name", "").startswith(keep)
        }

    m181 = etree.parse(str(BBF_DIR / TR181), parser).getroot().find("model")
    m196 = etree.parse(str(BBF_DIR / TR196), parser).getroot().find("model")
    found = objects(m196, root + "Services.")
    if root == "Device.":
        return {**objects(m181, ""), **found}
    from bench.bbf.igd import IGD_ROOT

    d262 = etree.parse(str(BBF_DIR / TR262), parser).getroot()
    for comp in d262.iterfind("component"):
        found.update(objects(comp, root))
    found.update(objects(m181, root + "FaultMgmt.", keep="Device.FaultMgmt."))
    found.update({path: set(obj["params"]) for path, obj in IGD_ROOT.items()})
    return found


def unknown_paths(profile: Profile) -> list[str]:
    """The profile's paths that the BBF data models of its root do not define, as 'name: path' (a vendor
    extension, X_..., is one of them)."""
    model = _model_objects(profile.root)
    out = []
    for name, path in profile.paths:
        if path is None:
            continue
        tmpl = re.sub(r"\.\d+(?=\.)", ".{i}", path)
        if tmpl.endswith("."):
            ok = tmpl in model or tmpl + "{i}." in model
        else:
            obj, _, param = tmpl.rpartition(".")
            ok = param in model.get(obj + ".", set())
        if not ok:
            out.append(f"{name}: {path}")
    return out

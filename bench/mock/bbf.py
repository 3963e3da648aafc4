"""The mock unit's data model schemas, derived from the BBF XML: `device2` (TR-181 Device:2.17 with TR-196
FAPService:2.1) and `igd` (InternetGatewayDevice with the TR-262 FAP components and TR-196 FAPService:2.1).

`derive()` reads the XML (slow, ~1 s); `schema()` loads the derived JSON shipped next to this module (fast).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from bench.bbf import BBF_DIR, TR181, TR196, TR262
from bench.bbf.igd import IGD, IGD_ROOT

HERE = Path(__file__).resolve().parent
SCHEMA_JSON = HERE / "tr196_device2.json"
IGD_SCHEMA_JSON = HERE / "tr262_igd.json"
SCHEMA_FILES = {"device2": SCHEMA_JSON, "igd": IGD_SCHEMA_JSON}
ROOTS = {"device2": "Device.", "igd": "InternetGatewayDevice."}

# From Device:2 only the objects a HeNB's management needs; from FAPService:2 the LTE parts.
TR181_OBJECTS = {
    "Device.",
    "Device.Services.",
    "Device.DeviceInfo.",
    "Device.ManagementServer.",
    "Device.IP.",
    "Device.IP.Interface.{i}.",
    "Device.IP.Interface.{i}.IPv4Address.{i}.",
    "Device.IPsec.",
    "Device.IPsec.Tunnel.{i}.",
    "Device.IPsec.IKEv2SA.{i}.",
    "Device.FAP.",
    "Device.FAP.PerfMgmt.",
    "Device.FAP.PerfMgmt.Config.{i}.",
}
TR181_SUBTREES = ("Device.FaultMgmt.",)
TR196_SKIP = (".UMTS.", ".CDMA2000.", ".Legacy.", ".REM.")
# TR-262's Femto components, placed at the top of InternetGatewayDevice (TR-262 section 2: "may exist at the top
# level"); ApplicationPlatform is left out (the bench does not manage it).
TR262_SKIP = ("FAP.ApplicationPlatform.",)


PRIMITIVES = {
    "string",
    "unsignedInt",
    "int",
    "unsignedLong",
    "long",
    "boolean",
    "dateTime",
    "base64",
    "hexBinary",
    "decimal",
}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _kids(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


def _facets(el: etree._Element, out: dict[str, Any]) -> None:
    """Constraints from a primitive or dataType element: enumerations, ranges, sizes."""
    for c in _kids(el):
        name = _local(c)
        if name == "enumeration":
            out.setdefault("enum", []).append(c.get("value", ""))
        elif name == "range":
            if c.get("minInclusive") is not None:
                out["min"] = int(c.get("minInclusive", "0"))
            if c.get("maxInclusive") is not None:
                out["max"] = int(c.get("maxInclusive", "0"))
        elif name == "size" and c.get("maxLength"):
            out["maxlen"] = int(c.get("maxLength", "0"))


class _DataTypes:
    def __init__(self, docs: list[etree._Element]) -> None:
        self.defs: dict[str, etree._Element] = {}
        for doc in docs:
            for dt in doc.iterfind("dataType"):
                self.defs.setdefault(dt.get("name", ""), dt)

    def resolve(self, name: str, out: dict[str, Any]) -> str:
        """The primitive type behind dataType `name`, filling `out` with its constraints."""
        dt = self.defs.get(name)
        if dt is None:
            return "string"
        if name in ("IPAddress", "IPv4Address"):
            out["ip"] = True
        base = dt.get("base")
        prim = self.resolve(base, out) if base else "string"
        for c in _kids(dt):
            if _local(c) in PRIMITIVES:
                prim = _local(c)
                _facets(c, out)
        _facets(dt, out)
        return prim


def _param(p: etree._Element, types: _DataTypes) -> dict[str, Any]:
    syntax = p.find("syntax")
    info: dict[str, Any] = {
        "type": "string",
        "writable": p.get("access") == "readWrite",
        "forced": p.get("forcedInform") == "true",
        "notify": p.get("activeNotify", "normal"),
    }
    if syntax is None:
        return info
    if syntax.get("hidden") == "true" or syntax.get("secured") == "true":
        info["secret"] = True
    cons: dict[str, Any] = {}
    for c in _kids(syntax):
        name = _local(c)
        if name == "list":
            info["list"] = True
        elif name == "default" and c.get("type") in ("object", "factory"):
            info["default"] = c.get("value", "")
        elif name == "dataType":
            info["type"] = types.resolve(c.get("ref", ""), cons)
        elif name in PRIMITIVES:
            info["type"] = name
            for d in _kids(c):
                if _local(d) == "dataType":
                    info["type"] = types.resolve(d.get("ref", ""), cons)
            _facets(c, cons)
    if info.get("list"):
        # A list's value is a comma-separated string; its items carry the constraints.
        info["type"] = "string"
        cons.pop("maxlen", None)
    if cons:
        info["cons"] = cons
    return info


def _objects(model: etree._Element, types: _DataTypes, prefix: str, keep: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for obj in model.iterfind("object"):
        path = prefix + obj.get("name", "")
        if not keep(path):
            continue
        out[path] = {
            "writable": obj.get("access") == "readWrite",
            "num": obj.get("numEntriesParameter"),
            "params": {p.get("name"): _param(p, types) for p in obj.iterfind("parameter")},
        }
    return out


def _fapservice(m196: etree._Element, types: _DataTypes, root: str) -> dict[str, Any]:
    """FAPService:2.1 (a service model) under ROOT.Services., the LTE parts."""
    out = _objects(
        m196,
        types,
        root + "Services.",
        lambda p: p.startswith(root + "Services.FAPService.") and not any(s in p for s in TR196_SKIP),
    )
    if root == IGD:
        # The service model's own top-level parameter (FAPServiceNumberOfEntries) lives in Services.
        params = {p.get("name"): _param(p, types) for p in m196.iterfind("parameter")}
        out[IGD + "Services."] = {"writable": False, "num": None, "params": params}
    return out


def derive(bbf_dir: Path = BBF_DIR, kind: str = "device2") -> dict[str, Any]:
    """Read the BBF XML and return the schema: object path -> writability, NumberOfEntries, parameters."""
    parser = etree.XMLParser(remove_comments=True, resolve_entities=False, no_network=True, huge_tree=True)
    d181 = etree.parse(str(bbf_dir / TR181), parser).getroot()
    d196 = etree.parse(str(bbf_dir / TR196), parser).getroot()
    m181 = d181.find("model")
    m196 = d196.find("model")
    assert m181 is not None and m196 is not None
    if kind == "igd":
        return _derive_igd(bbf_dir, parser, d181, m181, d196, m196)
    types = _DataTypes([d181, d196])
    objects = _objects(
        m181, types, "", lambda p: p in TR181_OBJECTS or any(p.startswith(s) for s in TR181_SUBTREES)
    )
    objects.update(_fapservice(m196, types, "Device."))
    return {
        "models": [m181.get("name"), m196.get("name")],
        "sources": [TR181, TR196],
        "objects": dict(sorted(objects.items())),
    }


def _derive_igd(
    bbf_dir: Path,
    parser: etree.XMLParser,
    d181: etree._Element,
    m181: etree._Element,
    d196: etree._Element,
    m196: etree._Element,
) -> dict[str, Any]:
    """InternetGatewayDevice: the hand-written root objects (IGD_ROOT), TR-262's FAP components at the top,
    FAPService:2.1 under Services., and FaultMgmt (TR-157's component, which Device:2 takes as it is: read from
    TR-181, the only BBF file here that defines it) at the top."""
    d262 = etree.parse(str(bbf_dir / TR262), parser).getroot()
    # TR-262 imports IPAddress and Alias from TR-106's types, which TR-181 defines too.
    types = _DataTypes([d262, d181, d196])
    objects: dict[str, Any] = dict(IGD_ROOT)
    for comp in d262.iterfind("component"):
        objects.update(_objects(comp, types, IGD, lambda p: not any(s in p for s in TR262_SKIP)))
    fm = _objects(m181, types, "", lambda p: p.startswith("Device.FaultMgmt."))
    objects.update({IGD + k.removeprefix("Device."): v for k, v in fm.items()})
    objects.update(_fapservice(m196, types, IGD))
    return {
        "models": ["InternetGatewayDevice (IGD_ROOT, after TR-098)", "TR-262 FAP", m196.get("name")],
        "sources": [TR262, TR196, TR181],
        "objects": dict(sorted(objects.items())),
    }


def write(kind: str = "device2", bbf_dir: Path = BBF_DIR) -> None:
    SCHEMA_FILES[kind].write_text(json.dumps(derive(bbf_dir, kind), separators=(",", ":"), sort_keys=True))


@lru_cache(maxsize=2)
def schema(kind: str = "device2") -> dict[str, Any]:
    """The derived schema shipped with the package (regenerate with `python -m bench.mock.bbf`)."""
    data: dict[str, Any] = json.loads(SCHEMA_FILES[kind].read_text())
    return data


if __name__ == "__main__":
    for k, f in SCHEMA_FILES.items():
        write(k)
        print(f"wrote {f} ({f.stat().st_size} bytes)")

"""The mock unit's data model schema, derived from the BBF XML (TR-181 Device:2.17, TR-196 FAPService:2.1).

`derive()` reads the XML (slow, ~1 s); `schema()` loads the derived JSON shipped next to this module (fast).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

HERE = Path(__file__).resolve().parent
SCHEMA_JSON = HERE / "tr196_device2.json"
# The BBF files live in the shared reference folder next to the repository.
BBF_DIR = HERE.parents[2] / "shared" / "reference" / "bbf"
TR181 = "tr-181-2-17-0-cwmp-full.xml"
TR196 = "tr-196-2-1-2-cwmp-full.xml"

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


def derive(bbf_dir: Path = BBF_DIR) -> dict[str, Any]:
    """Read the BBF XML and return the schema: object path -> writability, NumberOfEntries, parameters."""
    parser = etree.XMLParser(remove_comments=True, resolve_entities=False, no_network=True, huge_tree=True)
    d181 = etree.parse(str(bbf_dir / TR181), parser).getroot()
    d196 = etree.parse(str(bbf_dir / TR196), parser).getroot()
    types = _DataTypes([d181, d196])
    m181 = d181.find("model")
    m196 = d196.find("model")
    assert m181 is not None and m196 is not None
    objects = _objects(
        m181, types, "", lambda p: p in TR181_OBJECTS or any(p.startswith(s) for s in TR181_SUBTREES)
    )
    objects.update(
        _objects(
            m196,
            types,
            "Device.Services.",
            lambda p: p.startswith("Device.Services.FAPService.") and not any(s in p for s in TR196_SKIP),
        )
    )
    return {
        "models": [m181.get("name"), m196.get("name")],
        "sources": [TR181, TR196],
        "objects": dict(sorted(objects.items())),
    }


def write(path: Path = SCHEMA_JSON, bbf_dir: Path = BBF_DIR) -> None:
    path.write_text(json.dumps(derive(bbf_dir), separators=(",", ":"), sort_keys=True))


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The derived schema shipped with the package (regenerate with `python -m bench.mock.bbf`)."""
    data: dict[str, Any] = json.loads(SCHEMA_JSON.read_text())
    return data


if __name__ == "__main__":
    write()
    print(f"wrote {SCHEMA_JSON} ({SCHEMA_JSON.stat().st_size} bytes)")

"""The vendor configuration file the bench serves for Download (FileType 3): build, validate against the
shipped XSD (bench/schemas/configfile.xsd) and parse. Format: docs/configfile.md."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from lxml import etree

NS = "urn:henb-bench:configfile:1"
XSD_PATH = Path(__file__).resolve().parent / "schemas" / "configfile.xsd"
MAX_SIZE = 1024 * 1024


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_PATH)))


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def build(params: dict[str, str], vendor: str = "henb-bench") -> bytes:
    """A configuration file setting every parameter in `params` (full TR-069 names) to its value."""
    root = etree.Element(f"{{{NS}}}configDataFile", nsmap={None: NS})  # type: ignore[dict-item]
    etree.SubElement(
        root,
        f"{{{NS}}}fileHeader",
        fileFormatVersion="1",
        vendorName=vendor,
        dateTime=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    data = etree.SubElement(root, f"{{{NS}}}configData")
    for name, value in params.items():
        etree.SubElement(data, f"{{{NS}}}parameter", name=name).text = value
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def validate(blob: bytes) -> list[str]:
    """Every problem with `blob` as a configuration file (empty when it is valid)."""
    if len(blob) > MAX_SIZE:
        return [f"file of {len(blob)} bytes exceeds {MAX_SIZE}"]
    try:
        doc = etree.fromstring(blob, _parser())
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    schema = _schema()
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]  # type: ignore[attr-defined]


def parse(blob: bytes) -> dict[str, str]:
    """The parameters of a valid configuration file, in file order; ValueError naming the problems."""
    problems = validate(blob)
    if problems:
        raise ValueError("; ".join(problems))
    doc = etree.fromstring(blob, _parser())
    return {p.get("name", ""): p.text or "" for p in doc.iter(f"{{{NS}}}parameter")}

"""TS 32.435 measurement collection files (measCollecFile XML): built by the mock unit for PM upload and
validated by the plans against the shipped XSD (bench/schemas/measCollec.xsd)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

from lxml import etree

NS = "http://www.3gpp.org/ftp/specs/archive/32_series/32.435#measCollec"
XSD_PATH = Path(__file__).resolve().parent / "schemas" / "measCollec.xsd"
MAX_SIZE = 4 * 1024 * 1024


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_PATH)))


def _time(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


def build(
    sender: str, begin: datetime, end: datetime, counters: dict[str, int], vendor: str = "henb-bench"
) -> bytes:
    """A measCollecFile with one measInfo holding `counters` (name -> value) for the period begin..end."""
    q = lambda tag: f"{{{NS}}}{tag}"  # noqa: E731
    root = etree.Element(q("measCollecFile"), nsmap={None: NS})  # type: ignore[dict-item]
    header = etree.SubElement(root, q("fileHeader"), fileFormatVersion="32.435 V10.0", vendorName=vendor)
    etree.SubElement(header, q("fileSender"), localDn=sender, elementType="HeNB")
    etree.SubElement(header, q("measCollec"), beginTime=_time(begin))
    data = etree.SubElement(root, q("measData"))
    etree.SubElement(data, q("managedElement"), localDn=sender)
    info = etree.SubElement(data, q("measInfo"), measInfoId="HeNB-1")
    seconds = max(1, round((end - begin).total_seconds()))
    etree.SubElement(info, q("granPeriod"), duration=f"PT{seconds}S", endTime=_time(end))
    etree.SubElement(info, q("repPeriod"), duration=f"PT{seconds}S")
    for i, name in enumerate(counters, 1):
        etree.SubElement(info, q("measType"), p=str(i)).text = name
    value = etree.SubElement(info, q("measValue"), measObjLdn=f"{sender},EUtranCellFDD=1")
    for i, v in enumerate(counters.values(), 1):
        etree.SubElement(value, q("r"), p=str(i)).text = str(v)
    footer = etree.SubElement(root, q("fileFooter"))
    etree.SubElement(footer, q("measCollec"), endTime=_time(end))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def validate(blob: bytes) -> list[str]:
    """Every problem with `blob` as a TS 32.435 measCollecFile (empty when valid)."""
    if len(blob) > MAX_SIZE:
        return [f"file of {len(blob)} bytes exceeds {MAX_SIZE}"]
    try:
        doc = etree.fromstring(blob, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    schema = _schema()
    if not schema.validate(doc):
        return [f"line {e.line}: {e.message}" for e in schema.error_log]  # type: ignore[attr-defined]
    problems = []
    for info in doc.iter(f"{{{NS}}}measInfo"):
        ps = {t.get("p") for t in info.iter(f"{{{NS}}}measType")}
        for value in info.iter(f"{{{NS}}}measValue"):
            for r in value.iter(f"{{{NS}}}r"):
                if r.get("p") not in ps:
                    problems.append(f"measValue {value.get('measObjLdn')}: r p={r.get('p')} has no measType")
    return problems

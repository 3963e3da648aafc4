"""The evidence of a run with several units: a JUnit file per unit and the run's page of each unit's verdicts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from bench.clauses import NOT_APPLICABLE


def write_junit(path: Path, unit: str, results: list[dict[str, Any]]) -> None:
    """One unit's JUnit XML (xunit2), so a nightly job sees each unit's testcases; a test not applicable to
    the unit (not run there) is none of them, as a deselected test is none of pytest's."""
    results = [r for r in results if r["outcome"] != NOT_APPLICABLE]
    count = {
        k: sum(1 for r in results if r["outcome"] == k) for k in ("failed", "error", "skipped", "waived")
    }
    suite = ET.Element(
        "testsuite",
        name=f"henb-bench {unit}",
        tests=str(len(results)),
        failures=str(count["failed"]),
        errors=str(count["error"]),
        skipped=str(count["skipped"] + count["waived"]),
        time=f"{sum(r.get('seconds', 0) for r in results):.3f}",
    )
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{unit}.{r.get('clause') or '-'}",
            name=r["test"],
            time=str(r["seconds"]),
        )
        props = ET.SubElement(case, "properties")
        for key, value in (
            ("unit", unit),
            ("clause", r.get("clause") or ""),
            ("evidence", str(path.parent / r["test"])),
        ):
            ET.SubElement(props, "property", name=key, value=value)
        tag = {"failed": "failure", "error": "error", "skipped": "skipped", "waived": "skipped"}.get(
            r["outcome"]
        )
        if tag:
            ET.SubElement(
                case, tag, message=r["message"][:2000], type=str(r.get("error_kind") or "")
            ).text = r["message"]
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def write_index(
    run_dir: Path,
    run_id: str,
    units: Sequence[str],
    results: list[dict[str, Any]],
    interrupted: str | None = None,
    prepared: dict[str, str] | None = None,
) -> Path:
    """report.html of a run with several units: each unit's verdicts per test, linking its own report, and
    how each unit was prepared (used as configured, or factory-reset first); an interrupted run says so (the
    tests it did not reach are not in the table)."""
    tests = list(dict.fromkeys(r["test"] for r in results))
    verdict = {(r["unit"], r["test"]): r["outcome"] for r in results if r.get("unit")}
    head = "".join(f"<th><a href='{escape(n)}/report.html'>{escape(n)}</a></th>" for n in units)
    how = (
        "<tr><td><i>unit prepared</i></td>"
        + "".join(f"<td>{escape(prepared.get(n, '-'))}</td>" for n in units)
        + "</tr>"
        if prepared
        else ""
    )
    rows = how + "".join(
        f"<tr><td>{escape(t)}</td>"
        + "".join(f"<td class='{v}'>{v}</td>" for n in units for v in [verdict.get((n, t), "-")])
        + "</tr>"
        for t in tests
    )
    page = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>henb-bench run {escape(run_id)}"
        "</title><style>td.passed{color:green}td.failed{color:#b00}td.error{color:#b60}td.not-applicable{color:#888}td,th{padding:2px 8px}"
        f"</style></head><body><h1>henb-bench run {escape(run_id)}: {len(units)} units</h1>"
        + (
            f"<p><b>Interrupted ({escape(interrupted)})</b>: the run is incomplete.</p>"
            if interrupted
            else ""
        )
        + f"<table><tr><th>test</th>{head}</tr>{rows}</table></body></html>"
    )
    path = run_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path

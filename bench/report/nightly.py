"""The nightly summary (`python -m bench.report.nightly FOLDER...`): one line per run folder found below the
folders (junit.xml, place.json, run.json), unit failures apart from bench errors; docs/nightly.md."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree


@dataclass
class RunLine:
    folder: Path
    product_class: str
    where: str
    tests: int
    passed: int
    failed: int  # the unit's fault: <failure>
    errors: int  # the bench's or the lab's: <error>
    interrupted: str | None = None  # run.json's: the run stopped before its end (Ctrl-C, SIGTERM)

    def text(self) -> str:
        cut = f"  INTERRUPTED ({self.interrupted}): incomplete" if self.interrupted else ""
        return (
            f"{self.product_class:10} {self.where}  {self.tests} tests: {self.passed} passed, "
            f"{self.failed} FAILED (unit), {self.errors} errors (bench){cut}  {self.folder}"
        )


def _json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def summarize(junit: Path) -> RunLine:
    """One run folder's line: counts from its JUnit XML, the place and unit from place.json and run.json."""
    root = ElementTree.parse(junit).getroot()
    cases = root.findall(".//testcase")
    failed = sum(1 for c in cases if c.find("failure") is not None)
    errors = sum(1 for c in cases if c.find("error") is not None)
    skipped = sum(1 for c in cases if c.find("skipped") is not None)
    run, place = _json(junit.parent / "run.json"), _json(junit.parent / "place.json")
    ident = place.get("identity") or run.get("identity") or {}
    who = f"{ident.get('oui', '?')}-{ident.get('serial_number', '?')}"
    where = (
        f"{place['place']} held as {place.get('holder', '?')}" if place else f"unit {run.get('unit', '?')}"
    )
    return RunLine(
        junit.parent,
        str(ident.get("product_class", "?")),
        f"{where} ({who})",
        len(cases),
        len(cases) - failed - errors - skipped,
        failed,
        errors,
        run.get("interrupted"),
    )


def main(argv: list[str] | None = None) -> int:
    """Print the lines; exit 1 if a unit failed anywhere, else 3 if the bench erred anywhere, else 130 if a run
    was interrupted, else 0."""
    folders = [Path(a) for a in (argv if argv is not None else sys.argv[1:])] or [Path("captures")]
    lines = [summarize(j) for f in folders for j in sorted(f.rglob("junit.xml"))]
    for line in lines:
        print(line.text())
    if not lines:
        print(f"no run folder (junit.xml) below {', '.join(map(str, folders))}")
    if any(r.failed for r in lines):
        return 1
    if any(r.errors for r in lines) or not lines:
        return 3
    return 130 if any(r.interrupted for r in lines) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Drivers talk to hardware and nothing else: no driver imports the lab's simulators, the mock unit or the
bench's unit and run layers (the simulated instruments are lab hardware the drivers only talk to)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("bench.lab", "bench.mock", "bench.unit", "bench.run", "bench.plugin", "testplans")


def upward_imports(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found += [n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)]
    return found


def test_the_check_sees_an_upward_import() -> None:
    assert upward_imports("from bench.lab.sim.scpi_psu import ScpiPsuServer\nimport os\n") == [
        "bench.lab.sim.scpi_psu"
    ]
    assert upward_imports("def f():\n    import bench.mock.henb\n") == ["bench.mock.henb"]


def test_no_driver_imports_the_lab_the_mock_or_the_bench_above_it() -> None:
    bad = {
        str(path.relative_to(ROOT)): names
        for path in sorted((ROOT / "drivers").rglob("*.py"))
        if (names := upward_imports(path.read_text(encoding="utf-8")))
    }
    assert bad == {}, f"drivers importing upward: {bad}"

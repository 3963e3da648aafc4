"""The history's answers as terminal tables (rich): verdict cells read `3✓ 1✗ 2!` (runs passed, failed by the
unit, erred by the bench)."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.history.queries import Cell, Diff, FirstFailure, Flaky, Matrix, Trend

TERMINAL_FIRMWARES = 10  # newest firmware columns a terminal shows; --html has them all


def cell_text(c: Cell | None) -> str:
    if c is None or not c.runs:
        return ""
    parts = [f"{n}{mark}" for n, mark in ((c.passed, "✓"), (c.failed, "✗"), (c.error, "!")) if n]
    return " ".join(parts)


def cell_class(c: Cell | None) -> str:
    """failed (every run), mixed (passed and failed), error (the bench erred, whatever else), passed, or empty."""
    if c is None or not c.runs:
        return "empty"
    if c.failed:
        return "mixed" if c.passed else "failed"
    return "error" if c.error else "passed"


STYLE = {"passed": "green", "failed": "bold red", "mixed": "yellow", "error": "magenta", "empty": ""}


def _console() -> Console:
    return Console(highlight=False)


def matrices(found: list[Matrix]) -> None:
    out = _console()
    if not found:
        out.print("no step verdicts stored for this selection (`henb-bench history import RUN_DIR...`)")
    for m in found:
        firmwares = m.firmwares[-TERMINAL_FIRMWARES:]
        table = _table(out, f"{m.product_class}: clause/step by firmware (oldest first)")
        table.add_column("clause")
        table.add_column("step")
        for fw in firmwares:
            table.add_column(fw, justify="center")
        for row in m.rows:
            cells = [m.cells[row].get(fw) for fw in firmwares]
            table.add_row(*row, *(f"[{STYLE[cell_class(c)]}]{cell_text(c)}" for c in cells))
        out.print(table)
        if len(m.firmwares) > len(firmwares):
            out.print(
                f"({len(m.firmwares) - len(firmwares)} older firmware(s) left out: --html shows them all)"
            )
    out.print("✓ passed  ✗ failed (the unit)  ! bench error  (runs)")


def first_failures(found: list[FirstFailure]) -> None:
    out = _console()
    if not found:
        out.print("no step is failing on the newest firmware it ran on")
        return
    table = _table(out, "steps failing since a firmware")
    for col in ("product class", "clause", "step", "first failed on", "last passed on", "firmwares since"):
        table.add_column(col)
    table.add_column("latest message", overflow="fold")
    for f in found:
        table.add_row(
            f.product_class, f.clause, f.step, f"[bold red]{f.first_failed}", f.last_passed or "never",
            str(f.failed_since), f.message[:300],
        )  # fmt: skip
    out.print(table)


def flaky(found: list[Flaky]) -> None:
    out = _console()
    if not found:
        out.print("no step with both verdicts on one firmware and unit")
        return
    table = _table(out, "steps with both verdicts on one firmware and unit")
    for col in ("kind", "clause", "step", "product class", "serial", "firmware", "runs", "by host"):
        table.add_column(col)
    for f in found:
        hosts = ", ".join(f"{h} {cell_text(c)}" for h, c in sorted(f.hosts.items()))
        kind = "[yellow]unit flaky" if f.kind == "unit" else "[magenta]bench errors"
        table.add_row(
            kind, f.clause, f.step, f.product_class, f.serial, f.firmware, cell_text(f.total), hosts
        )
    out.print(table)
    out.print(
        "unit flaky: passed and failed (the unit's fault); bench errors: passes beside the bench's errors"
    )


def trend(t: Trend) -> None:
    out = _console()
    table = _table(out, f"{t.measurement} (s), oldest first")
    for col in ("started", "run", "host", "unit", "firmware", "seconds"):
        table.add_column(col, justify="right" if col == "seconds" else "left")
    for p in t.points:
        table.add_row(_when(p.started), p.run_id, p.host, p.unit, p.firmware, f"{p.value:.3f}")
    out.print(table)
    creep = t.creep
    if creep is not None:
        half = len(t.points) // 2
        out.print(f"median of the newest {half} runs less that of the oldest {half}: {creep:+.3f} s")


def runs(rows: list[tuple[Any, ...]]) -> None:
    out = _console()
    table = _table(out, "runs, newest first")
    for col in ("run", "host", "unit", "product class", "firmware", "exit", "passed", "failed", "errors"):
        table.add_column(col)
    for run_id, host, unit, pc, fw, code, p, f, e, _started in rows:
        table.add_row(run_id, host, unit, pc, fw, "-" if code is None else str(code), str(p), str(f), str(e))
    out.print(table)


def diff(d: Diff) -> None:
    out = _console()
    if not d.changes:
        out.print(f"no change from {d.run_a} to {d.run_b} (measurements within {d.tolerance:g}%)")
        return
    table = _table(out, f"{d.run_a} -> {d.run_b}")
    for col in ("what", "name", "A", "B"):
        table.add_column(col, overflow="fold")
    for c in d.changes:
        table.add_row(c.what, c.name, c.before, c.after)
    out.print(table)


def _table(out: Console, title: str) -> Table:
    """A table under its title, printed on a line of its own (a narrow table would wrap it)."""
    out.print(f"[bold]{title}")
    return Table()


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))

"""The history as one self-contained HTML page (`henb-bench history --html FILE`): each product class's matrix,
the steps failing since a firmware, the flaky ones, and each measurement's trend as an inline SVG plot; no
script, no outside resource, so it opens from a CI artifact or a mail."""

from __future__ import annotations

import time
from html import escape
from pathlib import Path

from bench.history.queries import Filter, FirstFailure, Flaky, Matrix, Trend
from bench.history.tables import cell_class, cell_text

STYLE = """
body{font:14px sans-serif;margin:1.5em;color:#111}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:center}
td.left,th.left{text-align:left}
td.passed{background:#dcfce7;color:#166534}
td.failed{background:#fee2e2;color:#991b1b;font-weight:bold}
td.mixed{background:#fef9c3;color:#854d0e}
td.error{background:#f3e8ff;color:#6b21a8}
svg.trend{border:1px solid #ccc;background:#fff;margin:.5em 0 1.5em}
svg.trend polyline{fill:none;stroke:#2563eb;stroke-width:2}
svg.trend circle{fill:#2563eb}
svg.trend text{font:11px sans-serif;fill:#444}
"""
W, H, PAD = 720, 220, 44


def write_page(
    path: Path,
    matrices: list[Matrix],
    failing: list[FirstFailure],
    flaky: list[Flaky],
    trends: list[Trend],
    f: Filter,
) -> Path:
    scope = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in vars(f).items() if v) or "every unit"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>henb-bench results history</title><style>{STYLE}</style></head><body>",
        f"<h1>henb-bench results history</h1><p>{escape(scope)}; made {escape(time.strftime('%Y-%m-%d %H:%M'))}."
        " Cells: runs passed ✓, failed by the unit ✗, erred by the bench !.</p>",
    ]
    for m in matrices:
        parts.append(_matrix(m))
    if not matrices:
        parts.append("<p>No step verdicts stored for this selection.</p>")
    parts.append(_failing(failing))
    parts.append(_flaky(flaky))
    parts.append("<h2>Trends</h2>")
    parts.extend(_plot(t) for t in trends)
    parts.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(parts), encoding="utf-8")
    return path


def _matrix(m: Matrix) -> str:
    head = "".join(f"<th>{escape(fw)}</th>" for fw in m.firmwares)
    rows = []
    for row in m.rows:
        cells = "".join(
            f"<td class='{cell_class(c)}'>{escape(cell_text(c))}</td>"
            for c in (m.cells[row].get(fw) for fw in m.firmwares)
        )
        rows.append(
            f"<tr><td class='left'>{escape(row[0])}</td><td class='left'>{escape(row[1])}</td>{cells}</tr>"
        )
    return (
        f"<h2 class='matrix'>{escape(m.product_class)}: clause/step by firmware (oldest first)</h2>"
        f"<table class='matrix'><tr><th class='left'>clause</th><th class='left'>step</th>{head}</tr>"
        + "".join(rows)
        + "</table>"
    )


def _failing(found: list[FirstFailure]) -> str:
    if not found:
        return "<h2>Failing since</h2><p>No step is failing on the newest firmware it ran on.</p>"
    rows = "".join(
        f"<tr><td>{escape(x.product_class)}</td><td>{escape(x.clause)}</td><td>{escape(x.step)}</td>"
        f"<td class='failed'>{escape(x.first_failed)}</td><td>{escape(x.last_passed or 'never')}</td>"
        f"<td>{x.failed_since}</td><td class='left'>{escape(x.message[:500])}</td></tr>"
        for x in found
    )
    return (
        "<h2>Failing since</h2><table class='first-failure'><tr><th>product class</th><th>clause</th>"
        "<th>step</th><th>first failed on</th><th>last passed on</th><th>firmwares since</th>"
        f"<th class='left'>latest message</th></tr>{rows}</table>"
    )


def _flaky(found: list[Flaky]) -> str:
    if not found:
        return "<h2>Flaky</h2><p>No step with both verdicts on one firmware and unit.</p>"
    rows = "".join(
        f"<tr><td class='{'mixed' if x.kind == 'unit' else 'error'}'>"
        f"{'unit flaky' if x.kind == 'unit' else 'bench errors'}</td><td>{escape(x.clause)}</td>"
        f"<td>{escape(x.step)}</td><td>{escape(x.product_class)}</td><td>{escape(x.serial)}</td>"
        f"<td>{escape(x.firmware)}</td><td>{escape(cell_text(x.total))}</td><td class='left'>"
        + escape(", ".join(f"{h} {cell_text(c)}" for h, c in sorted(x.hosts.items())))
        + "</td></tr>"
        for x in found
    )
    return (
        "<h2>Flaky</h2><table class='flaky'><tr><th>kind</th><th>clause</th><th>step</th><th>product class</th>"
        f"<th>serial</th><th>firmware</th><th>runs</th><th class='left'>by host</th></tr>{rows}</table>"
    )


def _plot(t: Trend) -> str:
    """The measurement run by run, oldest on the left, as an SVG polyline with each run's point titled."""
    title = f"<h3>{escape(t.measurement)} (s){escape(f', {t.product_class}' if t.product_class else '')}</h3>"
    if not t.points:
        return title + "<p>No values.</p>"
    values = [p.value for p in t.points]
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    step = (W - 2 * PAD) / max(len(values) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return PAD + i * step, H - PAD - (v - lo) / span * (H - 2 * PAD)

    coords = [xy(i, v) for i, v in enumerate(values)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(
        f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3'><title>{escape(p.run_id)} {escape(p.host)} {escape(p.unit)} "
        f"{escape(p.firmware)}: {p.value:.3f} s</title></circle>"
        for (x, y), p in zip(coords, t.points, strict=True)
    )
    creep = t.creep
    note = f"<p>Newer half's median less the older half's: {creep:+.3f} s.</p>" if creep is not None else ""
    return (
        f"{title}<svg class='trend' xmlns='http://www.w3.org/2000/svg' width='{W}' height='{H}' "
        f"viewBox='0 0 {W} {H}' role='img' aria-label='{escape(t.measurement)} trend'>"
        f"<line x1='{PAD}' y1='{H - PAD}' x2='{W - PAD}' y2='{H - PAD}' stroke='#999'/>"
        f"<line x1='{PAD}' y1='{PAD}' x2='{PAD}' y2='{H - PAD}' stroke='#999'/>"
        f"<text x='4' y='{PAD + 4}'>{hi:.2f}</text><text x='4' y='{H - PAD + 4}'>{lo:.2f}</text>"
        f"<text x='{PAD}' y='{H - 12}'>{escape(t.points[0].run_id)}</text>"
        f"<text x='{W - PAD}' y='{H - 12}' text-anchor='end'>{escape(t.points[-1].run_id)}</text>"
        f"<polyline points='{line}'/>{dots}</svg>{note}"
    )

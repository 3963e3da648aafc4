"""report.html: one self-contained page per run (no external assets): summary, clause coverage, per test the
result, measurements, the observed message ladder beside the spec figure's, and the timeline it links to."""

from __future__ import annotations

import json
import re
import time
from html import escape
from pathlib import Path
from typing import Any

from bench.clauses import NOT_APPLICABLE, Figure
from bench.events import SecurityKind, Source, describe_json
from bench.report.ladder import (
    expected_svg,
    first_deviation,
    lifelines,
    match,
    messages,
    observed_svg,
    own_procedure,
)
from bench.report.measure import MEASUREMENTS, measure
from bench.report.redact import Redactor

CSS = """
body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#111827;background:#f9fafb}
header{background:#1f2937;color:#f9fafb;padding:14px 24px}header h1{margin:0;font-size:20px}
header .sub{color:#d1d5db;font-size:13px}main{padding:8px 24px 40px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d1d5db;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;background:#fff;margin:6px 0}
td,th{border:1px solid #e5e7eb;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f3f4f6}
.passed{color:#166534;font-weight:600}.failed{color:#b91c1c;font-weight:600}.error{color:#9a3412;font-weight:600}
.not-verified,.not-run,.not-observable{color:#6b7280}.waived{color:#b45309}.badge.waived{background:#b45309;color:#fff}
.badge{display:inline-block;border-radius:4px;padding:0 6px;font-size:12px;font-weight:700;color:#fff}
.badge.passed{background:#16a34a}.badge.failed{background:#dc2626}.badge.error{background:#ea580c}
.badge.not-run,.badge.not-observable{background:#6b7280}.badge.interrupted{background:#7c3aed}
pre.msg{white-space:pre-wrap;background:#fef2f2;border:1px solid #fecaca;padding:8px;margin:6px 0}
.ladders{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.ladders figure{margin:0;background:#fff;border:1px solid #e5e7eb;padding:6px}
.ladders figcaption{font-weight:600;margin-bottom:4px}
svg.ladder{font:11px system-ui,sans-serif}svg .svg-title{font-weight:600;fill:#374151}
svg .lane{stroke:#9ca3af;stroke-dasharray:4 3}svg .lane-name{font-weight:700;fill:#111827}
svg .t{fill:#6b7280;font-family:monospace;font-size:10px}
svg .arrow line{stroke-width:1.6}svg .label{fill:#111827;paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
svg .ok line{stroke:#2563eb}svg .derived line{stroke:#60a5fa;stroke-dasharray:5 3}
svg .exp-ok line{stroke:#15803d}svg .dim line{stroke:#d1d5db}svg .dim .label{fill:#9ca3af}
svg .bad line{stroke:#dc2626;stroke-width:2.6}svg .bad .label{fill:#b91c1c;font-weight:700}
svg .note-dot{fill:#f59e0b}svg .collapsed{fill:#6b7280;font-style:italic}svg a:hover .label{text-decoration:underline}
table.events td{font-size:12px}table.events td.d{font-family:monospace;max-width:900px;overflow-wrap:anywhere}
table.events tr:target{background:#fde68a}table.events tr.hl{background:#fee2e2}
.files a{margin-right:10px}.muted{color:#6b7280}
"""


def _load_events(
    path: Path, redactor: Redactor | None, loaded: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """A timeline file's events, redacted; `loaded` keeps each line's event across the sections of one page
    (most lines recur in every later test's file: read and redacted once). The events are not changed after."""
    if not path.is_file():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        e = loaded.get(line)
        if e is None:
            e = loaded[line] = redactor.obj(json.loads(line)) if redactor else json.loads(line)
        events.append(e)
    return events


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", name)


def _details(e: dict[str, Any]) -> str:
    text = describe_json(e, full=True).split(" ", 1)[-1] if e.get("data") else ""
    return text if len(text) <= 600 else text[:599] + "\u2026"


def _evidence_seqs(message: str) -> set[int]:
    """The timeline entries a failure message points at ("evidence: .../timeline.jsonl #56")."""
    return {int(n) for n in re.findall(r"timeline\.jsonl #(\d+)", message)}


def _measure_rows(values: dict[str, float]) -> str:
    rows = []
    for key, (title, unit, how) in MEASUREMENTS.items():
        v = values.get(key)
        shown = f"{v:.3f} {unit}" if v is not None else '<span class="muted">not observed</span>'
        rows.append(f"<tr><td>{escape(title)}</td><td>{shown}</td><td class='muted'>{escape(how)}</td></tr>")
    return "<table><tr><th>measurement</th><th>value</th><th>how</th></tr>" + "".join(rows) + "</table>"


def _coverage(summary: dict[str, Any]) -> str:
    catalogue: dict[str, Any] = summary.get("clauses") or {}
    results = summary.get("results", [])
    clauses = list(catalogue) + sorted({r["clause"] for r in results if r.get("clause")} - set(catalogue))
    rows = []
    for clause in clauses:
        entry = catalogue.get(clause, {})
        ran = [r for r in results if r.get("clause") == clause and r["outcome"] != NOT_APPLICABLE]
        inapplicable = [r for r in results if r.get("clause") == clause and r["outcome"] == NOT_APPLICABLE]
        outcome = (
            "failed"
            if any(r["outcome"] == "failed" for r in ran)
            else "error"
            if any(r["outcome"] == "error" for r in ran)
            else "passed"
            if any(r["outcome"] == "passed" for r in ran)
            else "waived"  # its failures were at steps the lab waived: nothing of it shown as passed
            if any(r["outcome"] == "waived" for r in ran)
            else "skipped"  # every test of the clause skipped: nothing of it was checked
            if ran
            else NOT_APPLICABLE  # not run: the clause is for another kind of unit (Clause.applies)
            if inapplicable
            else "not-run"
        )
        failed_step = None
        for r in ran:
            m = re.search(r"TS 32\.593 \S+ step (\S+):", r.get("message", ""))
            if m:
                failed_step = m.group(1)
        checks = entry.get("checks", [])
        judged = _step_verdicts(ran)
        items = []
        waived: dict[str, list[dict[str, Any]]] = {}
        for w in summary.get("waivers") or []:
            if w.get("clause") == clause:
                waived.setdefault(w["check"], []).append(w)
        for c in checks:
            if c.get("id") in waived:  # waived for a unit: never shown as passed (units.NAME.waivers)
                why = "; ".join(f"{w['unit']}: {w['reason']}" for w in waived[c["id"]])
                items.append(
                    f"<li><span class='waived'>waived</span> step {escape(c['step'])}: {escape(c['what'])} "
                    f"<span class='muted'>({escape(why)})</span></li>"
                )
                continue
            # A failed test tells which step failed, not which of the others were reached.
            s = {"passed": "passed", "failed": "not-verified", "error": "not-verified"}.get(
                outcome, "not-run"
            )
            if outcome == "failed" and c["step"] == failed_step:
                s = "failed"
            if judged is not None:  # judged from evidence: each step as its verdict says, or not judged
                s = judged.get(c["step"], "not-run")
            items.append(
                f"<li><span class='{s}'>{s.replace('-', ' ')}</span> step {escape(c['step'])}: {escape(c['what'])}</li>"
            )
        check_list = f"<ul>{''.join(items)}</ul>" if items else "<span class='muted'>-</span>"
        links = " ".join(f"<a href='#test-{_slug(r['test'])}'>{escape(r['test'])}</a>" for r in ran)
        if outcome == NOT_APPLICABLE:  # say why nothing of it was checked
            links = f"<span class='muted'>not run: {escape(inapplicable[0].get('message', ''))}</span>"
        badge = "not-run" if outcome in ("skipped", NOT_APPLICABLE) else outcome
        rows.append(
            f"<tr><td><b>{escape(clause)}</b></td><td>{escape(entry.get('title', ''))}<br>{links}</td>"
            f"<td>{check_list}</td><td><span class='badge {badge}'>"
            f"{outcome.replace('-', ' ').upper()}</span></td></tr>"
        )
    return (
        "<table class='coverage'><tr><th>clause</th><th>procedure</th><th>checks</th><th>result</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _step_verdicts(ran: list[dict[str, Any]]) -> dict[str, str] | None:
    """For a run judged from evidence (`henb-bench judge`): each step's verdict, the worst of its checks
    (failed, then not observable, then passed); None for a live run."""
    verdicts = [v for r in ran for v in r.get("verdicts", [])]
    if not verdicts:
        return None
    out: dict[str, str] = {}
    for v in verdicts:
        seen = out.get(v["step"], "passed")
        out[v["step"]] = (
            "failed" if "failed" in (seen, v["outcome"]) else v["outcome"] if seen == "passed" else seen
        )
    return out


def _verdict_rows(r: dict[str, Any]) -> str:
    """A judged test's verdict per step, with its frames and the Wireshark command that opens the place."""
    if not r.get("verdicts"):
        return ""
    rows = "".join(
        f"<tr><td>{escape(v['step'])}</td><td class='{escape(v['outcome'])}'>{escape(v['outcome'])}</td>"
        f"<td>{escape(v.get('why') or '')}</td><td><code>{escape(v.get('hint') or '')}</code></td></tr>"
        for v in r["verdicts"]
    )
    return (
        "<h3>Verdicts from evidence</h3><table><tr><th>step</th><th>verdict</th><th>why not observable</th>"
        f"<th>frames</th></tr>{rows}</table>"
    )


def _waivers(waivers: list[dict[str, Any]]) -> str:
    """The checks the lab waived for a unit (units.NAME.waivers), each with its reason: not verified."""
    if not waivers:
        return ""
    rows = "".join(
        f"<tr><td>{escape(w['unit'])}</td><td>{escape(w['check'])}</td><td>{escape(w['what'])}</td>"
        f"<td>{escape(w['reason'])}</td></tr>"
        for w in waivers
    )
    return (
        "<h2>Waived checks</h2><p class='muted'>not verified: the lab waived them for the unit "
        "(units.NAME.waivers)</p><table><tr><th>unit</th><th>check</th><th>what</th><th>reason</th></tr>"
        f"{rows}</table>"
    )


def _inapplicable(results: list[dict[str, Any]]) -> str:
    """The tests not run because their clause does not apply to the unit, once, with the reason."""
    if not results:
        return ""
    rows = "".join(
        f"<tr><td>{escape(r['test'])}</td><td>{escape(r.get('clause') or '-')}</td>"
        f"<td>{escape(r.get('message', ''))}</td></tr>"
        for r in results
    )
    return (
        "<h3>Not applicable (not run)</h3><table><tr><th>test</th><th>clause</th><th>why</th></tr>"
        + rows
        + "</table>"
    )


def _files(run_dir: Path, test_dir: Path) -> str:
    if not test_dir.is_dir():
        return ""
    links = [
        f"<a href='{escape(p.relative_to(run_dir).as_posix())}'>{escape(p.name)}</a>"
        for p in sorted(test_dir.iterdir())
        if p.is_file()
    ]
    bundle = run_dir / f"{test_dir.name}.tar.gz"
    if bundle.is_file():
        links.append(f"<a href='{escape(bundle.name)}'><b>{escape(bundle.name)}</b> (bug bundle)</a>")
    return "<p class='files'>evidence: " + "".join(links) + "</p>"


def figure_for(catalogue: dict[str, Any], clause: str | None, test: str) -> Figure | None:
    """The expected sequence for `test` of `clause`, as the plans declared it (run.json's clauses): the
    test's own (by its full name, then without parameters), else the clause's figure."""
    entry = catalogue.get(clause or "") or {}
    tests = entry.get("tests") or {}
    for name in (test, test.split("[", 1)[0]):
        if name in tests:
            return Figure.from_json(tests[name])
    return Figure.from_json(entry["figure"]) if entry.get("figure") else None


def _test_section(
    run_dir: Path,
    idx: int,
    r: dict[str, Any],
    t0: float,
    redactor: Redactor | None,
    catalogue: dict[str, Any],
    described: dict[tuple[int, float], str],
    loaded: dict[str, dict[str, Any]],
) -> str:
    """One test's section. `described` keeps each event's details cell across the sections of one page: a
    test's timeline starts at the unit's boot, so most events recur in every later test."""
    test_dir = run_dir / r["test"]
    events = _load_events(test_dir / "timeline.jsonl", redactor, loaded)
    msgs = messages(events)
    anchor = f"ev{idx}-"
    highlight = _evidence_seqs(r.get("message", ""))
    # A skipped test checked nothing: no expected ladder, no verdict that could read as a pass.
    figure = None if r.get("outcome") == "skipped" else figure_for(catalogue, r.get("clause"), r["test"])
    expected = ""
    matches = match(figure, msgs) if figure is not None else []
    # The test's own procedure; what came before it (boot, earlier tests) is one collapsed line.
    own = own_procedure(msgs, matches, r.get("mark"), highlight)
    lanes = lifelines(figure, msgs[own.start :])
    if figure is not None:
        dev = first_deviation(matches)
        if dev is not None and dev.message is not None:
            highlight.add(dev.message.seq)
        expected = expected_svg(figure, matches, anchor, lanes)
        verdict = (
            f"first deviation: step {matches.index(dev) + 1} <b>{escape(dev.step.label)}</b>: {escape(dev.note)}"
            if dev
            else "the observed messages follow the figure's sequence"
        )
    elif r.get("outcome") == "skipped":
        verdict = "skipped: nothing was checked"
    else:
        verdict = "no expected sequence is defined for this clause"
    observed = observed_svg(
        msgs[own.start :], t0, anchor, highlight, "observed (timeline)", lanes, own.earlier
    )
    rows = []
    for e in events:
        cls = " class='hl'" if e["seq"] in highlight else ""
        key = (e["seq"], e["t"])
        if key not in described:
            described[key] = escape(_details(e))
        rows.append(
            f"<tr id='{anchor}{e['seq']}'{cls}><td>#{e['seq']}</td><td>+{e['t'] - t0:.3f}s</td>"
            f"<td>{escape(e['source'])}</td><td>{escape(e['kind'])}</td>"
            f"<td class='d'>{described[key]}</td></tr>"
        )
    outcome = r["outcome"]
    msg = f"<pre class='msg'>{escape(r['message'])}</pre>" if r.get("message") else ""
    values = r.get("measurements") or measure(events, _outer(test_dir))
    return f"""
<section id="test-{_slug(r["test"])}">
<h2><span class="badge {outcome}">{outcome.upper()}</span> {escape(r.get("clause") or "-")} {escape(r["test"])}</h2>
<p>duration {r.get("seconds", 0):.3f} s{" &middot; " + escape(r["error_kind"]) if r.get("error_kind") else ""}
 &middot; {len(events)} timeline entries, {len(msgs)} messages</p>
{msg}
{_verdict_rows(r)}
{_files(run_dir, test_dir)}
<h3>Measurements</h3>{_measure_rows(values)}
{_outer_link(events)}
<h3>Message ladder</h3><p>{verdict}</p>
<div class="ladders"><figure><figcaption>Observed</figcaption>{observed}</figure>
<figure><figcaption>Expected (TS 32.593)</figcaption>{expected or "<p class='muted'>none</p>"}</figure></div>
<h3>Timeline</h3>
<table class="events"><tr><th>seq</th><th>time</th><th>source</th><th>kind</th><th>details</th></tr>
{"".join(rows)}</table>
</section>"""


def _outer_link(events: list[dict[str, Any]]) -> str:
    """The outer-link check's result (TS 33.320): operator packets outside the tunnel, what was allowed,
    and other traffic (a failure only with operator.outer_link.strict)."""
    found = [e for e in events if e["source"] == Source.SECURITY and e["kind"] == SecurityKind.OUTER_LINK]
    if not found:
        return ""
    d = found[-1].get("data", {})
    operator, other, strict = d.get("operator", 0), d.get("other") or {}, d.get("strict", False)
    allowed = ", ".join(f"{k} {v}" for k, v in (d.get("allowed") or {}).items()) or "none"
    others = ", ".join(f"{k}: {v} packet(s)" for k, v in other.items()) or "none"
    verdict = "failed" if operator or (other and strict) else "passed"
    note = "fails (operator.outer_link.strict)" if strict else "listed, not a failure (not strict)"
    return (
        f"<h3>Outer link</h3><p><span class='{verdict}'>{verdict}</span> operator packets outside the tunnel: "
        f"<b>{operator}</b> &middot; allowed: {escape(allowed)} &middot; other traffic: {escape(others)}"
        f"{' (' + note + ')' if other else ''}</p>"
    )


def _outer(test_dir: Path) -> Path | None:
    for name in ("outer.pcapng", "outer.pcap"):
        if (test_dir / name).is_file():
            return test_dir / name
    return None


def render(run_dir: Path, redactor: Redactor | None = None) -> str:
    summary = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    if redactor:
        # What the unit and the bench said is redacted; the plans' own clause titles are not data.
        summary = {k: v if k == "clauses" else redactor.obj(v) for k, v in summary.items()}
    inapplicable = [r for r in summary.get("results", []) if r["outcome"] == NOT_APPLICABLE]
    results = [r for r in summary.get("results", []) if r["outcome"] != NOT_APPLICABLE]
    t0 = summary.get("t0") or summary.get("started") or 0.0
    counts = {
        k: sum(1 for r in results if r["outcome"] == k)
        for k in ("passed", "failed", "error", "skipped", "waived")
    }
    reported = summary.get("reported") or {}
    ident = summary.get("identity") or {}
    facts = [
        ("unit", summary.get("unit", "-")),
        (
            "identity (inventory)",
            f"{ident.get('oui', '')}-{ident.get('product_class', '')}-{ident.get('serial_number', '')}",
        ),
        (
            "as reported in the first Inform",
            ", ".join(f"{k}={v}" for k, v in reported.items()) or "no Inform seen",
        ),
        ("started / ended", f"{_when(summary.get('started'))} / {_when(summary.get('ended'))}"),
        (
            "henb-bench",
            f"{summary.get('tool_version', '?')} (git {summary.get('git_revision') or 'unknown'})",
        ),
        (
            "inventory",
            f"{summary.get('inventory', '-')} sha256 {str(summary.get('inventory_sha256', '-'))[:16]}",
        ),
        ("mock knobs", ", ".join(summary.get("knobs", [])) or "none"),
    ]
    # How the unit reached the first state a test asked for: used as configured, or factory-reset first.
    facts += [
        (f"unit {p.get('unit')} prepared" if len(summary.get("preparation", [])) > 1 else "unit prepared",
         str(p.get("detail")))
        for p in summary.get("preparation", [])
    ]  # fmt: skip
    if summary.get("interrupted"):
        facts.insert(
            0, ("interrupted", f"{summary['interrupted']}: the run is incomplete, only the tests below ran")
        )
    fact_rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in facts)
    overall = "failed" if counts["failed"] else "error" if counts["error"] else "passed"
    if overall == "passed" and summary.get("interrupted"):
        overall = "interrupted"  # what ran passed, but not everything ran
    catalogue = summary.get("clauses") or {}
    described: dict[tuple[int, float], str] = {}
    loaded: dict[str, dict[str, Any]] = {}
    sections = "".join(
        _test_section(run_dir, i, r, t0, redactor, catalogue, described, loaded)
        for i, r in enumerate(results)
    )
    toc = "".join(
        f"<tr><td><a href='#test-{_slug(r['test'])}'>{escape(r['test'])}</a></td><td>{escape(r.get('clause') or '-')}"
        f"</td><td class='{r['outcome']}'>{r['outcome']}</td><td>{r.get('seconds', 0):.3f} s</td></tr>"
        for r in results
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>henb-bench run {escape(summary.get("run_id", ""))}</title>
<style>{CSS}</style></head><body>
<header><h1>henb-bench run {escape(summary.get("run_id", ""))}
 <span class="badge {overall}">{overall.upper()}</span></h1>
<div class="sub">{counts["passed"]} passed, {counts["failed"]} failed, {counts["error"]} error(s),
 {counts["skipped"]} skipped, {counts["waived"]} waived, {len(inapplicable)} not applicable &middot;
 TS 32.593 procedures against {escape(str(summary.get("unit", "")))}</div></header>
<main>
<h2>Summary</h2><table>{fact_rows}</table>
<table><tr><th>test</th><th>clause</th><th>result</th><th>duration</th></tr>{toc}</table>
{_inapplicable(inapplicable)}
{_waivers(summary.get("waivers") or [])}
<h2>TS 32.593 clause coverage</h2>{_coverage(summary)}
<h2>Measurements (first boot of the run)</h2>{_measure_rows(summary.get("measurements") or {})}
{sections}
</main></body></html>
"""
    return page


def write_report(run_dir: Path, redactor: Redactor | None = None) -> Path:
    path = run_dir / "report.html"
    path.write_text(render(run_dir, redactor), encoding="utf-8")
    return path

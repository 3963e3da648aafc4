"""The event vocabulary: every emitter and every comparison uses a registered (source, kind), the doc matches the
definitions, one formatter shows an event, and one set of secret key names hides secrets everywhere."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bench.inventory
from bench import events
from bench.clauses import Clause, Figure, Step
from bench.events import SECRET_KEYS, Source, describe, is_secret_key, known
from bench.hems import standalone
from bench.opscli import format_event
from bench.plans import plan_set
from bench.report.redact import inventory_secrets, redactor_for
from bench.timeline import Timeline

ROOT = Path(__file__).resolve().parents[2]
# Helpers that add an event of a fixed source with the kind as their first argument.
KIND_HELPERS = {
    "bench/hems/server.py": ("_event", "hems"),
    "bench/hems/session.py": ("event", "hems"),
    "bench/hems/transport.py": ("event", "hems"),
    "bench/services/fileserver.py": ("_event", "fileserver"),
    "bench/unit/lifecycle.py": ("_event", "unit"),
    "drivers/console/serial.py": ("_event", "console"),
    "drivers/wan.py": ("_event", "bench"),
}


def _strings(node: ast.AST) -> list[str]:
    """The names an argument can take: a literal, a member of bench.events (`Source.HEMS`), either arm of
    `a if c else b`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        enum = getattr(events, node.value.id, None)
        return [str(getattr(enum, node.attr))] if enum is not None and hasattr(enum, node.attr) else []
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def _sources(root: Path = ROOT) -> list[Path]:
    return sorted(p for d in ("bench", "drivers", "testplans") for p in (root / d).rglob("*.py"))


def _emitted(root: Path = ROOT) -> list[tuple[str, str, str]]:
    """(where, source, kind) for every `.add(...)` on a timeline or event sink and every kind helper call."""
    found = []
    for path in _sources(root):
        rel = path.relative_to(root).as_posix()
        helper = KIND_HELPERS.get(rel)
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            where = f"{rel}:{node.lineno}"
            owner = ast.unparse(node.func.value)
            if node.func.attr == "add" and any(w in owner for w in ("timeline", "tl", "events")):
                if len(node.args) >= 2:
                    found += [(where, s, k) for s in _strings(node.args[0]) for k in _strings(node.args[1])]
            elif helper and node.func.attr == helper[0] and node.args:
                found += [(where, helper[1], k) for k in _strings(node.args[0])]
    return found


def test_every_emitted_event_is_in_the_vocabulary() -> None:
    emitted = _emitted()
    assert len(emitted) > 40, "the scan found too few emitters: it no longer recognises them"
    unknown = [f"{w}: {s}/{k}" for w, s, k in emitted if not known(s, k)]
    assert not unknown, "events not in bench/events.py: " + "; ".join(unknown)


REPORT = "bench/report/"  # reads events back from timeline.jsonl: every source/kind there is an event's
FIELDS = ("source", "kind")


def _event_field(node: ast.AST, rel: str) -> str | None:
    """'source' or 'kind' when `node` reads an event's: `e.source` (or `ev.`, `event.`) anywhere; in
    bench/report/ also any `x.kind`, a bare `kind`, and `x["kind"]` (an event read back as a dict)."""
    report = rel.startswith(REPORT)
    if isinstance(node, ast.Attribute) and node.attr in FIELDS:
        return node.attr if report or ast.unparse(node.value) in ("e", "ev", "event") else None
    if report and isinstance(node, ast.Name) and node.id in FIELDS:
        return node.id
    if report and isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return node.slice.value if node.slice.value in FIELDS else None
    return None


def _compared(root: Path = ROOT) -> list[tuple[str, str, ast.expr]]:
    """(where, 'source' or 'kind', what it is compared with) for every comparison of an event's source or kind."""
    found = []
    for path in _sources(root):
        rel = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            if isinstance(node, ast.Compare) and (name := _event_field(node.left, rel)) is not None:
                for right in node.comparators:
                    elts = right.elts if isinstance(right, ast.Tuple | ast.Set | ast.List) else [right]
                    found += [(f"{rel}:{node.lineno}", name, e) for e in elts]
    return found


def _misnamed(compared: list[tuple[str, str, ast.expr]]) -> list[str]:
    kinds = {str(k) for enum in [*events.KINDS.values(), events.ArrowKind] for k in enum}
    allowed = {"source": {str(s) for s in Source}, "kind": kinds}
    return [f"{w}: {v}" for w, name, e in compared for v in _strings(e) if v not in allowed[name]]


def _literals(compared: list[tuple[str, str, ast.expr]]) -> list[str]:
    """Comparisons in bench/report/ with a string literal where a bench.events member belongs."""
    return [
        f"{w}: {e.value!r}"
        for w, _, e in compared
        if w.startswith(REPORT) and isinstance(e, ast.Constant) and isinstance(e.value, str)
    ]


def test_every_compared_source_and_kind_is_in_the_vocabulary() -> None:
    compared = _compared()
    assert sum(w.startswith(REPORT) for w, _, _ in compared) > 20, "the scan no longer sees the report's"
    bad = _misnamed(compared)
    assert not bad, "compared names not in bench/events.py: " + "; ".join(bad)


def test_the_report_compares_vocabulary_members_not_strings() -> None:
    bad = _literals(_compared())
    assert not bad, "use bench.events' Source/*Kind, not a string: " + "; ".join(bad)


def test_the_comparison_scan_finds_a_misspelt_or_literal_name(tmp_path: Path) -> None:
    (tmp_path / "bench/report").mkdir(parents=True)
    (tmp_path / "bench/report/ladder.py").write_text(
        'if source == "hems" and kind in (HemsKind.INFORM, "infrom"): pass\n'
        'x = [e for e in events if e["source"] == Source.SEGW and e["kind"] == SegwKind.IKE_DWN]\n'
        "if m.kind == ArrowKind.INFORM_RESPONSE: pass\n"
    )
    (tmp_path / "bench/run.py").write_text('if e.source == "hmes" or unit.kind == "physical": pass\n')
    compared = _compared(tmp_path)
    assert _misnamed(compared) == ["bench/report/ladder.py:1: infrom", "bench/run.py:1: hmes"]
    assert _literals(compared) == ["bench/report/ladder.py:1: 'hems'", "bench/report/ladder.py:1: 'infrom'"]
    assert len(compared) == 7  # SegwKind.IKE_DWN is no member: not a name the scan can read, nor a literal


def _unknown_steps(clauses: list[Clause]) -> list[str]:
    arrows = {str(k) for k in events.ArrowKind}
    return [
        f"{c.id} {figure.title}: {step.label!r} {step.source}/{step.kind}"
        for c in clauses
        for figure in [f for f in (c.figure, *c.tests.values()) if f is not None]
        for step in figure.steps
        if not known(step.source, step.kind) and step.kind not in arrows
    ]


def test_every_figure_step_names_an_event_of_the_vocabulary() -> None:
    clauses = list(plan_set().clauses.values())
    assert len(clauses) >= 10
    bad = _unknown_steps(clauses)
    assert not bad, "figure steps no event can match (bench/events.py): " + "; ".join(bad)
    typo = Clause("9.9", "t", Figure("f", (Step("Inform", "henb", "serving-hems", "hems", "infrom"),)), ())
    assert _unknown_steps([typo]) == ["9.9 f: 'Inform' hems/infrom"]


def test_the_scan_finds_a_misspelt_emitter(tmp_path: Path) -> None:
    (tmp_path / "bench/hems").mkdir(parents=True)
    (tmp_path / "bench/hems/server.py").write_text(
        'self.timeline.add("hems", "infrom", a=1)\nself._event("sesion-end", peer)\n'
        'tl.add(Source.SEGW, SegwKind.IKE_UP if up else "ike-dwn")\n'
    )
    found = [(s, k) for _, s, k in _emitted(tmp_path) if not known(s, k)]
    assert found == [("hems", "infrom"), ("hems", "sesion-end"), ("segw", "ike-dwn")]


def test_a_wrong_name_is_caught() -> None:
    assert known("hems", "inform") and known(Source.SEGW, events.SegwKind.ADDRESS_CHANGE)
    assert not known("hems", "infrom") and not known("sgw", "ike-up")


def test_the_doc_lists_the_vocabulary() -> None:
    doc = (ROOT / "docs/evidence.md").read_text()
    start = doc.index("<!-- vocabulary: generated by bench.events.markdown() -->\n")
    body = doc[start:].split("\n", 1)[1]
    assert body[: body.index("<!-- end of vocabulary -->")] == events.markdown(), (
        "docs/evidence.md's vocabulary table differs from bench/events.py: paste bench.events.markdown()"
    )


def test_one_formatter_for_the_timeline_up_and_hems() -> None:
    tl = Timeline()
    ev = tl.add("hems", "rpc-fault", hems="serving-hems", peer="10.0.0.2", serial="X1", method="Download", id="7",
                fault_code=9010, meaning="Download failure", fault_string="nope", xml="<x/>")  # fmt: skip
    line = describe(ev)
    assert (
        line
        == "hems/rpc-fault <- Fault 9010 (Download failure) to Download: nope (hems=serving-hems serial=X1)"
    )
    assert ev.describe(tl.t0).endswith(line) and format_event(ev, tl.t0).endswith(line)
    assert standalone.describe(ev).endswith(line)
    other = tl.add("mme", "sctp-down", peer="10.0.0.2", reason="r" * 300, body="b")
    assert describe(other).startswith("mme/sctp-down peer=10.0.0.2 reason=rrr") and "body" not in describe(
        other
    )
    assert len(describe(other, limit=100)) < 140 and len(describe(other)) > 300


@pytest.mark.parametrize("key", sorted(SECRET_KEYS) + ["cr_password", "snmp_secret"])
def test_one_set_of_secret_keys_hides_secrets_everywhere(key: str) -> None:
    tl = Timeline()
    ev = tl.add("unit", "action", unit="u", **{key: "hunter2-hunter2"})
    assert "hunter2" not in describe(ev)
    inventory = {"units": {"u": {key: "hunter2-hunter2", "serial": "SN-1"}}}
    assert inventory_secrets(inventory) == {"hunter2-hunter2"}
    assert redactor_for(inventory).text("sent hunter2-hunter2 to SN-1") == "sent [redacted] to SN-1"
    assert bench.inventory.is_secret_key is is_secret_key  # the inventory's error messages hide the same keys
    assert is_secret_key(key) and not is_secret_key("serial") and not is_secret_key("peer")


def test_the_report_details_use_the_same_formatter() -> None:
    from bench.report.html import _details

    line = {"seq": 3, "t": 0.0, "source": "hems", "kind": "inform", "data": {"hems": "initial-hems",
            "events": ["0 BOOTSTRAP"], "params": {"a": 1}, "xml": "<x/>", "password": "hunter2-hunter2"}}  # fmt: skip
    text = _details(line)
    assert text == 'hems=initial-hems, events=["0 BOOTSTRAP"], params={"a": 1}'

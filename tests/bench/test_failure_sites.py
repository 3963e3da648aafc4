"""The audit of the plans' failure sites (bench/failure_sites.py): every place a plan can fail a unit names a
step its clause declares a Check with a Twin for; a new undeclared one fails here (docs/checks-and-twins.md)."""

from __future__ import annotations

from pathlib import Path

from bench import clauses as cl
from bench.failure_sites import scan, undeclared
from bench.plans import PlanSet, plan_set

# Failure sites of today's plans whose step has no declared Check with a Twin yet: (clause, step) -> why it is
# still open. The list may only shrink: a new undeclared step fails the audit, and so does an entry here that is
# declared by now (delete it). Each is work for a twin: a mock knob breaking exactly that step.
KNOWN_GAPS: dict[tuple[str, str], str] = {}


def _plans() -> PlanSet:
    return plan_set()


def test_every_failure_site_of_the_plans_has_a_step_the_audit_can_read() -> None:
    plans = _plans()
    sites, unreadable = scan(plans.folder, plans.clauses)
    assert len(sites) > 100, "the scan found too few failure sites: is it still reading the plans?"
    assert not unreadable, (
        "failure sites whose step is not a literal (or a parameter given literals): "
        + "; ".join(f"{u.path.name}:{u.line} {u.call}" for u in unreadable)
    )


def test_every_failure_site_is_a_declared_check_with_a_twin() -> None:
    plans = _plans()
    gaps = plans.audit()[0]
    new = sorted({(s.clause, s.step): s for s in gaps if (s.clause, s.step) not in KNOWN_GAPS}.values(),
                 key=lambda s: (s.clause, s.line))  # fmt: skip
    assert not new, (
        "a plan fails a unit at a step its CLAUSE declares no Check with a Twin for:\n"
        + "\n".join(f"  {s.clause} step {s.step} at {s.where}: {s.call}" for s in new)
    )
    closed = sorted(set(KNOWN_GAPS) - {(s.clause, s.step) for s in gaps})
    assert not closed, f"declared with a twin by now: delete from KNOWN_GAPS: {closed}"


PLAN = """
import pytest

@pytest.mark.clause("9.9")
def test_one(bench_run, steps):
    steps.wait("1", pred, 1, "x", 0)
    helper(bench_run, steps, "2")
    get_values(bench_run, steps, "pre", [])
    evidence.assert_no_cleartext(steps)
    steps.fail(f"{n}", "x", "y")

def helper(bench_run, steps, step, extra=None):
    steps.fail(step, "expected", "seen")
"""


def test_the_scan_follows_a_step_through_a_helper_and_names_what_it_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "procedures.py").write_text("def get_values(bench_run, steps, step, names): ...\n")
    (tmp_path / "test_9_9_x.py").write_text(PLAN)
    twin = (cl.Twin("k", ("w",)),)
    clause = cl.Clause("9.9", "X", None, (cl.Check("1", "one", twin), cl.Check("2", "two", ()),
                                          cl.Check("security", "clear", twin)))  # fmt: skip
    sites, unreadable = scan(tmp_path, {"9.9": clause})
    assert sorted((s.step, s.line) for s in sites) == [
        ("1", 6), ("2", 7), ("2", 13), ("pre", 8), ("security", 9)
    ]  # fmt: skip
    assert [(u.line, u.call) for u in unreadable] == [(10, 'steps.fail(f"{n}", "x", "y")')]
    # Step 2 is declared without a twin, "pre" not at all: both are gaps; `list` shows them.
    assert sorted((s.step, s.line) for s in undeclared(sites, {"9.9": clause})) == [
        ("2", 7), ("2", 13), ("pre", 8)
    ]  # fmt: skip
    table = PlanSet("fake", tmp_path, {"9.9": clause}).table()
    assert "step 2        two  [NO TWIN]" in table
    assert (
        'step pre      UNDECLARED: fails at test_9_9_x.py:8 (get_values(bench_run, steps, "pre", []))'
        in table
    )

"""`henb-bench rejudge` on a live run of 5.1.2.3, 5.2.4, 5.3.1 and 5.3.2 (the inventory's two units at once): the
same verdict for every test, each judged on steps its evidence shows (with the bench's knowledge from the test's
timeline), the rest not observable with why; the unit's outer capture alone (ESP not decrypted, no key log)
gives no failure. One bench run for the module."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.evidence.cli import call, known_of, timeline_of
from bench.evidence.judge_more import MORE_JUDGES, OUTER_LINK_JUDGES
from bench.evidence.judges import FAILED, NOT_OBSERVABLE, PASSED, Judged
from bench.evidence.knowledge import with_knowledge
from tests.support import FAST_BOUNDS, henb_bench, needs_root, run_results, write_inventory

pytestmark = [pytest.mark.netns, needs_root()]
# The tests of the module's live run on one pytest-xdist worker (--dist loadgroup), so the run is made once:
# a module-scoped fixture is made again on every worker that runs one of its tests.
SHARED = pytest.mark.xdist_group("rejudge-more-live")
CLAUSES = ("5.1.2.3", "5.2.4", "5.3.1", "5.3.2")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("live")
    inventory = write_inventory(tmp / "inventory.yaml", FAST_BOUNDS, all_units=True)
    args = [a for c in CLAUSES for a in ("--clause", c)]
    res = henb_bench("--inventory", str(inventory), "run", *args, "--out", str(tmp / "captures"), timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    run_dir, results = run_results(tmp / "captures")
    return inventory, run_dir, results


def judged(inventory: Path, run_dir: Path, r: dict[str, Any], outer_only: bool = False) -> Judged:
    folder = run_dir / r["unit"] / r["test"]
    captures = [folder / "outer.pcapng"] if outer_only else [folder / "outer.pcapng", folder / "inner.pcapng"]
    keylog = None
    if not outer_only:
        keylog = run_dir.parent / f"keylog-{r['unit']}.txt"
        keylog.write_text("".join(k.read_text() for k in sorted((run_dir / "logs").glob("*tls-keys.log"))))
    known = known_of(inventory)
    tl, span = timeline_of(captures, keylog, known)
    tl = with_knowledge(tl, folder / "timeline.jsonl", r.get("mark"))
    ident = json.loads((run_dir / r["unit"] / "run.json").read_text())["identity"]
    identity = (ident["oui"], ident["product_class"], ident["serial_number"])
    return call(r["clause"], MORE_JUDGES[r["clause"]][r["test"]], tl.events(), identity, known, span)


@SHARED
def test_rejudge_gives_the_live_verdicts(live: tuple[Path, Path, list[dict[str, Any]]]) -> None:
    inventory, run_dir, results = live
    res = henb_bench("--inventory", str(inventory), "rejudge", str(run_dir))
    assert res.returncode == 0, res.stdout + res.stderr
    ran = [r for r in results if r["outcome"] == "passed"]
    assert len(ran) == 18, [(r["unit"], r["test"], r["outcome"]) for r in results]  # 8 tests x 2 units + 2
    for r in ran:
        assert f"same     {r['unit']} {r['test']}: run passed, today passed" in res.stdout, res.stdout
    assert "0 differ" in res.stdout


@SHARED
def test_each_step_is_seen_or_said_why_not(live: tuple[Path, Path, list[dict[str, Any]]]) -> None:
    inventory, run_dir, results = live
    for r in (r for r in results if r["outcome"] == "passed"):
        j = judged(inventory, run_dir, r)
        outcomes = {v.outcome for v in j.verdicts}
        assert FAILED not in outcomes and PASSED in outcomes, (r["test"], [v.message("") for v in j.verdicts])
        assert all(v.why for v in j.verdicts if v.outcome == NOT_OBSERVABLE), j.verdicts
        if r["test"] == "test_refuses_initial_hems_it_must_not_trust":  # the unit's alerts, with the key log
            assert [v.outcome for v in j.verdicts if v.step == "1.3"] == [PASSED], j.verdicts


@SHARED
def test_the_outer_link_alone_fails_nothing(live: tuple[Path, Path, list[dict[str, Any]]]) -> None:
    inventory, run_dir, results = live
    for r in (r for r in results if r["outcome"] == "passed"):
        j = judged(inventory, run_dir, r, outer_only=True)
        assert j.failed() is None, (r["test"], [v.message("") for v in j.verdicts])
        # the outer link's policy is judged on it (its live plan's last step), where the plan checks it
        security = [v.outcome for v in j.verdicts if v.step == "security"]
        assert security == ([PASSED] if MORE_JUDGES[r["clause"]][r["test"]] in OUTER_LINK_JUDGES else []), j
        if r["clause"] != "5.1.2.3":  # its IKE with the Serving SeGW is on the outer link
            assert {v.outcome for v in j.verdicts if v.step != "security"} == {NOT_OBSERVABLE}, (r["test"], j)
            assert any("ESP without SAs" in v.why for v in j.verdicts), j.verdicts


def _block(stdout: str, test: str) -> str:
    """The lines `henb-bench judge` printed for `test` (its outcome line and its steps)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.rstrip().endswith(f" {test}"))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("      ")), len(lines))
    return "\n".join(lines[start:end])


@SHARED
def test_judge_takes_the_bench_s_knowledge_from_a_run_s_timeline(
    live: tuple[Path, Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    """`henb-bench judge --timeline`: the address change only the bench knew, from the run's timeline.jsonl,
    turns 5.2.4's steps that rest on it from not observable into judged."""
    inventory, run_dir, results = live
    r = next(
        r for r in results if r["test"] == "test_inform_after_ipsec_address_change" and r["unit"] == "henb-01"
    )
    folder = run_dir / r["unit"] / r["test"]
    keylog = tmp_path / "keys.txt"
    keylog.write_text("".join(k.read_text() for k in sorted((run_dir / "logs").glob("*tls-keys.log"))))
    ident = json.loads((run_dir / r["unit"] / "run.json").read_text())["identity"]
    common = [
        "--inventory", str(inventory), "judge", str(folder / "outer.pcapng"), str(folder / "inner.pcapng"),
        "--keylog", str(keylog), "--clause", "5.2.4", "--out", str(tmp_path / "out"),
        "--unit-identity", f"{ident['oui']}-{ident['product_class']}-{ident['serial_number']}",
    ]  # fmt: skip
    without = henb_bench(*common)
    assert "Traceback" not in without.stderr, without.stderr
    assert "the bench's knowledge" in _block(without.stdout, r["test"]), without.stdout
    given = henb_bench(*common, "--timeline", str(folder / "timeline.jsonl"))
    block = _block(given.stdout, r["test"])
    assert "the bench's knowledge" not in block and block.lstrip().startswith("PASSED"), given.stdout
    missing = henb_bench(*common, "--timeline", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "--timeline" in missing.stdout + missing.stderr, missing

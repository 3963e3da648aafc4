"""Every check the TS 32.593 plans make can fail: the mock unit, told to misbehave in exactly one way, makes
exactly that check fail, with a message that names the clause, the step and the problem.

The twins of a clause run as units of one `henb-bench run` on one operator network (README "Running several
units"), each unit misbehaving in its own way (`units.NAME.mock.misbehave`): one topology and one process for
up to GROUP_SIZE twins instead of one each. Every twin stays a test of its own, judged on its own unit's
results in the run's run.json: its first failure (the one a one-unit run with --exitfirst stopped at) must be
at the twin's step and say the twin's words."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.clauses import Clause, Twin
from bench.knobs import HEALTH_KNOBS, KNOBS, PASSING_KNOBS, PASSING_TWINS, VARIANT_KNOBS
from bench.plans import PlanSet, plan_set
from tests import evidence_twins
from tests.support import FAST_BOUNDS, henb_bench, needs_root, run_results, unit_like, write_inventory

pytestmark = [pytest.mark.netns, needs_root()]

# Units per run. More would pay the topology and the run's start fewer times, but every unit boots at once
# and the twins' bounds are FAST_BOUNDS (a twin must fail at its own step, not at a boot slowed by its group);
# six units booting together on a loaded 2-core host stay well inside them.
GROUP_SIZE = 6


def twins(plans: PlanSet) -> list[tuple[Clause, str, Twin]]:
    """Every twin the plan set's clauses declare: (clause, the check's step, twin)."""
    return [(clause, check.step, twin) for clause in plans.clauses.values() for check in clause.checks
            for twin in check.twins]  # fmt: skip


TWINS = twins(plan_set())
# The inventory's own unit: a twin whose words name it (`units.henb-01.bounds...`) is that unit in its run.
DEFAULT_UNIT = next(iter(yaml.safe_load((Path(__file__).parents[2] / "inventory.yaml").read_text())["units"]))


@dataclass(frozen=True)
class Group:
    """Twins that run as units of one run: one clause, one deployment (the twins' own inventory settings
    are the operator's, shared by every unit of a run)."""

    name: str
    clause: Clause
    inventory: Mapping[str, Any]
    twins: tuple[tuple[str, Twin], ...]

    def unit(self, twin: Twin) -> str:
        """The unit that misbehaves as `twin` does: named after its knob, or the inventory's own unit when
        the twin's words name that one."""
        if any(f"units.{DEFAULT_UNIT}." in w for w in twin.words):
            return DEFAULT_UNIT
        return "t-" + twin.knob.replace("_", "-")[:30]


def _leaves(settings: Mapping[str, Any]) -> list[str]:
    """The keys a twin's inventory sets (its leaves): what tells its group's name from another deployment's."""
    return [k for key, v in settings.items() for k in (_leaves(v) if isinstance(v, Mapping) else [key])]


def groups(all_twins: list[tuple[Clause, str, Twin]], size: int = GROUP_SIZE) -> list[Group]:
    """The twins by clause and deployment, in runs of at most `size` units (spread evenly)."""
    by: dict[tuple[str, str], list[tuple[Clause, str, Twin]]] = {}
    for clause, step, twin in all_twins:
        by.setdefault((clause.id, json.dumps(twin.inventory, sort_keys=True)), []).append(
            (clause, step, twin)
        )
    out = []
    for (clause_id, _), members in by.items():
        runs = -(-len(members) // size)
        for k in range(runs):
            part = members[k::runs]
            suffix = f"-{k + 1}" if runs > 1 else ""
            extra = "-" + "-".join(sorted(_leaves(part[0][2].inventory))) if part[0][2].inventory else ""
            name = f"twins-{clause_id}{extra}{suffix}"
            out.append(Group(name, part[0][0], part[0][2].inventory, tuple((s, t) for _, s, t in part)))
    return out


GROUPS = groups(TWINS)
CASES = [
    pytest.param(g, step, twin, id=f"{g.clause.id}-{twin.knob}", marks=pytest.mark.xdist_group(g.name))
    for g in GROUPS
    for step, twin in g.twins
]


def merged(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merged(out.get(key) or {}, value) if isinstance(value, Mapping) else value
    return out


@dataclass
class GroupRun:
    """One group's run: its command's result, the run folder and every unit's results in test order."""

    res: subprocess.CompletedProcess[str]
    data: dict[str, Any]
    run_dir: Path | None
    results: list[dict[str, Any]]

    def output(self) -> str:
        return (self.res.stdout + self.res.stderr)[-4000:]


def run_group(group: Group, knobs: set[str], tmp: Path) -> GroupRun:
    """Run the group's clause once with a unit per twin in `knobs` (the selected tests of the group). No
    --exitfirst: it would end the run at the first test any unit failed; each twin is judged on its unit's
    first failure instead."""
    base = yaml.safe_load(write_inventory(tmp / "base.yaml", FAST_BOUNDS).read_text())
    data = merged(merged(base, group.clause.inventory), group.inventory)
    (template,) = data["units"].values()
    units: dict[str, Any] = {}
    for i, (_, twin) in enumerate(group.twins, 1):
        if twin.knob not in knobs:
            continue
        name = group.unit(twin)
        assert name not in units, f"two twins of {group.name} are unit {name}"
        unit = unit_like(template, None if name == DEFAULT_UNIT else f"TWIN{i:04d}")
        unit.setdefault("mock", {})["misbehave"] = [twin.knob]
        units[name] = unit
    data["units"] = units
    inventory = tmp / "twins.yaml"
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp / "captures"
    res = henb_bench(
        "--inventory", str(inventory), "run", "--clause", group.clause.id, "--out", str(out), timeout=900
    )  # fmt: skip
    if not out.is_dir() or not any(out.iterdir()):
        return GroupRun(res, data, None, [])
    run_dir, results = run_results(out)
    only = next(iter(units)) if len(units) == 1 else None
    for r in results:
        r.setdefault("unit", only)
    return GroupRun(res, data, run_dir, results)


class TwinRuns:
    """Each group's run, made when the first of its tests asks for it, with a unit for each of the group's
    tests this session selected (xdist_group keeps a group's tests on one worker, so a group runs once)."""

    def __init__(self, session: pytest.Session, tmp: pytest.TempPathFactory) -> None:
        self.session = session
        self.tmp = tmp
        self.runs: dict[str, GroupRun | Exception] = {}

    def of(self, group: Group) -> GroupRun:
        if group.name not in self.runs:
            selected = {
                item.callspec.params["twin"].knob
                for item in self.session.items
                if isinstance(item, pytest.Function)
                and "twin" in getattr(getattr(item, "callspec", None), "params", {})
                and item.callspec.params.get("group") == group
            }
            try:
                self.runs[group.name] = run_group(group, selected, self.tmp.mktemp(group.name))
            except Exception as exc:  # noqa: BLE001  # e.g. the run's timeout: each of its twins fails with it, once
                self.runs[group.name] = exc
        run = self.runs[group.name]
        if isinstance(run, Exception):
            raise run
        return run


@pytest.fixture(scope="session")
def twin_runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> TwinRuns:
    return TwinRuns(request.session, tmp_path_factory)


def test_every_knob_has_a_twin() -> None:
    assert {t.knob for _, _, t in TWINS} - PASSING_TWINS == set(
        KNOBS
    ) - HEALTH_KNOBS - VARIANT_KNOBS - PASSING_KNOBS
    # A passing knob is a twin's only under the inventory setting that makes the same correct unit fail.
    assert all(t.inventory for _, _, t in TWINS if t.knob in PASSING_TWINS)
    assert PASSING_TWINS <= PASSING_KNOBS


def test_every_twin_names_words_its_failure_must_say() -> None:
    assert all(t.words and all(w.strip() for w in t.words) for _, _, t in TWINS)
    assert {t.knob for _, _, t in TWINS} <= set(KNOBS), "a twin names a knob bench/knobs.py does not have"


def test_every_twin_is_one_unit_of_one_group() -> None:
    grouped = sorted((g.clause.id, t.knob) for g in GROUPS for _, t in g.twins)
    assert grouped == sorted((c.id, t.knob) for c, _, t in TWINS)
    assert len({g.name for g in GROUPS}) == len(GROUPS), [g.name for g in GROUPS]  # one run per name
    for g in GROUPS:
        assert 1 <= len(g.twins) <= GROUP_SIZE, g.name
        names = [g.unit(t) for _, t in g.twins]
        assert len(set(names)) == len(names), (g.name, names)
        assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]{0,31}", n) for n in names), names


@pytest.mark.parametrize(("group", "step", "twin"), CASES)
def test_misbehaving_unit_fails_the_check(group: Group, step: str, twin: Twin, twin_runs: TwinRuns) -> None:
    run = twin_runs.of(group)
    clause, unit = group.clause, group.unit(twin)
    assert run.results, f"the run left no run.json (exit {run.res.returncode}):\n{run.output()}"
    # Exit 1: a unit failed; 3 only if a unit's run ended in a bench error (that twin's test fails below).
    errors = [r for r in run.results if r["outcome"] == "error"]
    assert run.res.returncode == (3 if errors else 1), f"exit {run.res.returncode}:\n{run.output()}"
    mine = [r for r in run.results if r["unit"] == unit]
    bad = [r for r in mine if r["outcome"] in ("failed", "error")]
    shown = "\n".join(f"{r['outcome']} {r['test']}: {r['message']}" for r in mine)
    assert bad, f"unit {unit} (misbehaving as {twin.knob}) passed {clause.id}:\n{shown}"
    # Its first failure is the one --exitfirst would have stopped at; a twin whose words come from more
    # than one test (whole_clause) is judged on all of them.
    first = bad[0]
    assert first["outcome"] == "failed", f"unit {unit}: a bench error, not the unit's failure:\n{shown}"
    assert first["clause"] == clause.id, shown
    text = "\n".join(r["message"] for r in bad) if twin.whole_clause else first["message"]
    assert f"TS 32.593 {clause.id} step {step}: expected" in text, shown
    # Words name the unit as its inventory does ({serial}, {oui}): the plans know no unit's identity.
    identity = run.data["units"][unit]["identity"]
    for w in twin.words:
        word = w.format(serial=identity["serial_number"], oui=identity["oui"])
        assert word in text, f"{word!r} not in unit {unit}'s failure message:\n{text}"
    assert "evidence: " in first["message"] and "timeline.jsonl" in first["message"], first["message"]
    # Judged again from its evidence alone (henb-bench rejudge): the same step and words, or not observable.
    if run.run_dir is not None:
        words = [] if twin.whole_clause else [w.format(serial=identity["serial_number"], oui=identity["oui"])
                                              for w in twin.words]  # fmt: skip
        evidence_twins.check(run.run_dir, run.data, unit, first, step, twin.knob, words)
    # The run's summary names the unit's failure, as a one-unit run's did.
    summary = run.res.stdout[run.res.stdout.rfind("henb-bench:") :]
    assert re.search(rf"FAILED  ({re.escape(unit)} +)?{re.escape(clause.id)} ", summary), summary


def _run_5_2_3(inventory: Path, tmp_path: Path, unit: dict[str, object], *args: str) -> list[dict[str, Any]]:
    """Run 5.2.3 with the unit's inventory entry updated by `unit`; it must pass. Returns the timeline."""
    data = yaml.safe_load(inventory.read_text())
    next(iter(data["units"].values())).update(unit)
    path = tmp_path / "cr.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "captures"
    res = henb_bench("--inventory", str(path), "run", "--clause", "5.2.3", *args, "--out", str(out))
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    (timeline,) = out.glob("*/timeline.jsonl")
    return [json.loads(line) for line in timeline.read_text().splitlines()]


def _connection_requests(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["source"] == "hems" and e["kind"] == "connection-request"]


def test_a_rate_limiting_unit_passes_with_one_connection_request_per_step(
    fast_inventory: Path, tmp_path: Path
) -> None:
    # The unit refuses a request within 3 s of the last it accepted; the bench retries 4 s later. One request
    # per RPC would have a second accepted one in step 2 (SetParameterValues, then the read back).
    events = _run_5_2_3(
        fast_inventory, tmp_path, {"connection_request": {"retry_after": 4}}, "--misbehave", "cr_rate_limit"
    )
    # The run may begin with a factory reset by the HeMS (its own request): another test on this worker may
    # have left this mock's flash configured. What is counted is the steps of the clause.
    crs = [d for d in _connection_requests(events) if d["purpose"].startswith("5.2.3 ")]
    accepted = Counter(d["purpose"] for d in crs if d["status"] in (200, 204))
    assert accepted == {
        "5.2.3 step 2": 1,
        "5.2.3 step ParameterKey": 1,
        "5.2.3 step pre": 1,
        "5.2.3 step 3": 1,
    }, crs
    # The unit did refuse (HTTP 503), and the retry is on the timeline as the next attempt of that step.
    refused = [d for d in crs if d["status"] == 503]
    assert refused and all(d["attempt"] == 1 and d["attempts"] == 3 for d in refused), crs
    assert all(any(a["purpose"] == d["purpose"] and a["attempt"] == 2 for a in crs) for d in refused), crs


def test_a_unit_with_its_own_credentials_keeps_them(fast_inventory: Path, tmp_path: Path) -> None:
    own = {"username": "vendor-cr", "password": "vendor-factory-secret"}
    events = _run_5_2_3(fast_inventory, tmp_path, {"connection_request": {"own": own}})
    # The probes with no credentials and a wrong password (TR-069 3.2.2) are refused; every other is accepted.
    crs = [d for d in _connection_requests(events) if not d.get("probe")]
    assert crs and all(d["status"] == 200 for d in crs), crs
    probes = [d for d in _connection_requests(events) if d.get("probe")]
    assert [(d["probe"], d["status"]) for d in probes] == [
        ("no credentials", 401),
        ("wrong credentials", 401),
    ]
    # The Serving HeMS never set credentials: the unit logs each parameter set on its console (on the timeline),
    # `param: ...ConnectionRequestUsername = ...` when the HeMS sets them (the default, `set`).
    assert any(e["kind"] == "console-line" and "param: " in e["data"]["line"] for e in events)
    assert not [e for e in events if "ConnectionRequestUsername" in json.dumps(e["data"])]

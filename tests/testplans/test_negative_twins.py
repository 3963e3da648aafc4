"""Every check the TS 32.593 plans make can fail: the mock unit, told to misbehave in exactly one way, makes
exactly that check fail, with a message that names the clause, the step and the problem."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.clauses import Clause, Twin
from bench.knobs import HEALTH_KNOBS, KNOBS, PASSING_KNOBS, VARIANT_KNOBS
from bench.plans import PlanSet, plan_set
from tests.support import henb_bench, needs_root

pytestmark = [pytest.mark.netns, needs_root()]


def twins(plans: PlanSet) -> list[tuple[Clause, str, Twin]]:
    """Every twin the plan set's clauses declare: (clause, the check's step, twin)."""
    return [(clause, check.step, twin) for clause in plans.clauses.values() for check in clause.checks
            for twin in check.twins]  # fmt: skip


TWINS = twins(plan_set())


def merged(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merged(out.get(key) or {}, value) if isinstance(value, Mapping) else value
    return out


def test_every_knob_has_a_twin() -> None:
    assert {t.knob for _, _, t in TWINS} == set(KNOBS) - HEALTH_KNOBS - VARIANT_KNOBS - PASSING_KNOBS


def test_every_twin_names_words_its_failure_must_say() -> None:
    assert all(t.words and all(w.strip() for w in t.words) for _, _, t in TWINS)
    assert {t.knob for _, _, t in TWINS} <= set(KNOBS), "a twin names a knob bench/knobs.py does not have"


@pytest.mark.parametrize(("clause", "step", "twin"), TWINS, ids=[f"{c.id}-{t.knob}" for c, _, t in TWINS])
def test_misbehaving_unit_fails_the_check(
    clause: Clause, step: str, twin: Twin, fast_inventory: Path, tmp_path: Path
) -> None:
    # The clause's deployment (5.1.2.3: the Initial HeMS on the public internet) and what the twin needs
    # (other traffic fails only where the inventory says strict), merged into the fast inventory.
    data = merged(merged(yaml.safe_load(fast_inventory.read_text()), clause.inventory), twin.inventory)
    inventory = tmp_path / "twin.yaml"
    inventory.write_text(yaml.safe_dump(data))
    # Words name the unit as its inventory does ({serial}, {oui}): the plans know no unit's identity.
    identity = next(iter(data["units"].values()))["identity"]
    knob = twin.knob
    words = [w.format(serial=identity["serial_number"], oui=identity["oui"]) for w in twin.words]
    # A twin whose words come from more than one test runs the whole clause; the others stop at the clause's
    # first failure, the one their words are checked against (the rest would only add time).
    first = [] if twin.whole_clause else ["--exitfirst"]
    res = henb_bench(
        "--inventory", str(inventory), "run", "--clause", clause.id, "--misbehave", knob, *first,
        "--out", str(tmp_path / "captures"),
    )  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 1, f"expected exit 1 (unit failed), got {res.returncode}:\n{out[-3000:]}"
    summary = out[out.rfind("henb-bench:") :]
    assert f"FAILED  {clause.id}" in summary, summary
    assert f"TS 32.593 {clause.id} step {step}: expected" in summary, summary
    for w in words:
        assert w in summary, f"{w!r} not in the failure message:\n{summary}"
    assert "evidence: " in summary and "timeline.jsonl" in summary


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
    assert accepted == {"5.2.3 step 2": 1, "5.2.3 step pre": 1, "5.2.3 step 3": 1}, crs
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

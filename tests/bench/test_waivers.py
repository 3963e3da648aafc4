"""Tests for bench/waivers.py: a waiver names a check the plans make (else a ConfigError naming the key and the
known checks), a failure at a step whose checks are all waived is waived, and run.json's list of them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.clauses import Check, Clause, Twin
from bench.errors import ConfigError, DeviceError, InfraError
from bench.inventory import Inventory, parse_inventory
from bench.plans import plan_set
from bench.waivers import check_ids, check_waivers, waived_failure, waived_message, waiver_list

ROOT = Path(__file__).resolve().parents[2]
CLAUSE = Clause(
    "9.9",
    "A clause",
    None,
    (
        Check("1", "one check at step 1", (Twin("k1", ("w",)),)),
        Check("2", "first of step 2", (Twin("k2", ("w",)),), key="a"),
        Check("2", "second of step 2", (Twin("k3", ("w",)),), key="b"),
    ),
)


def inventory(waivers: list[dict[str, str]]) -> Inventory:
    data = yaml.safe_load((ROOT / "inventory.yaml").read_text())
    data["units"]["henb-01"]["waivers"] = waivers
    return parse_inventory(data, ROOT / "inventory.yaml")


def test_a_waiver_of_an_unknown_check_names_the_key_and_the_known_checks() -> None:
    assert check_ids({"9.9": CLAUSE}) == ["9.9/1", "9.9/2/a", "9.9/2/b"]
    check_waivers({"9.9": CLAUSE}, inventory([{"check": "9.9/2", "reason": "vendor limitation"}]))
    with pytest.raises(
        ConfigError,
        match=r"units\.henb-01\.waivers\[0\]\.check: found '9\.9/3'; expected .*9\.9/1, 9\.9/2/a, 9\.9/2/b",
    ):
        check_waivers({"9.9": CLAUSE}, inventory([{"check": "9.9/3", "reason": "r"}]))
    with pytest.raises(ConfigError, match=r"units\.henb-01\.waivers\.0\.reason"):
        inventory([{"check": "9.9/1", "reason": ""}])


def test_the_plans_impostor_checks_can_be_waived() -> None:
    ids = check_ids(plan_set().clauses)
    for segw_step in ("5.1.2.2/1.3", "5.1.3/IPsec"):
        assert {
            f"{segw_step}/{k}" for k in ("untrusted_ca", "expired", "wrong_name", "weak_proposal")
        } <= set(ids)


def test_a_failure_is_waived_only_when_every_check_of_its_step_is() -> None:
    unit = inventory([{"check": "9.9/2/a", "reason": "no name check (vendor ticket 12)"}]).units["henb-01"]
    fail = DeviceError("TS 32.593 9.9 step 2: expected x; seen y; evidence: e")
    assert waived_failure(fail, CLAUSE, unit) is None  # 9.9/2/b is not waived
    unit = inventory([{"check": "9.9/2", "reason": "no name check (vendor ticket 12)"}]).units["henb-01"]
    waiver = waived_failure(fail, CLAUSE, unit)
    assert waiver is not None and waiver.reason == "no name check (vendor ticket 12)"
    assert waived_message(waiver, "henb-01", fail).startswith(
        "waived (9.9/2, units.henb-01.waivers: no name check (vendor ticket 12)); the failure: TS 32.593 9.9 step 2"
    )
    # Another step, another clause, a bench fault: not waived.
    assert waived_failure(DeviceError("TS 32.593 9.9 step 1: expected x"), CLAUSE, unit) is None
    assert waived_failure(DeviceError("TS 32.593 9.8 step 2: expected x"), CLAUSE, unit) is None
    assert waived_failure(InfraError("TS 32.593 9.9 step 2: x"), CLAUSE, unit) is None


def test_run_json_lists_each_waived_check_with_its_reason() -> None:
    inv = inventory([{"check": "9.9/2", "reason": "vendor limitation"}])
    listed = waiver_list({"9.9": CLAUSE}, inv, ["henb-01", "henb-02"])
    assert [(w["unit"], w["check"], w["what"], w["reason"]) for w in listed] == [
        ("henb-01", "9.9/2/a", "first of step 2", "vendor limitation"),
        ("henb-01", "9.9/2/b", "second of step 2", "vendor limitation"),
    ]

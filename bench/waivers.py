"""Waivers: a check the lab waives for a unit (`units.NAME.waivers`, a documented vendor limitation), checked
against the checks the plans declare, and what it does to a result: a failure at a step whose checks are all
waived for the unit is `waived` (with the reason), never passed; run.json and the report list every waiver."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bench.clauses import Clause, waives
from bench.errors import ConfigError, DeviceError
from bench.inventory import Inventory, Unit, Waiver

WAIVED = "waived"
_STEP = re.compile(r"TS 32\.593 (?P<clause>\S+) step (?P<step>\S+):")


def check_ids(clauses: Mapping[str, Clause]) -> list[str]:
    """Every check's id (CLAUSE/STEP or CLAUSE/STEP/KEY), in clause order, each once."""
    return list(dict.fromkeys(c.id(cid) for cid, clause in clauses.items() for c in clause.checks))


def check_waivers(clauses: Mapping[str, Clause], inv: Inventory) -> None:
    """ConfigError naming the key for a waiver of a check the plans do not make, with the known checks."""
    ids = check_ids(clauses)
    for name, unit in inv.units.items():
        for i, w in enumerate(unit.waivers):
            if not any(waives(w.check, c) for c in ids):
                raise ConfigError(
                    f"units.{name}.waivers[{i}].check: found {w.check!r}; expected a check of the plans, "
                    f"CLAUSE/STEP or CLAUSE/STEP/KEY: {', '.join(ids)}"
                )


def waiver_list(clauses: Mapping[str, Clause], inv: Inventory, units: list[str]) -> list[dict[str, Any]]:
    """What run.json keeps: per unit of the run, each waived check with what it is and the reason."""
    out = []
    for name in units:
        for w in inv.units[name].waivers:
            for cid, clause in clauses.items():
                for c in clause.checks:
                    if waives(w.check, c.id(cid)):
                        out.append({"unit": name, "check": c.id(cid), "clause": cid, "step": c.step,
                                    "what": c.what, "reason": w.reason, "waiver": w.check})  # fmt: skip
    return out


def waived_failure(exc: BaseException | None, clause: Clause | None, unit: Unit) -> Waiver | None:
    """The unit's waiver that covers a failure: a DeviceError naming a step of `clause` whose every check the
    unit's waivers cover (a failure names its step, not which of the step's checks)."""
    if not isinstance(exc, DeviceError) or clause is None or not unit.waivers:
        return None
    m = _STEP.search(str(exc))
    if m is None or m["clause"] != clause.id:
        return None
    ids = [c.id(clause.id) for c in clause.checks if c.step == m["step"]]
    covering = [next((w for w in unit.waivers if waives(w.check, i)), None) for i in ids]
    if not ids or any(w is None for w in covering):
        return None
    return covering[0]


def waived_message(waiver: Waiver, unit: str, exc: BaseException) -> str:
    return f"waived ({waiver.check}, units.{unit}.waivers: {waiver.reason}); the failure: {exc}"

"""The failure branch of a configuration by SetParameterValues (5.3.1, 5.4.1): a set carrying an invalid value
is refused with a fault and changes nothing, not even its valid values (TR-069 A.3.2.1), read back."""

from __future__ import annotations

from bench.cwmp import CwmpFault, SpvResult
from bench.run import BenchRun
from bench.steps import Steps
from testplans.ts32593.procedures import describe_result, get_values, session


def invalid_set_changes_nothing(
    bench_run: BenchRun,
    steps: Steps,
    step: str,
    valid: dict[str, tuple[str, str]],
    invalid: dict[str, tuple[str, str]],
    key: str,
) -> None:
    """SetParameterValues of `valid` (each a change of the unit's value) with `invalid` (a value outside its
    range or enumeration): a fault, and the values read back in the same session as before it."""
    names = sorted({**valid, **invalid})
    before = get_values(bench_run, steps, step, names)
    with session(bench_run, steps, step) as s:
        refused = s.rpc("SetParameterValues", params=[(n, v, t) for n, (v, t) in {**valid, **invalid}.items()],
                        parameter_key=key)  # fmt: skip
        read = s.get_values(names)
    result = refused.result
    shown = ", ".join(f"{n} = {v!r}" for n, (v, _) in invalid.items())
    if not isinstance(result, CwmpFault):
        seen = (
            f"SetParameterValuesResponse Status {result.status}: the invalid value accepted"
            if isinstance(result, SpvResult)
            else describe_result(result)
        )
        steps.fail(step, f"a SetParameterValues fault refusing the set with the invalid value {shown}", seen)
    after = read.values
    if after != before:
        changed = ", ".join(f"{n} = {after.get(n)!r} (was {before.get(n)!r})" for n in names
                            if after.get(n) != before.get(n))  # fmt: skip
        steps.fail(step, f"nothing changed by the refused set with {shown} (TR-069 A.3.2.1)",
                   f"read back {changed} (part of the set was applied)")  # fmt: skip

"""The failure branch of a configuration by SetParameterValues (5.3.1, 5.4.1): a set carrying an invalid value
is refused with a fault and changes nothing, not even its valid values (TR-069 A.3.2.1), read back."""

from __future__ import annotations

from bench.events import HemsKind
from bench.evidence.judge_common import judged_all
from bench.evidence.judge_invalid import refused_changes_nothing
from bench.evidence.judges import LIVE, Judged
from bench.run import BenchRun
from bench.steps import Steps
from testplans.ts32593.procedures import get_values, session


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
    mark = bench_run.timeline.mark()
    get_values(bench_run, steps, step, names)
    with session(bench_run, steps, step) as s:
        s.rpc("SetParameterValues", params=[(n, v, t) for n, (v, t) in {**valid, **invalid}.items()],
              parameter_key=key)  # fmt: skip
        s.get_values(names)
    # The checks, by the function `henb-bench judge` calls on captures (bench/evidence/judge_invalid.py).
    events = bench_run.timeline.events(mark)
    sent = next(e for e in events if e.kind == HemsKind.RPC_SENT and e.data.get("parameter_key") == key)
    judged_all(steps, refused_changes_nothing(steps.clause, step, events, sent, list(invalid), LIVE,
                                              Judged(steps.clause, "")))  # fmt: skip

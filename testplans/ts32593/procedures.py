"""Steps the plans share: RPCs from the Serving HeMS, reading values back."""

from __future__ import annotations

from typing import Any

import pytest

from bench.cwmp import CwmpFault, GpvResult, RpcResult, SpvResult
from bench.errors import DeviceError
from bench.run import BenchRun
from bench.steps import Steps
from testplans.ts32593.flows import s1ap


def rpc(
    bench_run: BenchRun, steps: Steps, step: str, method: str, timeout: float | None = None, **args: Any
) -> RpcResult:
    """`method` on the unit from the Serving HeMS, now (a connection request opens the session); its response
    within `timeout` (default bounds.step)."""
    unit, op = bench_run.unit, bench_run.inv.operator
    hems = bench_run.topology.hems["serving-hems"]
    try:
        return hems.call(
            unit.device,
            method,
            timeout=unit.bounds.step if timeout is None else timeout,
            connection_request=True,
            cr_username=op.cr_username,
            cr_password=op.cr_password,
            **args,
        )
    except DeviceError as exc:
        steps.fail(step, f"a {method}Response from the unit", str(exc))


def set_values(
    bench_run: BenchRun, steps: Steps, step: str, values: dict[str, tuple[str, str]], key: str
) -> None:
    """SetParameterValues, which must be acknowledged (values: name -> (value, xsd type))."""
    params = [(n, v, t) for n, (v, t) in values.items()]
    result = rpc(bench_run, steps, step, "SetParameterValues", params=params, parameter_key=key)
    if not isinstance(result, SpvResult):
        steps.fail(step, f"SetParameterValuesResponse to {sorted(values)}", describe_result(result))


def get_values(bench_run: BenchRun, steps: Steps, step: str, names: list[str]) -> dict[str, str]:
    result = rpc(bench_run, steps, step, "GetParameterValues", names=names)
    if not isinstance(result, GpvResult):
        steps.fail(step, f"GetParameterValuesResponse for {names}", describe_result(result))
    return result.values


def read_back(bench_run: BenchRun, steps: Steps, step: str, expected: dict[str, str]) -> None:
    """GetParameterValues shows every value in `expected`."""
    got = get_values(bench_run, steps, step, sorted(expected))
    wrong = {n: got.get(n) for n, v in expected.items() if got.get(n) != v}
    if wrong:
        steps.fail(
            step,
            "the values just set, read back: " + ", ".join(f"{n} = {expected[n]}" for n in wrong),
            "read back " + ", ".join(f"{n} = {v}" for n, v in wrong.items()),
        )


def describe_result(result: RpcResult) -> str:
    if isinstance(result, CwmpFault):
        return f"fault {result.fault_code} {result.fault_string}, per parameter {result.param_faults}"
    return repr(result)


def s1_carries(bench_run: BenchRun, steps: Steps, step: str, tac: int, since: int) -> None:
    """After a change of the TAC, S1 must carry it: an eNB Configuration Update with it, or a new S1 Setup
    Request with it (a unit that restarts its cell)."""
    if bench_run.inv.operator.s1_far_end is None:
        return
    steps.wait(
        step,
        lambda e: (
            (s1ap("ENBConfigurationUpdate")(e) or s1ap("S1SetupRequest")(e)) and e.data.get("tacs") == [tac]
        ),
        bench_run.unit.cfg.bounds.step,
        f"an eNB Configuration Update (or S1 Setup Request) with TAC {tac} at the MME",
        since,
    )


def offered_protocol(bench_run: BenchRun, proto: str) -> None:
    """Skip a file transfer test over `proto` unless the unit lists it (units.NAME.transfer_protocols)."""
    protocols = bench_run.unit.cfg.transfer_protocols
    if proto not in protocols:
        pytest.skip(
            f"{proto} is not in units.{bench_run.unit.name}.transfer_protocols ({', '.join(protocols)})"
        )

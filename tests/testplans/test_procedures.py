"""The plans' session helper (testplans/ts32593/procedures.py): a step's RPCs go to the HeMS together, with the
unit's connection-request policy; answers and checks come in order when the block ends."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bench.cwmp import CwmpFault, GpvResult, RpcResult, SpvResult
from bench.errors import DeviceError
from bench.hems.connreq import CrPolicy
from bench.steps import Steps
from bench.timeline import Timeline
from testplans.ts32593.procedures import rpc, session

POLICY = CrPolicy("acs", "pw", attempts=3, retry_after=4.0)


class FakeHems:
    name = "serving-hems"

    def __init__(self, results: list[RpcResult] | None = None, error: str = "") -> None:
        self.results, self.error = results or [], error
        self.sessions: list[tuple[Any, ...]] = []

    def connection_request_url(self, unit: Any) -> str:
        return "http://x/cr"

    def session(self, *args: Any) -> list[RpcResult]:
        self.sessions.append(args)
        if self.error:
            raise DeviceError(self.error)
        return self.results


def _run(hems: FakeHems) -> Any:
    unit = SimpleNamespace(
        device="DEV",
        bounds=SimpleNamespace(step=8.0),
        cr_policy=POLICY,
        cr_note=lambda: "the unit's own credentials",
        serial="SN",
        name="henb-01",
    )
    return SimpleNamespace(
        unit=unit, topology=SimpleNamespace(hems={"serving-hems": hems}), timeline=Timeline()
    )


def _steps() -> Steps:
    return Steps("5.2.3", Timeline(), Path("/evidence"))


def test_one_session_for_the_steps_rpcs_with_the_units_policy() -> None:
    hems = FakeHems([SpvResult(0), GpvResult({"A": "1"}), GpvResult({"B": "2"})])
    run = _run(hems)
    with session(run, _steps(), "2") as s:
        s.set_values({"A": ("1", "xsd:string")}, "k")
        s.read_back({"A": "1"})
        read = s.get_values(["B"])
        with pytest.raises(RuntimeError, match="before its session ran"):
            _ = read.values
    assert read.values == {"B": "2"}
    ((device, rpcs, timeout, policy, purpose),) = hems.sessions
    assert (device, timeout, policy, purpose) == ("DEV", 8.0, POLICY, "5.2.3 step 2")
    assert [m for m, _ in rpcs] == ["SetParameterValues", "GetParameterValues", "GetParameterValues"]
    # said before the request goes out: what it carries, for a judge of the evidence (bench/cr-probe)
    (said,) = [e.data for e in run.timeline.events() if e.kind == "cr-probe"]
    assert (said["credentials"], said["purpose"], said["attempts"], said["url"]) == (
        "registered",
        "5.2.3 step 2",
        3,
        "http://x/cr",
    )
    assert said["rpcs"] == ["SetParameterValues", "GetParameterValues", "GetParameterValues"]


def test_checks_run_in_order_after_every_answer_is_in() -> None:
    hems = FakeHems(
        [
            CwmpFault("Client", "CWMP fault", 9003, "Invalid arguments", [("A", 9007, "x")]),
            GpvResult({"A": "0"}),
        ]
    )
    wrong = r"step 2: expected SetParameterValuesResponse to \['A'\]; seen fault 9003"
    with pytest.raises(DeviceError, match=wrong), session(_run(hems), _steps(), "2") as s:
        s.set_values({"A": ("1", "xsd:string")}, "k")
        s.read_back({"A": "1"})
    hems = FakeHems([SpvResult(0), GpvResult({"A": "0"})])
    wrong = r"the values just set, read back: A = 1; seen read back A = 0"
    with pytest.raises(DeviceError, match=wrong), session(_run(hems), _steps(), "2") as s:
        s.set_values({"A": ("1", "xsd:string")}, "k")
        s.read_back({"A": "1"})


def test_a_refused_connection_request_fails_the_step_naming_the_rpcs_and_the_credentials() -> None:
    hems = FakeHems(
        error="HeMS serving-hems: connection request to unit DEV at http://x/cr answered HTTP 401"
    )
    with pytest.raises(DeviceError) as err, session(_run(hems), _steps(), "3") as s:
        s.rpc("SetParameterValues", params=[], parameter_key="k")
        s.get_values(["A"])
    assert (
        "step 3: expected a SetParameterValuesResponse and GetParameterValuesResponse from the unit; seen HeMS "
        "serving-hems: connection request to unit DEV at http://x/cr answered HTTP 401 (with the unit's own "
        "credentials)" in str(err.value)
    )
    # One RPC alone reads as before.
    hems = FakeHems(error="HeMS serving-hems: timed out after 8 s waiting for the Reboot response")
    with pytest.raises(
        DeviceError, match=r"expected a RebootResponse from the unit; seen HeMS .*timed out after 8 s"
    ):
        rpc(_run(hems), _steps(), "1", "Reboot", command_key="x")

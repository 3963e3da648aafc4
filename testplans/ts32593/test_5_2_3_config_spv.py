"""TS 32.593 5.2.3: configuration by SetParameterValues (Figure 5-7): applied and read back; an invalid set is
refused as a whole, with a fault per parameter, and changes nothing (TR-069 A.3.2.1)."""

from __future__ import annotations

import random

import pytest

from bench import clauses as cl
from bench.cwmp import SpvResult
from bench.evidence.judge_common import judged, judged_all
from bench.evidence.judge_invalid import judge_invalid_set
from bench.evidence.judges import (
    judge_parameter_key,
    judge_read_back,
    judge_spv_response,
    spv_sent,
)
from bench.run import BenchRun, Evidence
from bench.steps import Steps
from bench.unit import BenchUnit
from testplans.ts32593.procedures import (
    check_read_back,
    connection_request_needs_credentials,
    get_values,
    next_inform,
    reboot,
    s1_carries,
    session,
)


@pytest.mark.clause("5.2.3")
def test_configuration_by_set_parameter_values(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    TAC, EAID = registered_unit.paths.tac, registered_unit.paths.eaid  # the unit's data-model profile
    values = {TAC: str(random.randint(2, 65000)), EAID: str(random.randint(1, 16000000))}
    mark = bench_run.timeline.mark()
    # Before the step's own request: the unit refuses one with no credentials and one with a wrong password. Once
    # per unit and run (this test runs once per unit), here: the clause whose figure starts with the request.
    connection_request_needs_credentials(bench_run, steps, "1")
    key = f"cm-5.2.3-{values[TAC]}"
    with session(bench_run, steps, "2") as s:
        spv = s.set_values({n: (v, "xsd:unsignedInt") for n, v in values.items()}, key)
        s.get_values(sorted(values))  # the read back, judged from the timeline
    result = spv.result
    if isinstance(result, SpvResult) and result.status == 1:
        # Committed, applied after a reboot (TR-069 A.3.2.1): the HeMS reboots the unit, then reads back;
        # the boot Inform reports the ParameterKey, and S1 carries the values from the boot on.
        booted = reboot(bench_run, steps, "2", f"reboot-{key}", "SetParameterValues Status 1")
        check_read_back(steps, "2", values, get_values(bench_run, steps, "2", sorted(values)))
        reported = booted.data.get("params", {}).get(registered_unit.paths.parameter_key)
        if reported != key:
            path = registered_unit.paths.parameter_key
            steps.fail("ParameterKey", f"the Inform after the SetParameterValues reporting {path} = {key!r} "
                       f"(TR-069 A.3.2.1)", f"{path} = {reported!r}", booted)  # fmt: skip
    else:
        # The checks the evidence can judge, by the same functions `henb-bench judge` calls on captures.
        tl = bench_run.timeline
        sent = spv_sent(tl.events(mark), key)
        if sent is None:
            steps.fail("2", f"the HeMS's SetParameterValues {key} on the timeline", "none")
        answered = judge_spv_response(CLAUSE.id, "2", tl.events(mark), sent)
        judged(steps, "2", answered)
        read_back = judge_read_back(CLAUSE.id, "2", tl.events(mark), sent, answered.events[-1])
        judged(steps, "2", read_back)
        next_inform(bench_run, steps, "ParameterKey")  # the stimulus: a connection request asks for an Inform
        judged(steps, "ParameterKey", judge_parameter_key(CLAUSE.id, "ParameterKey", tl.events(mark), sent, read_back.events[-1],
                                          registered_unit.paths.parameter_key))  # fmt: skip
    s1_carries(bench_run, steps, "S1", int(values[TAC]), mark)


@pytest.mark.clause("5.2.3")
def test_invalid_set_is_refused_as_a_whole(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    TAC, EAID = registered_unit.paths.tac, registered_unit.paths.eaid  # the unit's data-model profile
    serial, unknown = registered_unit.paths.serial_number, TAC.rpartition(".")[0] + ".NoSuchParameter"
    mark = bench_run.timeline.mark()
    before = get_values(bench_run, steps, "pre", [TAC, EAID])
    new_eaid = str((int(before[EAID] or "0") + 1) % 16000000)
    bad = {
        EAID: (new_eaid, "xsd:unsignedInt"),  # valid on its own: must not be applied either
        TAC: ("70000", "xsd:unsignedInt"),  # out of range: 9007
        serial: ("X", "xsd:string"),  # not writable: 9008
        unknown: ("1", "xsd:string"),  # unknown: 9005
    }
    with session(bench_run, steps, "3") as s:
        s.rpc(
            "SetParameterValues",
            params=[(n, v, t) for n, (v, t) in bad.items()],
            parameter_key="cm-5.2.3-bad",
        )
        s.get_values([TAC, EAID])
    # The checks, by the function `henb-bench judge` calls on captures: a Fault 9003 with a fault per
    # parameter, and TAC and EAID read back in the same session as before.
    judged_all(steps, judge_invalid_set(bench_run.timeline.events(mark)))


# The clause as the bench reads it: `henb-bench list`, the report's coverage and expected ladder, the twins.
CLAUSE = cl.Clause(
    id="5.2.3",
    title="Configuration by SetParameterValues (Figure 5-7)",
    # One session (one connection request) sets and reads back; S1 carries the change after it.
    figure=cl.Figure(
        "Figure 5-7: Configuration by SetParameterValues",
        (cl.connection_request(probe="no credentials"), cl.connection_request(probe="wrong credentials"),
         cl.connection_request(), cl.inform(event="6 CONNECTION REQUEST"), *cl.rpc("SetParameterValues"),
         *cl.rpc("GetParameterValues", "read back"), *cl.s1_update(), cl.connection_request(),
         cl.inform(event="6 CONNECTION REQUEST", label="Inform (ManagementServer.ParameterKey)")),
    ),
    tests={
        "test_invalid_set_is_refused_as_a_whole": cl.Figure(
            "Figure 5-7, refused: a Fault for the whole set, nothing applied",
            (
                cl.connection_request(),
                cl.inform(event="6 CONNECTION REQUEST"),
                cl.rpc("SetParameterValues", "invalid")[0],
                cl.Step("Fault (SetParameterValues refused)", "henb", cl.SERVING, "hems", "rpc-fault",
                        {"hems": cl.SERVING, "method": "SetParameterValues"}),
                *cl.rpc("GetParameterValues", "read back"),
            ),
        ),
    },
    checks=(
        cl.Check("1", "a connection request with no credentials, and one with a wrong password, each answered HTTP "
                 "401 and starting no session (TR-069 3.2.2; once per unit and run, before the clause's first "
                 "request; bounds.quiet)", (
            cl.Twin("cr_without_credentials", (
                "HTTP 401 to a connection request with no credentials",
                "the unit started a session for a connection request with no credentials")),
            cl.Twin("cr_wrong_credentials", (
                "HTTP 401 to a connection request with wrong credentials",
                "the unit started a session for a connection request with wrong credentials")),
        )),
        cl.Check("2", "SetParameterValues applied and read back", (
            cl.Twin("spv_not_applied", ("the values just set, read back", "EPC.TAC")),
        )),
        cl.Check("2", "after SetParameterValuesResponse Status 1 (applied at reboot) the HeMS reboots the unit: "
                 "Reboot with a CommandKey, 1 BOOT and M Reboot with it in the next Inform (bounds.boot), then "
                 "the read back", (
            cl.Twin("status_1_no_m_reboot", ("carrying 1 BOOT and M Reboot with CommandKey reboot-cm-5.2.3-",
                                             "TR-069 3.7.1.5", "events [('1 BOOT', '')]")),
        ), key="reboot"),
        cl.Check("ParameterKey", "the next Inform (a connection request asks for it; after Status 1, the boot "
                 "Inform) reports the SetParameterValues' ParameterKey as ManagementServer.ParameterKey (TR-069 "
                 "A.3.2.1)", (
            cl.Twin("stale_parameter_key", ("ManagementServer.ParameterKey = 'cm-5.2.3-", "TR-069 A.3.2.1")),
        )),
        cl.Check("2", "one connection request opens the step's session, with the credentials the HeMS set at "
                 "registration (or the unit's own), retried while refused", (
            cl.Twin("ignore_cr_credentials", (
                "a SetParameterValuesResponse and GetParameterValuesResponse from the unit", "answered HTTP 401",
                "credentials the HeMS set at registration, which the unit acknowledged")),
        )),
        cl.Check("S1", "the TAC set carried to the MME in an eNB Configuration Update", (
            cl.Twin("no_enb_config_update", ("eNB Configuration Update (or S1 Setup Request) with TAC",
                                             "nothing within")),
        )),
        cl.Check("3", "an invalid set refused as a whole, 9003 with the right fault per parameter", (
            cl.Twin("partial_spv", ("nothing changed by the refused set", "(part of the set was applied)")),
            cl.Twin("bad_spv_fault_codes", ("TAC 9007, SerialNumber 9008, NoSuchParameter 9005", "TAC 9002")),
            cl.Twin("accept_invalid_values", ("a Fault refusing the whole set", "SpvResult(status=0)")),
        )),
        cl.Check("pre", "the values read before the invalid set (GetParameterValuesResponse)", (
            cl.Twin("gpv_fault", ("GetParameterValuesResponse for", "fault 9002 Internal error"), whole_clause=True),
        )),
    ),
)  # fmt: skip

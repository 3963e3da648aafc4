"""TS 32.593 5.1.3: registration with the Serving HeMS (Figure 5-5): Inform, SetParameterValues with the S1
far-end address, IPsec usage indicator and the cell's TAC, PLMN and identity, response, then S1 setup toward
that address carrying exactly those values."""

from __future__ import annotations

import time

import pytest

from bench import clauses as cl
from bench.events import BenchKind, HemsKind, Source
from bench.evidence.judge_common import judged
from bench.evidence.judge_registration import (
    judge_s1_after_response,
    not_unlocked,
    s1_setup_carries,
    s1_toward,
    time_to_wait,
)
from bench.hems.server import CwmpFault
from bench.run import BenchRun, Evidence
from bench.steps import Steps
from bench.timeline import Event
from bench.unit import BenchUnit, State
from testplans.ts32593.flows import hems_refusal, ike_up, inform, s1ap, sctp_init, segw_refusal
from testplans.ts32593.identity import check_device_id
from testplans.ts32593.impostor import Impostors, impostor_checks
from testplans.ts32593.procedures import next_inform
from testplans.ts32593.session_rules import (
    check_bootstrap_at_new_acs,
    check_events_repeated,
    check_no_boot_without_boot,
    check_retry_count,
    check_retry_wait,
    failed_on_purpose,
    hems_restart,
    retry_parameters_set,
    retry_window,
    unit_inform,
)
from testplans.ts32593.untrusted_hems import UntrustedHems, untrusted_hems_checks

# The deployment 5.1.3's Serving HeMS certificate checks need (its twins run under it): HTTPS in the tunnel.
SERVING_TLS = {"operator": {"serving_hems_tls": True}}


@pytest.mark.clause("5.1.3")
def test_registration_with_serving_hems(
    bench_run: BenchRun, discovered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    unit, op, tl = discovered_unit, bench_run.inv.operator, bench_run.timeline
    bounds = unit.bounds
    boot = unit.boot
    sike = tl.first(ike_up("ssegw", unit.ike_id), boot.mark)
    assert sike is not None, "the discovered state was reached without the IKE SA it is defined by"
    vip = sike.data["remote_vips"][0] if sike.data["remote_vips"] else None

    # 1.1-1.2: Inform to the Serving HeMS with the DeviceId.
    inf = steps.wait(
        "1.1",
        lambda e: inform("serving-hems")(e) and e.data["peer"] == vip,
        bounds.step,
        f"an Inform to the Serving HeMS from the unit's inner address {vip}",
        boot.mark,
        why=hems_refusal(bench_run, "serving-hems", boot.mark),
    )
    check_device_id(steps, "1.1", inf, unit.cfg.identity)
    check_bootstrap_at_new_acs(bench_run, steps, "1.1", inf, boot.mark)

    # 2.1-2.2: the S1 far-end address and the IPsec usage indicator, acknowledged.
    result = boot.serving_spv.result(bounds.step)
    if isinstance(result, CwmpFault):
        steps.fail(
            "2.2",
            "SetParameterValuesResponse to the S1 far-end address and IPsec usage indicator",
            f"fault {result.fault_code} {result.fault_string}, per parameter {result.param_faults}",
        )
    response = tl.first(
        lambda e: (
            e.source == Source.HEMS
            and e.kind == HemsKind.RPC_RESPONSE
            and e.data.get("hems") == "serving-hems"
        ),
        inf.seq,
    )
    assert response is not None, "the HeMS resolved the call but recorded no response event"

    # S1 setup toward the address given, after the response (TS 36.413 S1 Setup starts with SCTP INIT).
    if op.s1_far_end is None:
        pytest.skip("no S1 far-end address in the inventory")
    s1 = str(op.s1_far_end)
    # The MME stand-in stamps INITs with the kernel's receive time, the HeMS its messages on arrival: exact,
    # once every INIT that reached the stand-in by now is on the timeline (its reader runs late when busy).
    # Judged by the function `henb-bench judge` calls on captures.
    bench_run.topology.mme_caught_up(bounds.step)
    judged(steps, "S1", judge_s1_after_response(CLAUSE.id, "S1", tl.events(boot.mark), response,
                                                describe=steps.describe))  # fmt: skip
    # What the evidence judge needs of this wait and only the bench knows: its bound (and inventory key), and
    # why the bench left the cell locked (the unit's setting).
    how = locked_how(unit)
    tl.add(Source.BENCH, BenchKind.S1_WAIT, unit=unit.name, serial=unit.cfg.identity.serial_number, s1=s1,
           port=op.s1_port, unlocked=how is None, how=how or "", bound=float(bounds.s1_init),
           bound_key=bounds.s1_init.key)  # fmt: skip
    init = steps.wait(
        "S1",
        lambda e: sctp_init()(e) and e.t >= response.t,
        bounds.s1_init,
        f"an SCTP INIT (S1 setup) to {s1}:{op.s1_port}",
        boot.mark,
        why=lambda: "" if how is None else not_unlocked(how),
    )
    judged(steps, "S1", s1_toward(CLAUSE.id, "S1", init, s1, op.s1_port))
    request = steps.wait(
        "S1",
        lambda e: s1ap("S1SetupRequest")(e) and e.data.get("local") == s1,
        bounds.s1_init,
        f"an S1 Setup Request to {s1} over the SCTP association",
        init.seq,
    )
    check_s1_setup(steps, request, op.tac, op.plmn, op.cell_identity)
    answer = "S1SetupFailure" if op.s1_setup_failure else "S1SetupResponse"
    answered = steps.wait("S1", s1ap(answer, "downlink"), bounds.step, f"the MME's {answer}", request.seq)
    if op.s1_setup_failure:
        check_time_to_wait(bench_run, steps, answered)
    evidence.assert_no_cleartext(steps)


def locked_how(unit: BenchUnit) -> str | None:
    """Why the bench did not unlock the unit's cell (TR-196 AdminState) at registration, in the words of its
    inventory setting; None when it did (the evidence judge words it so: judge_registration.not_unlocked)."""
    path = unit.paths.admin_state
    if unit.cfg.unlock_at_registration and path is not None:
        return None
    return (
        f"units.{unit.name}.unlock_at_registration is false"
        if path is not None
        else f"the data-model profile of units.{unit.name} has no admin_state path"
    )


def check_time_to_wait(bench_run: BenchRun, steps: Steps, failure: Event) -> None:
    """TS 36.413 8.7.3.3: after an S1 Setup Failure with TimeToWait, no S1 Setup Request to that MME before
    the time has passed. The HeMS stamps nothing here: both are the MME stand-in's, on its own clock. Waits
    out the TimeToWait (operator.s1_time_to_wait, v1s by default)."""
    op, tl = bench_run.inv.operator, bench_run.timeline
    until = failure.t + op.time_to_wait_s
    time.sleep(max(0.0, until - time.time()))
    bench_run.topology.mme_caught_up(bench_run.unit.bounds.step)  # every request that came by now is recorded
    if op.time_to_wait:  # judged by the function `henb-bench judge` calls on captures
        judged(steps, "S1", time_to_wait(steps.clause, "S1", tl.events(failure.seq), failure, op.time_to_wait,
                                         steps.describe))  # fmt: skip


@pytest.mark.clause("5.1.3")
def test_session_retry_after_hems_restart(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    """TR-069 3.2.1.1 and the event rules, at the registered unit: the Serving HeMS fails the connection
    request's session `failures` times in a row (a HeMS restarting, operator.session_rules); each retry comes
    within TR-069's window for its count and carries the failed session's events, none of them 1 BOOT."""
    unit = registered_unit
    how = hems_restart(bench_run, "5.1.3")
    if how == "off":
        pytest.skip("operator.session_rules.hems_restart['5.1.3'] is off")
    rules = bench_run.inv.operator.session_rules.retry
    m, k, serial = rules.min_wait, rules.multiplier, unit.cfg.identity.serial_number
    hems = bench_run.topology.hems["serving-hems"]
    with retry_parameters_set(bench_run, steps, "retry", m, k):
        hems.fail_sessions(unit.device, how=how, count=rules.failures)
        try:
            first = next_inform(bench_run, steps, "retry")
            check_no_boot_without_boot(steps, "boot", first, "the unit was registered before it")
            check_retry_count(steps, "retry", 0, first)
            failed = first
            for n in range(1, rules.failures + 1):
                failure = steps.wait(
                    "retry", failed_on_purpose(serial), unit.bounds.step,
                    f"the Serving HeMS failing session {n} on purpose ({how})", failed.seq,
                )  # fmt: skip
                lo, hi = retry_window(n, m, k)
                again = steps.wait(
                    "retry", unit_inform(serial), hi + rules.slack + unit.bounds.step,
                    f"retry {n} of the failed session (an Inform {lo:g}-{hi:g} s after it: TR-069 3.2.1.1, "
                    f"m={m}, k={k})", failure.seq,
                )  # fmt: skip
                check_events_repeated(steps, "kept", failed, again, failure)
                check_retry_wait(steps, "retry", n, failure, again, m, k, rules.early, rules.slack)
                check_retry_count(steps, "retry", n, again)
                check_no_boot_without_boot(steps, "boot", again, "no boot since the first attempt")
                failed = again
        finally:
            hems.failures.disarm(unit.device)


@pytest.mark.clause("5.1.3")
def test_refuses_impostor_serving_segw(
    bench_run: BenchRun, discovered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    """Before the real Serving SeGW, impostors the configured unit must refuse (TS 33.320), presented from its
    first IKE attempt after a power cycle on; then it comes up with the real one within its backoff."""
    unit, op = discovered_unit, bench_run.inv.operator
    with Impostors(bench_run, steps, "ssegw", "IPsec", evidence.outer) as impostors:
        boot = unit.transition(State.BOOTING)
        assert boot is not None
        real = impostors.refused(boot.mark)
    steps.wait(
        "IPsec",
        ike_up("ssegw", unit.ike_id),
        unit.bounds.ike_retry if impostors.rounds else unit.bounds.boot,
        f"an IKE SA from {unit.ike_id} at the real Serving SeGW {op.serving_segw} after the impostors",
        real,
        why=segw_refusal(bench_run, "ssegw", boot.mark, unit.ike_id),
    )


@pytest.mark.clause("5.1.3")
def test_refuses_serving_hems_it_must_not_trust(
    bench_run: BenchRun, request: pytest.FixtureRequest, evidence: Evidence, steps: Steps
) -> None:
    """With the Serving HeMS over HTTPS (operator.serving_hems_tls), the configured unit powered on meets, one
    attempt at a time, the Serving HeMS presenting a certificate from a CA it does not trust, an expired one and
    one for another name, as 5.1.2.3 does at the Initial HeMS: each refused in the handshake (its TLS alert or
    close, seen by the HeMS); then it comes to the Serving HeMS presenting its own within bounds.boot."""
    op = bench_run.inv.operator
    if not op.serving_hems_tls:
        pytest.skip("the Serving HeMS is http:// inside the tunnel (operator.serving_hems_tls is false): it shows "
                    "the unit no certificate to refuse")  # fmt: skip
    unit: BenchUnit = request.getfixturevalue("discovered_unit")
    bounds = unit.bounds
    given = (
        f"it was given {op.serving_hems} by the Initial HeMS"  # as bench.evidence.judge_hems_certs words it
    )
    with UntrustedHems(bench_run, steps, "serving-hems", "TLS", given) as bad:
        boot = unit.transition(State.BOOTING)
        assert boot is not None
        since = bad.refused(boot.mark, bounds.boot, bounds.boot.key)
    steps.wait("1.1", inform("serving-hems"), bounds.boot,
               "an Inform to the Serving HeMS presenting its own certificate, after the unit refused the bad ones",
               since, why=hems_refusal(bench_run, "serving-hems", since))  # fmt: skip


def check_s1_setup(steps: Steps, request: Event, tac: int, plmn: str, cell_identity: int) -> None:
    """The S1 Setup Request carries what the HeMS configured: TAC, PLMN (Global eNB ID and broadcast), and the
    cell identity as the 28-bit Home eNB ID: the function `henb-bench judge` calls on captures."""
    judged(steps, "S1", s1_setup_carries(steps.clause, "S1", request, tac, plmn, cell_identity))


# The clause as the bench reads it: `henb-bench list`, the report's coverage and expected ladder, the twins.
CLAUSE = cl.Clause(
    id="5.1.3",
    title="Registration with the Serving HeMS (Figure 5-5)",
    figure=cl.Figure(
        "Figure 5-5: Registration with the Serving HeMS",
        (
            cl.ike_up("ssegw"),
            cl.dns_query("Serving HeMS", "private-dns"),
            cl.inform("serving-hems"),
            cl.inform_response("serving-hems"),
            *cl.rpc("SetParameterValues", "S1 far end, IPsec, AdminState true"),
            cl.session_end("serving-hems"),
            cl.Step("S1 setup: SCTP INIT", "henb", "mme", "mme", "sctp-init"),
            cl.s1ap("S1SetupRequest", "S1 Setup Request (TAC, PLMN, eNB ID)"),
            cl.s1ap("S1SetupResponse", "S1 Setup Response", uplink=False),
        ),
    ),
    checks=(
        cl.Check("1.1", "an Inform to the Serving HeMS (the address it was given) with the unit's DeviceId", (
            cl.Twin("wrong_device_id_at_registration", ("DeviceId", "serial '{serial}X'")),
            cl.Twin("ignore_serving_hems", ("an Inform to the Serving HeMS", "nothing within")),
        )),
        cl.Check("2.2", "SetParameterValuesResponse to the S1 far-end address and IPsec indicator", (
            cl.Twin("reject_s1_config", ("fault 9003", "S1SigLinkServerList", "9007")),
        )),
        cl.Check("S1", "S1 setup (SCTP INIT) once the HeMS has unlocked the cell (TR-196 FAPControl.LTE."
                 "AdminState true in the registration values, units.NAME.unlock_at_registration): a unit locked "
                 "after a factory reset waits for it, and one the bench never unlocks is named so", (
            cl.Twin("wait_for_admin_state", ("SCTP INIT (S1 setup) to 10.180.0.30:36412", "nothing within",
                                             "units.henb-01.unlock_at_registration is false",
                                             "FAPControl.LTE.AdminState"),
                    inventory={"units": {"henb-01": {"unlock_at_registration": False}}}),
        ), key="admin-state"),
        cl.Check("S1", "after an S1 Setup Failure with TimeToWait (operator.s1_setup_failure; s1_time_to_wait, "
                 "v1s by default), no S1 Setup Request again before that time (TS 36.413 8.7.3.3)", (
            cl.Twin("ignore_time_to_wait", ("within the S1 Setup Failure's TimeToWait v2s",
                                            "TS 36.413 8.7.3.3", "S1 Setup Request again"),
                    inventory={"operator": {"s1_setup_failure": "misc:om-intervention", "s1_time_to_wait": "v2s"}}),
        ), key="time-to-wait"),
        cl.Check("S1", "S1 setup (SCTP INIT) toward the given address and port 36412, after the response", (
            cl.Twin("no_s1_init", ("SCTP INIT (S1 setup) to 10.180.0.30:36412", "nothing within")),
            cl.Twin("s1_wrong_port", ("S1 setup toward 10.180.0.30:36412", "SCTP INIT to 10.180.0.30:36413")),
            cl.Twin("s1_before_registration", ("after the SetParameterValuesResponse", "SCTP INIT before it")),
            cl.Twin("s1_to_factory_address", ("S1 setup toward 10.180.0.30:36412",
                                              "SCTP INIT to 10.180.0.31:36412")),
        )),
        cl.Check("S1", "an S1 Setup Request to that address over the association, answered by the MME", (
            cl.Twin("no_s1_setup", ("an S1 Setup Request to 10.180.0.30 over the SCTP association",
                                    "nothing within")),
        )),
        cl.Check("S1", "the S1 Setup Request carries the TAC, PLMN and Home eNB ID (cell identity) the HeMS set", (
            cl.Twin("s1_wrong_tac", ("S1 Setup Request with TAC 1, PLMN 00101", "TAC [2] (expected 1)")),
            cl.Twin("s1_wrong_plmn", ("PLMN 00199 broadcast ['00199'] (expected 00101)",)),
            cl.Twin("s1_wrong_enb_id", ("Home eNB ID 257", "eNB ID homeENB-ID 258 (expected homeENB-ID 257)")),
        )),
        *impostor_checks("IPsec", "Serving SeGW"),
        *untrusted_hems_checks("TLS", "Serving HeMS", "shems.operator.example", SERVING_TLS),
        cl.no_cleartext_check(),
        cl.Check("1.1", "the first Inform to the Serving HeMS (a new ACS URL, set by the Initial HeMS) carries "
                 "0 BOOTSTRAP (TR-069)", (
            cl.Twin("no_bootstrap_at_serving_hems", ("0 BOOTSTRAP in the first Inform to the Serving HeMS",
                                                     "events ['1 BOOT']")),
        ), key="bootstrap"),
        cl.Check("boot", "1 BOOT only in the first session after a boot (TR-069): not in a session the HeMS "
                 "asked for later", (
            cl.Twin("boot_event_every_session", ("no 1 BOOT in an Inform of a session that is not the first",
                                                 "'1 BOOT', '6 CONNECTION REQUEST'")),
        )),
        cl.Check("kept", "after a session the HeMS failed on purpose (a restart), the next Inform carries the "
                 "same events (TR-069: kept until an InformResponse acknowledged them)", (
            cl.Twin("forget_events_after_failed_session", ("the Inform after the failed session did not repeat "
                                                           "6 CONNECTION REQUEST",)),
        )),
        cl.Check("retry", "each retry of a failed session within TR-069 3.2.1.1's window for its count, "
                 "m*(k/1000)^(n-1) to m*(k/1000)^n s (m, k set by the bench, restored after), never sooner", (
            cl.Twin("retry_storm", ("retry 1 came after 0.", "TR-069 allows 1.0-1.5 s with m=1, k=1500")),
        )),
        cl.Check("retry", "each Inform's RetryCount the number of prior attempts of its session: 0 on the first, "
                 "n on retry n (TR-069 A.3.3.1)", (
            cl.Twin("retry_count_zero", ("RetryCount 1 in the Inform of retry 1 of a failed session",
                                         "RetryCount 0 in")),
        ), key="retry-count"),
    ),
    tests={
        "test_session_retry_after_hems_restart": cl.Figure(
            "TR-069 3.2.1.1: the Serving HeMS fails the session (a restart); the unit retries with backoff, "
            "its events kept",
            (
                cl.connection_request(),
                cl.inform(event="6 CONNECTION REQUEST"),
                cl.session_failed(),
                cl.inform(event="6 CONNECTION REQUEST", label="Inform (retry, 6 CONNECTION REQUEST kept)"),
                cl.inform_response(),
                cl.session_end(),
            ),
        ),
        "test_refuses_serving_hems_it_must_not_trust": cl.Figure(
            "The configured unit powered on, the Serving HeMS over HTTPS (operator.serving_hems_tls): each bad "
            "certificate refused in the handshake, then the Serving HeMS's own",
            (cl.ike_up("ssegw"), cl.dns_query("Serving HeMS", "private-dns"), *cl.hems_tls_refused("serving-hems"),
             cl.inform("serving-hems"), cl.inform_response("serving-hems")),
        ),
        "test_refuses_impostor_serving_segw": cl.Figure(
            "The configured unit powered on: impostor Serving SeGWs refused, then the real one (TS 33.320)",
            (cl.dns_query("Serving SeGW", "public-dns"), *cl.impostors_refused("ssegw"), cl.ike_up("ssegw")),
        ),
    },
)  # fmt: skip

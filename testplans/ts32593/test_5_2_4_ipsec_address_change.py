"""TS 32.593 5.2.4: IPsec tunnel IP address change notification (Figure 5-8). The bench moves the unit to
another inner address at the Serving SeGW; the unit must send an Inform carrying the new address, after the
change and within the bound. Checked from two sides: the HeMS transcript and the SeGW's inner capture."""

from __future__ import annotations

import pytest

from bench import clauses as cl
from bench.capture import tcp_syns
from bench.cwmp import CwmpFault
from bench.events import SegwKind, Source
from bench.evidence.judge_address import active_notification, judge_inform_carries
from bench.evidence.judge_common import judged
from bench.run import BenchRun, Evidence
from bench.steps import Steps
from bench.unit import BenchUnit
from testplans.ts32593.flows import ike_up, inform, segw_refusal
from testplans.ts32593.procedures import rpc
from testplans.ts32593.session_rules import (
    check_events_repeated,
    failed_on_purpose,
    hems_restart,
    retry_parameters_set,
    retry_window,
    unit_inform,
)

VALUE_CHANGE = "4 VALUE CHANGE"


@pytest.mark.clause("5.2.4")
def test_inform_after_ipsec_address_change(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    unit, op, tl = registered_unit, bench_run.inv.operator, bench_run.timeline
    bounds, param = unit.bounds, unit.paths.ipsec_address
    boot = unit.boot
    segw = bench_run.topology.segw["ssegw"]

    notify_at_once(bench_run, steps, "pre", param, evidence.mark)
    old, pool = segw.change_address(unit.ike_id)
    change = tl.first(lambda e: e.source == Source.SEGW and e.kind == SegwKind.ADDRESS_CHANGE, evidence.mark)
    assert change is not None
    up = steps.wait(
        "pre",
        lambda e: ike_up("ssegw", unit.ike_id)(e) and e.data["remote_vips"] not in ([], [old]),
        bounds.step,
        f"the unit back at the Serving SeGW with an address from {pool}",
        change.seq,
        why=segw_refusal(bench_run, "ssegw", change.seq, unit.ike_id),
    )
    new = up.data["remote_vips"][0]

    # 1: an Inform with the new address, as soon as possible after the change.
    def carries_address(e: object) -> bool:
        return inform("serving-hems", event=VALUE_CHANGE)(e) and param in e.data.get("params", {})  # type: ignore[arg-type]

    try:
        inf = tl.wait_for(carries_address, bounds.address_change_inform, "", change.seq)
    except AssertionError:
        # Was it sent, but before the change (since the last change, or the boot)?
        prior = [
            e
            for e in tl.events(boot.mark, change.seq)
            if e.source == Source.SEGW and e.kind == SegwKind.ADDRESS_CHANGE
        ]
        early = tl.first(carries_address, prior[-1].seq if prior else boot.mark, change.seq)
        if early is not None:
            steps.fail(
                "1",
                f"an Inform with {VALUE_CHANGE} and {param} after the address change "
                f"({old} -> {new}) at {steps.describe(change)}",
                f"it came before the change: {steps.describe(early)}, and none after",
                early,
            )
        steps.fail(
            "1",
            f"an Inform with {VALUE_CHANGE} and {param} within {bounds.address_change_inform:g} s "
            f"of the address change ({old} -> {new})",
            f"none; {tl.last_seen(change.seq, lambda e: e.source == Source.HEMS)}",
            change,
        )
    # The Inform's content, by the function `henb-bench judge` calls on captures.
    ident = unit.cfg.identity
    identity = (ident.oui, ident.product_class, ident.serial_number)
    for verdict in judge_inform_carries("1", inf, param, new, old, identity):
        judged(steps, "1", verdict)

    # Cross-check on the wire: the SeGW's inner capture shows the connection from the new address.
    evidence.inner.stop()
    syns = [
        p
        for p in tcp_syns(evidence.inner.path, str(bench_run.inv.network.serving_hems), op.hems_port)
        if p.src == new
    ]
    if not syns:
        steps.fail(
            "1",
            f"a TCP connection from {new} to the Serving HeMS in the inner capture",
            f"none in {evidence.inner.path}",
            inf,
        )
    evidence.assert_no_cleartext(steps)


def notify_at_once(bench_run: BenchRun, steps: Steps, step: str, param: str, since: int) -> None:
    """The HeMS asks to be told of the address at once (Active notification, TR-069 A.3.2.4: a unit reports a
    value change as its HeMS set it, not by habit), then waits until the unit has closed that session's
    connection: the tunnel is cut only then, as the HeMS's last answer still on its way would be lost with the
    old address, and the unit left waiting on it instead of reporting."""
    attrs = rpc(bench_run, steps, step, "SetParameterAttributes", attributes=[(param, 2)])
    if isinstance(attrs, CwmpFault):
        steps.fail(step, active_notification(param),
                   f"fault {attrs.fault_code} {attrs.fault_string}, per parameter {attrs.param_faults}")  # fmt: skip
    sent = [e for e in bench_run.timeline.events(since) if inform("serving-hems")(e)]
    if sent:
        bench_run.topology.hems["serving-hems"].wait_closed(sent[-1].data["peer"], bench_run.unit.bounds.step)


@pytest.mark.clause("5.2.4")
def test_address_change_reported_after_hems_restart(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    """The Serving HeMS fails the session of the IP-change Inform (a restart, operator.session_rules:
    HTTP 503 or the connection closed); the unit's next Inform must carry 4 VALUE CHANGE with the address
    again (TR-069: an event stays until an InformResponse acknowledged it)."""
    unit, tl = registered_unit, bench_run.timeline
    how = hems_restart(bench_run, "5.2.4")
    if how == "off":
        pytest.skip("operator.session_rules.hems_restart['5.2.4'] is off")
    param, serial = unit.paths.ipsec_address, unit.cfg.identity.serial_number
    rules = bench_run.inv.operator.session_rules.retry
    m, k = rules.min_wait, rules.multiplier
    hems, segw = bench_run.topology.hems["serving-hems"], bench_run.topology.segw["ssegw"]
    with retry_parameters_set(bench_run, steps, "kept", m, k):
        notify_at_once(bench_run, steps, "kept", param, evidence.mark)
        hems.fail_sessions(unit.device, events=(VALUE_CHANGE,), how=how)
        try:
            segw.change_address(unit.ike_id)
            change = tl.first(
                lambda e: e.source == Source.SEGW and e.kind == SegwKind.ADDRESS_CHANGE, evidence.mark
            )
            assert change is not None
            failure = steps.wait(
                "1", failed_on_purpose(serial), unit.bounds.address_change_inform,
                f"an Inform with {VALUE_CHANGE} and {param} after the address change (the HeMS fails its "
                f"session: {how})", change.seq,
            )  # fmt: skip
            failed = tl.first(lambda e: unit_inform(serial)(e) and e.seq < failure.seq, change.seq)
            assert failed is not None, "the HeMS failed a session whose Inform is not on the timeline"
            lo, hi = retry_window(1, m, k)
            again = steps.wait(
                "kept", unit_inform(serial), hi + rules.slack + unit.bounds.step,
                f"the Inform after the failed session (retry 1: {lo:g}-{hi:g} s after it, m={m}, k={k})",
                failure.seq,
            )  # fmt: skip
            check_events_repeated(steps, "kept", failed, again, failure)
        finally:
            hems.failures.disarm(unit.device)


# The clause as the bench reads it: `henb-bench list`, the report's coverage and expected ladder, the twins.
CLAUSE = cl.Clause(
    id="5.2.4",
    title="IPsec tunnel IP address change notification (Figure 5-8)",
    figure=cl.Figure(
        "Figure 5-8: IPsec tunnel IP address change notification",
        (
            cl.Step("inner address change", "ssegw", "henb", "segw", "address-change", {"segw": "ssegw"}),
            cl.ike_up("ssegw", "IKE SA up with the new address"),
            cl.inform("serving-hems", VALUE_CHANGE),
            cl.inform_response("serving-hems"),
            cl.session_end("serving-hems"),
        ),
    ),
    checks=(
        cl.Check("1", "an Inform with 4 VALUE CHANGE within the bound after the address change, not before", (
            cl.Twin("no_inform_after_address_change", ("4 VALUE CHANGE", "within 8 s of the address change")),
            cl.Twin("inform_before_change", ("it came before the change", "and none after")),
            cl.Twin("ignore_notification_attributes", ("4 VALUE CHANGE", "within 8 s of the address change")),
        )),
        cl.Check("1", "the Inform carries the new inner address and the unit's DeviceId, sent from it", (
            cl.Twin("old_address_in_inform", ("(the new inner address)", "(the old address)")),
            cl.Twin("wrong_device_id_on_address_change", ("DeviceId", "serial '{serial}X'")),
        )),
        cl.no_cleartext_check(),
        cl.Check("pre", "Active notification on the inner address set (SetParameterAttributesResponse), then the "
                 "unit back at the Serving SeGW with an address from the new pool", (
            cl.Twin("refuse_notification_attributes", ("SetParameterAttributesResponse to Active notification on",
                                                       "fault 9004 Resources exceeded")),
        )),
        cl.Check("kept", "after the HeMS failed the IP-change Inform's session (a restart), the next Inform "
                 "carries 4 VALUE CHANGE with the address again (TR-069: kept until acknowledged)", (
            cl.Twin("forget_events_after_failed_session", ("the Inform after the failed session did not repeat "
                                                           "4 VALUE CHANGE", "did not repeat 4 VALUE CHANGE for")),
        )),
    ),
    tests={
        "test_address_change_reported_after_hems_restart": cl.Figure(
            "The IP-change Inform's session failed on purpose (a HeMS restart); the next Inform repeats it",
            (
                cl.Step("inner address change", "ssegw", "henb", "segw", "address-change", {"segw": "ssegw"}),
                cl.inform("serving-hems", VALUE_CHANGE),
                cl.session_failed(),
                cl.inform("serving-hems", VALUE_CHANGE, label="Inform (4 VALUE CHANGE, again)"),
                cl.inform_response("serving-hems"),
                cl.session_end("serving-hems"),
            ),
        ),
    },
)  # fmt: skip

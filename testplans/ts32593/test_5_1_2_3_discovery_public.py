"""TS 32.593 5.1.2.3: Serving HeMS discovery via an Initial HeMS on the public internet (Figure 5-4): the
Initial HeMS's FQDN from the public DNS, TLS straight to it (no IPsec for that leg), Inform, SetParameterValues
with the Serving SeGW and HeMS, release, IPsec to the Serving SeGW; and a unit must refuse an Initial HeMS whose
certificate does not name exactly the identity it was programmed with."""

from __future__ import annotations

import pytest

from bench import clauses as cl
from bench.cwmp import CwmpFault
from bench.inventory import is_ip
from bench.run import BenchRun, Evidence
from bench.steps import Steps
from bench.unit import BenchUnit, State
from testplans.ts32593.flows import (
    before,
    dns_first,
    dns_query,
    hems_refusal,
    ike_up,
    inform,
    segw_refusal,
    session_end,
    tls_failed,
)
from testplans.ts32593.identity import check_device_id
from testplans.ts32593.session_rules import check_session_released
from testplans.ts32593.untrusted_hems import UntrustedHems, untrusted_hems_checks


# Not `together`: the HeMS shows each unit its own certificate, chosen by the unit's address when it connects
# (bench.network.hems_certs), so each unit's sequence runs alone while the others discover.
@pytest.mark.clause("5.1.2.3")
def test_refuses_initial_hems_it_must_not_trust(
    bench_run: BenchRun, evidence: Evidence, steps: Steps
) -> None:
    unit, op, bounds = bench_run.unit, bench_run.inv.operator, bench_run.unit.bounds
    with UntrustedHems(
        bench_run, steps, "initial-hems", "1.3", f"it was programmed with {op.initial_hems}"
    ) as bad:
        try:
            # Factory-fresh only now: the unit must meet the bad certificates on its way to the Initial HeMS.
            boot = unit.transition(State.FACTORY_FRESH)
            assert boot is not None
            # The unit is about to connect once it has asked for the Initial HeMS's address (or it connects at
            # once: that it asks DNS is step 1.1 of the discovery test). One that turns to the Initial SeGW
            # instead takes the private network's way (5.1.2.2), not this deployment's: it fails here, at once.
            isegw = lambda e: dns_query(op.initial_segw, "public-dns")(e) or ike_up("isegw", unit.ike_id)(e)  # noqa: E731
            turned = steps.wait("pre", lambda e: dns_query(op.initial_hems, "public-dns")(e)
                                or tls_failed("initial-hems")(e) or isegw(e), unit.bounds.boot,
                                f"the unit looking up {op.initial_hems}", boot.mark)  # fmt: skip
            if isegw(turned):
                steps.fail("pre", f"the factory-fresh unit looking up {op.initial_hems} at the public DNS (its "
                           "Initial HeMS is on the public internet: TLS straight to it, no IPsec for that leg)",
                           f"it turned to the Initial SeGW {op.initial_segw} instead: {steps.describe(turned)}",
                           turned)  # fmt: skip
            bad.refused(boot.mark, bounds.quiet + bounds.step, f"units.{unit.name}.bounds.quiet + step")
        finally:
            unit.transition(
                State.OFF
            )  # a unit that refused its Initial HeMS keeps trying it: start it afresh


@pytest.mark.clause("5.1.2.3")
def test_discovery_via_initial_hems_on_public_internet(
    bench_run: BenchRun, request: pytest.FixtureRequest, evidence: Evidence, steps: Steps
) -> None:
    unit: BenchUnit = request.getfixturevalue("factory_fresh_unit")
    op = bench_run.inv.operator
    bounds = unit.bounds
    boot = unit.boot

    # 1.1-1.3 and 2.1: the Inform arrives over TLS at the Initial HeMS on the internet.
    inf = steps.wait("2.1", inform("initial-hems"), bounds.boot,
                     f"an Inform over TLS to the Initial HeMS {op.initial_hems} on the public internet", boot.mark,
                     why=hems_refusal(bench_run, "initial-hems", boot.mark))  # fmt: skip
    if not is_ip(op.initial_hems):
        q = dns_first(
            bench_run, lambda e: dns_query(op.initial_hems, "public-dns")(e) and before(e, inf), boot.mark
        )
        if q is None:
            steps.fail("1.1", f"a query for {op.initial_hems} at the public DNS before the TLS session",
                       "no such query (the unit used an address it was not given by DNS)", inf)  # fmt: skip
    check_device_id(steps, "2.1", inf, unit.cfg.identity)
    if "0 BOOTSTRAP" not in inf.data["events"]:
        steps.fail("2.1", "event 0 BOOTSTRAP in the first Inform to the Initial HeMS", f"events {inf.data['events']}",
                   inf)  # fmt: skip

    # 3.1-3.2, 4: the Serving SeGW and HeMS assigned and acknowledged, the session released.
    result = boot.initial_spv.result(bounds.step)
    if isinstance(result, CwmpFault):
        steps.fail("3.2", "SetParameterValuesResponse to the Serving SeGW/HeMS assignment",
                   f"fault {result.fault_code} {result.fault_string}, per parameter {result.param_faults}")  # fmt: skip
    end = steps.wait(
        "4", session_end("initial-hems"), bounds.step, "the session with the Initial HeMS to end", inf.seq
    )
    check_session_released(bench_run, steps, "4", "initial-hems", inf, end)

    # 5.1-5.3 (= 5.1.2.2 6.1-6.3): DNS for the Serving SeGW, then IPsec to it.
    sike = steps.wait("5.3", lambda e: ike_up("ssegw", unit.ike_id)(e) and before(end, e), bounds.step,
                      f"an IKE SA from {unit.ike_id} at the Serving SeGW {op.serving_segw} after the session",
                      boot.mark, why=segw_refusal(bench_run, "ssegw", end.seq, unit.ike_id))  # fmt: skip
    if (
        not is_ip(op.serving_segw)
        and dns_first(
            bench_run,
            lambda e: dns_query(op.serving_segw, "public-dns")(e) and before(end, e) and before(e, sike),
            boot.mark,
        )
        is None
    ):
        steps.fail(
            "5.1", f"a query for {op.serving_segw} at the public DNS before the IKE SA", "no such query", sike
        )
    evidence.assert_no_cleartext(steps)


# The clause as the bench reads it: `henb-bench list`, the report's coverage and expected ladder, the twins.
CLAUSE = cl.Clause(
    id="5.1.2.3",
    title="Serving HeMS discovery via an Initial HeMS on the public internet (Figure 5-4)",
    applies={"initial_hems_access": "public"},  # units whose Initial HeMS is on the public internet
    figure=cl.Figure(
        "Figure 5-4: Serving HeMS discovery via an Initial HeMS on the public internet",
        (
            cl.dns_query("Initial HeMS", "public-dns"),
            cl.inform("initial-hems"),
            cl.inform_response("initial-hems"),
            *cl.rpc("SetParameterValues", "Serving SeGW/HeMS", "initial-hems"),
            cl.session_end("initial-hems"),
            cl.dns_query("Serving SeGW", "public-dns"),
            cl.ike_up("ssegw"),
        ),
    ),
    tests={
        "test_refuses_initial_hems_it_must_not_trust": cl.Figure(
            "Figure 5-4, refused: no Inform may reach an Initial HeMS the unit must not trust; each bad certificate "
            "refused in the handshake",
            (cl.dns_query("Initial HeMS", "public-dns"), *cl.hems_tls_refused("initial-hems")),
        ),
    },
    inventory={"operator": {"initial_hems_access": "public"}},  # the Initial HeMS on the public internet
    checks=(
        cl.Check("1.1", "the Initial HeMS's FQDN asked of the public DNS before the TLS session", (
            cl.Twin("hems_by_ip", ("query for ihems.operator.example at the public DNS before the TLS",)),
        )),
        *untrusted_hems_checks("1.3", "Initial HeMS", "ihems.operator.example", {}),
        cl.Check("2.1", "an Inform over TLS with the unit's DeviceId and 0 BOOTSTRAP", (
            cl.Twin("wrong_device_id", ("DeviceId", "serial '{serial}X'")),
            cl.Twin("no_bootstrap", ("0 BOOTSTRAP", "seen events ['1 BOOT']")),
        )),
        cl.Check("3.2", "SetParameterValuesResponse to the Serving SeGW/HeMS assignment", (
            cl.Twin("reject_serving_assignment", ("fault 9003", "SecGWServer1")),
        )),
        cl.Check("pre", "the factory-fresh unit turns to its Initial HeMS on the public internet (its FQDN asked of "
                 "the public DNS, or a TLS handshake with it), not to the Initial SeGW", (
            cl.Twin("initial_segw_for_public_hems", ("the factory-fresh unit looking up ihems.operator.example",
                                                     "it turned to the Initial SeGW")),
        )),
        cl.Check("4", "the unit releases the session: the HeMS's empty answer, then the unit's connection closed "
                 "(TR-069 3.7.1.4)", (
            cl.Twin("keep_session_open", ("release the TR-069 session with the initial-hems",
                                          "kept its connection to the initial-hems open")),
        )),
        cl.Check("5.1", "the Serving SeGW's FQDN asked of the public DNS", (
            cl.Twin("serving_segw_by_ip", ("query for ssegw.operator.example at the public DNS",)),
        )),
        cl.Check("5.3", "an IKE SA at the Serving SeGW after the session ends", (
            cl.Twin("ignore_serving_assignment", ("IKE SA from {oui}-{serial}.henb at the Serving SeGW",)),
        )),
        cl.no_cleartext_check("no operator traffic outside the tunnel but the TLS session with the Initial HeMS"),
    ),
)  # fmt: skip

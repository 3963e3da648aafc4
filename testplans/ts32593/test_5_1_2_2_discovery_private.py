"""TS 32.593 5.1.2.2: Serving HeMS discovery via an Initial HeMS inside the operator's private network
(Figure 5-3): public DNS, IPsec to the Initial SeGW, private DNS, Inform, SetParameterValues with the Serving
SeGW and HeMS, session release, IPsec to the Serving SeGW."""

from __future__ import annotations

import pytest

from bench import clauses as cl
from bench.events import Source
from bench.evidence.judge_common import judged
from bench.evidence.judge_registration import judge_asked_before, private_only
from bench.hems.server import CwmpFault
from bench.inventory import is_ip
from bench.run import BenchRun, Evidence
from bench.steps import Steps
from bench.unit import BenchUnit
from testplans.ts32593.flows import (
    LATE_SOURCES,
    before,
    dns_first,
    dns_query,
    hems_refusal,
    ike_up,
    inform,
    segw_refusal,
    session_end,
)
from testplans.ts32593.identity import check_device_id
from testplans.ts32593.impostor import Impostors, impostor_checks
from testplans.ts32593.session_rules import check_session_released


@pytest.mark.clause("5.1.2.2")
def test_discovery_via_initial_hems_in_private_network(
    bench_run: BenchRun, request: pytest.FixtureRequest, evidence: Evidence, steps: Steps
) -> None:
    op = bench_run.inv.operator
    # 1.3, before the real Initial SeGW: impostors the factory-fresh unit must refuse (TS 33.320), presented
    # from its first IKE attempt on, one after the other as it tries again.
    with Impostors(bench_run, steps, "isegw", "1.3", evidence.outer) as impostors:
        unit: BenchUnit = request.getfixturevalue("factory_fresh_unit")
        real = impostors.refused(unit.boot.mark)
    bounds = unit.bounds
    boot = unit.boot

    # 1.3: the IPsec tunnel to the Initial SeGW, the real one (after the impostors, within the unit's backoff).
    ike = steps.wait(
        "1.3",
        ike_up("isegw", unit.ike_id),
        bounds.ike_retry if impostors.rounds else bounds.boot,
        f"an IKE SA from {unit.ike_id} at the Initial SeGW {op.initial_segw}",
        real if impostors.rounds else boot.mark,
        why=segw_refusal(bench_run, "isegw", boot.mark, unit.ike_id),
    )
    vip = ike.data["remote_vips"][0] if ike.data["remote_vips"] else None
    # 1.1-1.2: the Initial SeGW's FQDN was asked of the public DNS before the tunnel.
    if not is_ip(op.initial_segw):  # judged by the function `henb-bench judge` calls on captures
        bench_run.topology.dns_caught_up(bounds.step)  # every query until now on the timeline
        asked = judge_asked_before(CLAUSE.id, "1.1", bench_run.timeline.events(boot.mark), op.initial_segw, ike,
                                   LATE_SOURCES[Source.DNS], booted=True)  # fmt: skip
        judged(steps, "1.1", asked)

    # 2.1: Inform from the unit's inner address to the Initial HeMS (only possible through the tunnel).
    inf = steps.wait(
        "2.1",
        lambda e: inform("initial-hems")(e) and e.data["peer"] == vip,
        bounds.step,
        f"an Inform to the Initial HeMS from the unit's inner address {vip}",
        boot.mark,
        last=lambda e: e.source == Source.HEMS,  # what the HeMS saw of the unit: auth failures, bad messages
        why=hems_refusal(bench_run, "initial-hems", boot.mark),  # and why it refused the unit, in its words
    )
    # 1.4-1.5: the Initial HeMS's FQDN was asked of the private DNS, learned over IKE, not the public one.
    if not is_ip(op.initial_hems):
        public = dns_first(
            bench_run, lambda e: dns_query(op.initial_hems, "public-dns")(e) and before(e, inf), boot.mark
        )
        judged(
            steps, "1.4", private_only(CLAUSE.id, "1.4", op.initial_hems, public)
        )  # as `henb-bench judge` does
        private = dns_first(
            bench_run,
            # From its inner address: a query another unit made through its tunnel is never this unit's, and this
            # one came through the tunnel, so after the IKE SA, whatever the times say: the SeGW's report of the
            # SA is stamped when the bench reads it, after the unit's first query on a busy host.
            lambda e: (
                dns_query(op.initial_hems, "private-dns")(e)
                and e.data.get("client") == vip
                and before(e, inf)
            ),
            boot.mark,
        )
        if private is None:
            steps.fail(
                "1.4",
                f"a query for {op.initial_hems} at the private DNS after the IKE SA",
                "no such query",
                inf,
            )
    check_device_id(steps, "2.1", inf, unit.cfg.identity)
    if "0 BOOTSTRAP" not in inf.data["events"]:
        steps.fail(
            "2.1",
            "event 0 BOOTSTRAP in the first Inform to the Initial HeMS",
            f"events {inf.data['events']}",
            inf,
        )

    # 3.1-3.2: SetParameterValues with the Serving SeGW and HeMS (the topology issued their certificates for
    # exactly these names), acknowledged.
    result = boot.initial_spv.result(bounds.step)
    if isinstance(result, CwmpFault):
        steps.fail(
            "3.2",
            "SetParameterValuesResponse to the Serving SeGW/HeMS assignment",
            f"fault {result.fault_code} {result.fault_string}, per parameter {result.param_faults}",
        )
    # 4: the session is released (the HeMS has nothing more and answers 204, and the unit closes its
    # connection); the order anchor for step 6.
    end = steps.wait(
        "4",
        session_end("initial-hems"),
        bounds.step,
        "the TR-069 session with the Initial HeMS to end",
        inf.seq,
    )
    check_session_released(bench_run, steps, "4", "initial-hems", inf, end)

    # 6.1-6.3: DNS for the Serving SeGW, then the tunnel to it, after the session.
    sike = steps.wait(
        "6.3",
        lambda e: ike_up("ssegw", unit.ike_id)(e) and before(end, e),
        bounds.step,
        f"an IKE SA from {unit.ike_id} at the Serving SeGW {op.serving_segw} after the session",
        boot.mark,
        why=segw_refusal(bench_run, "ssegw", end.seq, unit.ike_id),
    )
    if not is_ip(op.serving_segw):
        q = dns_first(
            bench_run,
            lambda e: dns_query(op.serving_segw, "public-dns")(e) and before(end, e) and before(e, sike),
            boot.mark,
        )
        if q is None:
            steps.fail(
                "6.1",
                f"a query for {op.serving_segw} at the public DNS before the IKE SA",
                "no such query",
                sike,
            )
    evidence.assert_no_cleartext(steps)


FIGURE_5_3 = (
    cl.dns_query("Initial SeGW", "public-dns"),
    cl.ike_up("isegw"),
    cl.dns_query("Initial HeMS", "private-dns"),
    cl.inform("initial-hems"),
    cl.inform_response("initial-hems"),
    *cl.rpc("SetParameterValues", "Serving SeGW, HeMS", "initial-hems"),
    cl.session_end("initial-hems"),
    cl.dns_query("Serving SeGW", "public-dns"),
    cl.ike_up("ssegw"),
)

# The clause as the bench reads it: `henb-bench list`, the report's coverage and expected ladder, the twins.
CLAUSE = cl.Clause(
    id="5.1.2.2",
    title="Serving HeMS discovery via an Initial HeMS in the operator's private network (Figure 5-3)",
    applies={"initial_hems_access": "private"},  # units whose Initial HeMS is in the operator network, behind the Initial SeGW
    figure=cl.Figure("Figure 5-3: Serving HeMS discovery via an Initial HeMS in the private network", FIGURE_5_3),
    # The test as it runs: impostor Initial SeGWs refused before the real one (TS 33.320).
    tests={
        "test_discovery_via_initial_hems_in_private_network": cl.Figure(
            "Figure 5-3, the impostor Initial SeGWs refused first (TS 33.320)",
            (FIGURE_5_3[0], *cl.impostors_refused("isegw"), *FIGURE_5_3[1:]),
        ),
    },
    checks=(
        *impostor_checks("1.3", "Initial SeGW"),
        cl.Check("1.1", "the Initial SeGW's FQDN asked of the public DNS before IKE", (
            cl.Twin("segw_by_ip", ("query for isegw.operator.example at the public DNS",)),
        )),
        cl.Check("1.3", "an IKE SA at the Initial SeGW: a device certificate from a trusted CA (operator or "
                 "unit_trust), the inventory's IKE identity, proposals from operator.ike_proposals", (
            cl.Twin("untrusted_cert", ("IKE SA from {oui}-{serial}.henb at the Initial SeGW",
                                       "isegw charon refused", "no trusted ECDSA public key found")),
            cl.Twin("wrong_ike_id", ("IKE SA from {oui}-{serial}.henb", "from other-{oui}-{serial}.henb, not")),
            cl.Twin("weak_ike_proposal", ("isegw charon refused", "MODP_4096")),
            cl.Twin("ike_id_not_in_cert", ("isegw charon refused the unit",
                                           "no trusted ECDSA public key found for '{oui}-{serial}.henb'")),
        )),
        cl.Check("1.4", "the Initial HeMS's FQDN asked of the private DNS (learned over IKE), not the public", (
            cl.Twin("hems_by_ip", ("query for ihems.operator.example at the private DNS", "no such query")),
            cl.Twin("hems_dns_public", ("ihems.operator.example", "asked of the public DNS")),
        )),
        cl.Check("2.1", "an Inform from the inner address, authenticated, with the unit's DeviceId and "
                 "0 BOOTSTRAP", (
            cl.Twin("wrong_device_id", ("DeviceId", "serial '{serial}X' (expected '{serial}')")),
            cl.Twin("no_bootstrap", ("0 BOOTSTRAP", "seen events ['1 BOOT']")),
            cl.Twin("wrong_hems_password", ("an Inform to the Initial HeMS", "auth-failed")),
        )),
        cl.Check("3.2", "SetParameterValuesResponse to the Serving SeGW/HeMS assignment", (
            cl.Twin("reject_serving_assignment", ("fault 9003", "SecGWServer1", "9007")),
        )),
        cl.Check("4", "the unit releases the session: the HeMS's empty answer, then the unit's connection closed "
                 "(TR-069 3.7.1.4)", (
            cl.Twin("keep_session_open", ("release the TR-069 session with the initial-hems",
                                          "kept its connection to the initial-hems open")),
        )),
        cl.Check("6.1", "the Serving SeGW's FQDN asked of the public DNS", (
            cl.Twin("serving_segw_by_ip", ("query for ssegw.operator.example at the public DNS",)),
        )),
        cl.Check("6.3", "an IKE SA at the Serving SeGW after the session ends", (
            cl.Twin("ignore_serving_assignment", ("IKE SA from {oui}-{serial}.henb at the Serving SeGW",)),
        )),
        cl.no_cleartext_check("no operator traffic outside the tunnel (TS 33.320); DHCP, DNS, NTP, ICMP, IKE/ESP "
                              "may cross the outer link"),
        cl.Check("security", "with operator.outer_link.strict, nothing else crosses it either", (
            cl.Twin("other_traffic", ("operator.outer_link.strict", "UDP port 514: 1 packet(s)"),
                    inventory={"operator": {"outer_link": {"strict": True}}}),
        )),
    ),
)  # fmt: skip

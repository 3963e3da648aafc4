"""TS 32.593 5.1.2.2: Serving HeMS discovery via an Initial HeMS inside the operator's private network
(Figure 5-3): public DNS, IPsec to the Initial SeGW, private DNS, Inform, SetParameterValues with the Serving
SeGW and HeMS, session release, IPsec to the Serving SeGW."""

from __future__ import annotations

import pytest

from bench.events import Source
from bench.hems.server import CwmpFault
from bench.run import BenchRun, Evidence
from bench.steps import Steps
from bench.unit import BenchUnit
from testplans.ts32593.flows import (
    before,
    dns_query,
    ike_up,
    inform,
    is_ip,
    late_first,
    segw_refusal,
    session_end,
)
from testplans.ts32593.identity import check_device_id


@pytest.mark.clause("5.1.2.2")
def test_discovery_via_initial_hems_in_private_network(
    bench_run: BenchRun, request: pytest.FixtureRequest, evidence: Evidence, steps: Steps
) -> None:
    op, tl = bench_run.inv.operator, bench_run.timeline
    if op.initial_hems_access != "private":
        pytest.skip("this inventory's Initial HeMS is on the public internet (operator.initial_hems_access)")
    unit: BenchUnit = request.getfixturevalue("factory_fresh_unit")
    bounds = unit.bounds
    boot = unit.boot

    # 1.3: the IPsec tunnel to the Initial SeGW.
    ike = steps.wait(
        "1.3",
        ike_up("isegw", unit.ike_id),
        bounds.boot,
        f"an IKE SA from {unit.ike_id} at the Initial SeGW {op.initial_segw}",
        boot.mark,
        why=segw_refusal(bench_run, "isegw", boot.mark, unit.ike_id),
    )
    vip = ike.data["remote_vips"][0] if ike.data["remote_vips"] else None
    # 1.1-1.2: the Initial SeGW's FQDN was asked of the public DNS before the tunnel.
    if not is_ip(op.initial_segw):
        q = late_first(
            tl, lambda e: dns_query(op.initial_segw, "public-dns")(e) and before(e, ike), boot.mark
        )
        if q is None:
            steps.fail(
                "1.1",
                f"a query for {op.initial_segw} at the public DNS before the IKE SA",
                "no such query (the unit used an address it was not given by DNS)",
                ike,
            )

    # 2.1: Inform from the unit's inner address to the Initial HeMS (only possible through the tunnel).
    inf = steps.wait(
        "2.1",
        lambda e: inform("initial-hems")(e) and e.data["peer"] == vip,
        bounds.step,
        f"an Inform to the Initial HeMS from the unit's inner address {vip}",
        boot.mark,
        last=lambda e: e.source == Source.HEMS,  # what the HeMS saw of the unit: auth failures, bad messages
    )
    # 1.4-1.5: the Initial HeMS's FQDN was asked of the private DNS, learned over IKE, not the public one.
    if not is_ip(op.initial_hems):
        public = late_first(
            tl, lambda e: dns_query(op.initial_hems, "public-dns")(e) and before(e, inf), boot.mark
        )
        if public is not None:
            steps.fail(
                "1.4",
                f"the query for {op.initial_hems} at the private DNS only",
                f"it was asked of the public DNS {public.data['server']} "
                "(the Initial HeMS is inside the operator network)",
                public,
            )
        private = late_first(
            tl,
            lambda e: dns_query(op.initial_hems, "private-dns")(e) and before(ike, e) and before(e, inf),
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
    # 4: the session is released (the HeMS has nothing more and answers 204); the order anchor for step 6.
    end = steps.wait(
        "4",
        session_end("initial-hems"),
        bounds.step,
        "the TR-069 session with the Initial HeMS to end",
        inf.seq,
    )

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
        q = late_first(
            tl,
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

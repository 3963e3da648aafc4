"""TS 32.593 5.1.3: registration with the Serving HeMS (Figure 5-5): Inform, SetParameterValues with the S1
far-end address, IPsec usage indicator and the cell's TAC, PLMN and identity, response, then S1 setup toward
that address carrying exactly those values."""

from __future__ import annotations

import pytest

from bench.events import HemsKind, Source
from bench.hems.server import CwmpFault
from bench.run import BenchRun, Evidence
from bench.steps import Steps
from bench.timeline import Event
from bench.unit import BenchUnit
from testplans.ts32593.flows import ike_up, inform, s1ap, sctp_init
from testplans.ts32593.identity import check_device_id


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
    )
    check_device_id(steps, "1.1", inf, unit.cfg.identity)

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
    # The MME stand-in stamps INITs with the kernel's receive time, the HeMS its messages on arrival: exact.
    early = tl.first(lambda e: sctp_init()(e) and e.t < response.t, boot.mark)
    if early is not None:
        steps.fail(
            "S1",
            "S1 setup after the SetParameterValuesResponse",
            f"SCTP INIT before it: {steps.describe(early)}",
            early,
        )
    init = steps.wait(
        "S1",
        lambda e: sctp_init()(e) and e.t >= response.t,
        bounds.s1_init,
        f"an SCTP INIT (S1 setup) to {s1}:{op.s1_port}",
        boot.mark,
    )
    if init.data["dst"] != s1 or init.data["dport"] != op.s1_port:
        steps.fail(
            "S1",
            f"S1 setup toward {s1}:{op.s1_port}",
            f"SCTP INIT to {init.data['dst']}:{init.data['dport']}",
            init,
        )
    request = steps.wait(
        "S1",
        lambda e: s1ap("S1SetupRequest")(e) and e.data.get("local") == s1,
        bounds.s1_init,
        f"an S1 Setup Request to {s1} over the SCTP association",
        init.seq,
    )
    check_s1_setup(steps, request, op.tac, op.plmn, op.cell_identity)
    answer = "S1SetupFailure" if op.s1_setup_failure else "S1SetupResponse"
    steps.wait("S1", s1ap(answer, "downlink"), bounds.step, f"the MME's {answer}", request.seq)
    evidence.assert_no_cleartext(steps)


def check_s1_setup(steps: Steps, request: Event, tac: int, plmn: str, cell_identity: int) -> None:
    """The S1 Setup Request carries what the HeMS configured: TAC, PLMN (Global eNB ID and broadcast), and the
    cell identity as the 28-bit Home eNB ID."""
    d = request.data
    wrong = []
    if d.get("tacs") != [tac]:
        wrong.append(f"TAC {d.get('tacs')} (expected {tac})")
    if d.get("plmn") != plmn or d.get("broadcast_plmns") != [plmn]:
        wrong.append(f"PLMN {d.get('plmn')} broadcast {d.get('broadcast_plmns')} (expected {plmn})")
    if d.get("enb_id") != cell_identity or d.get("enb_id_type") != "homeENB-ID":
        wrong.append(f"eNB ID {d.get('enb_id_type')} {d.get('enb_id')} (expected homeENB-ID {cell_identity})")
    if wrong:
        steps.fail(
            "S1",
            f"an S1 Setup Request with TAC {tac}, PLMN {plmn}, Home eNB ID {cell_identity} (as the HeMS set them)",
            "; ".join(wrong),
            request,
        )

"""The judge functions on timelines made by hand: each verdict passed, failed with the live run's wording, or not
observable with why; what the evidence cannot show is never a failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.capture import PcapngWriter
from bench.events import SegwKind, Source
from bench.evidence.judge_registration import judge_5_1_2_2, judge_5_1_3
from bench.evidence.judges import (
    FAILED,
    NOT_OBSERVABLE,
    PASSED,
    Span,
    judge_5_2_3,
    missing,
)
from bench.evidence.tshark import capture_end
from bench.timeline import Event, Timeline

TAC, EAID = (
    "Device.Services.FAPService.1.CellConfig.LTE.EPC.TAC",
    "Device.Services.FAPService.1.CellConfig.LTE.EPC.EAID",
)
KEY = "Device.ManagementServer.ParameterKey"
HEMS = {"hems": "serving-hems", "peer": "10.182.0.1", "serial": "MOCK0001"}


def spv_timeline(
    answer: str = "ok", read: str = "1234", key: str = "cm-5.2.3-1234", s1: bool = True
) -> list[Event]:
    tl = Timeline()
    add = tl.add
    add("hems", "inform", **HEMS, events=["6 CONNECTION REQUEST"], params={KEY: "old"}, oui="00D0B7",
        product_class="MockHeNB")  # fmt: skip
    add("hems", "rpc-sent", **HEMS, method="SetParameterValues", id="s-1", values={TAC: "1234", EAID: "7"},
        parameter_key="cm-5.2.3-1234")  # fmt: skip
    if answer == "ok":
        add("hems", "rpc-response", **HEMS, method="SetParameterValues", id="s-1", status=0)
    elif answer == "fault":
        add("hems", "rpc-fault", **HEMS, method=None, id="s-1", fault_code=9002, fault_string="Internal error",
            meaning="", param_faults=[])  # fmt: skip
    add("hems", "rpc-sent", **HEMS, method="GetParameterValues", id="s-2")
    add("hems", "rpc-response", **HEMS, method="GetParameterValues", id="s-2", values={TAC: read, EAID: "7"})
    add("hems", "session-end", **HEMS)
    if s1:
        add("mme", "s1ap", direction="uplink", message="ENBConfigurationUpdate", tacs=[1234])
    add("hems", "inform", **HEMS, events=["6 CONNECTION REQUEST"], params={KEY: key})
    return tl.events()


def outcomes(verdicts: Any) -> dict[str, str]:
    return {v.step: v.outcome for v in verdicts if v.step != "1"}


def test_a_set_applied_read_back_and_reported_passes() -> None:
    judged = judge_5_2_3(spv_timeline())
    assert judged.outcome == PASSED
    assert outcomes(judged.verdicts) == {"2": PASSED, "ParameterKey": PASSED, "S1": PASSED}
    assert judged.verdicts[0].outcome == NOT_OBSERVABLE  # the probes' intent is the bench's


def test_each_broken_step_fails_with_the_live_wording() -> None:
    fault = judge_5_2_3(spv_timeline(answer="fault")).failed()
    assert fault is not None and fault.step == "2"
    assert fault.message("x") == (
        f"TS 32.593 5.2.3 step 2: expected SetParameterValuesResponse to [{EAID!r}, {TAC!r}]; seen fault 9002 "
        "Internal error, per parameter []; evidence: x"
    )
    silent = judge_5_2_3(spv_timeline(answer="none")).failed()
    assert silent is not None and silent.step == "2" and "the session ended without it" in silent.seen
    read = judge_5_2_3(spv_timeline(read="1")).failed()
    assert read is not None and read.expected == f"the values just set, read back: {TAC} = 1234"
    assert read.seen == f"read back {TAC} = 1"
    stale = judge_5_2_3(spv_timeline(key="old")).failed()
    assert stale is not None and stale.step == "ParameterKey" and stale.seen == f"{KEY} = 'old'"
    s1 = judge_5_2_3(spv_timeline(s1=False) + [Event(99, 0, "mme", "sctp-up", {})]).failed()
    assert s1 is not None and s1.step == "S1"


def test_what_the_evidence_cannot_show_is_not_observable_never_failed() -> None:
    judged = judge_5_2_3([Event(0, 0.0, "segw", "ike-message", {"segw": "ssegw"})])
    assert judged.outcome == NOT_OBSERVABLE and judged.failed() is None
    assert all("not observable" in v.message("") for v in judged.verdicts)
    no_s1 = judge_5_2_3(spv_timeline(s1=False))  # no SCTP at all: the inner capture is missing
    assert outcomes(no_s1.verdicts)["S1"] == NOT_OBSERVABLE and no_s1.outcome == PASSED


def registration(serial: str = "MOCK0001") -> list[Event]:
    tl = Timeline()
    tl.add(
        "hems",
        "inform",
        **{**HEMS, "serial": serial},
        events=["1 BOOT"],
        oui="00D0B7",
        product_class="MockHeNB",
    )
    tl.add("hems", "rpc-sent", **HEMS, method="SetParameterValues", id="s-1", values={}, parameter_key="")
    tl.add("hems", "rpc-response", **HEMS, method="SetParameterValues", id="s-1", status=0)
    tl.add("mme", "sctp-init", dst="10.180.0.30", dport=36412)
    tl.add("mme", "s1ap", direction="uplink", message="S1SetupRequest", tacs=[1])
    tl.add("mme", "s1ap", direction="downlink", message="S1SetupResponse")
    return tl.events()


def test_a_capture_of_a_registration_only_is_no_5_2_3_failure() -> None:
    """The SetParameterValues is the HeMS's stimulus: a capture in which it never appears (the registration's
    own set has no 5.2.3 ParameterKey) shows no 5.2.3 procedure, and proves nothing against the unit."""
    judged = judge_5_2_3(registration())
    assert judged.failed() is None and judged.outcome == NOT_OBSERVABLE
    assert any("the procedure does not appear" in v.why for v in judged.verdicts)


def test_registration_identity_comes_from_the_caller() -> None:
    unknown = judge_5_1_3(registration())
    assert unknown.outcome == PASSED and NOT_OBSERVABLE in {v.outcome for v in unknown.verdicts}
    assert judge_5_1_3(registration(), ("00D0B7", "MockHeNB", "MOCK0001")).failed() is None
    wrong = judge_5_1_3(registration("OTHER"), ("00D0B7", "MockHeNB", "MOCK0001")).failed()
    assert wrong is not None and wrong.step == "1.1" and "serial 'OTHER' (expected 'MOCK0001')" in wrong.seen


def test_discovery_needs_esp_after_ike_auth_for_a_tunnel() -> None:
    tl = Timeline()
    tl.add("dns", "query", dns="public-dns", name="isegw.operator.example")
    tl.add("segw", "ike-message", segw="isegw", exchange="IKE_AUTH", response=True)
    refused = judge_5_1_2_2(tl.events())
    assert refused.outcome == FAILED and refused.verdicts[0].step == "1.3"
    tl.add("segw", "ike-up", segw="isegw")
    tl.add("dns", "query", dns="public-dns", name="ssegw.operator.example")
    tl.add("segw", "ike-up", segw="ssegw")
    judged = judge_5_1_2_2(tl.events(), span=Span(end=1e9, captures=("outer.pcapng",)))  # the outer link only
    assert judged.outcome == PASSED
    assert {v.step: v.outcome for v in judged.verdicts}["2.1"] == NOT_OBSERVABLE
    assert judge_5_1_2_2([]).outcome == NOT_OBSERVABLE


def test_an_absence_is_a_failure_only_where_the_evidence_runs_on_for_the_bound() -> None:
    events = spv_timeline()[:-1]  # no Inform after the set
    last = events[-1].t
    cut = judge_5_2_3(events, span=Span(end=last + 1.0, bound=10.0))
    key = next(v for v in cut.verdicts if v.step == "ParameterKey")
    assert key.outcome == NOT_OBSERVABLE and "the evidence ends" in key.why and cut.failed() is None
    ran_on = judge_5_2_3(events, span=Span(end=last + 30.0, bound=10.0)).failed()
    assert ran_on is not None and ran_on.step == "ParameterKey"
    live = judge_5_2_3(events).failed()  # a live timeline: the plan waited its bounds
    assert live is not None and live.expected == "the next Inform (after a connection request)"


def test_a_capture_says_how_long_it_ran_after_its_last_packet(tmp_path: Path) -> None:
    path = tmp_path / "c.pcapng"
    writer = PcapngWriter(path, 1, "hb-in-u0", started=1000.0)
    writer.write(b"\0" * 60, 1001.0)
    assert writer.close(1012.5) == 1012.5
    assert capture_end(path) == 1012.5  # the statistics block's isb_endtime, not the last packet's time
    (tmp_path / "old.pcapng").write_bytes(path.read_bytes()[:-40])  # cut inside the statistics block
    assert capture_end(tmp_path / "old.pcapng") is None


def test_an_absence_after_a_decoded_ike_sa_counts_from_its_ike_auth_response() -> None:
    tl = Timeline()
    # the SA's first ESP shows it at 130.0; its IKE_AUTH response was at 100.0
    sa = tl.add(Source.SEGW, SegwKind.IKE_UP, at=130.0, up_at=100.0, frames=[7])
    plain = tl.add(Source.SEGW, SegwKind.IKE_UP, at=130.0, frames=[9])
    span = Span(end=135.0, bound=10.0)  # the evidence ends 35 s after the response, 5 s after the first ESP
    assert missing("5.1.3", "1.1", "an Inform", "none", sa, span).outcome == FAILED
    cut = missing("5.1.3", "1.1", "an Inform", "none", plain, span)
    assert cut.outcome == NOT_OBSERVABLE and "ends 5.0 s after" in (cut.why or ""), cut

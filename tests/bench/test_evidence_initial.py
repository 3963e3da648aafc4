"""5.1.2.2's steps inside the Initial SeGW's tunnel, judged from its core side (inner-initial.pcapng) on timelines
made by hand: each negative twin the live plan fails there (hems_by_ip, wrong_device_id, no_bootstrap,
wrong_hems_password, reject_serving_assignment, keep_session_open, ignore_serving_assignment) fails the same step
with the twin's words; without that capture the steps are not observable; the decoder's close of a session."""

from __future__ import annotations

from typing import Any

from bench import cwmp
from bench.evidence.decode import Decoder, Names, is_initial_inner, is_inner
from bench.evidence.judge_initial import INITIAL_UNSEEN
from bench.evidence.judge_registration import inner_read, judge_5_1_2_2
from bench.evidence.judges import FAILED, NOT_OBSERVABLE, PASSED, Judged, Span
from bench.evidence.tshark import Frame
from bench.timeline import Event, Timeline

ID = ("00D0B7", "MockHeNB", "MOCK0001")
OUTER, INITIAL = "/run/x/test/outer.pcapng", "/run/x/test/inner-initial.pcapng"
VIP = "10.181.0.2"
HEMS = {"hems": "initial-hems", "peer": VIP, "capture": INITIAL}
SPAN = Span(end=1e9, bound=10.0, captures=(OUTER, INITIAL))


def discovery(
    query: str | None = VIP,
    inform: dict[str, Any] | None = None,
    auth_failed: bool = False,
    fault: bool = False,
    closed: bool = True,
    delete: bool = False,
    serving: bool = True,
) -> list[Event]:
    """A private discovery as the outer and the Initial SeGW's core side show it; each argument a twin's bug."""
    tl, t = Timeline(), 100.0
    tl.add("dhcp", "dhcpack", at=t, server="capture", detail="", capture=OUTER)
    tl.add("dns", "query", at=t + 0.1, dns="public-dns", name="isegw.operator.example", capture=OUTER)
    tl.add("segw", "ike-up", at=t + 0.2, segw="isegw", capture=OUTER)
    if query is not None:
        tl.add("dns", "query", at=t + 0.3, dns="private-dns", name="ihems.operator.example", client=query,
               capture=INITIAL)  # fmt: skip
    if auth_failed:
        tl.add("hems", "auth-challenge", at=t + 0.4, **HEMS, reason="HTTP 401", scheme=None)
        tl.add("hems", "auth-failed", at=t + 0.5, **HEMS, reason="HTTP 401", scheme=None)
        return tl.events()
    fields = {"serial": ID[2], "oui": ID[0], "product_class": ID[1], "events": ["0 BOOTSTRAP", "1 BOOT"]}
    tl.add("hems", "inform", at=t + 0.5, **HEMS, **{**fields, **(inform or {})})
    tl.add("hems", "rpc-sent", at=t + 0.6, **HEMS, method="SetParameterValues", id="a-1", serial=ID[2],
           values={"Device.Services.FAPService.1.FAPControl.LTE.Gateway.SecGWServer1": "ssegw.operator.example"})  # fmt: skip
    if fault:
        tl.add("hems", "rpc-fault", at=t + 0.7, **HEMS, id="a-1", serial=ID[2], method=None, fault_code=9003,
               fault_string="Invalid arguments", param_faults=[(
                   "Device.Services.FAPService.1.FAPControl.LTE.Gateway.SecGWServer1", 9007, "Invalid value")])  # fmt: skip
        return tl.events()
    tl.add(
        "hems",
        "rpc-response",
        at=t + 0.7,
        **HEMS,
        id="a-1",
        serial=ID[2],
        method="SetParameterValues",
        status=0,
    )
    tl.add(
        "hems", "session-end", at=t + 0.8, **HEMS, serial=ID[2], **({"closed": t + 0.81} if closed else {})
    )
    if delete:
        tl.add("segw", "ike-message", at=t + 0.9, segw="isegw", exchange="INFORMATIONAL", response=False,
               capture=OUTER)  # fmt: skip
    if serving:
        tl.add("dns", "query", at=t + 1.0, dns="public-dns", name="ssegw.operator.example", capture=OUTER)
        tl.add("segw", "ike-message", at=t + 1.1, segw="ssegw", exchange="IKE_SA_INIT", response=False,
               capture=OUTER)  # fmt: skip
        tl.add("segw", "ike-up", at=t + 1.2, segw="ssegw", capture=OUTER)
    return tl.events()


def steps(judged: Judged) -> dict[str, str]:
    return {v.step: v.outcome for v in judged.verdicts}


def failed_with(events: list[Event], step: str, *words: str, span: Span = SPAN) -> None:
    failed = judge_5_1_2_2(events, ID, span=span).failed()
    assert failed is not None and failed.step == step and failed.outcome == FAILED, failed
    text = failed.message("")
    assert all(w in text for w in words), text


def test_a_correct_discovery_passes_every_step_inside_the_tunnel() -> None:
    judged = judge_5_1_2_2(discovery(), ID, span=SPAN)
    assert judged.outcome == PASSED, [v.message("") for v in judged.verdicts]
    assert all(steps(judged)[s] == PASSED for s in ("1.4", "2.1", "3.2", "4", "6.3", "6.1"))


def test_each_twin_inside_the_tunnel_fails_its_step_with_its_words() -> None:
    failed_with(discovery(query=None), "1.4", "query for ihems.operator.example at the private DNS",
                "no such query")  # hems_by_ip  # fmt: skip
    failed_with(
        discovery(query="10.181.0.9"), "1.4", "no such query"
    )  # another unit's query is not this one's
    failed_with(discovery(inform={"serial": "MOCK0001X"}), "2.1", "DeviceId",
                "serial 'MOCK0001X' (expected 'MOCK0001')")  # wrong_device_id  # fmt: skip
    failed_with(discovery(inform={"events": ["1 BOOT"]}), "2.1", "0 BOOTSTRAP", "seen events ['1 BOOT']")
    failed_with(discovery(auth_failed=True), "2.1", "an Inform to the Initial HeMS", "auth-failed")
    failed_with(
        discovery(fault=True), "3.2", "fault 9003", "SecGWServer1", "9007"
    )  # reject_serving_assignment
    failed_with(discovery(closed=False, serving=False), "4", "release the TR-069 session with the initial-hems",
                "kept its connection to the initial-hems open")  # keep_session_open  # fmt: skip
    failed_with(discovery(serving=False), "6.3", "IKE SA from 00D0B7-MOCK0001.henb at the Serving SeGW")


def test_what_the_evidence_cannot_prove_is_not_observable() -> None:
    # The unit's FIN dropped with the SA it deleted (the DELETE is encrypted): the release is not observable.
    deleted = judge_5_1_2_2(discovery(closed=False, delete=True), ID, span=SPAN)
    assert deleted.failed() is None and steps(deleted)["4"] == NOT_OBSERVABLE
    # The evidence ends before the unit's bound ran out after the HeMS's empty answer, or after its IKE SA.
    short = Span(end=105.0, bound=10.0, captures=SPAN.captures)
    assert steps(judge_5_1_2_2(discovery(closed=False, serving=False), ID, span=short))["4"] == NOT_OBSERVABLE
    assert steps(judge_5_1_2_2(discovery(serving=False), ID, span=short))["6.3"] == NOT_OBSERVABLE
    assert steps(judge_5_1_2_2(discovery(auth_failed=True), ID, span=short))["2.1"] == NOT_OBSERVABLE
    # Without the Initial SeGW's core side, nothing inside its tunnel is judged: not even a buggy unit's.
    outer = Span(end=1e9, bound=10.0, captures=(OUTER,))
    for events in (discovery(query=None), discovery(fault=True), discovery(closed=False, serving=False)):
        judged = judge_5_1_2_2([e for e in events if e.data.get("capture") != INITIAL], ID, span=outer)
        assert judged.failed() is None
        assert all(steps(judged)[s] == NOT_OBSERVABLE for s in ("1.4", "2.1", "3.2", "4"))
        assert any(INITIAL_UNSEEN in v.why for v in judged.verdicts)


def test_the_initial_core_side_is_no_serving_inner_capture() -> None:
    assert is_inner(INITIAL) and is_initial_inner(INITIAL) and not is_initial_inner("/x/inner.pcapng")
    # 5.1.3 asks for the Serving SeGW's core side: the Initial one's does not stand for it.
    assert not inner_read([], Span(end=1e9, captures=(OUTER, INITIAL)))
    assert inner_read([], Span(end=1e9, captures=(OUTER, "/run/x/test/inner.pcapng")))


def _frame(n: int, t: float, src: str, dst: str, **fields: str) -> Frame:
    """A frame as tshark's fields give it: `http_file_data=` for http.file_data (the dots of a name are _)."""
    names = {"http_file_data": "http.file_data", "http_request_in": "http.request_in"}
    return Frame(INITIAL, n, t, {"ip.src": [src], "ip.dst": [dst], "tcp.stream": ["0"]}
                 | {names.get(k, k.replace("_", ".")): [v] for k, v in fields.items()})  # fmt: skip


def test_the_decoder_gives_the_session_end_the_units_close() -> None:
    inform = cwmp.inform(
        "urn:dslforum-org:cwmp-1-0", "1", cwmp.DeviceId("henb-bench", *ID), [("0 BOOTSTRAP", "")], [],
        "2026-12-07T20:00:00Z",
    )  # fmt: skip
    hems, http, tcp = "10.180.0.10", {"frame_protocols": "eth:ip:tcp:http"}, {"frame_protocols": "eth:ip:tcp"}
    frames = [
        _frame(1, 1.0, VIP, hems, http_request_method="POST", http_host="ihems.operator.example:7547",
               http_file_data=inform.decode(), **http),
        _frame(2, 1.1, hems, VIP, http_response_code="200", http_request_in="1",
               http_file_data=cwmp.inform_response("urn:dslforum-org:cwmp-1-0", "1").decode(), **http),
        _frame(3, 1.2, VIP, hems, http_request_method="POST", **http),
        _frame(4, 1.3, hems, VIP, http_response_code="204", http_request_in="3", **http),
        _frame(5, 1.4, hems, VIP, tcp_flags_fin="1", **tcp),  # the HeMS's own close is not the unit's
        _frame(6, 1.5, VIP, hems, tcp_flags_fin="1", **tcp),
    ]  # fmt: skip
    found = Decoder(Names({"ihems.operator.example": "initial-hems"})).decode(frames)
    end = next(f for f in found if f.kind == "session-end")
    assert end.data["hems"] == "initial-hems" and end.data["peer"] == VIP
    assert (end.data["closed"], end.data["closed_frame"]) == (1.5, 6)  # the unit's FIN, not the HeMS's
    kept = Decoder(Names({"ihems.operator.example": "initial-hems"})).decode(frames[:5])
    assert "closed" not in next(f for f in kept if f.kind == "session-end").data

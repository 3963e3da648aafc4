"""Tests for bench/hems/server.py: every RPC both ways over HTTP, session headers, and the XSD validity of
every message the HeMS sends."""

from __future__ import annotations

import threading

import pytest

from bench import cwmp
from bench.cwmp import CwmpFault
from bench.errors import DeviceError
from bench.hems import Hems
from bench.timeline import Timeline
from tests.bench.hems.cpe import NS0, NS1, NS2, SERIAL, Cpe, serve
from tests.bench.hems.xsd import validate
from tests.bench.test_cwmp import ACS_RPC_ARGS, ATC, CPE_RESPONSES


def validate_all_sent(h: Hems) -> int:
    """Run every XML message the HeMS sent through the XSD of its namespace; return how many."""
    n = 0
    for e in h.transcript():
        if e["direction"] == "out" and e["xml"].startswith("<?xml"):
            validate(cwmp.parse_envelope(e["xml"].encode()).ns, e["xml"].encode())
            n += 1
    return n


@pytest.mark.parametrize("ns", cwmp.CWMP_NAMESPACES)
def test_every_acs_rpc_in_one_session_with_typed_results(hems: tuple[Hems, int], timeline: Timeline, ns: str):
    h, port = hems
    calls = {m: h.queue_rpc(SERIAL, m, **a) for m, a in ACS_RPC_ARGS.items()}
    cpe = Cpe(port, ns=ns)
    cpe.inform()
    status, data = cpe.empty()
    seen = []
    while status == 200:
        env = cwmp.parse_envelope(data)
        assert env.ns == ns and env.id == calls[env.method].id
        seen.append(env.method)
        fields, _ = CPE_RESPONSES[env.method]
        status, data = cpe.post(cwmp.response(ns, env.id, env.method, **fields))
    assert (status, data) == (204, b"")
    assert seen == list(ACS_RPC_ARGS)  # one RPC per HTTP response, in queue order
    for method, call in calls.items():
        assert call.result(1) == CPE_RESPONSES[method][1], method
    responses = timeline.find(lambda e: e.kind == "rpc-response")
    assert [e.data["method"] for e in responses] == list(ACS_RPC_ARGS)
    assert responses[6].data["instance"] == 3 and responses[3].data["status"] == 1
    assert validate_all_sent(h) == 1 + len(ACS_RPC_ARGS)


@pytest.mark.parametrize("code", [9000, 9001, 9002, 9004, 9005, 9009, 9010, 9013, 9017, 9019])
def test_cpe_fault_is_a_typed_result_and_the_session_goes_on(
    hems: tuple[Hems, int], timeline: Timeline, code
):
    h, port = hems
    dl = h.queue_rpc(SERIAL, "Download", file_type="1 Firmware Upgrade Image", url="http://x/fw")
    after = h.queue_rpc(SERIAL, "GetRPCMethods")
    cpe = Cpe(port, ns=NS2)
    cpe.inform()
    env = cwmp.parse_envelope(cpe.empty()[1])
    status, data = cpe.post(cwmp.fault(NS2, env.id, code, "nope"))
    assert status == 200 and cwmp.parse_envelope(data).method == "GetRPCMethods"
    result = dl.result(1)
    assert isinstance(result, CwmpFault) and result.fault_code == code
    assert result.meaning == cwmp.FAULT_MEANINGS[code]
    ev = timeline.find(lambda e: e.kind == "rpc-fault")[0].data
    assert (ev["method"], ev["fault_code"], ev["meaning"]) == ("Download", code, cwmp.FAULT_MEANINGS[code])
    assert not after.done()


def test_wrong_response_to_a_pending_rpc_is_400(hems: tuple[Hems, int], timeline: Timeline):
    h, port = hems
    h.queue_rpc(SERIAL, "Reboot", command_key="r")
    cpe = Cpe(port)
    cpe.inform()
    env = cwmp.parse_envelope(cpe.empty()[1])
    status, _ = cpe.post(cwmp.response(NS1, env.id, "FactoryReset"))
    assert status == 400
    assert (
        "expected RebootResponse or Fault"
        in timeline.find(lambda e: e.kind == "bad-message")[0].data["reason"]
    )


@pytest.mark.parametrize("ns", [NS1, NS2])
def test_cpe_requests_are_answered_and_recorded(hems: tuple[Hems, int], timeline: Timeline, ns: str):
    h, port = hems
    cpe = Cpe(port, ns=ns)
    # A completed Download: M Download and 7 TRANSFER COMPLETE in one Inform, then the TransferComplete.
    cpe.inform(events=("M Download", "7 TRANSFER COMPLETE"))
    status, data = cpe.post(cwmp.transfer_complete(ns, "tc-1", "dl-7", 0, "", "2024-05-01T12:00:00Z"))
    env = cwmp.parse_envelope(data)
    assert (status, env.method, env.id, env.ns) == (200, "TransferCompleteResponse", "tc-1", ns)
    status, data = cpe.post(cwmp.autonomous_transfer_complete(ns, "atc-1", ATC))
    assert cwmp.parse_envelope(data).method == "AutonomousTransferCompleteResponse"
    status, data = cpe.post(cwmp.get_rpc_methods(ns, "g-1"))
    env = cwmp.parse_envelope(data)
    assert env.method == "GetRPCMethodsResponse"
    assert cwmp.read_result(env, "GetRPCMethods") == cwmp.MethodsResult(
        ["Inform", "TransferComplete", "AutonomousTransferComplete", "GetRPCMethods", "RequestDownload"]
    )
    status, data = cpe.post(cwmp.request_download(ns, "rd-1", "1 Firmware Upgrade Image", {"Version": "2"}))
    assert cwmp.parse_envelope(data).method == "RequestDownloadResponse"
    assert cpe.empty() == (204, b"")
    inform = timeline.find(lambda e: e.kind == "inform")[0].data
    assert inform["events"] == ["M Download", "7 TRANSFER COMPLETE"]
    reqs = [e.data for e in timeline.find(lambda e: e.kind == "cpe-rpc")]
    assert [r["method"] for r in reqs] == [
        "TransferComplete",
        "AutonomousTransferComplete",
        "GetRPCMethods",
        "RequestDownload",
    ]
    assert (reqs[0]["command_key"], reqs[0]["fault_code"], reqs[0]["serial"]) == ("dl-7", 0, SERIAL)
    assert reqs[1]["transfer_url"] == ATC.transfer_url and reqs[3]["args"] == {"Version": "2"}
    assert validate_all_sent(h) == 5


def test_get_rpc_methods_in_cwmp_1_0_lists_only_1_0_methods(hems: tuple[Hems, int]):
    cpe = Cpe(hems[1], ns=NS0)
    cpe.inform()
    env = cwmp.parse_envelope(cpe.post(cwmp.get_rpc_methods(NS0, "g"))[1])
    result = cwmp.read_result(env, "GetRPCMethods")
    assert isinstance(result, cwmp.MethodsResult) and "AutonomousTransferComplete" not in result.methods
    validate(NS0, cwmp.get_rpc_methods_response(NS0, "g", result.methods))


def test_cpe_request_outside_a_session_is_400(hems: tuple[Hems, int], timeline: Timeline):
    status, _ = Cpe(hems[1]).post(cwmp.transfer_complete(NS1, "t", "k"))
    assert status == 400
    assert "outside a session" in timeline.find(lambda e: e.kind == "bad-message")[0].data["reason"]


def test_hold_requests_set_while_rpcs_are_queued_and_violations_recorded(timeline: Timeline):
    h, port = serve(timeline, hold_requests=True)
    try:
        call = h.queue_rpc(SERIAL, "GetParameterValues", names=["A."])
        cpe = Cpe(port, ns=NS1)
        env = cpe.inform()
        assert env.hold_requests is True
        # The unit ignores HoldRequests and sends a request: answered, still held, and recorded.
        env = cwmp.parse_envelope(cpe.post(cwmp.transfer_complete(NS1, "t", "k"))[1])
        assert (env.method, env.hold_requests) == ("TransferCompleteResponse", True)
        env = cwmp.parse_envelope(cpe.empty()[1])
        assert (env.method, env.hold_requests) == ("GetParameterValues", True)
        # The empty end lifts the hold: the unit may then send its requests in the same session.
        assert cpe.post(cwmp.get_parameter_values_response(NS1, env.id, [("A.B", "1", "int")])) == (204, b"")
        assert call.result(1) == cwmp.GpvResult({"A.B": "1"})
        env = cwmp.parse_envelope(cpe.post(cwmp.transfer_complete(NS1, "t2", "k2"))[1])
        assert (env.method, env.hold_requests) == ("TransferCompleteResponse", None)
        assert cpe.empty() == (204, b"")
        violations = timeline.find(lambda e: e.kind == "protocol-violation")
        assert len(violations) == 1 and "HoldRequests" in violations[0].data["reason"]
        assert [e.kind for e in timeline].count("session-end") == 2
        # Nothing queued at the next Inform: no HoldRequests header at all.
        assert Cpe(port, ns=NS1).inform().hold_requests is None
        assert validate_all_sent(h) == 5
    finally:
        h.stop()


def test_session_timeout_and_use_cwmp_version(timeline: Timeline):
    h, port = serve(timeline, session_timeout=45, max_version="1.3")
    try:
        env = Cpe(port, ns=NS2).inform(supported_versions="1.0,1.2,1.3,1.4")
        assert (env.session_timeout, env.use_version) == (45, "1.3")
        assert timeline.find(lambda e: e.kind == "inform")[0].data["cwmp_version"] == "1.3"
        # Without SupportedCWMPVersions no UseCWMPVersion; 1-0 and 1-1 never carry the 1.3/1.4 headers.
        env = Cpe(port, serial="SN-B", ns=NS2).inform()
        assert (env.session_timeout, env.use_version) == (45, None)
        env = Cpe(port, serial="SN-C", ns=NS1).inform()
        assert (env.session_timeout, env.use_version, env.ns) == (None, None, NS1)
        # No common version: fault 8006, recorded.
        status, data = Cpe(port, serial="SN-D", ns=NS2).post(
            cwmp.inform(
                NS2,
                "v",
                cwmp.DeviceId("A", "B", "C", "SN-D"),
                [],
                [],
                "2024-01-01T00:00:00Z",
                supported_versions="1.4,2.0",
            )
        )
        assert status == 500
        f = cwmp.read_fault(cwmp.parse_envelope(data))
        assert f.fault_code == 8006
        assert timeline.find(lambda e: e.kind == "version-mismatch")[0].data["offered"] == "1.4,2.0"
        assert validate_all_sent(h) == 4
    finally:
        h.stop()


def test_wait_inform_and_call_api(hems: tuple[Hems, int], timeline: Timeline):
    h, port = hems
    results = []

    def procedure() -> None:
        h.wait_inform(SERIAL, ["1 BOOT"], timeout=30)
        results.append(
            h.call(SERIAL, "GetParameterNames", timeout=5, parameter_path="Device.", next_level=True)
        )

    t = threading.Thread(target=procedure)
    t.start()
    cpe = Cpe(port)
    cpe.inform(events=("0 BOOTSTRAP", "1 BOOT"))
    h.idle_wait = 2.0  # let the procedure thread queue its call while the empty POST is held
    env = cwmp.parse_envelope(cpe.empty()[1])
    assert env.method == "GetParameterNames"
    cpe.post(cwmp.response(NS1, env.id, "GetParameterNames", params={"Device.X": True}))
    t.join(5)
    assert results == [cwmp.GpnResult({"Device.X": True})]


def test_wait_inform_timeout_says_what_and_last_seen(hems: tuple[Hems, int]):
    h, port = hems
    with pytest.raises(
        DeviceError, match=r"an Inform with \[6 CONNECTION REQUEST\] from unit SN-A.*never sent"
    ):
        h.wait_inform(SERIAL, ["6 CONNECTION REQUEST"], timeout=0.1)
    Cpe(port).inform(events=("2 PERIODIC",))
    with pytest.raises(DeviceError, match=r"last from the unit: Inform \[2 PERIODIC\]"):
        h.wait_inform(SERIAL, ["6 CONNECTION REQUEST"], timeout=0.1)
    assert h.wait_inform(SERIAL, ["2 PERIODIC"], timeout=0.1).data["serial"] == SERIAL
    with pytest.raises(DeviceError, match=r"ScheduleInform response from unit SN-A.*never sent"):
        h.call(SERIAL, "ScheduleInform", timeout=0.1, delay_seconds=1)

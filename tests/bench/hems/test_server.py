"""Tests for bench/hems/server.py: CWMP sessions driven over real HTTP on 127.0.0.1."""

from __future__ import annotations

import gc
import socket
import threading
import time
from pathlib import Path

import pytest

from bench import cwmp
from bench.cwmp import CwmpFault
from bench.errors import DeviceError, InfraError
from bench.hems import GpvResult, Hems, SpvResult, session
from bench.timeline import Event, Timeline
from tests.bench.hems.cpe import Cpe, serve

NS0, NS1, NS2 = cwmp.CWMP_NAMESPACES
SERIAL = "SN-A"


def kinds(timeline: Timeline) -> list[str]:
    return [e.kind for e in timeline]


def only(timeline: Timeline, kind: str) -> Event:
    found = timeline.find(lambda e: e.kind == kind)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("ns", cwmp.CWMP_NAMESPACES)
def test_inform_answered_in_the_unit_namespace_with_id_echoed(
    hems: tuple[Hems, int], timeline: Timeline, ns: str
):
    h, port = hems
    cpe = Cpe(port, ns=ns)
    env = cpe.inform(events=("0 BOOTSTRAP", "1 BOOT"), cwmp_id="abc-123")
    assert (env.method, env.ns, env.id) == ("InformResponse", ns, "abc-123")
    assert env.body.findtext("MaxEnvelopes") == "1"
    assert cpe.cookie
    ev = only(timeline, "inform")
    assert ev.source == "hems"
    assert ev.data["hems"] == "initial-hems" and ev.data["peer"] == "127.0.0.1"
    assert ev.data["serial"] == SERIAL and ev.data["oui"] == "00259E" and ev.data["product_class"] == "FAP-1"
    assert ev.data["manufacturer"] == "Acme" and ev.data["cwmp_ns"] == ns
    assert ev.data["events"] == ["0 BOOTSTRAP", "1 BOOT"]
    assert ev.data["params"] == {"Device.DeviceInfo.SoftwareVersion": "1.0"}
    assert cpe.empty() == (204, b"")
    assert kinds(timeline) == ["inform", "session-end"]
    assert only(timeline, "session-end").data["serial"] == SERIAL


def test_inform_without_id_gets_response_without_header(hems: tuple[Hems, int]):
    env = Cpe(hems[1]).inform(cwmp_id=None)
    assert env.method == "InformResponse" and env.id is None


def test_spv_queued_before_session_is_sent_after_empty_post(hems: tuple[Hems, int], timeline: Timeline):
    h, port = hems
    params = [("Device.ManagementServer.URL", "https://serving.hems:7547/", "xsd:string")]
    call = h.queue_rpc(SERIAL, "SetParameterValues", params=params, parameter_key="pk-1")
    cpe = Cpe(port, ns=NS0)
    cpe.inform()
    assert not call.done()
    status, data = cpe.empty()  # no Content-Type, as TR-069 CPEs send it
    assert status == 200
    env = cwmp.parse_envelope(data)
    assert (env.method, env.ns) == ("SetParameterValues", NS0)
    assert env.id and env.id != "cpe-1" and env.id == call.id
    assert env.body.findtext("ParameterList/ParameterValueStruct/Name") == "Device.ManagementServer.URL"
    assert env.body.findtext("ParameterKey") == "pk-1"
    assert cpe.post(cwmp.set_parameter_values_response(NS0, env.id, 0)) == (204, b"")
    assert call.result(1) == SpvResult(0)
    assert kinds(timeline) == ["inform", "rpc-sent", "rpc-response", "session-end"]
    sent = only(timeline, "rpc-sent").data
    assert (sent["serial"], sent["method"], sent["id"]) == (SERIAL, "SetParameterValues", env.id)
    got = only(timeline, "rpc-response").data
    assert (got["serial"], got["method"], got["status"]) == (SERIAL, "SetParameterValues", 0)


def test_spv_fault_with_per_parameter_faults(hems: tuple[Hems, int], timeline: Timeline):
    h, port = hems
    call = h.queue_rpc(
        SERIAL, "SetParameterValues", params=[("A.B", "x", "int"), ("A.C", "1", "int")], parameter_key=""
    )
    cpe = Cpe(port)
    cpe.inform()
    env = cwmp.parse_envelope(cpe.empty()[1])
    faults = [("A.B", 9007, "not an int"), ("A.C", 9008, "read-only")]
    assert cpe.post(cwmp.fault(NS1, env.id, 9003, "Invalid arguments", faults)) == (204, b"")
    result = call.result(1)
    assert isinstance(result, CwmpFault)
    assert (result.fault_code, result.fault_string, result.faultcode) == (9003, "Invalid arguments", "Client")
    assert result.param_faults == faults
    ev = only(timeline, "rpc-fault").data
    assert (ev["serial"], ev["fault_code"], ev["fault_string"]) == (SERIAL, 9003, "Invalid arguments")
    assert ev["param_faults"] == faults


def test_gpv_then_spv_one_rpc_per_response(hems: tuple[Hems, int], timeline: Timeline):
    h, port = hems
    gpv = h.queue_rpc(SERIAL, "GetParameterValues", names=["Device.DeviceInfo.", "Device.X"])
    cpe = Cpe(port, ns=NS2)
    cpe.inform()
    env = cwmp.parse_envelope(cpe.empty()[1])
    assert env.method == "GetParameterValues"
    assert [s.text for s in env.body.find("ParameterNames")] == ["Device.DeviceInfo.", "Device.X"]
    # Queued while the unit's session is open and an answer is pending: goes out in this same session.
    spv = h.queue_rpc(SERIAL, "SetParameterValues", params=[("Device.X", "2", "int")], parameter_key="k")
    status, data = cpe.post(cwmp.get_parameter_values_response(NS2, env.id, [("Device.X", "1", "xsd:int")]))
    assert status == 200
    env2 = cwmp.parse_envelope(data)
    assert env2.method == "SetParameterValues" and env2.id != env.id
    assert gpv.result(1) == GpvResult({"Device.X": "1"})
    assert not spv.done()
    assert cpe.post(cwmp.set_parameter_values_response(NS2, env2.id, 1))[0] == 204
    assert spv.result(1) == SpvResult(1)
    responses = timeline.find(lambda e: e.kind == "rpc-response")
    assert [r.data.get("values", r.data.get("status")) for r in responses] == [{"Device.X": "1"}, 1]


def test_rpc_queued_while_empty_post_is_held(timeline: Timeline):
    h, port = serve(timeline, idle_wait=3.0)
    try:
        cpe = Cpe(port)
        cpe.inform()
        calls = []
        threading.Timer(
            0.3, lambda: calls.append(h.queue_rpc(SERIAL, "GetParameterValues", names=["A."]))
        ).start()
        status, data = cpe.empty()
        assert status == 200 and cwmp.parse_envelope(data).method == "GetParameterValues"
        assert calls and cwmp.parse_envelope(data).id == calls[0].id
    finally:
        h.stop()


def test_session_end_status_200_with_empty_body(timeline: Timeline):
    h, port = serve(timeline, session_end_status=200)
    try:
        cpe = Cpe(port)
        cpe.inform()
        assert cpe.empty() == (200, b"")
        assert kinds(timeline) == ["inform", "session-end"]
    finally:
        h.stop()


def test_stray_empty_post_without_session(hems: tuple[Hems, int], timeline: Timeline):
    cpe = Cpe(hems[1])
    assert cpe.empty() == (204, b"")
    cpe.inform()
    assert cpe.empty() == (204, b"")
    assert cpe.empty() == (204, b"")  # after the session ended, with the stale cookie
    assert kinds(timeline) == ["inform", "session-end"]


BAD_BODIES = {
    "xxe": b'<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><e>&x;</e>',
    "junk": bytes(range(256)),
    "truncated": cwmp.inform_response(NS1, "x")[:60],
    "wrong-namespace": cwmp.set_parameter_values_response(NS1, "x", 0).replace(NS1.encode(), b"urn:evil"),
    "oversized": b"<a>" + b" " * (cwmp.MAX_BODY + 10) + b"</a>",
}


def test_bad_bodies_get_400_and_the_hems_keeps_serving(hems: tuple[Hems, int], timeline: Timeline):
    h, port = hems
    bad = Cpe(port, serial="SN-BAD")
    for name, body in BAD_BODIES.items():
        status, data = bad.post(body)
        assert status == 400, name
        assert data.startswith(b"bad CWMP message"), name
    events = timeline.find(lambda e: e.kind == "bad-message")
    assert [e.data["size"] for e in events] == [len(b) for b in BAD_BODIES.values()]
    assert "DOCTYPE" in events[0].data["reason"]
    assert "exceeds" in events[-1].data["reason"]
    assert all(e.data["hems"] == "initial-hems" and e.data["peer"] == "127.0.0.1" for e in events)
    good = Cpe(port, serial="SN-GOOD")
    assert good.inform().method == "InformResponse"
    assert good.empty() == (204, b"")
    assert [e.data.get("serial") for e in timeline.find(lambda e: e.kind == "session-end")] == ["SN-GOOD"]


def test_bad_inform_missing_serial_is_400(hems: tuple[Hems, int], timeline: Timeline):
    body = cwmp.inform(NS1, "1", cwmp.DeviceId("A", "B", "C", "D"), [], [], "2024-01-01T00:00:00Z")
    status, _ = Cpe(hems[1]).post(body.replace(b"<SerialNumber>D</SerialNumber>", b""))
    assert status == 400
    assert "SerialNumber" in only(timeline, "bad-message").data["reason"]


def test_unknown_cpe_method_gets_fault_8000(hems: tuple[Hems, int], timeline: Timeline):
    cpe = Cpe(hems[1], ns=NS2)
    cpe.inform()
    body = cwmp.set_parameter_values_response(NS2, "req-9", 0).replace(
        b"SetParameterValuesResponse", b"RequestSomethingOdd"
    )
    status, data = cpe.post(body)
    assert status == 500
    env = cwmp.parse_envelope(data)
    assert (env.ns, env.id, env.method) == (NS2, "req-9", "Fault")
    f = cwmp.read_fault(env)
    assert f.fault_code == 8000 and "RequestSomethingOdd" in f.fault_string
    assert cpe.empty() == (204, b"")  # the session survives
    assert kinds(timeline) == ["inform", "unsupported-rpc", "session-end"]
    ev = only(timeline, "unsupported-rpc").data
    assert (ev["serial"], ev["method"], ev["id"]) == (SERIAL, "RequestSomethingOdd", "req-9")


def test_body_over_the_http_limit_is_400(hems: tuple[Hems, int], timeline: Timeline):
    h, port = hems
    status, data = Cpe(port).post(b"<a>" + b" " * (8 * cwmp.MAX_BODY) + b"</a>")
    assert status == 400 and data.startswith(b"bad CWMP message")
    assert only(timeline, "bad-message").data["size"] == 8 * cwmp.MAX_BODY + 7
    assert Cpe(port).inform().method == "InformResponse"


def test_response_without_pending_rpc_is_400(hems: tuple[Hems, int], timeline: Timeline):
    cpe = Cpe(hems[1])
    cpe.inform()
    assert cpe.post(cwmp.set_parameter_values_response(NS1, "zz", 0))[0] == 400
    assert "no RPC is pending" in only(timeline, "bad-message").data["reason"]


def test_comma_separated_and_stale_cookies(hems: tuple[Hems, int]):
    h, port = hems
    call_a = h.queue_rpc("SN-1", "GetParameterValues", names=["A."])
    call_b = h.queue_rpc("SN-2", "GetParameterValues", names=["B."])
    a, b = Cpe(port, serial="SN-1"), Cpe(port, serial="SN-2")
    a.inform()
    b.inform()  # same peer address: only the cookie tells the two units apart now
    status, data = a.empty(cookie=f"foo=bar, hems_session={a.cookie}, other=1")
    assert status == 200 and cwmp.parse_envelope(data).id == call_a.id
    # A stale cookie falls back to the peer address, whose latest session is b's.
    status, data = b.empty(cookie="hems_session=stale0000; x=y")
    assert status == 200 and cwmp.parse_envelope(data).id == call_b.id


def test_rpc_timeout_names_rpc_unit_and_last_message(hems: tuple[Hems, int]):
    h, port = hems
    never = h.queue_rpc("SN-GONE", "GetParameterValues", names=["A."])
    with pytest.raises(DeviceError) as exc:
        never.result(0.2)
    msg = str(exc.value)
    assert "GetParameterValues" in msg and "SN-GONE" in msg and "initial-hems" in msg
    assert "never sent anything" in msg and "never sent: no session" in msg

    call = h.queue_rpc(SERIAL, "SetParameterValues", params=[("A", "1", "int")], parameter_key="")
    cpe = Cpe(port)
    cpe.inform(events=("2 PERIODIC",))
    t0 = time.monotonic()
    with pytest.raises(DeviceError) as exc:
        call.result(0.2)
    assert time.monotonic() - t0 < 2
    assert "Inform [2 PERIODIC]" in str(exc.value)
    cpe.empty()
    with pytest.raises(DeviceError, match=f"sent as ID {call.id}.*last from the unit: empty POST"):
        call.result(0.1)


def test_queue_rpc_rejects_unknown_method_and_bad_args(hems: tuple[Hems, int]):
    h, _ = hems
    with pytest.raises(ValueError, match="Kick"):
        h.queue_rpc(SERIAL, "Kick")
    with pytest.raises(TypeError, match="GetParameterValues takes names"):
        h.queue_rpc(SERIAL, "GetParameterValues", params=[])


def test_transcript_records_both_directions(hems: tuple[Hems, int], tmp_path: Path):
    h, port = hems
    cpe = Cpe(port)
    cpe.inform()
    cpe.empty()
    tr = h.transcript()
    assert [(e["direction"], e["status"]) for e in tr] == [
        ("in", 200),
        ("out", 200),
        ("in", 204),
        ("out", 204),
    ]
    assert "Inform" in tr[0]["xml"] and "InformResponse" in tr[1]["xml"] and tr[2]["xml"] == ""
    assert all(e["peer"] == "127.0.0.1" and e["t"] > 0 for e in tr)
    path = tmp_path / "acs.txt"
    h.write_transcript(path)
    text = path.read_text()
    assert "<- from 127.0.0.1 HTTP 200" in text and "InformResponse" in text and "(empty body)" in text


def test_transcript_is_read_back_from_its_file_with_slices_and_after_stop(timeline: Timeline):
    h, port = serve(timeline)
    cpe = Cpe(port)
    cpe.inform()
    cpe.empty()
    assert cpe.post(b"\xff\xfe not utf-8 <Envelope")[0] == 400
    h.stop()
    tr = h.transcript()
    assert len(tr) == 6
    assert tr[4]["direction"] == "in" and tr[4]["status"] == 400 and "\ufffd" in tr[4]["xml"]
    assert tr[5]["xml"].startswith("bad CWMP message")
    assert h.transcript(2) == tr[2:] and h.transcript(-2) == tr[-2:] and h.transcript(6) == []
    assert [e["t"] for e in tr] == sorted(e["t"] for e in tr)
    tr[0]["xml"] = "changed"
    assert "Inform" in h.transcript()[0]["xml"]


def test_stop_releases_the_port(timeline: Timeline):
    h, port = serve(timeline)
    h.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_start_on_a_closed_socket_is_an_infra_error(timeline: Timeline):
    sock = socket.socket()
    sock.close()
    h = Hems("broken", timeline)
    with pytest.raises(InfraError, match="HeMS broken did not start"):
        h.start(sock)
    h.stop()


def test_a_serving_hems_keeps_the_heap_out_of_full_collections_and_gives_it_back_at_stop(
    monkeypatch: pytest.MonkeyPatch, timeline: Timeline
) -> None:
    monkeypatch.setattr(session, "FREEZE_EVERY", 4)
    gc.unfreeze()
    h, port = serve(timeline)
    try:
        assert gc.get_freeze_count() > 0  # frozen at start: imports and the test session leave the walk
        gc.unfreeze()
        cpe = Cpe(port)
        cpe.inform()
        assert cpe.empty() == (204, b"")
        assert gc.get_freeze_count() == 0  # 2 events: not yet
        cpe.inform()
        assert cpe.empty() == (204, b"")  # the 4th event: frozen again
        assert gc.get_freeze_count() > 0
        first = timeline.events()[0]
        assert not any(o is first for o in gc.get_objects())
    finally:
        h.stop()
    assert gc.get_freeze_count() == 0  # stopped: everything is the collector's again


def test_refusals_say_why_the_hems_refused_the_unit_in_its_own_words() -> None:
    tl = Timeline()
    hems = Hems("initial-hems", tl)
    tl.add("hems", "tls-handshake-failed", hems="initial-hems", peer="198.51.100.9", cert="expired",
           reason="the client sent TLS alert 'certificate expired'", alert="certificate expired")  # fmt: skip
    for _ in range(2):  # said once however often it happened
        tl.add(
            "hems",
            "auth-failed",
            hems="initial-hems",
            peer="10.181.0.1",
            reason="wrong password for user 'u'",
        )
    tl.add("hems", "auth-failed", hems="serving-hems", peer="10.182.0.1", reason="not this HeMS's")
    tl.add("hems", "tls-handshake-failed", hems="initial-hems", peer="198.51.100.9", cert="own",
           reason="no completed handshake within 30 s", alert=None)  # fmt: skip
    assert hems.refusals(tl.events()) == (
        "initial-hems refused the unit: TLS handshake from 198.51.100.9 not completed: the client sent TLS alert "
        "'certificate expired', shown its expired certificate | HTTP 401 to 10.181.0.1: wrong password for user "
        "'u' | TLS handshake from 198.51.100.9 not completed: no completed handshake within 30 s"
    )
    assert hems.refusals(tl.events(), limit=1).endswith(" and 2 more")
    assert Hems("serving-hems", tl).refusals([]) == ""

"""Safety: a corpus of hostile bodies fed to the HeMS over HTTP is recorded and answered, while the HeMS keeps
serving another unit's session in between every one of them."""

from __future__ import annotations

import socket
import threading

from bench import cwmp
from bench.timeline import Timeline
from tests.bench.hems.cpe import NS1, Cpe, serve
from tests.bench.test_cwmp import HOSTILE

# Beyond the codec corpus: things only a server sees.
EXTRA: dict[str, bytes] = {
    "gzip-magic": b"\x1f\x8b\x08\x00" + bytes(200),
    "utf8-garbage": "\udcff".encode("utf-8", "surrogatepass") * 10,
    "response-with-no-session": cwmp.set_parameter_values_response(NS1, "z", 0),
    "inform-empty-serial": cwmp.inform(
        NS1, "1", cwmp.DeviceId("A", "B", "C", ""), [], [], "2024-01-01T00:00:00Z"
    ),
    "deep-nesting": b"<a>" * 5000 + b"</a>" * 5000,
}


def test_hostile_corpus_is_recorded_and_answered_while_another_unit_is_served():
    timeline = Timeline()
    h, port = serve(timeline)
    try:
        good = Cpe(port, serial="SN-GOOD", ns=NS1)
        calls = []
        corpus = {**{k: v[0] for k, v in HOSTILE.items()}, **EXTRA}
        corpus.pop("empty")  # an empty body is an empty POST, not a hostile one
        for name, body in corpus.items():
            # The good unit is mid-session while the hostile body arrives on another connection.
            calls.append(h.queue_rpc("SN-GOOD", "GetParameterValues", names=[name]))
            good.inform()
            bad = Cpe(port, serial="SN-BAD")
            status, data = bad.post(body, content_type="text/xml")
            assert status == 400, (name, status, data)
            assert data.startswith(b"bad CWMP message"), name
            env = cwmp.parse_envelope(good.empty()[1])
            assert env.body.findtext("ParameterNames/string") == name
            assert good.post(cwmp.get_parameter_values_response(NS1, env.id, [])) == (204, b"")
        assert all(c.result(1) == cwmp.GpvResult({}) for c in calls)
        bad_events = timeline.find(lambda e: e.kind == "bad-message")
        assert [e.data["size"] for e in bad_events] == [len(b) for b in corpus.values()]
        assert all(e.data["reason"] for e in bad_events)
        assert not timeline.find(lambda e: e.kind == "hems-error")
        # Recorded in the transcript as received (decoded leniently), each with its answer.
        tr = h.transcript()
        assert sum(1 for e in tr if e["direction"] == "out" and e["status"] == 400) == len(corpus)
        assert len(timeline.find(lambda e: e.kind == "session-end")) == len(corpus)
    finally:
        h.stop()


def test_garbage_on_the_socket_and_parallel_floods_do_not_stop_the_hems():
    timeline = Timeline()
    h, port = serve(timeline)
    try:
        for junk in (
            b"\x16\x03\x01\x02\x00" + bytes(64),
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"NOT HTTP\r\n\r\n",
        ):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(junk)
                s.recv(1024)
        errors: list[BaseException] = []

        def flood(i: int) -> None:
            try:
                cpe = Cpe(port, serial=f"SN-F{i}")
                for name, (body, _) in list(HOSTILE.items())[:6]:
                    assert cpe.post(body, content_type="text/xml")[0] in (400, 204), name
                cpe.inform()
                assert cpe.empty() == (204, b"")
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=flood, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert not errors, errors
        assert len(timeline.find(lambda e: e.kind == "session-end")) == 8
        assert not timeline.find(lambda e: e.kind == "hems-error")
    finally:
        h.stop()

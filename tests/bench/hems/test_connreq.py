"""Tests for bench/hems/connreq.py: a fake CPE HTTP server checks the Digest, then opens a session."""

from __future__ import annotations

import hashlib
import http.server
import secrets
import socket
import threading
import time
from pathlib import Path

import pytest

from bench import cwmp
from bench.errors import DeviceError, InfraError
from bench.hems import Hems
from bench.hems.connreq import CrPolicy
from bench.httpauth import parse_auth_params
from bench.timeline import Bound, Timeline
from tests.bench.hems.cpe import NS1, SERIAL, Cpe

CR_USER, CR_PASS = "acs", "cr-secret"
REALM = "fake-cpe"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class FakeCpe:
    """A CPE's connection request server (its own Digest check), which then runs a session with the HeMS."""

    def __init__(self, hems_port: int, scheme: str = "digest") -> None:
        self.hems_port = hems_port
        self.nonce = secrets.token_hex(8)
        self.hits: list[tuple[str, str]] = []
        self.refuse: list[int] = []  # statuses for the next authenticated requests (then 200), e.g. [503]
        self.sessions: list[threading.Thread] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                auth = self.headers.get("Authorization", "")
                fake.hits.append((self.path, auth.split(" ")[0]))
                if scheme == "basic":
                    import base64

                    ok = auth == "Basic " + base64.b64encode(f"{CR_USER}:{CR_PASS}".encode()).decode()
                    challenge = f'Basic realm="{REALM}"'
                else:
                    p = parse_auth_params(auth[7:]) if auth.startswith("Digest ") else {}
                    ha1 = md5(f"{CR_USER}:{REALM}:{CR_PASS}")
                    ha2 = md5(f"GET:{p.get('uri', '')}")
                    want = md5(f"{ha1}:{fake.nonce}:{p.get('nc')}:{p.get('cnonce')}:auth:{ha2}")
                    ok = (
                        p.get("username") == CR_USER
                        and p.get("response") == want
                        and p.get("uri") == self.path
                    )
                    challenge = f'Digest realm="{REALM}", qop="auth", nonce="{fake.nonce}", algorithm=MD5'
                if not ok:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", challenge)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if fake.refuse:
                    self.send_response(fake.refuse.pop(0))
                    self.send_header("Retry-After", "3")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                session = threading.Thread(target=fake.session, daemon=True)
                fake.sessions.append(session)
                session.start()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cr/{SERIAL}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def session(self) -> None:
        cpe = Cpe(self.hems_port)
        cpe.inform(events=("6 CONNECTION REQUEST",))
        status, data = cpe.empty()
        while status == 200:
            env = cwmp.parse_envelope(data)
            status, data = cpe.post(cwmp.response(NS1, env.id, env.method, params=[("Device.X", "7", "int")]))

    def close(self) -> None:
        """Stop answering, and let the sessions it opened end while their HeMS still runs (one that posts its
        last message after the test's HeMS is gone dies on RemoteDisconnected, blamed on whichever test runs)."""
        self.server.shutdown()
        self.server.server_close()
        for session in self.sessions:
            session.join(10)


def boot(port: int, url: str) -> None:
    cpe = Cpe(port)
    cpe.inform(params=[("Device.ManagementServer.ConnectionRequestURL", url, "xsd:string")])
    assert cpe.empty() == (204, b"")


@pytest.mark.parametrize("scheme", ["digest", "basic"])
def test_call_with_connection_request(hems: tuple[Hems, int], timeline: Timeline, scheme: str):
    h, port = hems
    fake = FakeCpe(port, scheme)
    try:
        boot(port, fake.url)
        assert h.connection_request_url(SERIAL) == fake.url
        result = h.call(
            SERIAL,
            "GetParameterValues",
            timeout=5,
            connection_request=True,
            cr_username=CR_USER,
            cr_password=CR_PASS,
            names=["Device.X"],
        )
        assert result == cwmp.GpvResult({"Device.X": "7"})
        # First without credentials, then answering the challenge.
        assert fake.hits == [(f"/cr/{SERIAL}", ""), (f"/cr/{SERIAL}", scheme.title())]
        cr = timeline.find(lambda e: e.kind == "connection-request")[0].data
        assert (cr["serial"], cr["url"], cr["status"], cr["auth"], cr["error"]) == (
            SERIAL,
            fake.url,
            200,
            scheme,
            "",
        )
        # The unit may open its session before the HeMS has recorded the answer to its GET: no order here.
        assert timeline.find(lambda e: e.kind == "inform")[-1].data["events"] == ["6 CONNECTION REQUEST"]
    finally:
        fake.close()


def test_connect_returns_the_connection_request_inform(hems: tuple[Hems, int]):
    h, port = hems
    fake = FakeCpe(port)
    try:
        ev = h.connect(SERIAL, CR_USER, CR_PASS, url=fake.url, timeout=5)
        assert ev.kind == "inform" and ev.data["events"] == ["6 CONNECTION REQUEST"]
    finally:
        fake.close()


def test_wrong_credentials_fail_naming_the_status(hems: tuple[Hems, int], timeline: Timeline):
    h, port = hems
    fake = FakeCpe(port)
    try:
        boot(port, fake.url)
        with pytest.raises(DeviceError, match=r"connection request to unit SN-A at .* answered HTTP 401"):
            h.call(SERIAL, "Reboot", timeout=3, connection_request=True, cr_username=CR_USER, cr_password="x")
        assert timeline.find(lambda e: e.kind == "connection-request")[0].data["status"] == 401
        # The call was withdrawn: the unit's next session does not get a stale Reboot.
        cpe = Cpe(port)
        cpe.inform()
        assert cpe.empty() == (204, b"")
    finally:
        fake.close()


def test_unreachable_unit_and_no_url(hems: tuple[Hems, int], timeline: Timeline):
    h, _ = hems
    with pytest.raises(DeviceError, match="no ConnectionRequestURL for unit SN-A"):
        h.request_connection(SERIAL, CR_USER, CR_PASS)
    result = h.request_connection(SERIAL, CR_USER, CR_PASS, url="http://127.0.0.1:9/", timeout=2)
    assert result.status is None and not result.ok and "Connect" in result.error
    assert timeline.find(lambda e: e.kind == "connection-request")[0].data["error"] == result.error


def test_a_request_going_when_its_hems_stops_ends_in_a_bench_error(hems: tuple[Hems, int]):
    """The factory reset sends its connection request from a thread of its own, which can outlive its HeMS
    at a run's teardown: the request's coroutine never ends once the HeMS's loop has stopped. The thread
    gets InfraError (which it expects), not TimeoutError from the future, and the coroutine is cancelled."""
    h, _ = hems
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (the backlog) and never answers
    outcome: list[BaseException] = []

    def request() -> None:
        try:
            h.request_connection(
                SERIAL, CR_USER, CR_PASS, url=f"http://127.0.0.1:{silent.getsockname()[1]}/", timeout=0.5
            )
        except BaseException as exc:  # noqa: BLE001 - what the sending thread gets is the test's subject
            outcome.append(exc)

    try:
        sender = threading.Thread(target=request)
        sender.start()
        time.sleep(0.2)
        h.stop()
        sender.join(timeout=30)
        assert not sender.is_alive()
        assert len(outcome) == 1 and isinstance(outcome[0], InfraError), outcome
        assert "connection request to http://127.0.0.1:" in str(outcome[0]), outcome
    finally:
        silent.close()


def test_no_inform_after_the_connection_request_times_out_with_last_seen(hems: tuple[Hems, int]):
    h, port = hems
    fake = FakeCpe(port)
    fake.session = lambda: None  # type: ignore[method-assign]  # answers 200 but never calls back
    try:
        boot(port, fake.url)
        with pytest.raises(
            DeviceError, match=r"6 CONNECTION REQUEST\] from unit SN-A; last from the unit: empty"
        ):
            h.connect(SERIAL, CR_USER, CR_PASS, timeout=0.5)
    finally:
        fake.close()


def test_an_rpc_sent_in_a_session_still_open_ends_the_wait(hems: tuple[Hems, int], timeline: Timeline):
    # A unit slow to end its session: the RPC goes out in that session, and the unit (rebooting) never sends
    # the connection request's Inform. The call is answered all the same.
    h, port = hems
    fake = FakeCpe(port)
    fake.session = lambda: None  # type: ignore[method-assign]  # answers 200, no session of its own
    try:
        cpe = Cpe(port)
        cpe.inform(params=[("Device.ManagementServer.ConnectionRequestURL", fake.url, "xsd:string")])
        got: list[object] = []
        caller = threading.Thread(
            target=lambda: got.append(
                h.call(SERIAL, "Reboot", timeout=30, connection_request=True, cr_username=CR_USER,
                       cr_password=CR_PASS, command_key="rb")
            )
        )  # fmt: skip
        caller.start()
        timeline.wait_for(lambda e: e.kind == "connection-request", 30, "the connection request")
        status, data = cpe.empty()  # the session still open gets the Reboot
        env = cwmp.parse_envelope(data)
        assert status == 200 and env.method == "Reboot"
        assert cpe.post(cwmp.response(NS1, env.id, "Reboot")) == (204, b"")
        caller.join(30)
        assert got == [cwmp.Done("Reboot")]
    finally:
        fake.close()


def test_a_session_carries_every_rpc_of_a_step_after_one_connection_request(
    hems: tuple[Hems, int], timeline: Timeline
):
    h, port = hems
    fake = FakeCpe(port)
    try:
        boot(port, fake.url)
        rpcs = [
            ("GetParameterValues", {"names": ["Device.X"]}),
            ("GetParameterValues", {"names": ["Device.X"]}),
        ]
        results = h.session(SERIAL, rpcs, timeout=5, cr=CrPolicy(CR_USER, CR_PASS), purpose="5.2.3 step 2")
        assert results == [cwmp.GpvResult({"Device.X": "7"})] * 2
        crs = timeline.find(lambda e: e.kind == "connection-request")
        assert [(e.data["status"], e.data["purpose"]) for e in crs] == [(200, "5.2.3 step 2")]
        assert len(fake.hits) == 2  # the challenge and the answer to it: one connection request
        sessions = timeline.find(lambda e: e.kind == "inform" and "6 CONNECTION REQUEST" in e.data["events"])
        assert len(sessions) == 1
    finally:
        fake.close()


@pytest.mark.parametrize("refused", [503, 401])
def test_a_refused_connection_request_is_sent_again_after_the_bound(
    hems: tuple[Hems, int], timeline: Timeline, refused: int
):
    h, port = hems
    fake = FakeCpe(port)
    fake.refuse = [refused]
    try:
        boot(port, fake.url)
        cr = CrPolicy(CR_USER, CR_PASS, attempts=3, retry_after=0.2)
        assert h.session(SERIAL, [("GetParameterValues", {"names": ["Device.X"]})], 10, cr) == [
            cwmp.GpvResult({"Device.X": "7"})
        ]
        crs = [e.data for e in timeline.find(lambda e: e.kind == "connection-request")]
        assert [(d["attempt"], d["attempts"], d["status"]) for d in crs] == [(1, 3, refused), (2, 3, 200)]
        # What the unit asked for is recorded.
        assert crs[0]["retry_after_header"] == "3" and "retry_after_header" not in crs[1]
    finally:
        fake.close()


def test_a_unit_that_keeps_refusing_fails_naming_each_answer(hems: tuple[Hems, int], timeline: Timeline):
    h, port = hems
    fake = FakeCpe(port)
    try:
        boot(port, fake.url)
        cr = CrPolicy(CR_USER, "wrong", attempts=2, retry_after=0.2)
        with pytest.raises(DeviceError) as err:
            h.session(SERIAL, [("Reboot", {"command_key": "rb"})], 5, cr)
        assert (
            "answered HTTP 401, expected HTTP 200 or 204 (2 connection requests 0.2 s apart: HTTP 401; HTTP 401)"
            in str(err.value)
        )
        crs = [e.data for e in timeline.find(lambda e: e.kind == "connection-request")]
        assert [(d["attempt"], d["status"]) for d in crs] == [(1, 401), (2, 401)]
        # Withdrawn: the unit's next session does not get the Reboot.
        cpe = Cpe(port)
        cpe.inform()
        assert cpe.empty() == (204, b"")
    finally:
        fake.close()


def test_no_session_after_an_accepted_request_counts_as_refused(
    hems: tuple[Hems, int], timeline: Timeline, tmp_path: Path
):
    h, port = hems
    timeline.attach(tmp_path / "timeline.jsonl")  # as in a run: every event is written out as JSON
    fake = FakeCpe(port)
    fake.session = lambda: None  # type: ignore[method-assign]  # answers 200 but never calls back
    try:
        boot(port, fake.url)
        bound = Bound(0.5, "units.u.bounds.step")  # as the plans pass it: no event may keep it as it is
        wanted = (
            r"after 0.5 s \(units.u.bounds.step\) .*\(2 connection requests 0.1 s apart: HTTP 200, then no"
        )
        with pytest.raises(DeviceError, match=wanted):
            h.connect(SERIAL, CR_USER, CR_PASS, timeout=bound, attempts=2, retry_after=0.1)
        unanswered = timeline.find(lambda e: e.kind == "connection-request-unanswered")
        assert [e.data["attempt"] for e in unanswered] == [1, 2]
        assert '"kind": "connection-request-unanswered"' in (tmp_path / "timeline.jsonl").read_text()
    finally:
        fake.close()


def test_a_session_the_unit_opens_by_itself_ends_the_retries(hems: tuple[Hems, int], timeline: Timeline):
    h, port = hems
    fake = FakeCpe(port)
    fake.refuse = [503] * 5
    try:
        boot(port, fake.url)
        got: list[object] = []
        cr = CrPolicy(CR_USER, CR_PASS, attempts=5, retry_after=30)
        caller = threading.Thread(
            target=lambda: got.append(h.session(SERIAL, [("Reboot", {"command_key": "rb"})], 60, cr))
        )
        caller.start()
        timeline.wait_for(lambda e: e.kind == "connection-request", 30, "the connection request")
        cpe = Cpe(port)  # a periodic Inform, say, while the HeMS waits to retry
        cpe.inform(events=("2 PERIODIC",))
        status, data = cpe.empty()
        env = cwmp.parse_envelope(data)
        assert status == 200 and env.method == "Reboot"
        assert cpe.post(cwmp.response(NS1, env.id, "Reboot")) == (204, b"")
        caller.join(30)
        assert got == [[cwmp.Done("Reboot")]]
        assert len(timeline.find(lambda e: e.kind == "connection-request")) == 1
    finally:
        fake.close()

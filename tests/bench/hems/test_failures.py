"""Tests for bench/hems/failures.py: the HeMS failing a unit's sessions on purpose (a restart), recorded."""

from __future__ import annotations

import base64
import http.client
import time

import pytest

from bench import cwmp
from bench.cwmp import DeviceKey
from bench.hems import Hems
from bench.hems.failures import SessionFailure, SessionStarts
from bench.httpauth import Authenticator
from bench.timeline import Timeline
from tests.bench.hems.cpe import SERIAL, Cpe, serve


def _inform_body(events: tuple[str, ...], serial: str = SERIAL) -> bytes:
    return cwmp.inform(
        cwmp.CWMP_NAMESPACES[1], "x", cwmp.DeviceId("Acme", "00259E", "FAP-1", serial), [(e, "") for e in events],
        [("Device.X.IPAddress", "10.0.0.2", "xsd:string")], "2024-05-01T12:00:00Z",
    )  # fmt: skip


def test_503_to_the_matching_inform_then_the_next_is_answered(hems: tuple[Hems, int], timeline: Timeline):
    h, port = hems
    rule = h.fail_sessions(SERIAL, events=("4 VALUE CHANGE",), count=1)
    cpe = Cpe(port)
    cpe.inform(events=("6 CONNECTION REQUEST",))  # not one of its events: answered
    assert cpe.empty() == (204, b"")
    status, _ = Cpe(port).post(_inform_body(("4 VALUE CHANGE",)))
    assert status == 503
    failed = [e for e in timeline if e.kind == "session-failed-on-purpose"]
    assert len(failed) == 1 and rule.failed == [failed[0].seq] and rule.left == 0
    d = failed[0].data
    assert (d["how"], d["events"], d["serial"], d["params"], d["nth"], d["of"]) == (
        "503", ["4 VALUE CHANGE"], SERIAL, ["Device.X.IPAddress"], 1, 1,
    )  # fmt: skip
    informs = [e for e in timeline if e.kind == "inform"]
    assert informs[-1].data["failed_on_purpose"] == "503" and "failed_on_purpose" not in informs[0].data
    again = Cpe(port)
    again.inform(events=("4 VALUE CHANGE",))  # the rule is used up: the retry is answered
    assert again.empty() == (204, b"")


def test_close_ends_the_connection_unanswered_and_counts_each(hems: tuple[Hems, int], timeline: Timeline):
    h, port = hems
    h.fail_sessions(DeviceKey("00259E", "FAP-1", SERIAL), how="close", count=2)
    for _ in range(2):
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            Cpe(port).post(_inform_body(("1 BOOT",)))
    assert [e.data["nth"] for e in timeline if e.kind == "session-failed-on-purpose"] == [1, 2]
    Cpe(port).inform()


def test_another_unit_and_a_disarmed_rule_are_not_failed(hems: tuple[Hems, int], timeline: Timeline):
    h, port = hems
    h.fail_sessions(SERIAL, count=3)
    Cpe(port, serial="SN-B").inform()
    assert h.failures.disarm(SERIAL) == 3
    Cpe(port).inform()
    assert not [e for e in timeline if e.kind == "session-failed-on-purpose"]


def test_a_bad_rule_is_refused():
    with pytest.raises(ValueError, match="how 'reset'"):
        SessionFailure(SERIAL, how="reset")
    with pytest.raises(ValueError, match="count 0"):
        SessionFailure(SERIAL, count=0)


def test_an_attempt_begins_at_its_challenged_request_not_at_the_authenticated_inform() -> None:
    starts = SessionStarts()
    starts.request("10.0.0.2", 1.0, challenged=True)  # the Inform without credentials: 401
    starts.request("10.0.0.2", 1.3, challenged=False)  # the same Inform answering the challenge
    assert starts.take("10.0.0.2") == 1.0 and starts.take("10.0.0.2") is None
    starts.request("10.0.0.2", 2.0, challenged=True)  # a stale challenge of an attempt that never informed
    starts.request("10.0.0.2", 5.0, challenged=True)  # the next attempt's own
    starts.request("10.0.0.2", 5.2, challenged=False)
    assert starts.take("10.0.0.2") == 5.0
    starts.request("10.0.0.3", 7.0, challenged=False)  # no challenge (Basic sent ahead): the Inform itself
    assert starts.take("10.0.0.3") == 7.0


def test_the_inform_event_says_when_its_attempt_began(timeline: Timeline) -> None:
    h, port = serve(timeline, auth=Authenticator("basic", {"u": "p"}))
    try:
        cpe = Cpe(port)
        assert cpe.post(_inform_body(("1 BOOT",)))[0] == 401  # challenged; answered with credentials later
        time.sleep(0.3)
        cpe.auth = "Basic " + base64.b64encode(b"u:p").decode()
        cpe.inform()
    finally:
        h.stop()
    challenge = next(e for e in timeline if e.kind == "auth-challenge")
    (inform,) = [e for e in timeline if e.kind == "inform"]
    began = inform.data["session_started"]
    assert began <= challenge.t and inform.t - began >= 0.3

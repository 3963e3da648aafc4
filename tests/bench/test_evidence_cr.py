"""5.2.3's connection requests judged from evidence (bench/evidence/judge_cr.py) on timelines made by hand: the
bench's `bench/cr-probe` events (what each request carried) paired with the capture's requests and the unit's
answers. A correct unit passes, each misbehaviour fails with the live plan's words, a capture without the bench's
events is not observable."""

from __future__ import annotations

from bench.evidence.judges import FAILED, NOT_OBSERVABLE, PASSED, judge_5_2_3
from bench.timeline import Event, Timeline
from tests.bench.test_evidence_judges import HEMS, spv_timeline

UNIT, URL = "00D0B7-MockHeNB-MOCK0001", "http://10.182.0.7:7547/cr"
CR = {"hems": "serving-hems", "peer": "10.182.0.7", "serial": "MOCK0001"}


def probe(tl: Timeline, credentials: str, step: str = "1", **data: object) -> None:
    tl.add("bench", "cr-probe", hems="serving-hems", unit="henb-01", device=UNIT, serial="MOCK0001", url=URL,
           credentials=credentials, purpose=f"5.2.3 step {step}", **data)  # fmt: skip


def request(tl: Timeline, status: int, challenge: bool = True) -> None:
    """One connection request as a capture shows it: with credentials, the Digest challenge first."""
    if challenge:
        tl.add("hems", "connection-request", **CR, status=401, credentials=False)
    tl.add("hems", "connection-request", **CR, status=status, credentials=challenge)


def timeline(none: int = 401, wrong: int = 401, registered: tuple[int, ...] = (200,), session: bool = True,
             probes: bool = True) -> list[Event]:  # fmt: skip
    tl = Timeline()
    tl.add("hems", "inform", **HEMS, events=["1 BOOT"])
    if probes:
        probe(tl, "none", probe="no credentials", quiet=5.0)
    request(tl, none, challenge=False)
    if none != 401 and session:  # the unit opens the session it was asked for, with no credentials
        tl.add("hems", "inform", **HEMS, events=["6 CONNECTION REQUEST"])
        tl.add("hems", "session-end", **HEMS)
    if probes:
        probe(tl, "wrong", probe="wrong credentials", quiet=5.0)
    request(tl, wrong)
    if probes:
        probe(tl, "registered", "2", attempts=len(registered), retry_after=10.0,
              rpcs=["SetParameterValues", "GetParameterValues"],
              note="credentials the HeMS set at registration, which the unit acknowledged")  # fmt: skip
    for status in registered:
        request(tl, status)
    events = tl.events()
    if registered[-1] != 200:
        return events
    offset = len(events)
    # the step's session, after the quiet wait that followed the probes
    return events + [Event(offset + e.seq, e.t + 100, e.source, e.kind, e.data) for e in spv_timeline()]


def test_a_unit_that_refuses_the_probes_and_takes_the_registered_credentials_passes() -> None:
    judged = judge_5_2_3(timeline())
    assert judged.failed() is None, judged.verdicts
    assert {v.step: v.outcome for v in judged.verdicts}["1"] == PASSED
    assert judged.verdicts[-1].outcome == PASSED  # the step's session judged on


def test_a_request_without_credentials_answered_200_fails_step_1_with_the_live_words() -> None:
    failed = judge_5_2_3(timeline(none=200)).failed()
    assert failed is not None and failed.outcome == FAILED and failed.step == "1"
    assert failed.expected.startswith("HTTP 401 to a connection request with no credentials, and no session")
    assert "the unit started a session for a connection request with no credentials" in failed.seen
    assert "answers: no credentials: HTTP 200; wrong credentials: HTTP 401" in failed.seen


def test_a_wrong_password_answered_200_fails_step_1_with_the_live_words() -> None:
    failed = judge_5_2_3(timeline(wrong=200, session=False)).failed()
    assert failed is not None and failed.step == "1"
    assert failed.expected.startswith("HTTP 401 to a connection request with wrong credentials")
    assert failed.seen.startswith("HTTP 200, no session within 5 s (answers: no credentials: HTTP 401; "
                                  "wrong credentials: HTTP 200)"), failed.seen  # fmt: skip


def test_the_registered_credentials_refused_throughout_fail_step_2_with_the_live_words() -> None:
    failed = judge_5_2_3(timeline(registered=(401, 401, 401))).failed()
    assert failed is not None and failed.step == "2", failed
    assert failed.expected == "a SetParameterValuesResponse and GetParameterValuesResponse from the unit"
    assert failed.seen.startswith(
        f"HeMS serving-hems: connection request to unit {UNIT} at {URL} answered HTTP 401, expected HTTP 200 or "
        "204 (3 connection requests 10 s apart: HTTP 401; HTTP 401; HTTP 401); last from the unit: "
    ), failed.seen
    assert failed.seen.endswith(
        "(with credentials the HeMS set at registration, which the unit acknowledged)"
    )


def test_registered_credentials_refused_once_then_taken_pass() -> None:
    judged = judge_5_2_3(timeline(registered=(401, 200)))
    assert judged.failed() is None, judged.verdicts


def test_without_the_bench_s_events_a_capture_leaves_the_requests_not_observable() -> None:
    for tl in (timeline(none=200, probes=False), timeline(registered=(401, 401, 401), probes=False)):
        judged = judge_5_2_3(tl)
        assert judged.failed() is None, judged.verdicts
        assert judged.verdicts[0].step == "1" and judged.verdicts[0].outcome == NOT_OBSERVABLE
        assert "bench/cr-probe" in judged.verdicts[0].why


def test_a_probe_with_no_request_after_it_in_the_evidence_is_not_observable() -> None:
    tl = Timeline()
    probe(tl, "none", probe="no credentials", quiet=5.0)
    verdict = judge_5_2_3(tl.events()).verdicts[0]
    assert verdict.step == "1" and verdict.outcome == NOT_OBSERVABLE and "ESP" in verdict.why

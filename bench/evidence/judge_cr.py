"""Connection requests the unit must refuse, or accept (TR-069 3.2.2), from evidence: 5.2.3 step 1's probes (no
credentials, a wrong password: HTTP 401 and no session) and a step's own request with the credentials the HeMS
set at registration (a session). Which credentials a request carried is the bench's intent, not in a capture
(the requests are HTTP Digest): the bench says it in a `bench/cr-probe` event before the request goes out, and
the capture's next connection requests (`hems/connection-request`, with the unit's answer) are the ones it sent.
Without those events (a capture from the field) the steps are not observable. The words are the live plan's:
testplans/ts32593/procedures.py and bench/hems/server.py word their failures with these functions."""

from __future__ import annotations

from collections.abc import Sequence

from bench.events import BenchKind, HemsKind, Source, describe
from bench.evidence.judges import ESP_ONLY, FAILED, NOT_OBSERVABLE, PASSED, Verdict
from bench.hems.connreq import refused_words
from bench.timeline import Event

# What a request carried, as the `cr-probe` event says it: none, a wrong password, the credentials the HeMS
# set at registration (or the unit's own, units.NAME.connection_request.own).
NONE, WRONG, REGISTERED = "none", "wrong", "registered"
NOT_SAID = (
    "which connection requests carried no credentials or a wrong password is the bench's intent: the "
    "requests are HTTP Digest, their answers alone do not say (a run's timeline.jsonl says it: "
    "bench/cr-probe)"
)


def answer_words(status: int | None, error: str = "") -> str:
    return f"HTTP {status}" if status is not None else f"no answer ({error})"


def probe_failure(probe: str, got: str, opened: str | None, quiet: float, answers: str) -> tuple[str, str]:
    """(expected, seen) of step 1: a probe (`probe`: 'no credentials', 'wrong credentials') answered `got`;
    `opened`: the session the unit started after the probes, described (None: none within `quiet` s)."""
    started = (
        f", and the unit started a session for a connection request with {probe}: {opened}"
        if opened is not None
        else f", no session within {quiet:g} s"
    )
    return (f"HTTP 401 to a connection request with {probe}, and no session (TR-069 3.2.2: the unit "
            f"authenticates the ACS's request)", f"{got}{started} (answers: {answers})")  # fmt: skip


def session_expected(methods: Sequence[str]) -> str:
    """What a step's session must bring: 'a XResponse and YResponse from the unit'."""
    answers = [f"{method}Response" for method in methods]
    listed = " and ".join([", ".join(answers[:-1]), answers[-1]] if len(answers) > 1 else answers)
    return f"a {listed} from the unit"


def _requests(events: Sequence[Event], probe: Event, hems: str) -> list[Event]:
    """The answers to the connection requests of `hems` after the bench's `probe` event, up to its next one.
    A request with credentials is two exchanges in a capture: the Digest challenge (HTTP 401 to a GET without
    Authorization), then the GET with them and the unit's answer; the request's answer is the last."""
    exchanges = _exchanges(events, probe, hems)
    if probe.data.get("credentials") == NONE:
        return exchanges
    out: list[Event] = []
    for e in exchanges:
        challenged = (
            bool(out) and out[-1].data.get("credentials") is False and out[-1].data.get("status") == 401
        )
        if challenged and e.data.get("credentials") is True:
            out[-1] = e
        else:
            out.append(e)
    return out


def _exchanges(events: Sequence[Event], probe: Event, hems: str) -> list[Event]:
    out: list[Event] = []
    serial = probe.data.get("serial")
    for e in events:
        if e.seq <= probe.seq:
            continue
        if e.source == Source.BENCH and e.kind == BenchKind.CR_PROBE:
            break
        if e.source == Source.HEMS and e.kind == HemsKind.CONNECTION_REQUEST and e.data.get("hems") == hems:
            if serial and e.data.get("serial") not in (None, serial):
                continue  # another unit's
            out.append(e)
    return out


def _probes(events: Sequence[Event], clause: str) -> list[Event]:
    return [e for e in events if e.source == Source.BENCH and e.kind == BenchKind.CR_PROBE
            and str(e.data.get("purpose", "")).startswith(f"{clause} step ")]  # fmt: skip


def _unseen(clause: str, step: str, probe: Event) -> Verdict:
    return Verdict(clause, step, NOT_OBSERVABLE, why=f"no connection request of the HeMS in the evidence after "
                   f"the bench's with {probe.data.get('probe') or probe.data.get('credentials')} (they are on the "
                   f"inner capture; {ESP_ONLY})")  # fmt: skip


def judge_cr_probes(clause: str, step: str, events: Sequence[Event], hems: str = "serving-hems") -> Verdict:
    """Step `step`'s probes: each answered HTTP 401 (TR-069 3.2.2), none starting a session."""
    probes = [p for p in _probes(events, clause) if p.data.get("credentials") in (NONE, WRONG)
              and p.data.get("purpose") == f"{clause} step {step}"]  # fmt: skip
    if not probes:
        return Verdict(clause, step, NOT_OBSERVABLE, why=NOT_SAID)
    answered: list[tuple[Event, Event]] = []
    for p in probes:
        got = _requests(events, p, hems)
        if not got:
            return _unseen(clause, step, p)
        answered.append((p, got[0]))
    accepted = [(p, r) for p, r in answered if r.data.get("status") != 401]
    if not accepted:
        return Verdict(clause, step, PASSED, events=tuple(r for _, r in answered))
    p, r = accepted[0]
    quiet = float(p.data.get("quiet") or 0)
    last = answered[-1][1]
    opened = next((e for e in events if e.seq > answered[0][1].seq and e.t <= last.t + quiet
                   and e.source == Source.HEMS and e.kind == HemsKind.INFORM and e.data.get("hems") == hems
                   and "6 CONNECTION REQUEST" in e.data.get("events", [])), None)  # fmt: skip
    answers = "; ".join(f"{q.data.get('probe')}: HTTP {a.data.get('status')}" for q, a in answered)
    expected, seen = probe_failure(
        str(p.data.get("probe")), answer_words(r.data.get("status"), str(r.data.get("error") or "")),
        describe(opened) if opened is not None else None, quiet, answers,
    )  # fmt: skip
    return Verdict(clause, step, FAILED, expected, seen, (r,) + ((opened,) if opened is not None else ()))


def judge_cr_refused(clause: str, events: Sequence[Event], hems: str = "serving-hems") -> Verdict | None:
    """The first of the clause's steps whose connection requests with the registered credentials the unit
    refused every time (no session, so no RPC in the evidence): failed with the live words; None if none was."""
    for p in _probes(events, clause):
        if p.data.get("credentials") != REGISTERED:
            continue
        attempts = int(p.data.get("attempts") or 1)
        got = _requests(events, p, hems)[:attempts]
        if len(got) < attempts or any(r.data.get("status") in (200, 204) for r in got):
            continue  # accepted (the step's own judges go on), or not all in the evidence
        step = str(p.data["purpose"]).rpartition(" step ")[2]
        seen = [answer_words(r.data.get("status"), str(r.data.get("error") or "")) for r in got]
        before = [e for e in events if e.seq < got[-1].seq and e.source == Source.HEMS
                  and e.kind != HemsKind.CONNECTION_REQUEST and e.data.get("hems") == hems]  # fmt: skip
        last = (f"last from the unit: {describe(before[-1])}" if before
                else f"unit {p.data.get('device')} never sent anything to HeMS {hems}")  # fmt: skip
        words = refused_words(hems, p.data.get("device"), str(p.data.get("url")), seen[-1], seen, attempts,
                              float(p.data.get("retry_after") or 0))  # fmt: skip
        note = f" (with {p.data['note']})" if p.data.get("note") else ""
        expected = session_expected(list(p.data.get("rpcs") or []))
        return Verdict(clause, step, FAILED, expected, f"{words}; {last}{note}", tuple(got))
    return None

"""Judge functions: pure functions of a timeline's events returning each step's verdict (passed, failed with
the message a live run gives, or not observable with why). A live plan calls them on its live timeline where a
check needs no stimulus (testplans/ts32593/test_5_2_3_config_spv.py); `henb-bench judge` calls them on a
timeline built from captures (bench/evidence/decode.py). What only the live bench knows (the values the HeMS
set) is an event on the timeline: the HeMS's rpc-sent event of a SetParameterValues carries its values."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.events import HemsKind, MmeKind, Source
from bench.timeline import Event

PASSED, FAILED, NOT_OBSERVABLE = "passed", "failed", "not-observable"
ESP_ONLY = "ESP without SAs: only the outer link is visible"


@dataclass(frozen=True)
class Verdict:
    """One step of a clause: `expected` and `seen` are worded as the live run's failure message words them."""

    clause: str
    step: str
    outcome: str
    expected: str = ""
    seen: str = ""
    events: tuple[Event, ...] = ()
    why: str = ""  # for not observable: what the evidence cannot show

    def message(self, where: str) -> str:
        if self.outcome == FAILED:
            return f"TS 32.593 {self.clause} step {self.step}: expected {self.expected}; seen {self.seen}; evidence: {where}"
        if self.outcome == NOT_OBSERVABLE:
            return f"TS 32.593 {self.clause} step {self.step}: not observable: {self.why}"
        return f"TS 32.593 {self.clause} step {self.step}: passed"


@dataclass
class Judged:
    """The verdicts of one test, in the order of its steps."""

    clause: str
    test: str
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        outcomes = {v.outcome for v in self.verdicts}
        return FAILED if FAILED in outcomes else PASSED if PASSED in outcomes else NOT_OBSERVABLE

    def failed(self) -> Verdict | None:
        return next((v for v in self.verdicts if v.outcome == FAILED), None)


@dataclass(frozen=True)
class Span:
    """How far the evidence goes. A live timeline (`end` None): the plan waited its bounds, an absence is a
    failure. Captures that end at `end`: an absence after an event is a failure only when they run on for
    `bound` seconds after it (the unit's bounds.step); before that it is not observable."""

    end: float | None = None
    bound: float = 10.0
    captures: tuple[
        str, ...
    ] = ()  # the capture files read (a judge asks whether the inner one is among them)


LIVE = Span()


def missing(
    clause: str,
    step: str,
    expected: str,
    seen: str,
    after: Event | None,
    span: Span,
    events: tuple[Event, ...] = (),
) -> Verdict:
    """`expected` is not in the evidence after `after`: failed, unless the captures end too soon after it."""
    if span.end is not None and after is not None and span.end - after.t < span.bound:
        return Verdict(clause, step, NOT_OBSERVABLE, expected, why=f"the evidence ends {span.end - after.t:.1f} s "
                       f"after {after.source}/{after.kind} (frames {after.data.get('frames')}), before the "
                       f"{span.bound:g} s the unit has for {expected}")  # fmt: skip
    return Verdict(clause, step, FAILED, expected, seen, events or ((after,) if after is not None else ()))


def _is(source: str, kind: str, **data: Any) -> Callable[[Event], bool]:
    return lambda e: (
        e.source == source and e.kind == kind and all(e.data.get(k) == v for k, v in data.items())
    )


def _first(
    events: Sequence[Event], pred: Callable[[Event], bool], after: Event | None = None
) -> Event | None:
    return next((e for e in events if pred(e) and (after is None or e.seq > after.seq)), None)


def cwmp_visible(events: Sequence[Event], hems: str) -> bool:
    return any(e.source == Source.HEMS and e.data.get("hems") == hems for e in events)


# 5.2.3: configuration by SetParameterValues


def spv_sent(events: Sequence[Event], key_prefix: str = "cm-5.2.3-") -> Event | None:
    """The Serving HeMS's SetParameterValues of the clause (its ParameterKey starts with `key_prefix`)."""
    return _first(
        events,
        lambda e: (
            _is(Source.HEMS, HemsKind.RPC_SENT, hems="serving-hems", method="SetParameterValues")(e)
            and str(e.data.get("parameter_key", "")).startswith(key_prefix)
        ),
    )


def judge_spv_response(
    clause: str, step: str, events: Sequence[Event], sent: Event, span: Span = LIVE
) -> Verdict:
    """The SetParameterValues answered with a SetParameterValuesResponse (not a Fault, not silence)."""
    names = sorted(sent.data.get("values") or {})
    answer = _first(
        events,
        lambda e: e.source == Source.HEMS and e.kind in (HemsKind.RPC_RESPONSE, HemsKind.RPC_FAULT)
        and e.data.get("hems") == sent.data.get("hems") and e.data.get("id") == sent.data.get("id"),
        sent,
    )  # fmt: skip
    expected = f"SetParameterValuesResponse to {names}"
    if answer is None:
        end = _first(events, _is(Source.HEMS, HemsKind.SESSION_END, hems=sent.data.get("hems")), sent)
        if end is None:
            return missing(clause, step, expected, "nothing (no answer in the evidence)", sent, span)
        return Verdict(clause, step, FAILED, expected, "the session ended without it", (sent, end))
    if answer.kind == HemsKind.RPC_FAULT:
        d = answer.data
        seen = f"fault {d.get('fault_code')} {d.get('fault_string')}, per parameter {d.get('param_faults')}"
        return Verdict(clause, step, FAILED, expected, seen, (answer,))
    return Verdict(clause, step, PASSED, expected, "", (sent, answer))


def read_back(expected: dict[str, str], got: dict[str, str]) -> tuple[str, str] | None:
    """(expected, seen) when a value read back is not the one just set; None when all are (the wording of
    testplans' check_read_back)."""
    wrong = {n: got.get(n) for n, v in expected.items() if got.get(n) != v}
    if not wrong:
        return None
    return (
        "the values just set, read back: " + ", ".join(f"{n} = {expected[n]}" for n in wrong),
        "read back " + ", ".join(f"{n} = {v}" for n, v in wrong.items()),
    )


def judge_read_back(
    clause: str, step: str, events: Sequence[Event], sent: Event, after: Event, span: Span = LIVE
) -> Verdict:
    """The values the SetParameterValues set, read back by the first GetParameterValuesResponse (after `after`:
    the SPV's answer, or the Inform after the reboot that applies a Status 1)."""
    values: dict[str, str] = sent.data.get("values") or {}
    got = _first(
        events,
        lambda e: _is(Source.HEMS, HemsKind.RPC_RESPONSE, method="GetParameterValues")(e)
        and set(values) <= set(e.data.get("values") or {}),
        after,
    )  # fmt: skip
    if got is None:
        return missing(
            clause, step, f"GetParameterValuesResponse for {sorted(values)}", "nothing", after, span
        )
    wrong = read_back(values, got.data.get("values") or {})
    if wrong:
        return Verdict(clause, step, FAILED, wrong[0], wrong[1], (got,))
    return Verdict(clause, step, PASSED, events=(sent, got))


def parameter_key_path(inform: Event) -> str:
    params: dict[str, str] = inform.data.get("params") or {}
    return next(
        (p for p in params if p.endswith("ManagementServer.ParameterKey")),
        "Device.ManagementServer.ParameterKey",
    )


def judge_parameter_key(
    clause: str,
    step: str,
    events: Sequence[Event],
    sent: Event,
    after: Event,
    path: str | None = None,
    span: Span = LIVE,
) -> Verdict:
    """TR-069 A.3.2.1: the first Inform to the HeMS after `after` reports the SetParameterValues' ParameterKey."""
    key = sent.data.get("parameter_key")
    informed = _first(events, _is(Source.HEMS, HemsKind.INFORM, hems=sent.data.get("hems")), after)
    if informed is None:
        return missing(clause, step, "the next Inform (after a connection request)", "nothing", after, span)
    path = path or parameter_key_path(informed)
    got = (informed.data.get("params") or {}).get(path)
    if got != key:
        seen = "no such parameter in it" if got is None else f"{path} = {got!r}"
        return Verdict(clause, step, FAILED, f"the next Inform reporting {path} = {key!r}, the ParameterKey of the "
                       f"SetParameterValues (TR-069 A.3.2.1)", seen, (informed,))  # fmt: skip
    return Verdict(clause, step, PASSED, events=(informed,))


def judge_s1_tac(
    clause: str, step: str, events: Sequence[Event], after: Event, tac: int, span: Span = LIVE
) -> Verdict:
    """After a change of the TAC, S1 carries it: an eNB Configuration Update (or S1 Setup Request) with it."""
    s1 = [e for e in events if e.source == Source.MME and e.kind == MmeKind.S1AP and e.seq > after.seq]
    expected = f"an eNB Configuration Update (or S1 Setup Request) with TAC {tac} at the MME"
    hit = next(
        (e for e in s1 if e.data.get("message") in ("ENBConfigurationUpdate", "S1SetupRequest")
         and e.data.get("tacs") == [tac]), None,
    )  # fmt: skip
    if hit is not None:
        return Verdict(clause, step, PASSED, expected, events=(hit,))
    if not any(e.source == Source.MME for e in events):
        return Verdict(clause, step, NOT_OBSERVABLE, expected, why="no SCTP/S1AP in the evidence (S1 is seen on "
                       f"the inner capture only; {ESP_ONLY})")  # fmt: skip
    return missing(clause, step, expected, f"nothing within {span.bound:g} s in the evidence", after, span)


def judge_5_2_3(events: Sequence[Event], span: Span = LIVE) -> Judged:
    """test_configuration_by_set_parameter_values, from its events."""
    out = Judged("5.2.3", "test_configuration_by_set_parameter_values")
    add = out.verdicts.append
    add(Verdict("5.2.3", "1", NOT_OBSERVABLE, why="which connection requests carried no credentials or a wrong "
                "password is the bench's intent: the requests are HTTP Digest, their answers alone do not say"))  # fmt: skip
    sent = spv_sent(events)
    if sent is None:
        # The SetParameterValues is the HeMS's stimulus: without it the procedure does not appear in the
        # evidence (a capture of a registration only), which proves nothing against the unit.
        why = "no SetParameterValues of the clause in the evidence: the procedure does not appear"
        if not cwmp_visible(events, "serving-hems"):
            why = f"no CWMP with the Serving HeMS in the evidence ({ESP_ONLY}; or TLS without a key log)"
        for step in ("2", "ParameterKey", "S1"):
            add(Verdict("5.2.3", step, NOT_OBSERVABLE, why=why))
        return out
    answered = judge_spv_response("5.2.3", "2", events, sent, span)
    add(answered)
    if answered.outcome != PASSED:
        return out
    response = answered.events[-1]
    after = response
    if response.data.get("status") == 1:  # applied at reboot: the boot Inform after it, then the read back
        boot = _first(events, lambda e: _is(Source.HEMS, HemsKind.INFORM, hems="serving-hems")(e)
                      and "1 BOOT" in e.data.get("events", []), response)  # fmt: skip
        if boot is None:
            add(
                missing(
                    "5.2.3",
                    "2",
                    "the unit's Inform to the Serving HeMS after Reboot",
                    "nothing",
                    response,
                    span,
                )
            )
            return out
        after = boot
    read = judge_read_back("5.2.3", "2", events, sent, after, span)
    add(read)
    if read.outcome != PASSED:
        return out
    key_after = after if after is not response else read.events[-1]
    add(judge_parameter_key("5.2.3", "ParameterKey", events, sent, key_after, span=span))
    tac = next((v for n, v in (sent.data.get("values") or {}).items() if n.endswith(".TAC")), None)
    if tac is not None and out.failed() is None:
        add(judge_s1_tac("5.2.3", "S1", events, sent, int(tac), span))
    return out


Judge = Callable[..., Judged]
JUDGES: dict[str, dict[str, Judge]] = {
    "5.2.3": {"test_configuration_by_set_parameter_values": judge_5_2_3},
}

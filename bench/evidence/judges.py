"""Judge functions: pure functions of a timeline's events returning each step's verdict (passed, failed with
the message a live run gives, or not observable with why). A live plan calls them on its live timeline where a
check needs no stimulus (testplans/ts32593/test_5_2_3_config_spv.py); `henb-bench judge` calls them on a
timeline built from captures (bench/evidence/decode.py). What only the live bench knows (the values the HeMS
set) is an event on the timeline: the HeMS's rpc-sent event of a SetParameterValues carries its values."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.cwmp import ParamFault
from bench.events import HemsKind, MmeKind, Source, describe
from bench.evidence.knowledge import KNOWLEDGE
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
    # The bench's SeGWs' charon logs given with them (`--segw-log`, a run's logs/isegw-charon.log and
    # ssegw-charon.log): charon's own words for refusing a unit (bench/evidence/judge_segw_log.py).
    segw_logs: tuple[str, ...] = ()
    log_utc_offset: float | None = None  # their stamps' local time: the run host's offset (None: this host's)


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
    """`expected` is not in the evidence after `after`: failed, unless the captures end too soon after it. A
    decoded IKE SA counts from its IKE_AUTH response (`up_at`), as the live SeGW says it came up, not from the
    unit's first ESP that shows it (a unit silent in its tunnel for a while would start the bound late)."""
    start = float(after.data.get("up_at") or after.t) if after is not None else 0.0
    if span.end is not None and after is not None and span.end - start < span.bound:
        return Verdict(clause, step, NOT_OBSERVABLE, expected, why=f"the evidence ends {span.end - start:.1f} s "
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


def nothing_within(events: Sequence[Event], since: Event, start: float, seconds: float, key: str = "") -> str:
    """An absence worded as a live wait words it when its bound runs out: `nothing within N s (KEY) (last seen:
    ...)`; what was seen last is the evidence's last three events after `since` up to the bound's end (the
    bench's knowledge aside), not the live timeline's."""
    recent = [e for e in events if e.seq > since.seq and e.t <= start + seconds and e.source != Source.BENCH
              and (e.source, e.kind) not in KNOWLEDGE][-3:]  # fmt: skip
    shown = "last seen: " + "; ".join(describe(e) for e in recent) if recent else "nothing was seen"
    return f"nothing within {seconds:g} s{f' ({key})' if key else ''} ({shown})"


def absent(clause: str, step: str, expected: str, events: Sequence[Event], since: Event, start: Event,
           seconds: float, key: str, span: Span) -> Verdict:  # fmt: skip
    """Nothing `expected` within the bound the live bench waited from `start` (`seconds`, inventory `key`: the
    bench's knowledge): failed as the live wait fails, unless the evidence ends before the bound does."""
    if span.end is not None and span.end - start.t < seconds:
        return Verdict(clause, step, NOT_OBSERVABLE, expected, why=f"the evidence ends {span.end - start.t:.1f} s "
                       f"after {start.source}/{start.kind}, before the {seconds:g} s the bench waited for {expected}")  # fmt: skip
    return Verdict(
        clause, step, FAILED, expected, nothing_within(events, since, start.t, seconds, key), (start,)
    )


def fault_seen(d: dict[str, Any]) -> str:
    """A Fault answering an RPC, as the live plans word it (procedures.describe_result)."""
    faults = [ParamFault(*p) for p in d.get("param_faults") or []]
    return f"fault {d.get('fault_code')} {d.get('fault_string')}, per parameter {faults}"


def answer_to(events: Sequence[Event], sent: Event) -> Event | None:
    """The unit's response or Fault to the RPC `sent`."""
    return _first(
        events,
        lambda e: e.source == Source.HEMS and e.kind in (HemsKind.RPC_RESPONSE, HemsKind.RPC_FAULT)
        and e.data.get("hems") == sent.data.get("hems") and e.data.get("id") == sent.data.get("id"),
        sent,
    )  # fmt: skip


def judge_gpv_answer(
    clause: str, step: str, events: Sequence[Event], sent: Event, span: Span = LIVE
) -> Verdict:
    """A GetParameterValues answered with its response, not a Fault (a session's check, in its words)."""
    expected = f"GetParameterValuesResponse for {list(sent.data.get('names') or [])}"
    answer = answer_to(events, sent)
    if answer is None:
        return missing(clause, step, expected, "nothing (no answer in the evidence)", sent, span)
    if answer.kind == HemsKind.RPC_FAULT:
        return Verdict(clause, step, FAILED, expected, fault_seen(answer.data), (answer,))
    return Verdict(clause, step, PASSED, events=(sent, answer))


def gpv_sent(events: Sequence[Event], names: Sequence[str], since: Event | None) -> Event | None:
    """The Serving HeMS's first GetParameterValues asking for all of `names` after `since`."""
    return _first(events, lambda e: _is(Source.HEMS, HemsKind.RPC_SENT, hems="serving-hems",
                                        method="GetParameterValues")(e)
                  and set(names) <= set(e.data.get("names") or []), since)  # fmt: skip


def boot_inform(clause: str, step: str, booted: Event, key: str) -> Verdict:
    """The Inform after a Reboot with CommandKey `key` carries 1 BOOT and M Reboot with it (TR-069 3.7.1.5 and
    the Inform event codes); procedures.reboot judges the live one by it."""
    events = list(zip(booted.data.get("events", ()), booted.data.get("command_keys", ()), strict=False))
    if "1 BOOT" not in [name for name, _ in events] or ("M Reboot", key) not in events:
        return Verdict(clause, step, FAILED, f"the Inform after Reboot {key} carrying 1 BOOT and M Reboot with "
                       f"CommandKey {key} (TR-069 3.7.1.5)", f"events {events}", (booted,))  # fmt: skip
    return Verdict(clause, step, PASSED, events=(booted,))


def judge_reboot(
    clause: str, step: str, events: Sequence[Event], since: Event, span: Span = LIVE
) -> Verdict | None:
    """After `since` (a Status 1), the Serving HeMS's Reboot and the unit's next Inform (boot_inform); None when
    the HeMS sent no Reboot. A passed verdict's last event is that Inform."""
    sent = _first(events, _is(Source.HEMS, HemsKind.RPC_SENT, hems="serving-hems", method="Reboot"), since)
    if sent is None:
        return None
    key = str(sent.data.get("command_key"))
    answered = answer_to(events, sent) or sent
    booted = _first(events, _is(Source.HEMS, HemsKind.INFORM, hems="serving-hems"), answered)
    if booted is None:
        return missing(clause, step, f"the unit's Inform to the Serving HeMS after Reboot {key}", "nothing",
                       answered, span)  # fmt: skip
    return boot_inform(clause, step, booted, key)


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
        return Verdict(clause, step, FAILED, expected, fault_seen(answer.data), (answer,))
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
    asked = gpv_sent(events, sorted(values), after)
    if (
        asked is not None
        and (answered := judge_gpv_answer(clause, step, events, asked, span)).outcome == FAILED
    ):
        return answered
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
    return missing(clause, step, expected, nothing_within(events, after, after.t, span.bound), after, span)


def judge_5_2_3(events: Sequence[Event], span: Span = LIVE) -> Judged:
    """test_configuration_by_set_parameter_values, from its events."""
    out = Judged("5.2.3", "test_configuration_by_set_parameter_values")
    add = out.verdicts.append
    from bench.evidence.judge_cr import judge_cr_probes, judge_cr_refused  # it imports this module

    add(judge_cr_probes("5.2.3", "1", events))
    refused = judge_cr_refused("5.2.3", events)  # the step's request refused throughout: no session to judge
    if refused is not None:
        add(refused)
        return out
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
    rebooted = (
        judge_reboot("5.2.3", "2", events, response, span) if response.data.get("status") == 1 else None
    )
    if rebooted is not None:  # applied at the HeMS's Reboot: its boot Inform, then the read back
        add(rebooted)
        if rebooted.outcome != PASSED:
            return out
        after = rebooted.events[-1]
    elif (
        response.data.get("status") == 1
    ):  # applied at a reboot: the boot Inform after it, then the read back
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

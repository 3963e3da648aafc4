"""Judges of 5.3: the ReportingMechanism set and read back, an invalid one refused with nothing changed (5.3.1,
Figure 5-9), and alarms reported as their mechanism says (5.3.2, Figure 5-10): Expedited in an Inform at once
and its clearing under the same AlarmIdentifier, Queued in the next Inform only, Logged and Disabled in none
(Logged kept in HistoryEvent). Which alarm the bench asked the unit to raise, and when, is the bench's knowledge
(the unit/action event of raise_alarm carries its EventType and ProbableCause); its mechanism is the last
SetParameterValues of a ReportingMechanism before it, read from the CWMP like the rest."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.events import HemsKind, Source, UnitKind
from bench.evidence.judge_common import after, cwmp_seen, is_inform, knowledge_missing, quiet_after
from bench.evidence.judges import (
    ESP_ONLY,
    FAILED,
    LIVE,
    NOT_OBSERVABLE,
    PASSED,
    Judged,
    Span,
    Verdict,
    answer_to,
    judge_gpv_answer,
    judge_read_back,
    judge_spv_response,
    missing,
)
from bench.timeline import Event

MECHANISMS = ("0 Expedited", "1 Queued", "2 Logged", "3 Disabled")
NO_CWMP = f"no CWMP with the Serving HeMS in the evidence ({ESP_ONLY}; or TLS without a key log)"


def entries(params: dict[str, str], table: str) -> dict[str, dict[str, str]]:
    """The entries of FaultMgmt `table` among `params`: instance path -> {field: value}."""
    out: dict[str, dict[str, str]] = {}
    for name, value in params.items():
        m = re.fullmatch(r"(.*\.FaultMgmt\.)" + table + r"\.(\d+)\.(\w+)", name)
        if m:
            out.setdefault(f"{m.group(1)}{table}.{m.group(2)}.", {})[m.group(3)] = value
    return out


@dataclass(frozen=True)
class AlarmId:
    """What identifies an alarm (TR-196 FaultMgmt): its EventType and ProbableCause."""

    event_type: str
    probable_cause: str

    def __str__(self) -> str:
        return f"{self.event_type} / {self.probable_cause}"

    def is_in(self, fields: dict[str, str]) -> bool:
        """Whether a FaultMgmt entry's `fields` are of this alarm."""
        return (fields.get("EventType"), fields.get("ProbableCause")) == (
            self.event_type,
            self.probable_cause,
        )


@dataclass(frozen=True)
class Raised(AlarmId):
    """An alarm the bench asked the unit to raise: the action's event, the alarm, the mechanism it had then
    (None when no ReportingMechanism was set before it in the evidence), the FaultMgmt object's path and the
    unit's confirmation (the plans' quiet waits start there)."""

    event: Event
    mechanism: str | None
    fm: str
    confirmed: Event


def _spv(e: Event) -> bool:
    return (
        e.source == Source.HEMS
        and e.kind == HemsKind.RPC_SENT
        and e.data.get("method") == "SetParameterValues"
    )


def raised(events: Sequence[Event]) -> list[Raised]:
    """Every raise_alarm the bench asked for and the unit confirmed, with the ReportingMechanism last set
    before it."""
    out = []
    for e in events:
        if not (
            e.source == Source.UNIT and e.kind == UnitKind.ACTION and e.data.get("action") == "raise alarm"
        ):
            continue
        values = e.data.get("values") or {}
        mechanism, fm = None, "FaultMgmt."
        sets = [s for s in events if _spv(s) and s.seq < e.seq]
        for s in reversed(sets):
            mine = {
                n: v for n, v in (s.data.get("values") or {}).items() if n.endswith(".ReportingMechanism")
            }
            if len(mine) == 1:
                name, mechanism = next(iter(mine.items()))
                fm = name.split("SupportedAlarm.")[0]
                break
        confirmed = _confirmed(events, e)
        if confirmed is not None:  # one the unit did not confirm failed the bench's step "alarm", not step 2
            kind, cause = str(values.get("event_type")), str(values.get("probable_cause"))
            out.append(Raised(kind, cause, event=e, mechanism=mechanism, fm=fm, confirmed=confirmed))
    return out


def _confirmed(events: Sequence[Event], action: Event) -> Event | None:
    """The unit's confirmation of the action (unit/action-confirmed) before the bench asked for another."""
    for e in after(
        events,
        lambda e: e.source == Source.UNIT and e.kind in (UnitKind.ACTION, UnitKind.ACTION_CONFIRMED),
        action,
    ):
        ok = e.kind == UnitKind.ACTION_CONFIRMED and e.data.get("action") == action.data.get("action")
        return e if ok else None
    return None


def reported(e: Event, alarm: Raised, table: str, kind: str = "NewAlarm") -> list[dict[str, str]]:
    """The `kind` entries of `table` for the alarm in the Inform `e` (NotificationType NewAlarm when absent)."""
    found = entries(e.data.get("params") or {}, table).values()
    return [f for f in found if alarm.is_in(f) and f.get("NotificationType", "NewAlarm") == kind]


def reports(alarm: Raised, table: str, kind: str = "NewAlarm") -> Callable[[Event], bool]:
    return lambda e: is_inform("serving-hems")(e) and bool(reported(e, alarm, table, kind))


def mentions(alarm: Raised) -> Callable[[Event], bool]:
    """An Inform carrying any FaultMgmt entry for the alarm."""
    tables = ("ExpeditedEvent", "QueuedEvent", "HistoryEvent", "CurrentAlarm")
    return lambda e: (
        e.source == Source.HEMS and e.kind == HemsKind.INFORM
        and any(alarm.is_in(f) for t in tables for f in entries(e.data.get("params") or {}, t).values())
    )  # fmt: skip


def _first_within(
    events: Sequence[Event],
    pred: Callable[[Event], bool],
    since: Event,
    bound: float,
    origin: Event | None = None,
) -> Event | None:
    """The first event matching `pred` after `since`, within `bound` s of `origin` (`since` when None)."""
    origin = origin or since
    return next((e for e in after(events, pred, since) if e.t - origin.t <= bound), None)


def _gpv(e: Event) -> bool:
    return (
        e.source == Source.HEMS
        and e.kind == HemsKind.RPC_RESPONSE
        and e.data.get("method") == "GetParameterValues"
    )


def new_entries(
    events: Sequence[Event], alarm: Raised, tables: tuple[str, ...]
) -> tuple[Event, dict[str, dict[str, str]]] | None:
    """(the first GetParameterValuesResponse after the raise, its entries for the alarm in `tables` that the
    last one before the raise did not have); None when no read follows the raise."""
    read = next(iter(after(events, _gpv, alarm.event)), None)
    if read is None:
        return None
    before_reads = [e for e in events if _gpv(e) and e.seq < alarm.event.seq]
    was = before_reads[-1].data.get("values") or {} if before_reads else {}
    before = {p: f for t in tables for p, f in entries(was, t).items()}
    now = {p: f for t in tables for p, f in entries(read.data.get("values") or {}, t).items()}
    return read, {p: f for p, f in now.items() if alarm.is_in(f) and before.get(p) != f}


def unconfirmed(clause: str, events: Sequence[Event]) -> Verdict | None:
    """A raise_alarm or clear_alarm the bench asked for by console or shell that the unit did not confirm (no
    unit/action-confirmed before the bench's next action: the bench's own record of its template's expect, a
    knowledge event): the live plan's step "alarm", in its words. A manual action has no confirmation event."""
    for e in events:
        if not (e.source == Source.UNIT and e.kind == UnitKind.ACTION
                and e.data.get("action") in ("raise alarm", "clear alarm")
                and e.data.get("method") in ("console", "shell")):  # fmt: skip
            continue
        if _confirmed(events, e) is None:
            values = e.data.get("values") or {}
            alarm = AlarmId(str(values.get("event_type")), str(values.get("probable_cause")))
            action = str(e.data.get("action")).replace(" ", "_")
            return Verdict(clause, "alarm", FAILED, f"the unit to confirm {action} for {alarm}",
                           f"no confirmation of its {e.data.get('method')} command {e.data.get('sent')!r} before "
                           "the bench's next action or the evidence's end", (e,))  # fmt: skip
    return None


def judge_prepared(clause: str, events: Sequence[Event], span: Span = LIVE) -> Verdict | None:
    """Step pre (the plan's prepare: SupportedAlarm read, ReportingMechanism set and read back): the first
    GetParameterValues of the Serving HeMS before the first alarm raised that the unit answered with a Fault,
    in the live words (procedures.Session.get_values); None when none was."""
    first = raised(events)
    for sent in events:
        if first and sent.seq >= first[0].event.seq:
            break
        if not (sent.source == Source.HEMS and sent.kind == HemsKind.RPC_SENT
                and sent.data.get("hems") == "serving-hems" and sent.data.get("method") == "GetParameterValues"):  # fmt: skip
            continue
        answer = answer_to(events, sent)
        if answer is not None and answer.kind == HemsKind.RPC_FAULT:
            return judge_gpv_answer(clause, "pre", events, sent, span)
    return None


def _start(
    clause: str, test: str, events: Sequence[Event], mechanism: str, step: str = "2"
) -> tuple[Judged, list[Raised]]:
    out = Judged(clause, test)
    if (refused := unconfirmed(clause, events)) is not None:
        out.verdicts.append(refused)
        return out, []
    if not cwmp_seen(events, "serving-hems"):
        out.verdicts.append(Verdict(clause, step, NOT_OBSERVABLE, why=NO_CWMP))
        return out, []
    refused = judge_prepared(clause, events)
    if refused is not None:
        out.verdicts.append(refused)
        return out, []
    alarms = [a for a in raised(events) if a.mechanism == mechanism]
    if not alarms:
        if not raised(events):
            out.verdicts += knowledge_missing(
                clause, (step,), "which alarm the bench asked the unit to raise, and when"
            )
        else:
            out.verdicts.append(Verdict(clause, step, NOT_OBSERVABLE, why=f"no alarm raised under ReportingMechanism "
                                        f"{mechanism} in the evidence"))  # fmt: skip
    return out, alarms


def judge_expedited(events: Sequence[Event], bound: float = 30.0, span: Span = LIVE) -> Judged:
    """test_expedited_alarm_is_reported_at_once: the NewAlarm in an ExpeditedEvent of an Inform within
    `bound` (bounds.alarm_inform), and its clearing under the same AlarmIdentifier."""
    out, alarms = _start("5.3.2", "test_expedited_alarm_is_reported_at_once", events, MECHANISMS[0])
    add = out.verdicts.append
    within = Span(span.end, bound) if span.end is not None else span
    for alarm in alarms[:1]:
        new = _first_within(events, reports(alarm, "ExpeditedEvent"), alarm.event, bound, alarm.confirmed)
        if new is None:
            add(missing("5.3.2", "2", f"an Inform carrying the Expedited alarm {alarm} (ExpeditedEvent) within "
                        f"{bound:g} s", f"nothing within {bound:g} s", alarm.event, within))  # fmt: skip
            return out
        add(Verdict("5.3.2", "2", PASSED, events=(alarm.event, new)))
        ident = reported(new, alarm, "ExpeditedEvent")[-1].get("AlarmIdentifier", "")
        clear = next((e for e in after(events, _cleared, new)), None)
        if clear is None:
            add(Verdict("5.3.2", "2", NOT_OBSERVABLE, why="the bench's clear_alarm is not in the evidence"))
            continue
        origin = _confirmed(events, clear) or clear  # the plan waits from the unit's confirmation on
        cleared = _first_within(events, reports(alarm, "ExpeditedEvent", "ClearedAlarm"), new, bound, origin)
        if cleared is None:
            add(missing("5.3.2", "2", f"an Inform carrying the clearing of the Expedited alarm {alarm} within "
                        f"{bound:g} s", f"nothing within {bound:g} s", clear, within))  # fmt: skip
            return out
        idents = [
            f.get("AlarmIdentifier") for f in reported(cleared, alarm, "ExpeditedEvent", "ClearedAlarm")
        ]
        if ident not in idents:
            add(Verdict("5.3.2", "2", FAILED, f"the ClearedAlarm event with the AlarmIdentifier the unit raised it "
                        f"under ({ident!r})", f"AlarmIdentifier {', '.join(map(repr, idents))}", (cleared,)))  # fmt: skip
            return out
        add(Verdict("5.3.2", "2", PASSED, events=(clear, cleared)))
    return out


def _cleared(e: Event) -> bool:
    return e.source == Source.UNIT and e.kind == UnitKind.ACTION and e.data.get("action") == "clear alarm"


def _describe(events: Sequence[Event]) -> Callable[[Event], str]:
    t0 = events[0].t if events else 0.0
    return lambda e: e.describe(t0)


def judge_queued(events: Sequence[Event], quiet: float = 10.0, span: Span = LIVE) -> Judged:
    """test_queued_alarm_waits_for_the_next_inform: no Inform with the alarm within `quiet` (bounds.quiet) of
    the raise; the next Inform after that carries it in a QueuedEvent."""
    out, alarms = _start("5.3.2", "test_queued_alarm_waits_for_the_next_inform", events, MECHANISMS[1])
    show = _describe(events)
    for alarm in alarms[:1]:
        held = quiet_after("5.3.2", "2", events, mentions(alarm), alarm.event, quiet,
                           f"the Queued alarm {alarm} held for the next Inform",
                           lambda e: f"an Inform carrying it at once: {show(e)}", span, alarm.confirmed)  # fmt: skip
        out.verdicts.append(held)
        if held.outcome != PASSED:
            return out
        nxt = next(
            (
                e
                for e in after(events, is_inform("serving-hems"), alarm.event)
                if e.t - alarm.confirmed.t > quiet
            ),
            None,
        )
        if nxt is None:
            out.verdicts.append(missing("5.3.2", "2", "the next Inform (after a connection request)", "nothing",
                                        alarm.event, span))  # fmt: skip
            return out
        if not reports(alarm, "QueuedEvent")(nxt):
            out.verdicts.append(Verdict("5.3.2", "2", FAILED, f"the next Inform carrying the Queued alarm {alarm} "
                                        f"(QueuedEvent)", f"an Inform with {len(nxt.data.get('params') or {})} "
                                        "parameters, none of them it", (nxt,)))  # fmt: skip
            return out
        out.verdicts.append(Verdict("5.3.2", "2", PASSED, events=(alarm.event, nxt)))
    return out


def not_informed(events: Sequence[Event], alarm: Raised, name: str, quiet: float, span: Span) -> Verdict:
    show = _describe(events)
    return quiet_after("5.3.2", "2", events, mentions(alarm), alarm.event, quiet, f"no Inform for the {name} "
                       f"alarm {alarm}", lambda e: f"an Inform carrying it: {show(e)}", span, alarm.confirmed)  # fmt: skip


def judge_logged(events: Sequence[Event], quiet: float = 10.0, span: Span = LIVE) -> Judged:
    """test_logged_alarm_is_not_informed_but_kept: no Inform with the alarm within `quiet`; a new HistoryEvent
    entry for it in the GetParameterValuesResponse after the raise."""
    out, alarms = _start("5.3.2", "test_logged_alarm_is_not_informed_but_kept", events, MECHANISMS[2])
    for alarm in alarms[:1]:
        out.verdicts.append(not_informed(events, alarm, "Logged", quiet, span))
        if out.failed() is not None:
            return out
        found = new_entries(events, alarm, ("HistoryEvent",))
        if found is None:
            out.verdicts.append(missing("5.3.2", "2", f"the Logged alarm {alarm} in {alarm.fm}HistoryEvent", "nothing",
                                        alarm.event, span))  # fmt: skip
        elif not found[1]:
            out.verdicts.append(Verdict("5.3.2", "2", FAILED, f"the Logged alarm {alarm} in {alarm.fm}HistoryEvent",
                                        "no new entry for it", (found[0],)))  # fmt: skip
        else:
            out.verdicts.append(Verdict("5.3.2", "2", PASSED, events=(found[0],)))
    return out


def judge_disabled(events: Sequence[Event], quiet: float = 10.0, span: Span = LIVE) -> Judged:
    """test_disabled_alarm_is_not_reported: no Inform with the alarm within `quiet`; the same alarm raised again
    under 2 Logged (the control) shows in CurrentAlarm or HistoryEvent."""
    out, alarms = _start("5.3.2", "test_disabled_alarm_is_not_reported", events, MECHANISMS[3])
    for alarm in alarms[:1]:
        out.verdicts.append(not_informed(events, alarm, "Disabled", quiet, span))
        if out.failed() is not None:
            return out
        control = next((a for a in raised(events) if a.event.seq > alarm.event.seq and a.mechanism == MECHANISMS[2]
                        and (a.event_type, a.probable_cause) == (alarm.event_type, alarm.probable_cause)), None)  # fmt: skip
        if control is None:
            out.verdicts.append(Verdict("5.3.2", "2", NOT_OBSERVABLE, why="the control raise (under 2 Logged) is "
                                        "not in the evidence"))  # fmt: skip
            continue
        found = new_entries(events, control, ("CurrentAlarm", "HistoryEvent"))
        expected = (f"the control raise of {alarm} (ReportingMechanism 2 Logged, same template) in {alarm.fm}"
                    "CurrentAlarm or HistoryEvent: without it the silence under Disabled proves nothing")  # fmt: skip
        if found is None:
            out.verdicts.append(missing("5.3.2", "2", expected, "nothing", control.event, span))
        elif not found[1]:
            out.verdicts.append(
                Verdict("5.3.2", "2", FAILED, expected, "no new entry for it in either", (found[0],))
            )
        else:
            out.verdicts.append(Verdict("5.3.2", "2", PASSED, events=(found[0],)))
    return out


def judge_mechanisms(events: Sequence[Event], span: Span = LIVE) -> Judged:
    """test_reporting_mechanism_configuration: each SetParameterValues of ReportingMechanisms (fm-5.3.1)
    answered and read back."""
    out = Judged("5.3.1", "test_reporting_mechanism_configuration")
    if not cwmp_seen(events, "serving-hems"):
        out.verdicts.append(Verdict("5.3.1", "2", NOT_OBSERVABLE, why=NO_CWMP))
        return out
    sets = [e for e in events if _spv(e) and e.data.get("parameter_key") == "fm-5.3.1"]
    if not sets:
        out.verdicts.append(
            Verdict("5.3.1", "2", NOT_OBSERVABLE, why="no SetParameterValues fm-5.3.1 in the evidence")
        )
    for sent in sets:
        answered = judge_spv_response("5.3.1", "2", events, sent, span)
        out.verdicts.append(answered)
        if answered.outcome != PASSED:
            return out
        out.verdicts.append(judge_read_back("5.3.1", "2", events, sent, answered.events[-1], span))
        if out.failed() is not None:
            return out
    return out


def judge_invalid_mechanism(events: Sequence[Event], span: Span = LIVE) -> Judged:
    """test_invalid_reporting_mechanism_changes_nothing: the set with a ReportingMechanism outside the
    enumeration (fm-5.3.1-invalid) refused with a fault; its values read back in the same session as they were
    read before it (the wording of testplans' invalid_set_changes_nothing)."""
    out = Judged("5.3.1", "test_invalid_reporting_mechanism_changes_nothing")
    add = out.verdicts.append
    if not cwmp_seen(events, "serving-hems"):
        add(Verdict("5.3.1", "2", NOT_OBSERVABLE, why=NO_CWMP))
        return out
    sent = next((e for e in events if _spv(e) and e.data.get("parameter_key") == "fm-5.3.1-invalid"), None)
    if sent is None:
        add(
            Verdict(
                "5.3.1", "2", NOT_OBSERVABLE, why="no SetParameterValues fm-5.3.1-invalid in the evidence"
            )
        )
        return out
    values: dict[str, str] = sent.data.get("values") or {}
    shown = ", ".join(f"{n} = {v!r}" for n, v in values.items() if v not in MECHANISMS)
    answer = next((e for e in after(events, lambda e: e.source == Source.HEMS and e.kind in (
        HemsKind.RPC_RESPONSE, HemsKind.RPC_FAULT) and e.data.get("id") == sent.data.get("id"), sent)), None)  # fmt: skip
    expected = f"a SetParameterValues fault refusing the set with the invalid value {shown}"
    if answer is None:
        add(missing("5.3.1", "2", expected, "nothing", sent, span))
        return out
    if answer.kind == HemsKind.RPC_RESPONSE:
        add(Verdict("5.3.1", "2", FAILED, expected, f"SetParameterValuesResponse Status {answer.data.get('status')}: "
                    "the invalid value accepted", (answer,)))  # fmt: skip
        return out
    add(Verdict("5.3.1", "2", PASSED, events=(sent, answer)))
    names = sorted(values)
    has_all = lambda e: _gpv(e) and set(names) <= set(e.data.get("values") or {})  # noqa: E731
    before = [e for e in events if has_all(e) and e.seq < sent.seq]
    read = next(iter(after(events, has_all, answer)), None)
    if not before:
        add(
            Verdict(
                "5.3.1", "2", NOT_OBSERVABLE, why="the values read before the set are not in the evidence"
            )
        )
        return out
    if read is None:
        add(missing("5.3.1", "2", f"GetParameterValuesResponse for {names}", "nothing", answer, span))
        return out
    was, now = before[-1].data.get("values") or {}, read.data.get("values") or {}
    if any(now.get(n) != was.get(n) for n in names):
        changed = ", ".join(
            f"{n} = {now.get(n)!r} (was {was.get(n)!r})" for n in names if now.get(n) != was.get(n)
        )
        add(Verdict("5.3.1", "2", FAILED, f"nothing changed by the refused set with {shown} (TR-069 A.3.2.1)",
                    f"read back {changed} (part of the set was applied)", (read,)))  # fmt: skip
        return out
    add(Verdict("5.3.1", "2", PASSED, events=(before[-1], read)))
    return out

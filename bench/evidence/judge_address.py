"""Judges of 5.2.4 (IPsec tunnel IP address change notification, Figure 5-8): the Inform with 4 VALUE CHANGE and
the new inner address after the change, and its events kept after a session the HeMS failed on purpose. When
the bench moved the unit, and which session it failed, are the bench's knowledge (segw/address-change,
hems/session-failed-on-purpose events); the Informs are on the inner capture (the outer one has only ESP)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bench.events import HemsKind, SegwKind, Source
from bench.evidence.judge_common import Identity, after, cwmp_seen, device_id, is_inform, knowledge_missing
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
    fault_seen,
    missing,
)
from bench.profiles import SHIPPED, load
from bench.timeline import Event

CLAUSE = "5.2.4"
VALUE_CHANGE = "4 VALUE CHANGE"
RULE = "TR-069: an event stays until an InformResponse acknowledged it"
# The inner address as the shipped data-model profiles name it: a judge from captures knows no unit's profile.
ADDRESS_PATHS = tuple(load(name).paths.ipsec_address for name in SHIPPED)


def _param(inform: Event, param: str | None) -> str | None:
    params = inform.data.get("params") or {}
    return param if param is not None else next((p for p in ADDRESS_PATHS if p in params), None)


def carries_address(param: str | None) -> Callable[[Event], bool]:
    return lambda e: (
        is_inform("serving-hems", VALUE_CHANGE)(e) and _param(e, param) in (e.data.get("params") or {})
    )


def judge_inform_carries(
    step: str, inform: Event, param: str, new: str | None, old: str | None, identity: Identity | None
) -> list[Verdict]:
    """The IP-change Inform: the unit's DeviceId, the new inner address (`new`: the SeGW's; from captures the
    address the Inform came from), sent from it."""
    out = [device_id(CLAUSE, step, inform, identity)]
    if out[0].outcome == FAILED:
        return out
    new = new or inform.data.get("peer")
    carried = (inform.data.get("params") or {}).get(param)
    if carried != new:
        out.append(Verdict(CLAUSE, step, FAILED, f"{param} = {new} (the new inner address) in the Inform",
                           f"{param} = {carried}" + (" (the old address)" if carried == old else ""), (inform,)))  # fmt: skip
    elif inform.data.get("peer") != new:
        out.append(Verdict(CLAUSE, step, FAILED, f"the Inform sent from the new inner address {new}",
                           f"sent from {inform.data.get('peer')}", (inform,)))  # fmt: skip
    else:
        out.append(Verdict(CLAUSE, step, PASSED, events=(inform,)))
    return out


def active_notification(param: str) -> str:
    """What the plan expects of its SetParameterAttributes (notify_at_once: the live plan's words)."""
    return f"SetParameterAttributesResponse to Active notification on {param}"


def judge_notify(events: Sequence[Event], step: str, param: str | None = None) -> Verdict | None:
    """The Serving HeMS's last SetParameterAttributes before the first address change (the plan's Active
    notification on the inner address), answered with its response, not a Fault; None when none is in the
    evidence (a correct unit's answer is then not observable: the other steps say so)."""
    changes = [e for e in events if e.source == Source.SEGW and e.kind == SegwKind.ADDRESS_CHANGE]
    sent = [
        e for e in events if e.source == Source.HEMS and e.kind == HemsKind.RPC_SENT
        and e.data.get("hems") == "serving-hems" and e.data.get("method") == "SetParameterAttributes"
        and (not changes or e.seq < changes[0].seq)
    ]  # fmt: skip
    if not sent:
        return None
    answer = answer_to(events, sent[-1])
    if answer is None or answer.kind != HemsKind.RPC_FAULT:
        return None if answer is None else Verdict(CLAUSE, step, PASSED, events=(sent[-1], answer))
    shown = param or next(iter(sent[-1].data.get("notifications") or {}), None) or "the inner address"
    return Verdict(CLAUSE, step, FAILED, active_notification(shown), fault_seen(answer.data), (answer,))


def judge_5_2_4(
    events: Sequence[Event],
    identity: Identity | None = None,
    bound: float = 30.0,
    param: str | None = None,
    new: str | None = None,
    span: Span = LIVE,
) -> Judged:
    """test_inform_after_ipsec_address_change: after the bench's address change, an Inform with 4 VALUE CHANGE
    and the inner address within `bound` (bounds.address_change_inform), not only before it."""
    out = Judged(CLAUSE, "test_inform_after_ipsec_address_change")
    notified = judge_notify(events, "pre", param)
    if notified is not None and notified.outcome == FAILED:
        out.verdicts.append(notified)
        return out
    changes = [e for e in events if e.source == Source.SEGW and e.kind == SegwKind.ADDRESS_CHANGE]
    if not changes:
        out.verdicts += knowledge_missing(
            CLAUSE, ("1",), "the moment the bench moved the unit to a new address"
        )
        return out
    change = changes[-1]
    if not cwmp_seen(events, "serving-hems"):
        out.verdicts.append(Verdict(CLAUSE, "1", NOT_OBSERVABLE, why=f"no CWMP with the Serving HeMS in the "
                                    f"evidence ({ESP_ONLY}; the inner capture shows it)"))  # fmt: skip
        return out
    hits = [e for e in after(events, carries_address(param), change) if e.t - change.t <= bound]
    old = change.data.get("old")
    if not hits:
        prior = [e for e in changes if e.seq < change.seq]
        early = after(events, carries_address(param), prior[-1] if prior else None)
        early = [e for e in early if e.seq < change.seq]
        shown = param or "the inner address"
        if early:
            out.verdicts.append(Verdict(CLAUSE, "1", FAILED, f"an Inform with {VALUE_CHANGE} and {shown} after the "
                                        f"address change ({old} -> {new or '?'})", "it came before the change: "
                                        f"{early[0].describe()}, and none after", (early[0],)))  # fmt: skip
            return out
        out.verdicts.append(missing(CLAUSE, "1", f"an Inform with {VALUE_CHANGE} and {shown} within {bound:g} s "
                                    f"of the address change ({old} -> {new or '?'})", "none", change,
                                    Span(span.end, bound) if span.end is not None else span))  # fmt: skip
        return out
    inform = hits[0]
    out.verdicts += judge_inform_carries("1", inform, _param(inform, param) or "", new, old, identity)
    return out


def kept_verdict(clause: str, step: str, failed: Event, again: Event, failure: Event, shown: str) -> Verdict:
    """The Inform after the session the HeMS failed (`failure`, `shown` as the caller describes it; its Inform
    was `failed`) carries the same events with the same CommandKeys, and, for 4 VALUE CHANGE, the same
    parameters (session_rules.check_events_repeated calls it on the live timeline)."""
    had = list(zip(failed.data.get("events", []), failed.data.get("command_keys", []), strict=False))
    has = set(zip(again.data.get("events", []), again.data.get("command_keys", []), strict=False))
    lost = [f"{code} (CommandKey {key!r})" if key else code for code, key in had if (code, key) not in has]
    gone = [n for n in failed.data.get("params", {}) if n not in again.data.get("params", {})]
    if VALUE_CHANGE not in dict(had):
        gone = []
    if not lost and not gone:
        return Verdict(clause, step, PASSED, events=(failed, again))
    said = ([f"did not repeat {', '.join(lost)}"] if lost else []) + (
        [f"did not repeat {VALUE_CHANGE} for {', '.join(gone)}"] if gone else []
    )
    return Verdict(clause, step, FAILED, f"the Inform after the failed session ({failure.data.get('how')} at "
                   f"{shown}) carrying its events {had} again ({RULE})", f"the Inform after the failed session "
                   f"{' and '.join(said)}: events {again.data.get('events')}, parameters "
                   f"{sorted(again.data.get('params', {}))}", (again,))  # fmt: skip


def _unit_inform(serial: object) -> Callable[[Event], bool]:
    return lambda e: is_inform("serving-hems")(e) and e.data.get("serial") == serial


def judge_kept(clause: str, step: str, events: Sequence[Event], span: Span = LIVE) -> Judged:
    """After each session the HeMS failed on purpose, the unit's next Inform repeats the failed one's events."""
    out = Judged(clause, "")
    failures = [e for e in events if e.source == Source.HEMS and e.kind == HemsKind.SESSION_FAILED]
    if not failures:
        out.verdicts += knowledge_missing(clause, (step,), "which session the HeMS failed on purpose")
        return out
    if not cwmp_seen(events, "serving-hems"):
        out.verdicts.append(Verdict(clause, step, NOT_OBSERVABLE, why=f"no CWMP with the Serving HeMS in the "
                                    f"evidence ({ESP_ONLY}; the inner capture shows it)"))  # fmt: skip
        return out
    t0 = events[0].t if events else 0.0
    for failure in failures:
        mine = _unit_inform(failure.data.get("serial"))
        failed = [e for e in events if mine(e) and e.seq < failure.seq]
        if not failed:
            out.verdicts.append(Verdict(clause, step, NOT_OBSERVABLE, why=f"the Inform of the failed session "
                                        f"(before {failure.describe(t0)}) is not in the evidence"))  # fmt: skip
            continue
        again = next(iter(after(events, mine, failure)), None)
        if again is None:
            out.verdicts.append(
                missing(clause, step, "the Inform after the failed session", "nothing", failure, span)
            )
            continue
        out.verdicts.append(kept_verdict(clause, step, failed[-1], again, failure, failure.describe(t0)))
        if out.failed() is not None:
            return out
    return out


def judge_5_2_4_restart(events: Sequence[Event], span: Span = LIVE) -> Judged:
    """test_address_change_reported_after_hems_restart: the IP-change Inform's session failed on purpose, the
    next Inform carries 4 VALUE CHANGE and the address again."""
    notified = judge_notify(events, "kept")
    if notified is not None and notified.outcome == FAILED:
        out = Judged(CLAUSE, "", [notified])
    else:
        out = judge_kept(CLAUSE, "kept", events, span)
    out.test = "test_address_change_reported_after_hems_restart"
    return out

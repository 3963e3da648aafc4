"""Judge functions for a SetParameterValues that must be refused as a whole (TR-069 A.3.2.1): 5.2.3's invalid
set (9003 with a fault per parameter, nothing changed) and 5.4.1's invalid PeriodicUploadInterval (a fault,
nothing changed, its valid neighbour neither). The values before the set are the GetParameterValuesResponse the
plan asked for before it; those after, the one in the set's session."""

from __future__ import annotations

from collections.abc import Sequence

from bench.events import HemsKind, Source
from bench.evidence.judge_download import NO_CWMP, after, of, values_read
from bench.evidence.judges import (
    FAILED,
    LIVE,
    NOT_OBSERVABLE,
    PASSED,
    Judged,
    Span,
    Verdict,
    cwmp_visible,
    missing,
)
from bench.timeline import Event


def _set(events: Sequence[Event], key: str) -> Event | None:
    return next(
        (
            e
            for e in events
            if e.source == Source.HEMS
            and e.kind == HemsKind.RPC_SENT
            and e.data.get("hems") == "serving-hems"
            and e.data.get("method") == "SetParameterValues"
            and e.data.get("parameter_key") == key
        ),
        None,
    )


def _answer(events: Sequence[Event], sent: Event) -> Event | None:
    return next(
        iter(
            after(
                events,
                lambda e: (
                    e.source == Source.HEMS
                    and e.kind in (HemsKind.RPC_RESPONSE, HemsKind.RPC_FAULT)
                    and e.data.get("id") == sent.data.get("id")
                ),
                sent,
            )
        ),
        None,
    )


def _unseen(out: Judged, events: Sequence[Event], step: str) -> Judged:
    why = "no SetParameterValues of the test in the evidence"
    out.verdicts.append(Verdict(out.clause, step, NOT_OBSERVABLE, why=why if cwmp_visible(events, "serving-hems")
                                else NO_CWMP))  # fmt: skip
    return out


def spv_result(answer: Event) -> str:
    """A SetParameterValues answer as the live plan's describe_result words it."""
    d = answer.data
    if answer.kind == HemsKind.RPC_FAULT:
        return f"fault {d.get('fault_code')} {d.get('fault_string')}, per parameter {d.get('param_faults')}"
    return f"SpvResult(status={d.get('status')})"


def judge_invalid_set(events: Sequence[Event], span: Span = LIVE) -> Judged:
    """5.2.3 test_invalid_set_is_refused_as_a_whole: fault 9003, TAC 9007, SerialNumber 9008, an unknown
    parameter 9005; TAC and EAID read back as before."""
    out = Judged("5.2.3", "test_invalid_set_is_refused_as_a_whole")
    add = out.verdicts.append
    sent = _set(events, "cm-5.2.3-bad")
    if sent is None:
        return _unseen(out, events, "3")
    names = list(sent.data.get("values") or {})
    tac = next(n for n in names if n.endswith(".TAC"))
    eaid = next(n for n in names if n.endswith(".EAID"))
    before = values_read(events, [tac, eaid], False, None, sent)
    answer = _answer(events, sent)
    if answer is None:
        add(missing("5.2.3", "3", "a Fault refusing the whole set", "nothing", sent, span))
        return out
    if answer.kind != HemsKind.RPC_FAULT:
        add(Verdict("5.2.3", "3", FAILED, "a Fault refusing the whole set", spv_result(answer), (answer,)))
        return out
    codes = {".TAC": 9007, "SerialNumber": 9008, ".NoSuchParameter": 9005}
    expected = {n: c for n in names for end, c in codes.items() if n.endswith(end)}
    got = {str(p[0]): p[1] for p in answer.data.get("param_faults") or []}
    if answer.data.get("fault_code") != 9003 or {
        n: got.get(n) for n, c in expected.items() if got.get(n) != c
    }:
        add(Verdict("5.2.3", "3", FAILED, "fault 9003 with SetParameterValuesFault "
                    + ", ".join(f"{n.rsplit('.', 1)[1]} {c}" for n, c in expected.items()),
                    f"fault {answer.data.get('fault_code')}, per parameter "
                    + ", ".join(f"{n.rsplit('.', 1)[1]} {c}" for n, c in got.items()), (answer,)))  # fmt: skip
        return out
    read = values_read(events, [tac, eaid], True, answer)
    if before is None:
        add(
            Verdict(
                "5.2.3",
                "3",
                NOT_OBSERVABLE,
                why="no GetParameterValuesResponse before the set in the evidence",
            )
        )
        return out
    if read is None:
        add(missing("5.2.3", "3", f"GetParameterValuesResponse for {[tac, eaid]}", "nothing", answer, span))
        return out
    b, a = of(before, [tac, eaid]), of(read, [tac, eaid])
    if a != b:
        add(Verdict("5.2.3", "3", FAILED, f"nothing changed by the refused set ({eaid} = {b[eaid]}, {tac} = {b[tac]})",
                    f"{eaid} = {a[eaid]}, {tac} = {a[tac]} (part of the set was applied)", (read,)))  # fmt: skip
        return out
    add(Verdict("5.2.3", "3", PASSED, events=(answer, read)))
    return out


def refused_changes_nothing(clause: str, step: str, events: Sequence[Event], sent: Event, invalid: Sequence[str],
                            span: Span, out: Judged) -> Judged:  # fmt: skip
    """The failure branch of a set (testplans invalid_set_changes_nothing): a fault, and the values read back
    in its session as before it; `invalid` the names whose values make it invalid."""
    add = out.verdicts.append
    values: dict[str, str] = sent.data.get("values") or {}
    names = sorted(values)
    shown = ", ".join(f"{n} = {values[n]!r}" for n in invalid)
    before = values_read(events, names, False, None, sent)
    answer = _answer(events, sent)
    expected = f"a SetParameterValues fault refusing the set with the invalid value {shown}"
    if answer is None:
        add(missing(clause, step, expected, "nothing", sent, span))
        return out
    if answer.kind != HemsKind.RPC_FAULT:
        seen = f"SetParameterValuesResponse Status {answer.data.get('status')}: the invalid value accepted"
        add(Verdict(clause, step, FAILED, expected, seen, (answer,)))
        return out
    read = values_read(events, names, True, answer)
    if before is None or read is None:
        add(Verdict(clause, step, NOT_OBSERVABLE, why="no GetParameterValuesResponse before and after the set in "
                    "the evidence"))  # fmt: skip
        return out
    b, a = of(before, names), of(read, names)
    if a != b:
        changed = ", ".join(f"{n} = {a.get(n)!r} (was {b.get(n)!r})" for n in names if a.get(n) != b.get(n))
        add(Verdict(clause, step, FAILED, f"nothing changed by the refused set with {shown} (TR-069 A.3.2.1)",
                    f"read back {changed} (part of the set was applied)", (read,)))  # fmt: skip
        return out
    add(Verdict(clause, step, PASSED, events=(answer, read)))
    return out


def judge_invalid_interval(events: Sequence[Event], span: Span = LIVE) -> Judged:
    """5.4.1 test_invalid_upload_interval_changes_nothing: PeriodicUploadInterval 0 beside a valid Username."""
    out = Judged("5.4.1", "test_invalid_upload_interval_changes_nothing")
    sent = _set(events, "pm-invalid")
    if sent is None:
        return _unseen(out, events, "2")
    invalid = [n for n in sent.data.get("values") or {} if n.endswith("PeriodicUploadInterval")]
    return refused_changes_nothing("5.4.1", "2", events, sent, invalid, span, out)

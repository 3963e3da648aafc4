"""Judge functions for TS 32.593 5.4 (PM file upload): disabled PM uploads nothing (5.4.1), PM files uploaded
over each protocol with the configured credentials, valid, at PeriodicUploadInterval (5.4.2), and an untrusted
file server refused. The PerfMgmt.Config the HeMS set is its SetParameterValues on the timeline (live and in a
capture); what only the bench knows is a `bench` event: `pm-config` (the interval and tolerance the plan
checks, the untrusted certificate), `pm-first-file` (a forced first file) and `pm-interval` (this test
measured the interval)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import pmfile
from bench.events import BenchKind, FileserverKind, HemsKind, Source, describe
from bench.evidence.judge_download import ENCRYPTED, NO_CWMP, Describe, after
from bench.evidence.judges import (
    FAILED,
    LIVE,
    NOT_OBSERVABLE,
    PASSED,
    Judge,
    Judged,
    Span,
    Verdict,
    absent,
    cwmp_visible,
    gpv_sent,
    judge_gpv_answer,
    judge_read_back,
    judge_spv_response,
    missing,
)
from bench.timeline import Event

PROTOCOLS = ("ftp", "sftp", "http", "https")


def pm_set(events: Sequence[Event], key: str) -> tuple[Event | None, Event | None]:
    """The Serving HeMS's SetParameterValues of PerfMgmt.Config with ParameterKey `key`, and its answer."""
    sent = next((e for e in reversed(events) if e.source == Source.HEMS and e.kind == HemsKind.RPC_SENT
                 and e.data.get("method") == "SetParameterValues" and e.data.get("parameter_key") == key), None)  # fmt: skip
    if sent is None:
        return None, None
    answer = next(iter(after(events, lambda e: e.source == Source.HEMS and e.data.get("id") == sent.data.get("id")
                             and e.kind in (HemsKind.RPC_RESPONSE, HemsKind.RPC_FAULT), sent)), None)  # fmt: skip
    return sent, answer


def value(sent: Event, name: str) -> str | None:
    return next((v for n, v in (sent.data.get("values") or {}).items() if n.endswith("." + name)), None)


def bench_event(events: Sequence[Event], kind: str, since: Event, **data: Any) -> Event | None:
    """The bench's first `kind` event after `since` (a test's evidence may begin with an earlier test's)."""
    return next((e for e in events if e.source == Source.BENCH and e.kind == kind and e.seq > since.seq
                 and all(e.data.get(k) == v for k, v in data.items())), None)  # fmt: skip


def uploads(proto: str, folder: str, user: str | None) -> Callable[[Event], bool]:
    """An upload into the PM folder over `proto`, or a refused login as the PM user (as the live plan's)."""
    return lambda e: (
        e.source == Source.FILESERVER
        and e.data.get("proto") == proto
        and (
            (e.kind == FileserverKind.UPLOAD and folder in str(e.data.get("path", "")))
            or (e.kind == FileserverKind.AUTH_FAILED and e.data.get("user") == user)
        )
    )


def configured(clause: str, step: str, events: Sequence[Event], sent: Event, answer: Event,
               span: Span) -> Verdict | None:  # fmt: skip
    """The read back in the set's session (the plans' configure, step `step`): answered, not a Fault, and
    showing the values set but the password; None when the evidence has no such read back."""
    values = {n: v for n, v in (sent.data.get("values") or {}).items() if not n.endswith("Password")}
    asked = gpv_sent(events, list(values), sent)
    if asked is None:
        return None
    answered = judge_gpv_answer(clause, step, events, asked, span)
    if answered.outcome != PASSED:
        return answered
    as_read = dataclasses.replace(sent, data={**sent.data, "values": values})
    return judge_read_back(clause, step, events, as_read, answer, span)


def _unseen(out: Judged, events: Sequence[Event], steps: Sequence[str], why: str) -> Judged:
    why = why if cwmp_visible(events, "serving-hems") else NO_CWMP
    out.verdicts.extend(Verdict(out.clause, s, NOT_OBSERVABLE, why=why) for s in steps)
    return out


def judge_disabled(events: Sequence[Event], span: Span = LIVE, show: Describe = describe) -> Judged:
    """5.4.1 test_disabled_pm_uploads_nothing: after PerfMgmt.Config with Enable false, no upload for two
    intervals and the tolerance (the pm-config event's; the SetParameterValues' interval without it)."""
    out = Judged("5.4.1", "test_disabled_pm_uploads_nothing")
    sent, answer = pm_set(events, "pm-http")
    if sent is None or answer is None or value(sent, "Enable") != "false":
        return _unseen(out, events, ("3",), "no PerfMgmt.Config with Enable false in the evidence")
    read = configured("5.4.1", "2", events, sent, answer, span)
    if read is not None and read.outcome == FAILED:  # set and read back (step 2)
        out.verdicts.append(read)
        return out
    cfg = bench_event(events, BenchKind.PM_CONFIG, sent, proto="http", enable=False)
    interval = float(cfg.data["interval"]) if cfg else float(value(sent, "PeriodicUploadInterval") or 0)
    window = 2 * interval + (float(cfg.data["tolerance"]) if cfg else 0.0)
    expected = f"no PM upload for {window:g} s (two intervals) while PerfMgmt.Config.1.Enable is false"
    up = next(iter(after(events, uploads("http", "/pm-http/", value(sent, "Username")), answer)), None)
    if up is not None and up.t - answer.t <= window:
        out.verdicts.append(Verdict("5.4.1", "3", FAILED, expected, f"an upload: {show(up)}", (up,)))
    elif span.end is not None and span.end - answer.t < window:
        out.verdicts.append(Verdict("5.4.1", "3", NOT_OBSERVABLE, expected, why=f"the evidence ends "
                                    f"{span.end - answer.t:.1f} s after the set, before the {window:g} s of two "
                                    "intervals"))  # fmt: skip
    else:
        out.verdicts.append(Verdict("5.4.1", "3", PASSED, expected, events=(answer,)))
    return out


def check_upload(ev: Event, user: str | None, which: str, show: Describe) -> list[Verdict]:
    """The upload authenticated as the configured user, and (where the bench's stored copy is at hand) a
    valid file."""
    if ev.kind == FileserverKind.AUTH_FAILED or ev.data.get("user") != user:
        return [Verdict("5.4.2", "1", FAILED, f"the upload authenticated as {user} with the configured password"
                        f"{which}", show(ev), (ev,))]  # fmt: skip
    authenticated = Verdict("5.4.2", "1", PASSED, events=(ev,))
    # The file server's stored copy (live), or the file taken from the capture's FTP data connection.
    stored = Path(str(ev.data.get("stored") or ev.data.get("content") or ""))
    if not (ev.data.get("stored") or ev.data.get("content")) or not stored.is_file():
        return [authenticated, Verdict("5.4.2", "1", NOT_OBSERVABLE, why="the uploaded file's content: not in the "
                                       "evidence (an FTP upload's file is read from the capture; an HTTP one's is not "
                                       "kept, SFTP's and HTTPS's are encrypted)")]  # fmt: skip
    problems = pmfile.validate(stored.read_bytes())
    if problems:
        shown = ev.data.get("stored") or ev.data.get("path")  # the server's file, or the path uploaded to
        return [authenticated, Verdict("5.4.2", "1", FAILED, f"a valid TS 32.435 measCollecFile{which}",
                                       f"{shown}: {'; '.join(problems[:3])}", (ev,))]  # fmt: skip
    return [authenticated, Verdict("5.4.2", "1", PASSED, events=(ev,))]


def judge_uploads(
    proto: str, events: Sequence[Event], span: Span = LIVE, show: Describe = describe
) -> Judged:
    """5.4.2 test_pm_files_uploaded_at_the_interval[proto]: each upload authenticated and valid (the forced
    period's first, when the bench forced one); in the test that measured the interval (its pm-interval
    event), the three uploads' starts apart by the interval within the tolerance."""
    out = Judged("5.4.2", f"test_pm_files_uploaded_at_the_interval[{proto}]")
    sent, answer = pm_set(events, f"pm-{proto}")
    if sent is None or answer is None:
        return _unseen(out, events, ("1",), f"no PerfMgmt.Config for uploads over {proto} in the evidence")
    read = configured("5.4.2", "pre", events, sent, answer, span)
    if read is not None and read.outcome == FAILED:  # the read back in the set's session (step pre)
        out.verdicts.append(read)
        return out
    _judge_uploads(proto, events, sent, answer, span, show, out)
    off = next((e for e in after(events, lambda e: e.source == Source.HEMS and e.kind == HemsKind.RPC_SENT
                                 and e.data.get("parameter_key") == "pm-off", sent)), None)  # fmt: skip
    if off is not None and out.failed() is None:  # uploads switched off after them (step post)
        out.verdicts.append(judge_spv_response("5.4.2", "post", events, off, span))
    return out


def _first_upload(proto: str, events: Sequence[Event], sent: Event, answer: Event, seen: list[Event],
                  span: Span) -> Verdict | None:  # fmt: skip
    """The first upload within the bound the live plan waited (a `bench` event's: the forced period's, or
    three intervals and the tolerance), worded as its wait; None when it came in time."""
    forced = bench_event(events, BenchKind.PM_FIRST_FILE, sent, proto=proto, how="forced")
    awaited = bench_event(events, BenchKind.PM_FIRST_FILE, sent, proto=proto, how="awaited")
    cfg = bench_event(events, BenchKind.PM_CONFIG, sent, proto=proto, enable=True)
    expected = f"a PM file uploaded over {proto} to the file server"
    if not seen and span.end is not None and proto in ENCRYPTED:
        return Verdict("5.4.2", "1", NOT_OBSERVABLE, why=ENCRYPTED[proto].replace("fetched", "uploaded"))
    if forced is not None and forced.data.get("bound"):
        expected += f" for the forced PM period ({forced.data.get('action')})"
        start, seconds, key = forced, float(forced.data["bound"]), str(forced.data.get("bound_key") or "")
    elif awaited is not None and cfg is not None:
        start, seconds, key = awaited, 3 * float(cfg.data["interval"]) + float(cfg.data["tolerance"]), ""
    elif seen:
        return None
    else:
        return missing("5.4.2", "1", expected, "nothing", answer, span)
    if seen and seen[0].t - start.t <= seconds:
        return None
    return absent("5.4.2", "1", expected, events, answer, start, seconds, key, span)


def _judge_uploads(proto: str, events: Sequence[Event], sent: Event, answer: Event, span: Span, show: Describe,
                   out: Judged) -> None:  # fmt: skip
    add = out.verdicts.append
    user = value(sent, "Username")
    seen = after(events, uploads(proto, f"/pm-{proto}/", user), answer)
    late = _first_upload(proto, events, sent, answer, seen, span)
    if late is not None:
        add(late)
        return
    forced = bench_event(events, BenchKind.PM_FIRST_FILE, sent, proto=proto, how="forced")
    measured = bench_event(events, BenchKind.PM_INTERVAL, sent, proto=proto)
    which = f" (the forced PM period's file, {forced.data.get('action')})" if forced else ""
    count = 1 + (3 if measured else 0) if forced else 3 if measured else 1
    for i, ev in enumerate(seen[:count]):
        verdicts = check_upload(ev, user, which if i == 0 else "", show)
        out.verdicts.extend(verdicts)
        if out.failed() is not None:
            return
    if measured is None:
        return
    cfg = bench_event(events, BenchKind.PM_CONFIG, sent, proto=proto, enable=True)
    interval, tol = float(measured.data["interval"]), float(cfg.data["tolerance"]) if cfg else 0.0
    timed = seen[1:4] if forced else seen[:3]
    if len(timed) < 3:
        add(
            missing(
                "5.4.2", "1", f"a PM file uploaded over {proto} to the file server", "nothing", seen[-1], span
            )
        )
        return
    began = [float(e.data.get("began") or e.t) for e in timed]
    gaps = [round(b - a, 2) for a, b in zip(began, began[1:], strict=False)]
    if [g for g in gaps if abs(g - interval) > tol]:
        add(Verdict("5.4.2", "1", FAILED, f"uploads every {interval:g} s (+-{tol:g} s)", f"uploads {gaps} s apart",
                    (timed[-1],)))  # fmt: skip
    else:
        add(Verdict("5.4.2", "1", PASSED, events=tuple(timed)))
    return


def judge_untrusted(events: Sequence[Event], span: Span = LIVE, show: Describe = describe) -> Judged:
    """5.4.2 test_pm_upload_to_untrusted_file_server_is_refused: the unit refuses the handshake (a TLS alert
    seen by the file server, or in a capture) and uploads nothing to /pm-untrusted/."""
    out = Judged("5.4.2", "test_pm_upload_to_untrusted_file_server_is_refused")
    add = out.verdicts.append
    sent, answer = pm_set(events, "pm-https")
    if sent is None or answer is None or "/pm-untrusted/" not in str(value(sent, "URL")):
        return _unseen(
            out, events, ("1",), "no PerfMgmt.Config for the untrusted file server in the evidence"
        )
    cfg = bench_event(events, BenchKind.PM_CONFIG, sent, proto="https", enable=True)
    shown = f"a certificate from an untrusted CA ({cfg.data.get('cert') if cfg else 'not named: no pm-config event'})"
    expected = f"no PM file uploaded to a file server presenting {shown}"

    def upload(e: Event) -> bool:
        return (
            e.source == Source.FILESERVER
            and e.kind == FileserverKind.UPLOAD
            and "/pm-untrusted/" in str(e.data.get("path", ""))
        )

    first = next(iter(after(events, lambda e: upload(e) or (e.source == Source.FILESERVER and e.kind ==
                                                            FileserverKind.TLS_FAILED), answer)), None)  # fmt: skip
    if first is None:
        if span.end is not None:
            add(Verdict("5.4.2", "1", NOT_OBSERVABLE, expected, why="neither the unit's refusal (a TLS alert, or its close after "
                        "the server's hello) nor an upload in the captures: an upload over TLS needs the file server's "
                        "key log"))  # fmt: skip
        else:
            add(missing("5.4.2", "1", f"the unit to refuse the file server presenting {shown} when it uploads its "
                        "PM file", "nothing", answer, span))  # fmt: skip
        return out
    if upload(first):
        add(Verdict("5.4.2", "1", FAILED, expected, f"the unit uploaded {first.data.get('path')} to the file server "
                    f"presenting {shown}: {show(first)}", (first,)))  # fmt: skip
        return out
    late = next(iter(after(events, upload, first)), None)
    if late is not None:
        add(Verdict("5.4.2", "1", FAILED, expected, f"the unit uploaded {late.data.get('path')} after refusing it "
                    f"once: {show(late)}", (late,)))  # fmt: skip
        return out
    add(Verdict("5.4.2", "1", PASSED, events=(first,)))
    return out


JUDGES_5_4_1: dict[str, Judge] = {"test_disabled_pm_uploads_nothing": judge_disabled}
JUDGES_5_4_2: dict[str, Judge] = {
    **{
        f"test_pm_files_uploaded_at_the_interval[{p}]": functools.partial(judge_uploads, p) for p in PROTOCOLS
    },
    "test_pm_upload_to_untrusted_file_server_is_refused": judge_untrusted,
}

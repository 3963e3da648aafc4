"""Judge functions for TS 32.593 5.2.2, configuration by file download (Figure 5-6): the Download answered and
completed, the file fetched over the protocol asked as the Download's user, the configuration applied (and,
for a download that must fail, the unit's FaultCode and nothing applied; for a file server the unit must not
trust, its refusal in the handshake). What only the bench knows (what the file sets, how the download must fail,
the FaultCode the unit's TR-069 amendment gives, the untrusted certificate) is its `bench/config-file` event;
the values before a download are the GetParameterValuesResponse the plan asked for before it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bench import transfer_faults
from bench.events import BenchKind, FileserverKind, HemsKind, MmeKind, Source, describe
from bench.evidence.judges import (
    ESP_ONLY,
    FAILED,
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
    judge_reboot,
    judge_s1_tac,
    missing,
)
from bench.timeline import Event

LIVE = Span()
CLAUSE = "5.2.2"
CLOCK_SLACK = 5.0  # how far a unit's clock may be from the bench's in a TransferComplete's times
Describe = Callable[[Event], str]
NO_CWMP = f"no CWMP with the Serving HeMS in the evidence ({ESP_ONLY}; or TLS without a key log)"
ENCRYPTED = {
    "sftp": "SFTP transfers are encrypted: which file the unit fetched, and as whom, is not observable from a "
    "capture",
    "https": "the transfer is TLS: without the file server's key log which file the unit fetched is not observable",
}


def _hems(e: Event, kind: str, **data: Any) -> bool:
    return (
        e.source == Source.HEMS
        and e.kind == kind
        and e.data.get("hems") == "serving-hems"
        and all(e.data.get(k) == v for k, v in data.items())
    )


def after(events: Sequence[Event], pred: Callable[[Event], bool], since: Event | None) -> list[Event]:
    return [e for e in events if pred(e) and (since is None or e.seq > since.seq)]


def download_sent(events: Sequence[Event], key: Callable[[str], bool]) -> Event | None:
    """The Serving HeMS's Download whose CommandKey `key` accepts."""
    return next(
        (
            e
            for e in events
            if _hems(e, HemsKind.RPC_SENT, method="Download") and key(str(e.data.get("command_key")))
        ),
        None,
    )


def config_file(events: Sequence[Event], key: str) -> Event | None:
    """The bench's note of the file it served for the Download with CommandKey `key`."""
    return next(
        (
            e
            for e in events
            if e.source == Source.BENCH and e.kind == BenchKind.CONFIG_FILE and e.data.get("key") == key
        ),
        None,
    )


def values_read(events: Sequence[Event], names: Sequence[str], first: bool, since: Event | None = None,
                until: Event | None = None) -> Event | None:  # fmt: skip
    """The first (or last) GetParameterValuesResponse covering `names` between `since` and `until`."""
    got = [
        e
        for e in after(events, lambda e: _hems(e, HemsKind.RPC_RESPONSE, method="GetParameterValues"), since)
        if set(names) <= set(e.data.get("values") or {}) and (until is None or e.seq < until.seq)
    ]
    return (got[0] if first else got[-1]) if got else None


def of(e: Event, names: Sequence[str]) -> dict[str, str]:
    """The values of a GetParameterValuesResponse among `names` (all for none), in the unit's order (as the live
    plan's dict has them)."""
    values: dict[str, str] = e.data.get("values") or {}
    return {n: v for n, v in values.items() if n in names} if names else values


@dataclass(frozen=True)
class Done:
    """How the unit said a Download ended (as the live plan's Completion): DownloadResponse Status 0, a fault
    answering it, or a TransferComplete (`event`)."""

    fault_code: int
    fault_string: str
    how: str
    event: Event


def _when(value: str) -> datetime | None:
    if value.startswith("0001-01-01"):
        return None
    at = datetime.fromisoformat(value.strip())
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def completion(
    events: Sequence[Event], sent: Event, span: Span, add: Callable[[Verdict], None]
) -> Done | None:
    """Step 1 and the TransferComplete's checks of step 3; None when a verdict ends the judgement."""
    key = str(sent.data.get("command_key"))
    answer = next(iter(after(events, lambda e: e.source == Source.HEMS and e.data.get("id") == sent.data.get("id")
                             and e.kind in (HemsKind.RPC_RESPONSE, HemsKind.RPC_FAULT), sent)), None)  # fmt: skip
    if answer is None:
        add(missing(CLAUSE, "1", "a DownloadResponse with Status 0 or 1", "nothing", sent, span))
        return None
    if answer.kind == HemsKind.RPC_FAULT:
        d = answer.data
        return Done(
            int(d.get("fault_code") or 0),
            str(d.get("fault_string")),
            "a fault answering the Download",
            answer,
        )
    status = answer.data.get("status")
    if status not in (0, 1):
        add(Verdict(CLAUSE, "1", FAILED, "a DownloadResponse with Status 0 or 1", f"DownloadResponse Status {status}",
                    (answer,)))  # fmt: skip
        return None
    if status == 0:
        add(Verdict(CLAUSE, "1", PASSED, events=(sent, answer)))
        return Done(0, "", "DownloadResponse Status 0 (applied)", answer)
    rebooted = judge_reboot(CLAUSE, "1", events, answer, span)  # the HeMS reboots a unit that applies at boot
    if rebooted is not None and rebooted.outcome != PASSED:
        add(rebooted)
        return None
    done = next(iter(after(events, lambda e: _hems(e, HemsKind.CPE_RPC, method="TransferComplete")
                           and e.data.get("serial") in (None, sent.data.get("serial")), answer)), None)  # fmt: skip
    if done is None:
        expected = (f"a TransferComplete with CommandKey {key} after DownloadResponse Status 1"
                    f"{' and the Reboot' if rebooted else ''}")  # fmt: skip
        cfg = config_file(events, key)
        if cfg is not None and cfg.data.get("transfer_complete"):  # the bound the live bench waited
            since = rebooted.events[-1] if rebooted is not None else answer
            add(absent(CLAUSE, "1", expected, events, sent, since, float(cfg.data["transfer_complete"]),
                       str(cfg.data.get("transfer_complete_key") or ""), span))  # fmt: skip
        else:
            add(missing(CLAUSE, "1", expected, "nothing in the evidence", answer, span))
        return None
    add(Verdict(CLAUSE, "1", PASSED, events=(sent, answer, done)))
    d = done.data
    if d.get("command_key") != key:
        add(Verdict(CLAUSE, "3", FAILED, f"a TransferComplete with CommandKey {key}, the Download's (TR-069 A.3.3.1)",
                    f"a TransferComplete with CommandKey {d.get('command_key')!r}", (done,)))  # fmt: skip
        return None
    shown = f"StartTime {d.get('start_time')}, CompleteTime {d.get('complete_time')}"
    try:
        start, end = _when(str(d.get("start_time", ""))), _when(str(d.get("complete_time", "")))
    except ValueError as exc:
        add(Verdict(CLAUSE, "3", FAILED, "a TransferComplete with StartTime and CompleteTime as dateTime (TR-069 "
                    "A.3.3.1)", str(exc), (done,)))  # fmt: skip
        return None
    if start is not None and end is not None and start > end:
        add(Verdict(CLAUSE, "3", FAILED, "a TransferComplete with StartTime <= CompleteTime (TR-069 A.3.3.1)", shown,
                    (done,)))  # fmt: skip
        return None
    low, high = (datetime.fromtimestamp(t, UTC) for t in (sent.t - CLOCK_SLACK, done.t + CLOCK_SLACK))
    if [t for t in (start, end) if t is not None and not low <= t <= high]:
        add(Verdict(CLAUSE, "3", FAILED, f"a TransferComplete whose StartTime and CompleteTime fall between the "
                    f"Download and its arrival ({low:%H:%M:%S}-{high:%H:%M:%S} UTC, {CLOCK_SLACK:g} s either side for "
                    "the unit's clock)", shown, (done,)))  # fmt: skip
        return None
    informs = [e for e in after(events, lambda e: _hems(e, HemsKind.INFORM), sent) if e.seq < done.seq]
    session = informs[-1] if informs else None
    data = session.data if session else {}
    pairs = list(zip(data.get("events", ()), data.get("command_keys", ()), strict=False))
    if ("M Download", key) not in pairs or "7 TRANSFER COMPLETE" not in dict(pairs):
        add(Verdict(CLAUSE, "3", FAILED, f"the TransferComplete's session opened by an Inform with 7 TRANSFER "
                    f"COMPLETE and M Download {key} (TR-069)", f"events {pairs}", (session or done,)))  # fmt: skip
        return None
    return Done(int(d.get("fault_code") or 0), str(d.get("fault_string") or ""), "TransferComplete", done)


def judge_fetched(events: Sequence[Event], sent: Event, proto: str, span: Span, show: Describe) -> Verdict:
    """Step 2: the Download's file fetched from the file server over `proto` as the Download's user."""
    path, user = urlsplit(str(sent.data.get("url"))).path, sent.data.get("username")
    fetched = next(iter(after(events, lambda e: e.source == Source.FILESERVER and e.kind == FileserverKind.DOWNLOAD
                              and e.data.get("path") == path, sent)), None)  # fmt: skip
    expected = f"{path} fetched from the file server over {proto} as user {user}"
    if fetched is None and span.end is not None and proto in ENCRYPTED:
        return Verdict(CLAUSE, "2", NOT_OBSERVABLE, expected, why=ENCRYPTED[proto])
    if fetched is None or fetched.data.get("user") != user:
        seen = show(fetched) if fetched else "no download of it at the file server"
        return Verdict(CLAUSE, "2", FAILED, expected, seen, (fetched,) if fetched else ())
    return Verdict(CLAUSE, "2", PASSED, events=(fetched,))


def _read_before(events: Sequence[Event], key: Callable[[str], bool], span: Span, out: Judged) -> bool:
    """Step pre: the values the file sets, read before the Download (the first GetParameterValues for them
    after the bench's note of the file), answered, not a Fault; True when that failed."""
    cfg = next((e for e in events if e.source == Source.BENCH and e.kind == BenchKind.CONFIG_FILE
                and key(str(e.data.get("key")))), None)  # fmt: skip
    asked = gpv_sent(events, sorted(cfg.data.get("values") or {}), cfg) if cfg is not None else None
    if asked is None:
        return False
    answered = judge_gpv_answer(CLAUSE, "pre", events, asked, span)
    if answered.outcome == FAILED:
        out.verdicts.append(answered)
    return answered.outcome == FAILED


def _start(clause_events: Sequence[Event], key: Callable[[str], bool], out: Judged) -> Event | None:
    """The Download of the test, or each step not observable (with why) when the evidence has none."""
    sent = download_sent(clause_events, key)
    if sent is None:
        why = "no Download of the test in the evidence"
        if not cwmp_visible(clause_events, "serving-hems"):
            why = NO_CWMP
        for step in ("1", "2", "3"):
            out.verdicts.append(Verdict(CLAUSE, step, NOT_OBSERVABLE, why=why))
    return sent


def _file(events: Sequence[Event], key: str, out: Judged) -> dict[str, Any] | None:
    cfg = config_file(events, key)
    if cfg is None:
        out.verdicts.append(Verdict(CLAUSE, "3", NOT_OBSERVABLE, why="what the file sets is the bench's knowledge "
                                    "(its bench/config-file event), not in the captures"))  # fmt: skip
        return None
    return cfg.data


def judge_download(proto: str, events: Sequence[Event], span: Span = LIVE, show: Describe = describe,
                   s1: bool = True) -> Judged:  # fmt: skip
    """test_configuration_by_file_download[proto]; `s1` False: not the TAC's S1 step (a live plan awaits it)."""
    out = Judged(CLAUSE, f"test_configuration_by_file_download[{proto}]")
    add = out.verdicts.append
    if _read_before(events, lambda k: k.startswith(f"dl-{proto}-"), span, out):
        return out
    sent = _start(events, lambda k: k.startswith(f"dl-{proto}-"), out)
    if sent is None:
        return out
    done = completion(events, sent, span, add)
    if done is None:
        return out
    fetched = judge_fetched(events, sent, proto, span, show)
    add(fetched)
    if fetched.outcome == FAILED:
        return out
    if done.fault_code != 0:
        add(Verdict(CLAUSE, "3", FAILED, "the download completed with FaultCode 0",
                    f"{done.how}: FaultCode {done.fault_code} {done.fault_string}", (done.event,)))  # fmt: skip
        return out
    cfg = _file(events, str(sent.data.get("command_key")), out)
    if cfg is None:
        return out
    values: dict[str, str] = cfg.get("values") or {}
    names = sorted(values)
    if done.how == "TransferComplete":  # the read back that rode in its session
        end = next(iter(after(events, lambda e: _hems(e, HemsKind.SESSION_END), done.event)), None)
        reported = values_read(events, names, True, done.event, end)
        if reported is not None and of(reported, []) != values:
            add(Verdict(CLAUSE, "3", FAILED, f"the configuration applied when TransferComplete is sent ({values})",
                        f"in the TransferComplete's session the unit still had {of(reported, [])}", (done.event,)))  # fmt: skip
            return out
    got = values_read(events, names, False, done.event)
    if got is None:
        add(missing(CLAUSE, "3", f"GetParameterValuesResponse for {names}", "nothing", done.event, span))
        return out
    if of(got, names) != values:
        add(Verdict(CLAUSE, "3", FAILED, f"the downloaded configuration applied when the unit said so ({done.how}): "
                    f"{values}", f"read back {of(got, names)}", (done.event,)))  # fmt: skip
        return out
    add(Verdict(CLAUSE, "3", PASSED, events=(done.event, got)))
    before = values_read(events, names, False, None, sent)
    tac_name = next((n for n in names if n.endswith(".TAC")), None)
    changed = tac_name is not None and (before is None or of(before, names).get(tac_name) != values[tac_name])
    s1_seen = span.end is None or any(e.source == Source.MME and e.kind == MmeKind.S1AP for e in events)
    if s1 and changed and s1_seen and tac_name is not None:
        add(judge_s1_tac(CLAUSE, "S1", events, sent, int(values[tac_name]), span))
    return out


def expected_fault(cfg: dict[str, Any], why: str) -> str:
    """The expected side of a wrong FaultCode, worded as the live plan words it."""
    code, amendment = int(cfg["fault"]), int(cfg["amendment"])
    return (f"FaultCode {code} for {why}, as {transfer_faults.family(amendment)} has it (units.{cfg['unit']}."
            f"cwmp_amendment; {transfer_faults.describe(code)})")  # fmt: skip


def judge_failing(how: str, events: Sequence[Event], span: Span = LIVE, show: Describe = describe) -> Judged:
    """test_failing_download_reports_the_fault_and_changes_nothing[how]: the FaultCode of the unit's
    amendment, and the values read after it those read before the Download."""
    out = Judged(CLAUSE, f"test_failing_download_reports_the_fault_and_changes_nothing[{how}]")
    add = out.verdicts.append
    key = f"dl-fail-{how}"
    sent = _start(events, lambda k: k == key, out)
    if sent is None:
        return out
    done = completion(events, sent, span, add)
    if done is None:
        return out
    cfg = _file(events, key, out)
    if cfg is None:
        return out
    corrupted = next(
        (e for e in events if e.source == Source.BENCH and e.kind == BenchKind.CORRUPTED_FILE), None
    )
    note = "" if corrupted is None else (f" (the bench corrupted {corrupted.data.get('path')}: {corrupted.data.get('how')}; "
                                         f"units.{cfg['unit']}.config_file.corrupt names none)")  # fmt: skip
    if done.fault_code != int(cfg["fault"]):
        add(Verdict(CLAUSE, "3", FAILED, expected_fault(cfg, f"a {cfg.get('what')}{note}"),
                    f"FaultCode {done.fault_code} {done.fault_string} ({done.how})", (done.event,)))  # fmt: skip
        return out
    _nothing_applied(events, sent, done, sorted(cfg.get("values") or {}), "failed", span, add)
    return out


def _nothing_applied(events: Sequence[Event], sent: Event, done: Done, names: list[str], what: str, span: Span,
                     add: Callable[[Verdict], None]) -> None:  # fmt: skip
    before = values_read(events, names, False, None, sent)
    got = values_read(events, names, False, done.event)
    if before is None:
        add(Verdict(CLAUSE, "3", NOT_OBSERVABLE, why="no GetParameterValuesResponse before the Download in the "
                    "evidence: the values before it are not known"))  # fmt: skip
    elif got is None:
        add(missing(CLAUSE, "3", f"GetParameterValuesResponse for {names}", "nothing", done.event, span))
    elif of(got, names) != of(before, names):
        add(Verdict(CLAUSE, "3", FAILED, f"nothing applied after a {what} download ({of(before, names)})",
                    f"read back {of(got, names)}", (done.event,)))  # fmt: skip
    else:
        add(Verdict(CLAUSE, "3", PASSED, events=(before, got)))


def judge_untrusted(events: Sequence[Event], span: Span = LIVE, show: Describe = describe) -> Judged:
    """test_download_from_untrusted_file_server_is_refused: refused in the handshake, nothing fetched, the
    FaultCode of a file server it does not trust, nothing applied."""
    out = Judged(CLAUSE, "test_download_from_untrusted_file_server_is_refused")
    add = out.verdicts.append
    sent = _start(events, lambda k: k == "dl-untrusted", out)
    if sent is None:
        return out
    done = completion(events, sent, span, add)
    if done is None:
        return out
    cfg = _file(events, "dl-untrusted", out)
    if cfg is None:
        return out
    shown = f"a certificate from an untrusted CA ({cfg.get('cert')})"
    path = urlsplit(str(sent.data.get("url"))).path
    fetched = next(iter(after(events, lambda e: e.source == Source.FILESERVER and e.kind == FileserverKind.DOWNLOAD
                              and e.data.get("path") == path, sent)), None)  # fmt: skip
    if fetched is not None:
        add(Verdict(CLAUSE, "2", FAILED, f"no file fetched from a file server presenting {shown}",
                    f"the unit fetched {path} from the file server presenting {shown}: {show(fetched)}", (fetched,)))  # fmt: skip
        return out
    refused = next(iter(after(events, lambda e: e.source == Source.FILESERVER and e.kind == FileserverKind.TLS_FAILED,
                              sent)), None)  # fmt: skip
    if refused is None:
        expected = (f"the unit to refuse the file server presenting {shown}: a TLS alert or its close during the "
                    "handshake, seen by the file server")  # fmt: skip
        if (
            span.end is not None
        ):  # a close without an alert, or TLS without a key log, shows nothing to hold on to
            add(Verdict(CLAUSE, "2", NOT_OBSERVABLE, expected, why="neither the unit's refusal (a TLS alert, or its close after "
                        "the server's hello) nor a fetch in the captures: a fetch over TLS needs the file server's "
                        "key log"))  # fmt: skip
            return out
        add(Verdict(CLAUSE, "2", FAILED, expected, f"no TLS handshake from the unit after {done.how} (FaultCode "
                    f"{done.fault_code} {done.fault_string})", (done.event,)))  # fmt: skip
        return out
    add(Verdict(CLAUSE, "2", PASSED, events=(refused,)))
    if done.fault_code != int(cfg["fault"]):
        add(Verdict(CLAUSE, "3", FAILED, expected_fault(cfg, "a file server it does not trust"),
                    f"FaultCode {done.fault_code} {done.fault_string} ({done.how}); the unit refused the handshake: "
                    f"{show(refused)}", (done.event,)))  # fmt: skip
        return out
    _nothing_applied(events, sent, done, sorted(cfg.get("values") or {}), "refused", span, add)
    return out


PROTOCOLS = ("http", "https", "ftp", "sftp")
FAILURES = ("wrong-password", "missing", "corrupt", "invalid")
JUDGES: dict[str, Judge] = {
    **{f"test_configuration_by_file_download[{p}]": functools.partial(judge_download, p) for p in PROTOCOLS},
    **{
        f"test_failing_download_reports_the_fault_and_changes_nothing[{h}]": functools.partial(
            judge_failing, h
        )
        for h in FAILURES
    },  # fmt: skip
    "test_download_from_untrusted_file_server_is_refused": judge_untrusted,
}

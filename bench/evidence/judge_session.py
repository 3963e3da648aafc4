"""Judge of 5.1.3's session rules at the registered unit (TR-069 3.2.1.1 and the Inform's events, the plan's
test_session_retry_after_hems_restart), and the verdicts testplans/ts32593/session_rules.py words its live
checks with: 1 BOOT only in the first session after a boot, each retry of a failed session within TR-069's
window for its count with the RetryCount of its attempt, carrying the failed session's events. Which sessions
the Serving HeMS failed on purpose is the bench's knowledge (hems/session-failed-on-purpose); the retry
parameters are the SetParameterValues the inner capture shows; a boot of the unit is a new IKE SA on its outer
link, so a session after the unit's earlier one with no IKE_SA_INIT between them is not the first after a boot."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bench.events import HemsKind, SegwKind, Source
from bench.evidence.judge_address import kept_verdict
from bench.evidence.judge_common import after, cwmp_seen, is_inform, knowledge_missing
from bench.evidence.judges import (
    ESP_ONLY,
    FAILED,
    LIVE,
    NOT_OBSERVABLE,
    PASSED,
    Judged,
    Span,
    Verdict,
    missing,
)
from bench.timeline import Event

Describe = Callable[[Event], str]
CLAUSE, BOOT = "5.1.3", "1 BOOT"
MIN_WAIT, MULTIPLIER = ".CWMPRetryMinimumWaitInterval", ".CWMPRetryIntervalMultiplier"
# operator.session_rules.retry's defaults: how early and how late (s) a retry may come (bench/inventory)
EARLY, SLACK = 0.05, 1.0


def frames(e: Event) -> str:
    return f"frame {e.data.get('frames')}"


def retry_window(n: int, m: float, k: int) -> tuple[float, float]:
    """TR-069 3.2.1.1: the wait before retry `n` (1, 2, ...) is random between these (seconds)."""
    return m * (k / 1000) ** (n - 1), m * (k / 1000) ** n


def no_boot(clause: str, step: str, inf: Event, boot: str, describe: Describe = frames) -> Verdict:
    """1 BOOT only in the first session after a boot: not in `inf`, a session after the unit's earlier one
    (`boot` says how that is known)."""
    if BOOT in inf.data.get("events", ()):
        return Verdict(clause, step, FAILED, f"no {BOOT} in an Inform of a session that is not the first after a boot "
                       f"({boot})", f"events {inf.data.get('events')} in {describe(inf)}", (inf,))  # fmt: skip
    return Verdict(clause, step, PASSED, events=(inf,))


def retry_count(clause: str, step: str, n: int, inf: Event, describe: Describe = frames) -> Verdict:
    """TR-069 A.3.3.1: an Inform's RetryCount is the number of prior attempts of its session: 0 on a first
    attempt (also the first after a successful session), `n` on retry `n`."""
    seen = inf.data.get("retry_count")
    if seen == n:
        return Verdict(clause, step, PASSED, events=(inf,))
    which = f"retry {n} of a failed session" if n else "a session's first attempt"
    return Verdict(clause, step, FAILED, f"RetryCount {n} in the Inform of {which} (TR-069 A.3.3.1: the number of "
                   "prior attempts of this session, reset by a successful one)",
                   f"RetryCount {seen} in {describe(inf)}", (inf,))  # fmt: skip


def retry_wait(
    clause: str,
    step: str,
    n: int,
    failure: Event,
    retry: Event,
    began: float,
    m: int,
    k: int,
    early: float = EARLY,
    slack: float = SLACK,
) -> Verdict:
    """Retry `n` came within TR-069 3.2.1.1's window after the failure: not sooner than its lower bound (less
    `early`), not later than its upper bound plus `slack`. The wait ends when the retry `began` (its first
    request): an authentication round trip after it is not the unit's wait."""
    lo, hi = retry_window(n, m, k)
    waited = began - failure.t
    if lo - early <= waited <= hi + slack:
        return Verdict(clause, step, PASSED, events=(failure, retry))
    auth = (
        f" (its first request; the authenticated Inform {retry.t - began:.2f} s later)"
        if began < retry.t
        else ""
    )
    return Verdict(clause, step, FAILED, f"retry {n} of the failed session {lo:g}-{hi:g} s after it (TR-069 "
                   f"3.2.1.1, with m={m}, k={k}; {slack:g} s allowed for the connection and load)",
                   f"retry {n} came after {waited:.2f} s{auth}; TR-069 allows {lo:.1f}-{hi:.1f} s with m={m}, k={k}",
                   (retry,))  # fmt: skip


def _began(events: Sequence[Event], failure: Event, retry: Event) -> float:
    """When the unit tried again: its first request to the HeMS after the failure (the Inform the HeMS
    challenged for authentication), else the Inform's arrival."""
    peer = retry.data.get("peer")
    first = next((e for e in after(events, lambda e: e.source == Source.HEMS and e.data.get("peer") == peer
                                   and e.kind in (HemsKind.AUTH_CHALLENGE, HemsKind.INFORM), failure)), None)  # fmt: skip
    return first.t if first is not None and first.t <= retry.t else retry.t


def _parameters(events: Sequence[Event], before: Event) -> tuple[int, int] | None:
    """The retry parameters (m, k) the last SetParameterValues before `before` set, when it set both."""
    sets = [e for e in events if e.seq < before.seq and e.source == Source.HEMS and e.kind == HemsKind.RPC_SENT
            and e.data.get("method") == "SetParameterValues"]  # fmt: skip
    for sent in reversed(sets):
        values: dict[str, str] = sent.data.get("values") or {}
        m = next((v for n, v in values.items() if n.endswith(MIN_WAIT)), None)
        k = next((v for n, v in values.items() if n.endswith(MULTIPLIER)), None)
        if m is not None and k is not None and m.isdigit() and k.isdigit():
            return int(m), int(k)
    return None


def _booted(events: Sequence[Event], since: Event, until: Event) -> bool:
    """Whether the unit began an IKE SA (as after a boot) between the two events."""
    return any(e.source == Source.SEGW and e.kind == SegwKind.IKE_MESSAGE and e.data.get("exchange") == "IKE_SA_INIT"
               and not e.data.get("response") and since.seq < e.seq < until.seq for e in events)  # fmt: skip


def judge_session_retry(
    events: Sequence[Event], early: float = EARLY, slack: float = SLACK, span: Span = LIVE
) -> Judged:
    """test_session_retry_after_hems_restart: the Serving HeMS fails the connection request's session (and
    each retry) on purpose; each retry within TR-069's window, its RetryCount, the failed session's events
    repeated, and no 1 BOOT in any of them."""
    out = Judged(CLAUSE, "test_session_retry_after_hems_restart")
    add = out.verdicts.append
    failures = [e for e in events if e.source == Source.HEMS and e.kind == HemsKind.SESSION_FAILED
                and e.data.get("hems") == "serving-hems"]  # fmt: skip
    if not failures:
        out.verdicts += knowledge_missing(
            CLAUSE, ("boot", "retry", "kept"), "which session the HeMS failed on purpose"
        )
        return out
    if not cwmp_seen(events, "serving-hems"):
        why = f"no CWMP with the Serving HeMS in the evidence ({ESP_ONLY}; the inner capture shows it)"
        out.verdicts += [Verdict(CLAUSE, s, NOT_OBSERVABLE, why=why) for s in ("boot", "retry", "kept")]
        return out
    serial = failures[0].data.get("serial")

    def mine(e: Event) -> bool:
        return is_inform("serving-hems")(e) and e.data.get("serial") == serial

    before = [e for e in events if mine(e) and e.seq < failures[0].seq]
    if not before:
        add(
            Verdict(
                CLAUSE, "retry", NOT_OBSERVABLE, why="the Inform of the failed session is not in the evidence"
            )
        )
        return out
    first, prior = before[-1], (before[-2] if len(before) > 1 else None)
    outer = span.end is None or any("inner" not in c for c in span.captures)
    if prior is not None and outer and not _booted(events, prior, first):
        add(no_boot(CLAUSE, "boot", first, f"the unit's session before it in the evidence ({frames(prior)}), no "
                    "IKE_SA_INIT of the unit since"))  # fmt: skip
    elif BOOT in first.data.get("events", ()):
        add(Verdict(CLAUSE, "boot", NOT_OBSERVABLE, why="no earlier session of the unit in the evidence, or a "
                    "capture of its outer link to tell it did not boot since"))  # fmt: skip
    add(retry_count(CLAUSE, "retry", 0, first))
    if out.failed():
        return out
    mk = _parameters(events, first)
    failed = first
    for n, failure in enumerate(
        (f for f in failures if f.data.get("serial") == serial and f.seq > first.seq), 1
    ):
        again = next(iter(after(events, mine, failure)), None)
        if again is None:
            if mk is not None:
                hi = retry_window(n, *mk)[1]
                add(missing(CLAUSE, "retry", f"retry {n} of the failed session", "nothing", failure,
                            Span(span.end, hi + slack) if span.end is not None else span))  # fmt: skip
            return out
        add(kept_verdict(CLAUSE, "kept", failed, again, failure, failure.describe(events[0].t)))
        if mk is not None:
            add(
                retry_wait(
                    CLAUSE, "retry", n, failure, again, _began(events, failure, again), *mk, early, slack
                )
            )
        add(retry_count(CLAUSE, "retry", n, again))
        if outer and not _booted(events, first, again):
            add(no_boot(CLAUSE, "boot", again, "no boot since the first attempt"))
        if out.failed():
            return out
        failed = again
    return out

"""5.1.2.2's steps inside the Initial SeGW's tunnel (Figure 5-3, steps 1.4 to 4), judged from that SeGW's core
side (the bench's `inner-initial.pcapng`): the private DNS query for the Initial HeMS, the Inform with the
DeviceId and 0 BOOTSTRAP, the Serving SeGW/HeMS assignment answered, and the session released. Worded as the live
plan (testplans/ts32593/test_5_1_2_2_discovery_private.py) words each failure."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from bench.events import DnsKind, HemsKind, SegwKind, Source, describe
from bench.evidence.decode import is_initial_inner
from bench.evidence.judge_common import after, device_id, is_inform
from bench.evidence.judges import (
    FAILED,
    NOT_OBSERVABLE,
    PASSED,
    Judged,
    Span,
    Verdict,
    judge_spv_response,
    missing,
)
from bench.timeline import Event

CLAUSE = "5.1.2.2"
HEMS = "initial-hems"
BOOTSTRAP = "0 BOOTSTRAP"
INITIAL_UNSEEN = "no capture of the Initial SeGW's core side (inner-initial.pcapng) in the evidence"


def initial_inner_read(events: Sequence[Event], span: Span) -> bool:
    """Whether the evidence has the Initial SeGW's core side (inner-initial.pcapng): a live timeline has all."""
    return (
        span.end is None
        or any(is_initial_inner(c) for c in span.captures)
        or any(is_initial_inner(str(e.data.get("capture", ""))) for e in events)
    )


def _first(events: Sequence[Event], pred: Callable[[Event], bool], since: Event | None) -> Event | None:
    return next(iter(after(events, pred, since)), None)


def judge_initial_session(
    out: Judged,
    events: Sequence[Event],
    identity: tuple[str, str, str] | None,
    names: dict[str, str],
    ike: Event,
    span: Span,
) -> Event | None:
    """Steps 2.1, 1.4 (the private DNS), 3.2 and 4 after the IKE SA `ike` at the Initial SeGW, in the live
    plan's order, added to `out` up to the first failure; the session's end (step 6.3's anchor), or None."""
    add = out.verdicts.append
    inf = _first(events, is_inform(HEMS), ike)
    if inf is None:
        # The live plan waits bounds.step for the Inform and says what the HeMS saw last (an HTTP 401).
        last = after(events, lambda e: e.source == Source.HEMS and e.data.get("hems") == HEMS, ike)
        seen = f"nothing within {span.bound:g} s" + (f" (last seen: {describe(last[-1])})" if last else "")
        add(missing(CLAUSE, "2.1", "an Inform to the Initial HeMS from the unit's inner address", seen, ike, span,
                    (ike, *last[-1:])))  # fmt: skip
        return None
    vip = inf.data.get("peer")
    fqdn = names["initial-hems"]
    private = _first(events, lambda e: (
        e.source == Source.DNS and e.kind == DnsKind.QUERY and e.data.get("dns") == "private-dns"
        and e.data.get("name") == fqdn and e.data.get("client") == vip and e.seq < inf.seq), ike)  # fmt: skip
    if private is None:
        add(Verdict(CLAUSE, "1.4", FAILED, f"a query for {fqdn} at the private DNS after the IKE SA",
                    "no such query", (inf,)))  # fmt: skip
        return None
    add(Verdict(CLAUSE, "1.4", PASSED, events=(private,)))
    add(device_id(CLAUSE, "2.1", inf, identity))
    if out.failed():
        return None
    if BOOTSTRAP not in inf.data.get("events", []):
        add(Verdict(CLAUSE, "2.1", FAILED, "event 0 BOOTSTRAP in the first Inform to the Initial HeMS",
                    f"events {inf.data.get('events')}", (inf,)))  # fmt: skip
        return None
    add(Verdict(CLAUSE, "2.1", PASSED, events=(inf,)))
    sent = _first(events, lambda e: e.source == Source.HEMS and e.kind == HemsKind.RPC_SENT
                  and e.data.get("hems") == HEMS and e.data.get("method") == "SetParameterValues", inf)  # fmt: skip
    if sent is None:  # a HeMS from the field that assigned nothing in this session
        why = "no SetParameterValues from the Initial HeMS in the evidence"
        add(Verdict(CLAUSE, "3.2", NOT_OBSERVABLE, why=why))
    else:
        assignment = "SetParameterValuesResponse to the Serving SeGW/HeMS assignment"
        add(dataclasses.replace(judge_spv_response(CLAUSE, "3.2", events, sent, span), expected=assignment))
        if out.failed():
            return None
    end = _first(events, lambda e: e.source == Source.HEMS and e.kind == HemsKind.SESSION_END
                 and e.data.get("hems") == HEMS and e.data.get("peer") == vip, inf)  # fmt: skip
    if end is None:
        add(missing(CLAUSE, "4", "the TR-069 session with the Initial HeMS to end", "nothing", inf, span))
        return None
    add(released(events, end, str(vip), span))
    return end


def released(
    events: Sequence[Event], end: Event, vip: str, span: Span, clause: str = CLAUSE, tunnel: bool = True
) -> Verdict:
    """Step 4, as check_session_released words it: the unit closes its connection within bounds.step of the
    HeMS's empty answer `end` (its FIN or RST on the capture, decode's `closed`), or takes the tunnel down (the FIN
    it sent just before its IKE DELETE may be dropped with the SA). The DELETE is encrypted: an IKE message of
    the unit's after `end` (on the outer capture) makes the release not observable, not failed. Without a
    `tunnel` (5.1.2.3: the Initial HeMS on the public internet) only the close releases the session."""
    closed = end.data.get("closed")
    if isinstance(closed, int | float) and closed - end.t <= span.bound:
        return Verdict(clause, "4", PASSED, events=(end,))
    expected = (f"the unit to release the TR-069 session with the {HEMS} (TR-069 3.7.1.4): its connection from "
                f"{vip} closed within {span.bound:g} s of the HeMS's empty answer")  # fmt: skip
    ike = _first(events, lambda e: e.source == Source.SEGW and e.kind == SegwKind.IKE_MESSAGE
                 and not e.data.get("response") and e.t - end.t <= span.bound, end) if tunnel else None  # fmt: skip
    if ike is not None:
        return Verdict(clause, "4", NOT_OBSERVABLE, expected, why=f"no close of the connection on the capture, "
                       f"but the unit spoke IKE {ike.data.get('exchange')} with {ike.data.get('segw')} "
                       f"(frames {ike.data.get('frames')}): the tunnel's DELETE is encrypted")  # fmt: skip
    seen = (f"the unit kept its connection to the {HEMS} open after the session ended (frames "
            f"{end.data.get('frames')})")  # fmt: skip
    return missing(clause, "4", expected, seen, end, span)

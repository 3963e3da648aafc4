"""The bench's SeGWs' own words, from a run's charon logs (RUN_DIR/logs/isegw-charon.log, ssegw-charon.log;
`henb-bench judge --segw-log F`): why a SeGW refused a unit (an untrusted certificate, an identity its
certificate does not carry, proposals outside the policy) is inside the encrypted IKE_AUTH, and which identity
an IKE SA came up with too. The log is parsed as the live SeGW parses charon's log (bench.services.segw.CharonLog),
its lines kept within the test's time span and attributed to the unit by its outer address (the capture's IKE
peer) or its IKE identity, as bench/attribution.py does live; the failure is worded as the live plan words it
(testplans/ts32593/flows.segw_refusal, impostor.py). Without the log, the refusal is not observable, except
where it is cleartext: a NO_PROPOSAL_CHOSEN answer to the unit's IKE_SA_INIT, with the groups it offered."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bench.events import BenchKind, SegwKind, Source
from bench.ike import ike_id_matches
from bench.timeline import Event, Timeline

# The judges and the SeGW's log reader are imported by the functions using them: `henb-bench` imports this
# module for SUFFIX at every start (the `judge` subcommand's --segw-log help), whatever the command.
if TYPE_CHECKING:
    from bench.evidence.judge_common import Identity
    from bench.evidence.judges import Span, Verdict

# the bench's SeGWs, as their logs are named in a run (RUN_DIR/logs/<segw>-charon.log)
SEGWS = ("isegw", "ssegw")
SUFFIX = "-charon.log"
NO_PROPOSAL_CHOSEN = "14"
UNSEEN = (
    "the SeGW's reason is inside the encrypted IKE_AUTH: not observable without its charon log "
    "(henb-bench judge --segw-log; a run keeps it in logs/<segw>-charon.log)"
)


def segw_of(path: Path) -> str | None:
    """The bench's SeGW whose charon log `path` is (isegw-charon.log: isegw), or None (a unit's own log)."""
    name = path.name
    return name[: -len(SUFFIX)] if name.endswith(SUFFIX) and name[: -len(SUFFIX)] in SEGWS else None


def run_segw_logs(run_dir: Path) -> list[Path]:
    """A run folder's charon logs of the bench's SeGWs (not the mock unit's own unit0-charon-*)."""
    return [p for p in sorted((run_dir / "logs").glob(f"*{SUFFIX}")) if p.is_file() and segw_of(p)]


def utc_offset(iso: object) -> float | None:
    """The UTC offset in seconds of a run's `started_iso` (2026-12-07T20:07:06+0000): its host's local time,
    which its charon logs are stamped in; None when it does not say."""
    try:
        offset = dt.datetime.strptime(str(iso), "%Y-%m-%dT%H:%M:%S%z").utcoffset()
    except ValueError:
        return None
    return offset.total_seconds() if offset is not None else None


def ike_id(identity: Identity | None) -> str | None:
    return f"{identity[0]}-{identity[2]}.henb" if identity else None


def unit_log(events: Sequence[Event], span: Span, segw: str, identity: Identity | None) -> list[Event] | None:
    """The events of `segw`'s charon log that are the unit's (its outer address as the captures show it at any
    SeGW, or its IKE identity) within the test's span (its first event to the end of its captures), in order;
    None when no log of `segw` is given."""
    from bench.services.segw import read_charon_log

    paths = [Path(p) for p in span.segw_logs if segw_of(Path(p)) == segw]
    if not paths:
        return None
    times = [e.t for e in events]
    if not times:
        return []
    start, end = min(times), span.end if span.end is not None else max(times)
    hosts = {
        e.data.get("remote_host")
        for e in events
        if e.source == Source.SEGW and e.kind == SegwKind.IKE_MESSAGE
    }
    me = ike_id(identity)
    tl = Timeline()
    found = [f for p in paths for f in read_charon_log(p, segw, start, end, span.log_utc_offset)]
    for t, kind, data in sorted(found, key=lambda f: f[0]):
        if (me is not None and data.get("remote_id") == me) or data.get("remote_host") in hosts:
            tl.add(Source.SEGW, kind, at=t, **data)
    return tl.events()


def wrong_identity(
    clause: str,
    step: str,
    events: Sequence[Event],
    span: Span,
    segw: str,
    identity: Identity | None,
    expected: str,
) -> Verdict | None:
    """An IKE SA up at the real `segw` (not an impostor's connection) under another identity than the unit's:
    the live plan's words (the identity the SeGW accepted, not identity.ike_id), from the SeGW's log."""
    from bench.evidence.judges import FAILED, Verdict

    me = ike_id(identity)
    log = unit_log(events, span, segw, identity)
    if me is None or not log:
        return None
    others = {str(e.data.get("remote_id")) for e in log if e.kind == SegwKind.IKE_UP
              and not str(e.data.get("conn") or "").startswith("impostor-")
              and not ike_id_matches(me, e.data.get("remote_id"))}  # fmt: skip
    if not others:
        return None
    line = next(
        e.data["line"] for e in log if e.kind == SegwKind.IKE_UP and e.data.get("remote_id") in others
    )
    return Verdict(clause, step, FAILED, expected, f"IKE SAs at {segw} from {', '.join(sorted(others))}, not "
                   f"identity.ike_id {me!r} (the {segw} charon's log {Path(str(log[0].data['log'])).name}: "
                   f"{line})", _capture_events(events, segw))  # fmt: skip


def refused(
    clause: str, step: str, events: Sequence[Event], span: Span, segw: str, identity: Identity | None,
    expected: str, seen: str,
) -> Verdict | None:  # fmt: skip
    """The unit never had its IKE SA at `segw` (the caller's `seen`): failed with charon's reasons from its log
    (every refusal of the unit in the test, as the live plan quotes them), where the log shows one that is not
    an impostor's refusal of an offer (the bench's weak-proposals impostor refusing a careful unit's); else
    from the capture, a NO_PROPOSAL_CHOSEN answer to the unit's IKE_SA_INIT; else None."""
    from bench.evidence.judges import FAILED, Verdict
    from bench.services.segw import refusals_on

    log = unit_log(events, span, segw, identity) or []
    weak = _impostor_groups(events, segw)
    own = [e for e in log if e.kind == SegwKind.REFUSED and not _impostors(e, weak)]
    said = refusals_on(log).get(segw) or []
    charon = f"; the {segw} charon refused the unit: {' | '.join(said)}" if own and said else ""
    offer = _no_proposal_chosen(events, segw)
    if offer is not None:
        return Verdict(clause, step, FAILED, expected, f"{seen}; {offer[0]}{charon}", offer[1])
    if charon:
        return Verdict(clause, step, FAILED, expected, seen + charon, _capture_events(events, segw))
    return None


def _capture_events(events: Sequence[Event], segw: str) -> tuple[Event, ...]:
    """The capture's last IKE message with `segw` (where the verdict points in Wireshark), if any."""
    ike = [
        e
        for e in events
        if e.source == Source.SEGW and e.kind == SegwKind.IKE_MESSAGE and e.data.get("segw") == segw
    ]
    return (ike[-1],) if ike else ()


def _impostor_groups(events: Sequence[Event], segw: str) -> set[str]:
    """The Diffie-Hellman groups (strongSwan's names) of the proposals the bench's impostors at `segw` had."""
    from bench.evidence.judge_impostor import GROUPS

    return {name for e in events if e.source == Source.BENCH and e.kind == BenchKind.IMPOSTOR
            and e.data.get("segw") == segw for p in e.data.get("proposals") or ()
            for name in GROUPS.values() if name.replace("_", "").lower() in str(p).lower().split("-")}  # fmt: skip


def _impostors(e: Event, weak: set[str]) -> bool:
    """A refusal of the unit's offer by an impostor offering only weak proposals (charon's configured ones are
    its): what a careful unit meets."""
    from bench.evidence.judge_impostor import GROUPS

    configured = str(e.data.get("configured") or "")
    groups = set(re.findall(r"(?:MODP|ECP|CURVE)_\d+", configured)) & set(GROUPS.values())
    return "proposal" in str(e.data.get("reason")) and bool(groups) and groups <= weak


def _no_proposal_chosen(events: Sequence[Event], segw: str) -> tuple[str, tuple[Event, ...]] | None:
    """The SeGW's NO_PROPOSAL_CHOSEN answer to the unit's IKE_SA_INIT (cleartext), outside the rounds of an
    impostor offering only weak proposals: (what it shows, its events), or None."""
    from bench.evidence.judge_impostor import GROUPS, rounds

    proposals = [(s, end) for s, end in rounds(events, segw)
                 if s.data.get("impostor") == "weak_proposal" or s.data.get("proposals")]  # fmt: skip

    def impostors(e: Event) -> bool:
        return any(s.seq < e.seq and (end is None or e.seq < end.seq) for s, end in proposals)

    inits = [e for e in events if e.source == Source.SEGW and e.kind == SegwKind.IKE_MESSAGE
             and e.data.get("segw") == segw and e.data.get("exchange") == "IKE_SA_INIT"]  # fmt: skip
    answer = next((e for e in inits if e.data.get("response") and NO_PROPOSAL_CHOSEN in (e.data.get("notify") or [])
                   and not impostors(e)), None)  # fmt: skip
    if answer is None:
        return None
    request = next((e for e in reversed(inits) if not e.data.get("response") and e.seq < answer.seq), None)
    offered = (
        ", ".join(GROUPS.get(g, f"group {g}") for g in (request.data.get("dh") or [])) if request else "?"
    )
    frames = [str((e.data.get("frames") or ["?"])[0]) for e in (request, answer) if e is not None]
    capture = Path(str(answer.data.get("capture"))).name
    return (f"the {segw} answered the unit's IKE_SA_INIT offering {offered} with NO_PROPOSAL_CHOSEN ({capture} "
            f"frames {', '.join(frames)})", tuple(e for e in (request, answer) if e is not None))  # fmt: skip

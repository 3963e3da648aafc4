"""What the plans look for on the timeline, named as the spec's figures name it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bench.events import DnsKind, HemsKind, MmeKind, SegwKind, Source
from bench.ike import ike_id_matches
from bench.services.segw import refusals_on
from bench.timeline import Event

if TYPE_CHECKING:
    from bench.run import BenchRun

Pred = Callable[[Event], bool]


# Sources whose `t` is when the bench heard of the event (charon's VICI events), up to this much after it happened
# (tens of ms on a quiet host, most of a second on one at load 12 on two cores): order checks allow for it.
# DNS queries carry the kernel's receive time (bench.services.dns); the allowance stays for one the bench could
# not stamp.
LATE_SOURCES = {Source.DNS: 1.0, Source.SEGW: 1.0}


def dns_first(bench_run: BenchRun, pred: Pred, since: int) -> Event | None:
    """The first DNS query matching `pred`, once every query that reached the bench's DNS servers until now is
    on the timeline (the bench reads dnsmasq's log late when it is busy), waiting at most bounds.step."""
    bench_run.topology.dns_caught_up(bench_run.unit.bounds.step)
    return bench_run.timeline.first(pred, since)


def before(a: Event, b: Event) -> bool:
    """`a` happened before `b`, as far as the sources' timestamps can tell."""
    return a.t <= b.t + LATE_SOURCES.get(a.source, 0.0)


def dns_query(name: str, server: str | None = None) -> Pred:
    return lambda e: (
        e.source == Source.DNS
        and e.kind == DnsKind.QUERY
        and e.data["name"] == name
        and (server is None or e.data["dns"] == server)
    )


def ike_up(segw: str, remote_id: str) -> Pred:
    """An IKE SA from `remote_id` up at the real SeGW `segw` (not at an impostor the bench presented)."""
    return lambda e: (
        e.source == Source.SEGW
        and e.kind == SegwKind.IKE_UP
        and e.data["segw"] == segw
        and not e.data.get("impostor")
        and ike_id_matches(remote_id, e.data["remote_id"])
    )


def from_hems(hems: str, kind: str | None = None) -> Pred:
    return lambda e: (
        e.source == Source.HEMS and e.data.get("hems") == hems and (kind is None or e.kind == kind)
    )


def inform(hems: str, serial: str | None = None, event: str | None = None) -> Pred:
    """An Inform at `hems`; with `serial`, only from that unit. A wrong DeviceId is caught by the DeviceId
    check, so waiting is by peer-independent arrival, not by identity, where the plan says so."""
    return lambda e: (
        e.source == Source.HEMS
        and e.kind == HemsKind.INFORM
        and e.data.get("hems") == hems
        and (serial is None or e.data.get("serial") == serial)
        and (event is None or event in e.data.get("events", []))
    )


def tls_failed(hems: str) -> Pred:
    """A TLS handshake with `hems` that the client did not complete (an alert, or the connection closed)."""
    return lambda e: e.source == Source.HEMS and e.kind == HemsKind.TLS_FAILED and e.data.get("hems") == hems


def session_end(hems: str) -> Pred:
    return lambda e: e.source == Source.HEMS and e.kind == HemsKind.SESSION_END and e.data.get("hems") == hems


def sctp_init() -> Pred:
    return lambda e: e.source == Source.MME and e.kind == MmeKind.SCTP_INIT


def s1ap(message: str, direction: str = "uplink") -> Pred:
    """An S1AP message at the MME stand-in, by its TS 36.413 name (uplink: from the unit)."""
    return lambda e: (
        e.source == Source.MME and e.kind == MmeKind.S1AP and e.data.get("message") == message
        and e.data.get("direction") == direction
    )  # fmt: skip


def segw_refusal(run: BenchRun, segw: str, since: int, ike_id: str | None = None) -> Callable[[], str]:
    """For Steps.wait(why=...): what the SeGW's charon said when it refused a unit since timeline mark
    `since` (an untrusted certificate, proposals it does not accept), and the IKE identities it did accept
    that are not the expected `ike_id` (a unit presenting another identity)."""

    def why() -> str:
        # charon's reasons as events of this unit; else (none reached the timeline) its log since then.
        reasons = refusals_on(run.timeline.events(since)).get(segw)
        if not reasons and not run.several:
            events = run.timeline.events(since, since + 1)
            reasons = run.topology.segw[segw].refusals(events[0].t if events else run.timeline.t0)
        said = f"; the {segw} charon refused: {' | '.join(reasons)}" if reasons else ""
        if ike_id is not None:
            others = {
                str(e.data.get("remote_id"))
                for e in run.timeline.events(since)
                if e.source == Source.SEGW and e.kind == SegwKind.IKE_UP and e.data.get("segw") == segw
                and not ike_id_matches(ike_id, e.data.get("remote_id"))
            }  # fmt: skip
            if others:
                said += (
                    f"; IKE SAs at {segw} from {', '.join(sorted(others))}, not identity.ike_id {ike_id!r}"
                )
        return said

    return why


def hems_refusal(run: BenchRun, hems: str, since: int) -> Callable[[], str]:
    """For Steps.wait(why=...): why the HeMS `hems` refused the unit since timeline mark `since`, in its own
    words (bench.hems.server.Hems.refusals: a TLS handshake the unit did not complete, an HTTP 401)."""

    def why() -> str:
        said = run.topology.hems[hems].refusals(run.timeline.events(since))
        return f"; {said}" if said else ""

    return why

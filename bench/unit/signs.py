"""What the timeline tells of where a unit's flash points, for the lifecycle and the factory reset: a
factory-fresh unit turns to its Initial SeGW/HeMS, a configured one informs the HeMS it was given; and a wait
that, when it times out, quotes why the bench's SeGWs and HeMSs refused the unit."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bench.errors import DeviceError
from bench.ike import ike_id_matches
from bench.services.segw import refusals_on
from bench.timeline import Event
from bench.unit import provisioning

if TYPE_CHECKING:
    from bench.unit.lifecycle import BenchUnit


def initial_side(unit: BenchUnit, e: Event) -> bool:
    """The unit turns to what it was factory-programmed with (so it has no Serving SeGW/HeMS)."""
    op = unit.run.inv.operator
    return (
        (e.source == "dns" and e.kind == "query" and e.data.get("dns") == "public-dns"
         and e.data.get("name") in (op.initial_segw, op.initial_hems))
        or (e.source == "segw" and e.kind == "ike-up" and e.data.get("segw") == "isegw"
            and ike_id_matches(unit.ike_id, e.data.get("remote_id")))
        # a TLS handshake with the Initial HeMS the unit broke off (it refused a wrong certificate)
        or (e.source == "hems" and e.kind == "tls-handshake-failed" and e.data.get("hems") == "initial-hems")
        or (informs(e) and "0 BOOTSTRAP" in e.data.get("events", ()))
    )  # fmt: skip


def informs(e: Event) -> bool:
    """An Inform at any of the bench's HeMSs. Any serial: a unit reporting a wrong DeviceId is still this unit
    (with several units, the run's view shows each unit only what its address says is its own), and still
    resettable."""
    return e.source == "hems" and e.kind == "inform"


def foreign_names(unit: BenchUnit, mark: int) -> list[str]:
    """Names the unit asked the public DNS for since `mark` that are none of this bench's SeGWs and HeMSs:
    a flash configured for another operator."""
    op = unit.run.inv.operator
    ours = {op.initial_segw, op.initial_hems, op.serving_segw, op.serving_hems}
    asked = [
        e.data.get("name")
        for e in unit.run.timeline.events(mark)
        if e.source == "dns" and e.kind == "query" and e.data.get("dns") == "public-dns"
    ]
    return sorted({str(n) for n in asked if n and n not in ours})


def wait_quoting_segws(
    unit: BenchUnit, pred: Callable[[Event], bool], timeout: float, what: str, mark: int
) -> Event:
    """Wait on the timeline; a timeout adds what the SeGWs' charons said when they refused the unit, the
    HeMSs' SetParameterValues the unit refused, and why a HeMS refused the unit (TLS, HTTP 401)."""
    tl, topo = unit.run.timeline, unit.run.topology
    try:
        return tl.wait_for(pred, timeout, what, mark)
    except DeviceError as exc:
        # charon's reasons as this unit's events; else (none reached the timeline) the SeGWs' logs.
        said = [f"{k} charon refused: {' | '.join(r)}" for k, r in refusals_on(tl.events(mark)).items()]
        if not said:
            events = tl.events(mark, mark + 1)
            after = events[0].t if events else tl.t0
            said = [f"{k} charon refused: {' | '.join(r)}" for k, s in topo.segw.items()
                    if (r := s.refusals(after))]  # fmt: skip
        said += [refused] if (refused := provisioning.refusals(unit)) else []
        seen = tl.events(mark)  # what each HeMS refused the unit, in its own words
        said += [why for h in topo.hems.values() if (why := h.refusals(seen))]
        if not said:
            raise
        raise DeviceError(f"{exc}; {'; '.join(said)}") from None

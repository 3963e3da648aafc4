"""Where a factory-fresh boot starts on the timeline (bench/unit/reset.py `fresh_from`): sources report
late and out of order (dnsmasq's log, charon's events), so the boot starts at the first event that happened
no earlier than the first sign of the fresh unit, by time, not at that sign's place in the timeline."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from bench.timeline import Timeline
from bench.unit.provisioning import Boot
from bench.unit.reset import fresh_from

OP = SimpleNamespace(initial_segw="isegw.operator.example", initial_hems="ihems.operator.example")


def fake_unit(tl: Timeline) -> Any:
    unit = SimpleNamespace(
        run=SimpleNamespace(
            timeline=tl,
            inv=SimpleNamespace(operator=OP),
            topology=SimpleNamespace(dns_caught_up=lambda t: True, hems={}),
        ),
        bounds=SimpleNamespace(step=1.0),
        ike_id="00D0B7-MOCK0001.henb",
    )
    return unit


def boot_at(mark: int) -> Boot:
    spv = SimpleNamespace(done=lambda: False)
    return Boot(mark, spv, spv, [], [])  # type: ignore[arg-type]


def test_a_query_reported_before_the_first_sign_but_made_after_it_is_in_the_boot() -> None:
    tl = Timeline()
    tl.add("hems", "session-end", at=100.0, hems="serving-hems")  # the FactoryReset session ends
    mark = tl.mark()
    tl.add("mme", "s1ap", at=100.5, message="S1SetupRequest")  # the configured unit, before its reset
    # The private DNS's log is read before the public one's: its later query comes first in the timeline.
    private = tl.add("dns", "query", at=103.1, dns="private-dns", name=OP.initial_hems)
    first = tl.add("dns", "query", at=103.0, dns="public-dns", name=OP.initial_segw)
    tl.add("segw", "ike-up", at=103.2, segw="isegw", remote_id="00D0B7-MOCK0001.henb")
    unit, boot = fake_unit(tl), boot_at(mark)
    fresh_from(unit, boot, first)
    assert boot.mark == private.seq  # by place in the timeline it would be first.seq, and lose the query


def test_an_ike_report_ahead_of_its_query_does_not_start_the_boot_after_the_query() -> None:
    tl = Timeline()
    mark = tl.mark()
    tl.add("mme", "s1ap", at=100.5, message="S1SetupRequest")
    ike = tl.add("segw", "ike-up", at=103.4, segw="isegw", remote_id="00D0B7-MOCK0001.henb")
    query = tl.add(
        "dns", "query", at=103.0, dns="public-dns", name=OP.initial_segw
    )  # reported after the IKE SA
    unit, boot = fake_unit(tl), boot_at(mark)
    fresh_from(unit, boot, ike)
    assert boot.mark == ike.seq and query.seq > boot.mark  # the S1 message of the configured unit stays out


def test_a_reset_whose_session_ended_before_the_bench_looked_starts_the_boot_after_that_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The FactoryReset `armed` queued rides in the configured unit's Inform session: the unit may answer it
    and end the session before the bench's thread gets to by_hems (CI, a six-unit twin group). The boot starts
    after that session, not after the next one the reset unit holds with the Serving HeMS."""
    from bench.cwmp import Done
    from bench.unit import reset

    tl = Timeline()
    call = SimpleNamespace(id="serving-hems-13", result=lambda timeout: Done("FactoryReset"))
    tl.add("hems", "rpc-sent", at=100.0, hems="serving-hems", method="FactoryReset", id="serving-hems-13")
    tl.add("hems", "rpc-response", at=100.1, hems="serving-hems", method="FactoryReset", id="serving-hems-13")
    end = tl.add("hems", "session-end", at=100.1, hems="serving-hems")
    fresh = tl.add("dns", "query", at=100.4, dns="public-dns", name=OP.initial_segw)  # the reset unit
    tl.add(
        "hems", "inform", at=101.0, hems="serving-hems", events=["0 BOOTSTRAP", "1 BOOT"]
    )  # registered again
    tl.add("hems", "session-end", at=101.1, hems="serving-hems")
    unit = fake_unit(tl)
    unit.bounds = SimpleNamespace(step=0.5, boot=0.5)
    unit.device = None
    unit.run.topology.hems = {"serving-hems": SimpleNamespace()}  # the RPC is queued already: not asked
    primed: list[int] = []
    unit.primed = lambda mark: primed.append(mark) or boot_at(mark)
    started: list[Any] = []
    monkeypatch.setattr(reset, "fresh_from", lambda u, boot, first: started.append(first))
    reset.by_hems(unit, None, "units.u.actions.factory_reset", {"serving-hems": call})  # type: ignore[dict-item]
    assert primed == [end.seq + 1] and started == [fresh], (primed, started)

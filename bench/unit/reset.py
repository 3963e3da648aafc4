"""The factory reset, a part the lifecycle (bench/unit/lifecycle.py) calls: the inventory's way
(units.NAME.actions.factory_reset: FactoryReset from the HeMS the unit informs, a console or shell command, or by
hand), then where the fresh unit's boot starts on the timeline. The unit is then booting factory-fresh."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from bench.cwmp import CwmpFault, DeviceKey, Done
from bench.errors import DeviceError, InfraError
from bench.events import UnitKind
from bench.hems.hooks import EVERY
from bench.inventory import ConsoleAction, HemsReset, ManualReset, ShellAction
from bench.timeline import Event
from bench.unit import provisioning
from bench.unit.actions import run_action
from bench.unit.provisioning import Boot
from bench.unit.signs import initial_side

if TYPE_CHECKING:
    from bench.hems.server import Hems, RpcCall
    from bench.unit.lifecycle import BenchUnit

FRESH = "the unit back factory-fresh, turning to its Initial SeGW/HeMS"


@contextlib.contextmanager
def armed(unit: BenchUnit) -> Iterator[dict[str, RpcCall]]:
    """While the bench waits to see whether a unit it needs factory-fresh is configured: a unit reset from the
    HeMS gets its FactoryReset queued by the HeMS in its first non-bootstrap Inform's own session (by any
    DeviceId: in a run of several the attribution names the unit, in a run of one every Inform is its), so
    the RPC rides in that session. Queued after the Inform, it could miss a session the unit ends at once,
    and the connection request that would open the next may not know the credentials a configured unit
    keeps. Yields the HeMS name -> the queued call."""
    queued: dict[str, RpcCall] = {}
    if not isinstance(unit.cfg.reset[0], HemsReset):
        yield queued
        return
    lock = threading.Lock()  # each HeMS runs its hooks in its own thread: one FactoryReset in all

    def hook(hems: Hems, device: DeviceKey, codes: list[str], params: dict[str, str]) -> None:
        with lock:
            if not queued and "0 BOOTSTRAP" not in codes:
                queued[hems.name] = hems.queue_rpc(device, "FactoryReset")

    several = getattr(unit.run.timeline, "base", None) is not None  # a unit's view of a run of several
    with contextlib.ExitStack() as stack:
        for hems in unit.run.topology.hems.values():
            stack.enter_context(hems.inform_hooks.registered(unit.name if several else EVERY, hook))
        yield queued


def factory_reset(unit: BenchUnit, inform: Event | None, queued: dict[str, RpcCall] | None = None) -> None:
    """Factory reset, the inventory's way; `inform` is the configured unit's Inform (where its HeMS reset
    goes), None for the Serving HeMS; `queued` what `armed` queued."""
    how, where = unit.cfg.reset
    key = f"units.{unit.name}.{where}"
    unit.event(UnitKind.FACTORY_RESET, method=how.method)
    if isinstance(how, HemsReset):
        by_hems(unit, inform, key, queued or {})
    elif isinstance(how, ConsoleAction | ShellAction):
        by_action(unit, how, key)
    elif isinstance(how, ManualReset):
        by_hand(unit, how.instructions, f"{key} is manual")


def by_hand(unit: BenchUnit, instructions: str, why: str) -> None:
    """The person at the bench resets the unit (`why` the bench cannot); the bench waits bounds.factory_reset
    for it to turn fresh."""
    tl = unit.run.timeline
    mark = tl.mark()
    unit.primed(mark)
    bound = unit.bounds.factory_reset
    unit.say(
        f"\nhenb-bench: unit {unit.name} needs a factory reset ({why}):\n  {instructions}\n"
        f"  waiting up to {bound:g} s ({bound.key}) for it to turn to the Initial SeGW/HeMS ...\n"
    )
    try:
        tl.wait_for(lambda e: initial_side(unit, e), bound, "the manual factory reset", mark)
    except DeviceError as exc:
        raise InfraError(f"manual factory reset of unit {unit.name} not done: {exc}") from None


def by_hems(unit: BenchUnit, inform: Event | None, key: str, queued: dict[str, RpcCall]) -> None:
    """FactoryReset from the HeMS the unit informs; it answers, ends the session and reboots itself."""
    tl = unit.run.timeline
    hems_name = inform.data.get("hems", "serving-hems") if inform is not None else "serving-hems"
    # The unit as it named itself: a wrong DeviceId is still this bench's only unit, and resettable.
    d = inform.data if inform is not None else {}
    device = (
        DeviceKey(d.get("oui", ""), d.get("product_class", ""), d["serial"]) if "serial" in d else unit.device
    )
    hems = unit.run.topology.hems[hems_name]
    mark = tl.mark()
    # Queued for the unit's open session or its next one; a connection request opens one if none comes
    # by itself. Sent aside: the unit may take the RPC in a session already open and reboot at once, and
    # the HeMSs must be primed for that boot without waiting for the request's answer.
    call = queued.get(hems_name)
    if call is None:
        call = hems.queue_rpc(device, "FactoryReset")
        cr = unit.cr_policy

        def connection_request() -> None:
            # Its answer is on the timeline; an RPC never answered says why below.
            with contextlib.suppress(DeviceError, InfraError):
                hems.connect(
                    device, cr.username, cr.password, timeout=unit.bounds.step, call=call,
                    attempts=cr.attempts, retry_after=cr.retry_after, purpose="factory reset",
                )  # fmt: skip

        threading.Thread(target=connection_request, name="factory-reset-cr", daemon=True).start()
    result = call.result(unit.bounds.step)
    if not isinstance(result, Done):
        seen = (
            f"fault {result.fault_code} {result.fault_string}"
            if isinstance(result, CwmpFault)
            else repr(result)
        )
        raise DeviceError(
            f"factory reset ({key}: hems): expected a FactoryResetResponse from {hems_name}; seen {seen}"
        )
    # The answer to this call, after the HeMS sent it (by the HeMS's own ID for it, unique in its run): one
    # `armed` queued rode in the configured unit's Inform session, which the unit may answer and end before
    # this thread gets here (both then before `mark`, and the next session's end, once the unit has reset and
    # come back, would be taken for this one's).
    sent = tl.first(
        lambda e: e.source == "hems" and e.kind == "rpc-sent" and e.data.get("hems") == hems_name
        and e.data.get("id") == call.id
    )  # fmt: skip
    answered = tl.first(
        lambda e: e.source == "hems" and e.kind == "rpc-response" and e.data.get("hems") == hems_name
        and e.data.get("method") == "FactoryReset",
        sent.seq if sent is not None else mark,
    )  # fmt: skip
    # The unit resets once the session is over: the HeMSs are primed only then (an RPC queued earlier
    # would go out in that session), and the boot starts where the unit first turns to its Initial
    # SeGW/HeMS, as what it did until then (S1 setup, say) was the configured unit's doing.
    end = tl.wait_for(
        lambda e: e.source == "hems" and e.kind == "session-end" and e.data.get("hems") == hems_name,
        unit.bounds.step,
        f"the session with the FactoryReset at {hems_name} to end",
        answered.seq if answered is not None else mark,
    )
    boot = unit.primed(end.seq + 1)
    try:
        first = tl.wait_for(lambda e: initial_side(unit, e), unit.bounds.boot, FRESH, boot.mark)
    except DeviceError as exc:
        raise DeviceError(
            f"factory reset ({key}: hems) answered, but the unit did not reset: {exc}"
        ) from None
    fresh_from(unit, boot, first)


def by_action(unit: BenchUnit, how: ConsoleAction | ShellAction, key: str) -> None:
    """A console or shell reset: confirmed, the unit wipes its configuration and reboots by itself (a real
    unit may still be writing its flash after the confirming line, so power is not cut then). One that has
    not turned to its Initial SeGW/HeMS within bounds.factory_reset is power-cycled once."""
    tl = unit.run.timeline
    done = run_action(unit, "factory reset", how, key, unit.bounds.factory_reset)
    boot = unit.primed(done.mark)
    fresh = lambda e: initial_side(unit, e)  # noqa: E731
    try:
        first = tl.wait_for(fresh, unit.bounds.factory_reset, FRESH, boot.mark)
    except DeviceError as exc:
        unit.event(UnitKind.REBOOT, reason=f"factory reset ({key}) confirmed, no reboot by itself: {exc}")
        unit.cycle()
        boot = unit.boot
        try:
            first = tl.wait_for(fresh, unit.bounds.boot, FRESH, boot.mark)
        except DeviceError as again:
            raise DeviceError(
                f"factory reset ({key}: {how.method}) confirmed, but the unit did not reset, neither by "
                f"itself nor power-cycled: {again}"
            ) from None
    fresh_from(unit, boot, first)


def fresh_from(unit: BenchUnit, boot: Boot, first: Event) -> None:
    """The unit turned factory-fresh at `first`: its boot starts there. Sources report late (dnsmasq's log,
    charon's events), so the timeline's order is not always the order things happened in: once the DNS
    has caught up, the boot starts at the first event since the priming that happened no earlier than the
    first sign of the fresh unit, by time."""
    provisioning.prime_again(unit, boot)
    # Only then (the fresh unit goes on meanwhile, and takes what is primed for it) wait for the DNS.
    tl = unit.run.timeline
    unit.run.topology.dns_caught_up(unit.bounds.step)
    signs = tl.find(lambda e: initial_side(unit, e), boot.mark)
    start = min((e.t for e in signs), default=first.t)
    boot.mark = min((e.seq for e in tl.events(boot.mark) if e.t >= start), default=first.seq)

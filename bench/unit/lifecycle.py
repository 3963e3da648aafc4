"""One HeNB's lifecycle, in one place (like a labgrid Strategy): explicit states, one `transition(to)` that
knows how to reach each, a broken latch a failed test sets and the next transition clears, and the health
check the bench runs after every test. What a transition calls is in parts of its own: the operator's
provisioning of each boot (bench/unit/provisioning.py), the factory reset (bench/unit/reset.py) and what the
timeline tells of where the unit's flash points (bench/unit/signs.py).

A unit whose flash the bench does not know yet is used as it is where the state allows: asked for
"registered", it is switched on and a unit configured for this bench comes to the Serving HeMS by itself (no
reset, no discovery); factory-fresh and discovered need a fresh unit, so a configured one is reset first, and
so is one that comes to none of this bench's HeMSs within bounds.boot. The path taken is on the timeline
(unit/prepared), in run.json and the report."""

from __future__ import annotations

import enum
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.clauses import waives
from bench.cwmp import CwmpFault, DeviceKey
from bench.errors import ConfigError, DeviceError, InfraError, driver_calls
from bench.events import Source, UnitKind
from bench.hems.server import CrPolicy
from bench.ike import ike_id_matches
from bench.inventory import Actions, Bounds, HemsReset, Unit, Waiver
from bench.timeline import Bound, Event
from bench.unit import provisioning, reset, signs
from bench.unit.actions import Done as ActionDone
from bench.unit.actions import run_action
from bench.unit.kinds import RunContext, build_hardware
from bench.unit.provisioning import Boot
from bench.unit.signs import informs, initial_side

__all__ = ["BenchUnit", "Boot", "State", "UnitBounds"]


class State(enum.Enum):
    OFF = "off"
    BOOTING = "booting"  # switched on by the bench, nothing awaited yet
    FACTORY_FRESH = "factory-fresh"  # booting with its factory configuration: it will bootstrap
    DISCOVERED = "discovered"  # knows its Serving SeGW and HeMS: IPsec to the Serving SeGW is up
    REGISTERED = "registered"  # registered with the Serving HeMS (and S1 setup started, if configured)
    BROKEN = "broken"  # a test failed: in doubt until the next transition power-cycles it


class Way(enum.StrEnum):
    """How a unit whose flash the bench did not know reached the state asked for (unit/prepared)."""

    CONFIGURED = "configured"  # its flash points at this bench: booted to the Serving HeMS, used as it is
    FRESH = "factory-fresh"  # it turned to its Initial SeGW/HeMS: nothing to reset
    RESET = "factory-reset"  # reset first (the state needs a fresh unit, or its flash points elsewhere)


class UnitBounds:
    """The unit's bounds (inventory `units.NAME.bounds`), each a Bound naming its key in timeouts."""

    boot: Bound
    step: Bound
    address_change_inform: Bound
    s1_init: Bound
    alarm_inform: Bound
    quiet: Bound
    factory_reset: Bound
    pm_interval: int
    pm_tolerance: Bound
    transfer_complete: Bound

    def __init__(self, name: str, bounds: Bounds) -> None:
        for key in Bounds.model_fields:
            value = getattr(bounds, key)
            setattr(
                self, key, Bound(value, f"units.{name}.bounds.{key}") if isinstance(value, float) else value
            )


class BenchUnit:
    def __init__(
        self, name: str, cfg: Unit, run: RunContext, index: int = 0, knobs: list[str] | None = None
    ) -> None:
        self.name = name
        self.cfg = cfg
        self.run = run
        self.serial = cfg.identity.serial_number
        # How the HeMS knows the unit: its whole DeviceId, so two vendors' units with one serial stay apart.
        self.device = DeviceKey(cfg.identity.oui, cfg.identity.product_class, cfg.identity.serial_number)
        self.bounds = UnitBounds(name, cfg.bounds)
        # Where this unit keeps what the bench sets and reads (units.NAME.data_model): plans name no path.
        self.profile = cfg.data_model.resolve()
        self.paths = self.profile.paths
        self._state = State.OFF
        self.broken: str | None = None
        self.last_boot: Boot | None = None
        # The bench has not seen where this unit's flash points in this run: it may hold anything.
        self._known = False
        self._path: tuple[Way, str] | None = None  # how the unit came to be known, and why (unit/prepared)
        self._powered: bool | None = None  # what the bench last switched; None: unknown (at the start)
        self._off_at = 0.0
        self._boot_line = 0
        self._crashes_seen = 0
        self._reboots_asked = 0  # reboots a plan caused since the last boot banner was accounted for
        self._banner = re.compile(cfg.console.boot_banner) if cfg.console.boot_banner else None
        # To the person at the bench: `say` what to do (a manual reset's instructions), `note` what happened.
        self.say: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True)
        self.note: Callable[[str], None] = lambda text: print(text, end="", file=sys.stderr, flush=True)
        self.hw = build_hardware(name, cfg, run, index, knobs)
        self.power = self.hw.power
        self.console = self.hw.console
        self.shell = self.hw.shell
        self.ike_id = self.hw.ike_id
        self.wan = self.hw.wan

    @property
    def state(self) -> State:
        """The state the last transition reached (BROKEN once a test failed). Read-only: plans ask for a
        state with transition() through the fixtures, they never set one."""
        return State.BROKEN if self.broken is not None else self._state

    @property
    def cr_policy(self) -> CrPolicy:
        """How the Serving HeMS asks this unit for a session (units.NAME.connection_request)."""
        cr = self.cfg.connection_request
        return CrPolicy(*cr.credentials(self.run.inv.operator), cr.attempts, cr.retry_after)

    def cr_note(self) -> str:
        """Where the credentials a refused connection request carried came from, for its failure message."""
        return provisioning.cr_note(self)

    def waiver(self, check: str) -> Waiver | None:
        """The lab's waiver of `check` (CLAUSE/STEP/KEY) for this unit (units.NAME.waivers), if any."""
        return next((w for w in self.cfg.waivers if waives(w.check, check)), None)

    @property
    def boot(self) -> Boot:
        """The boot the unit's current state came from."""
        if self.last_boot is None:
            raise InfraError(f"unit {self.name} has not been booted (ask for a state first)")
        return self.last_boot

    # -- the lifecycle ---------------------------------------------------------------------------

    def transition(self, to: State) -> Boot | None:
        """Bring the unit to `to`; returns the boot it is in (None when off). A broken unit is power-cycled
        first; it is factory-reset only when `to` needs a factory-fresh unit, or when its flash points
        elsewhere."""
        if to is State.BROKEN:
            raise ConfigError("a unit becomes broken by a failed test; a plan cannot ask for it")
        if self.broken is not None:
            self.event(UnitKind.RECOVER, reason=self.broken)
            self.broken = None
            self._power_off()
        reach = {
            State.OFF: self._power_off,
            State.BOOTING: self.cycle,
            State.FACTORY_FRESH: lambda: self._factory_fresh(to),
            State.DISCOVERED: lambda: self._configured(State.DISCOVERED),
            State.REGISTERED: lambda: self._configured(State.REGISTERED),
        }[to]
        unknown, since, self._path = not self._known, time.monotonic(), None
        with driver_calls():
            reach()
        self._state = to
        self.event(UnitKind.STATE, state=to.value)
        if unknown and self._path is not None:
            self._prepared(to, time.monotonic() - since)
        return self.last_boot

    def mark_broken(self, reason: str) -> None:
        """A test failed: whatever it left, the next transition starts with a power cycle."""
        if self.broken is None:
            self.broken = reason
            self.event(UnitKind.BROKEN, reason=reason)

    def _power_off(self) -> None:
        if self._powered is not False:
            self.power.off()
        self._powered = False
        self._off_at = time.monotonic()
        self._state = State.OFF
        self.last_boot = None

    def cycle(self) -> None:
        """Off (unless known off), off for the inventory's power_off_time, then on with the HeMSs primed."""
        if self._powered is not False:
            self._power_off()
        wait = self.cfg.power_off_time - (time.monotonic() - self._off_at)
        if wait > 0:
            time.sleep(wait)
        self.primed(self.run.timeline.mark())
        self.power.on()
        self._powered = True
        self._state = State.BOOTING

    def primed(self, mark: int) -> Boot:
        """The HeMSs primed for a boot starting at timeline `mark` (bench/unit/provisioning.py): the boot the
        unit is in from now on, its console read for boot banners from here."""
        self.last_boot = provisioning.prime(self, mark)
        self._boot_line = len(self.console.lines())
        self._reboots_asked = 0
        return self.last_boot

    def _factory_fresh(self, asked: State) -> None:
        """Booting with the factory configuration. Switched on, a unit shows which it has: a fresh one turns
        to the Initial SeGW/HeMS, a configured one informs the HeMS it was given, and is reset."""
        if self._state is State.REGISTERED and self._known and self.last_boot is not None:
            self._reset(None)
            return
        with reset.armed(self) as queued:
            self.cycle()
            first = signs.wait_quoting_segws(
                self,
                lambda e: initial_side(self, e) or informs(e),
                self.bounds.boot,
                f"unit {self.name} to turn to the Initial SeGW/HeMS (factory-fresh) or inform a HeMS (configured)",
                self.boot.mark,
            )
        if initial_side(self, first):
            self._path = (Way.FRESH, "it turned to its Initial SeGW/HeMS")
        else:
            needs = "a factory-fresh unit" if asked is State.FACTORY_FRESH else "the unit's discovery"
            self._path = (
                Way.RESET,
                f"its flash pointed at the {first.data.get('hems')}; the test needs {needs}",
            )
            self._reset(first, queued)
        self._known = True

    def _from_flash(self) -> None:
        """Registered, the flash not known: the unit boots as it is. One configured for this bench comes to the
        Serving HeMS and is used as it is; a factory-fresh one turns to its Initial side and is discovered;
        one that informs another of the bench's HeMSs, or comes to none within bounds.boot, is reset."""
        if self.last_boot is None:
            self.cycle()
        mark, bound = self.boot.mark, self.bounds.boot
        try:
            first = signs.wait_quoting_segws(
                self,
                lambda e: initial_side(self, e) or informs(e),
                bound,
                f"unit {self.name} to come to the Serving HeMS (configured) or turn to the Initial SeGW/HeMS "
                "(factory-fresh)",
                mark,
            )
        except DeviceError as exc:
            self._reset_unreached(exc, mark)
        else:
            if initial_side(self, first):
                self._path = (Way.FRESH, "it turned to its Initial SeGW/HeMS")
            elif first.data.get("hems") == "serving-hems":
                self._path = (Way.CONFIGURED, "")
            else:
                self._path = (
                    Way.RESET,
                    f"its flash points at the {first.data.get('hems')}, not the Serving HeMS",
                )
                self._reset(first)
        self._known = True

    def _reset_unreached(self, exc: DeviceError, mark: int) -> None:
        """The unit came to none of this bench's HeMSs within bounds.boot: reset the inventory's way. A reset
        by HeMS cannot reach it: a unit that asked for other names (configured for another operator) is reset
        by hand; one that did not fails as it did (the quotes of what refused it are in `exc`)."""
        bound, foreign = self.bounds.boot, signs.foreign_names(self, mark)
        why = f"it came to none of this bench's HeMSs within {bound:g} s ({bound.key})"
        if foreign:
            why += f"; it asked the public DNS for {', '.join(foreign)}, none of this bench's names"
        self._path = (Way.RESET, why)
        how, where = self.cfg.reset
        if not isinstance(how, HemsReset):
            self._reset(None)
            return
        if not foreign:
            raise exc
        self.event(UnitKind.FACTORY_RESET, method="manual")
        reset.by_hand(
            self,
            f"{why}: its flash points elsewhere. Factory-reset it its vendor's way (a console or shell "
            f"command can be given as units.{self.name}.actions.factory_reset)",
            f"units.{self.name}.{where} is hems, and the unit informs none of this bench's HeMSs",
        )
        self._state = State.FACTORY_FRESH

    def _prepared(self, to: State, seconds: float) -> None:
        """How the unit whose flash the bench did not know reached `to`: on the timeline (run.json, the
        report) and told to the person at the bench."""
        assert self._path is not None
        path, why = self._path
        if path is Way.CONFIGURED:
            detail = f"used as configured: booted to the Serving HeMS in {seconds:.1f} s"
        elif path is Way.FRESH:
            detail = f"factory-fresh as found ({why}): {to.value} in {seconds:.1f} s"
        else:
            detail = f"factory reset ({why}): {to.value} in {seconds:.1f} s"
        self.event(
            UnitKind.PREPARED, path=path.value, state=to.value, seconds=round(seconds, 3), detail=detail
        )
        self.note(f"henb-bench: unit {self.name} {detail}\n")

    def _configured(self, to: State) -> None:
        """Discovered or registered: from the current boot when it is on its way there, else from a fresh
        one. With the flash not known, registered boots the unit as it is (_from_flash) and discovered comes
        via factory-fresh."""
        if not self._known:
            if to is State.REGISTERED:
                self._from_flash()
            else:
                self._factory_fresh(to)
        elif self.last_boot is None:
            self.cycle()
        tl, bounds, op = self.run.timeline, self.bounds, self.run.inv.operator
        mark = self.boot.mark
        signs.wait_quoting_segws(
            self,
            lambda e: e.source == "segw" and e.kind == "ike-up" and e.data.get("segw") == "ssegw"
            and not e.data.get("impostor") and ike_id_matches(self.ike_id, e.data.get("remote_id")),
            bounds.boot,
            f"unit {self.name} discovered: its IPsec tunnel to the Serving SeGW {op.serving_segw} (pre-condition)",
            mark,
        )  # fmt: skip
        if to is State.REGISTERED:
            signs.wait_quoting_segws(
                self,
                lambda e: e.source == "hems" and e.kind == "rpc-response" and e.data.get("hems") == "serving-hems",
                bounds.boot,
                f"unit {self.name} registered with the Serving HeMS (pre-condition)",
                mark,
            )  # fmt: skip
            if isinstance(self.boot.serving_spv.result(bounds.step), CwmpFault):
                # Refused registration values: the unit is not registered, whatever else it answered.
                raise DeviceError(
                    f"unit {self.name} registered with the Serving HeMS (pre-condition): "
                    f"{provisioning.refusals(self)}"
                )
            if self.boot.cr_spv is not None:
                # Set before any connection request: the answer to it is in the registration session.
                self.boot.cr_spv.result(bounds.step)
            if op.s1_far_end is not None:
                tl.wait_for(
                    lambda e: e.source == "mme" and e.kind == "s1ap" and e.data.get("direction") == "uplink"
                    and e.data.get("message") == "S1SetupRequest",
                    bounds.s1_init,
                    f"unit {self.name} registered: its S1 Setup Request at the MME (pre-condition)",
                    mark,
                )  # fmt: skip

    def _reset(self, inform: Event | None, queued: dict[str, Any] | None = None) -> None:
        """Factory reset, the inventory's way (bench/unit/reset.py); the unit is then booting fresh."""
        reset.factory_reset(self, inform, queued)
        self._state = State.FACTORY_FRESH

    # -- health ----------------------------------------------------------------------------------

    def check(self) -> None:
        """Health, after every test and on every timeout: the power device (InfraError: a tripped supply, an
        error queue, a PDU that does not answer or whose outlet moved), then the console (DeviceError: a
        crash signature, a boot banner the bench did not cause). Each fault also goes onto the timeline."""
        try:
            with driver_calls():
                self.power.check(self._powered)
        except InfraError as exc:
            self.event(UnitKind.HEALTH, verdict="infra", error=str(exc))
            raise
        crashes = self.console.crashes
        if len(crashes) > self._crashes_seen:
            self._crashes_seen = len(crashes)
            c = crashes[-1]
            lines = self.console.around(c.index, before=3, after=10)
            self.event(UnitKind.HEALTH, verdict="crash", line=c.line, pattern=c.pattern)
            raise DeviceError(
                f"unit {self.name} crashed: console line {c.index + 1} {c.line.strip()!r} matches "
                f"{c.pattern!r} (log {self.console.log_path}):\n  " + "\n  ".join(lines)
            )
        if self._banner is not None:
            lines = self.console.lines()
            hits = [i for i in range(self._boot_line, len(lines)) if self._banner.search(lines[i])]
            if 1 < len(hits) <= 1 + self._reboots_asked:
                self._reboots_asked -= len(hits) - 1
                self._boot_line = hits[-1]
            elif len(hits) > 1:
                self._boot_line = hits[-1]
                self.event(UnitKind.HEALTH, verdict="reboot", line=lines[hits[-1]])
                raise DeviceError(
                    f"unit {self.name} rebooted by itself: boot banner {self._banner.pattern!r} again at console "
                    f"line {hits[-1] + 1} (log {self.console.log_path}):\n  "
                    + "\n  ".join(lines[max(0, hits[-1] - 10) : hits[-1] + 1])
                )

    def rebooted_on_request(self, why: str) -> None:
        """The unit rebooted because a plan asked for something that needs it (a configuration file applied at
        boot): one more boot banner is this reboot's, not a crash (the console may show it later than the HeMS
        hears of the boot)."""
        self._reboots_asked += 1
        self.event(UnitKind.REBOOT, reason=why)

    def act(self, action: str, values: dict[str, str] | None = None) -> ActionDone:
        """Run the unit's `action` template (units.NAME.actions.ACTION) with `values` for its placeholders;
        DeviceError naming the action, the template and what was seen when the unit does not confirm it."""
        how = getattr(self.cfg.actions, action, None) if action in Actions.model_fields else None
        key = f"units.{self.name}.actions.{action}"
        if how is None or isinstance(how, HemsReset):
            raise ConfigError(f"{key}: not given; this step needs it (see docs/inventory.md, Unit actions)")
        return run_action(self, action.replace("_", " "), how, key, self.bounds.step, values)

    def event(self, kind: UnitKind, **data: Any) -> None:
        self.run.timeline.add(Source.UNIT, kind, unit=self.name, **data)

    def close(self) -> None:
        """Off, then everything the unit's kind started."""
        try:
            if self._powered is not False:
                with driver_calls():
                    self.power.off()
        except InfraError as exc:  # the run's result stands; the person at the bench must know
            self.say(f"henb-bench: warning: unit {self.name} may still be powered: {exc}")
        finally:
            self.hw.close()

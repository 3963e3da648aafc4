"""One HeNB's lifecycle, in one place (like a labgrid Strategy): explicit states, one `transition(to)` that
knows how to reach each, a broken latch a failed test sets and the next transition clears, and the health
check the bench runs after every test."""

from __future__ import annotations

import contextlib
import enum
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.clauses import waives
from bench.cwmp import CwmpFault, DeviceKey, Done
from bench.errors import ConfigError, DeviceError, InfraError, driver_calls
from bench.events import Source, UnitKind
from bench.hems.server import CrPolicy, RpcCall
from bench.ike import ike_id_matches
from bench.inventory import (
    Actions,
    Bounds,
    ConsoleAction,
    HemsReset,
    ManualReset,
    ShellAction,
    Unit,
    Waiver,
)
from bench.services.segw import refusals_on
from bench.timeline import Bound, Event
from bench.unit.actions import Done as ActionDone
from bench.unit.actions import run_action
from bench.unit.kinds import RunContext, build_hardware


class State(enum.Enum):
    OFF = "off"
    BOOTING = "booting"  # switched on by the bench, nothing awaited yet
    FACTORY_FRESH = "factory-fresh"  # booting with its factory configuration: it will bootstrap
    DISCOVERED = "discovered"  # knows its Serving SeGW and HeMS: IPsec to the Serving SeGW is up
    REGISTERED = "registered"  # registered with the Serving HeMS (and S1 setup started, if configured)
    BROKEN = "broken"  # a test failed: in doubt until the next transition power-cycles it


@dataclass
class Boot:
    """One boot: where it starts on the timeline and the RPCs the HeMSs were primed with for it."""

    mark: int
    initial_spv: RpcCall
    serving_spv: RpcCall
    serving_values: list[tuple[str, str, str]]
    registration_values: list[tuple[str, str, str]]
    cr_spv: RpcCall | None = None  # the connection-request credentials, set in the registration session


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
        # The bench has not seen this unit factory-fresh in this run: its flash may hold anything.
        self._known = False
        self._powered: bool | None = None  # what the bench last switched; None: unknown (at the start)
        self._off_at = 0.0
        self._boot_line = 0
        self._crashes_seen = 0
        self._reboots_asked = 0  # reboots a plan caused since the last boot banner was accounted for
        self._banner = re.compile(cfg.console.boot_banner) if cfg.console.boot_banner else None
        self.say: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True)
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
        if self.cfg.connection_request.own is not None:
            return f"the unit's own credentials (units.{self.name}.connection_request.own)"
        spv = self.last_boot.cr_spv if self.last_boot is not None else None
        if spv is None or not spv.done():
            return ""
        try:
            result = spv.result(0)
        except DeviceError as exc:
            return f"credentials the HeMS set at registration; the unit's answer could not be read: {exc}"
        if isinstance(result, CwmpFault):
            return f"credentials the unit refused at registration (fault {result.fault_code} {result.fault_string})"
        return "credentials the HeMS set at registration, which the unit acknowledged"

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
        first; it is factory-reset only when `to` needs a factory-fresh unit."""
        if to is State.BROKEN:
            raise ConfigError("a unit becomes broken by a failed test; a plan cannot ask for it")
        if self.broken is not None:
            self._event(UnitKind.RECOVER, reason=self.broken)
            self.broken = None
            self._power_off()
        reach = {
            State.OFF: self._power_off,
            State.BOOTING: self._cycle,
            State.FACTORY_FRESH: self._factory_fresh,
            State.DISCOVERED: lambda: self._configured(State.DISCOVERED),
            State.REGISTERED: lambda: self._configured(State.REGISTERED),
        }[to]
        with driver_calls():
            reach()
        self._state = to
        self._event(UnitKind.STATE, state=to.value)
        return self.last_boot

    def mark_broken(self, reason: str) -> None:
        """A test failed: whatever it left, the next transition starts with a power cycle."""
        if self.broken is None:
            self.broken = reason
            self._event(UnitKind.BROKEN, reason=reason)

    def _power_off(self) -> None:
        if self._powered is not False:
            self.power.off()
        self._powered = False
        self._off_at = time.monotonic()
        self._state = State.OFF
        self.last_boot = None

    def _cycle(self) -> None:
        """Off (unless known off), off for the inventory's power_off_time, then on with the HeMSs primed."""
        if self._powered is not False:
            self._power_off()
        wait = self.cfg.power_off_time - (time.monotonic() - self._off_at)
        if wait > 0:
            time.sleep(wait)
        self._prime(self.run.timeline.mark())
        self.power.on()
        self._powered = True
        self._state = State.BOOTING

    def _prime(self, mark: int) -> Boot:
        """Prime both HeMSs for a boot (the operator's provisioning): the Initial HeMS assigns the Serving
        SeGW and HeMS, the Serving HeMS configures S1 and IPsec usage at registration."""
        run, op, p = self.run, self.run.inv.operator, self.paths
        for hems in run.topology.hems.values():
            hems.drop_queued(self.device)
        serving = [
            (p.serving_segw, op.serving_segw, "xsd:string"),
            (p.serving_hems, op.hems_url(op.serving_hems), "xsd:string"),
        ]
        registration = [(p.ipsec_usage, "true" if op.ipsec_usage else "false", "xsd:boolean")]
        if op.s1_far_end is not None:
            registration.insert(0, (p.s1_far_end, str(op.s1_far_end), "xsd:string"))
        # What S1 Setup carries, so the MME sees whether the configuration took effect.
        registration += [
            (p.tac, str(op.tac), "xsd:unsignedInt"),
            (p.plmn, op.plmn, "xsd:string"),
            (p.cell_identity, str(op.cell_identity), "xsd:unsignedInt"),
        ]
        # The cell unlocked (TR-196 AdminState), last: a unit locked after a factory reset starts S1 only then.
        if self.cfg.unlock_at_registration and p.admin_state is not None:
            registration.append((p.admin_state, "true", "xsd:boolean"))
        initial = run.topology.hems["initial-hems"].queue_rpc(
            self.device, "SetParameterValues", params=serving, parameter_key="discovery"
        )
        serving_call = run.topology.hems["serving-hems"].queue_rpc(
            self.device, "SetParameterValues", params=registration, parameter_key="registration"
        )
        self.last_boot = Boot(mark, initial, serving_call, serving, registration)
        self._prime_cr(self.last_boot)
        self._boot_line = len(self.console.lines())
        self._reboots_asked = 0
        return self.last_boot

    def _prime_cr(self, boot: Boot) -> None:
        """With units.NAME.connection_request `set`, the Serving HeMS sets the credentials it will send its
        connection requests with, in the registration session (queued right after the registration values)."""
        if self.cfg.connection_request.own is not None:
            return
        p, cr = self.paths, self.cr_policy
        values = [
            (p.connection_request_username, cr.username, "xsd:string"),
            (p.connection_request_password, cr.password, "xsd:string"),
        ]
        boot.cr_spv = self.run.topology.hems["serving-hems"].queue_rpc(
            self.device, "SetParameterValues", params=values, parameter_key="connection-request"
        )

    def _factory_fresh(self) -> None:
        """Booting with the factory configuration. Switched on, a unit shows which it has: a fresh one turns
        to the Initial SeGW/HeMS, a configured one informs the HeMS it was given, and is reset."""
        if self._state is State.REGISTERED and self._known and self.last_boot is not None:
            self._reset(None)
            return
        self._cycle()
        first = self._wait_quoting_segws(
            lambda e: self._initial_side(e) or self._informs(e),
            self.bounds.boot,
            f"unit {self.name} to turn to the Initial SeGW/HeMS (factory-fresh) or inform a HeMS (configured)",
            self.boot.mark,
        )
        if not self._initial_side(first):
            self._reset(first)
        self._known = True

    def _wait_quoting_segws(
        self, pred: Callable[[Event], bool], timeout: float, what: str, mark: int
    ) -> Event:
        """Wait on the timeline; a timeout adds what the SeGWs' charons said when they refused the unit, the
        HeMSs' SetParameterValues the unit refused, and why a HeMS refused the unit (TLS, HTTP 401)."""
        try:
            return self.run.timeline.wait_for(pred, timeout, what, mark)
        except DeviceError as exc:
            # charon's reasons as this unit's events; else (none reached the timeline) the SeGWs' logs.
            said = [
                f"{k} charon refused: {' | '.join(r)}"
                for k, r in refusals_on(self.run.timeline.events(mark)).items()
            ]
            if not said:
                events = self.run.timeline.events(mark, mark + 1)
                after = events[0].t if events else self.run.timeline.t0
                said = [f"{k} charon refused: {' | '.join(r)}" for k, s in self.run.topology.segw.items()
                        if (r := s.refusals(after))]  # fmt: skip
            said += [refused] if (refused := self._spv_refusals()) else []
            seen = self.run.timeline.events(mark)  # what each HeMS refused the unit, in its own words
            said += [why for h in self.run.topology.hems.values() if (why := h.refusals(seen))]
            if not said:
                raise
            raise DeviceError(f"{exc}; {'; '.join(said)}") from None

    def _configured(self, to: State) -> None:
        """Discovered or registered: from the current boot when it is on its way there, else from a fresh
        one (via factory-fresh when the bench does not know what the unit's flash holds)."""
        if not self._known:
            self._factory_fresh()
        elif self.last_boot is None:
            self._cycle()
        tl, bounds, op = self.run.timeline, self.bounds, self.run.inv.operator
        mark = self.boot.mark
        self._wait_quoting_segws(
            lambda e: e.source == "segw" and e.kind == "ike-up" and e.data.get("segw") == "ssegw"
            and not e.data.get("impostor") and ike_id_matches(self.ike_id, e.data.get("remote_id")),
            bounds.boot,
            f"unit {self.name} discovered: its IPsec tunnel to the Serving SeGW {op.serving_segw} (pre-condition)",
            mark,
        )  # fmt: skip
        if to is State.REGISTERED:
            self._wait_quoting_segws(
                lambda e: e.source == "hems" and e.kind == "rpc-response" and e.data.get("hems") == "serving-hems",
                bounds.boot,
                f"unit {self.name} registered with the Serving HeMS (pre-condition)",
                mark,
            )  # fmt: skip
            if isinstance(self.boot.serving_spv.result(bounds.step), CwmpFault):
                # Refused registration values: the unit is not registered, whatever else it answered.
                raise DeviceError(
                    f"unit {self.name} registered with the Serving HeMS (pre-condition): {self._spv_refusals()}"
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

    def _spv_refusals(self) -> str:
        """The HeMSs' SetParameterValues of this boot the unit refused: a path the unit does not have names a
        wrong data-model profile (units.NAME.data_model)."""
        boot, said = self.last_boot, []
        if boot is None:
            return ""
        for call, what in ((boot.initial_spv, "Serving SeGW/HeMS assignment"),
                           (boot.serving_spv, "registration")):  # fmt: skip
            with contextlib.suppress(DeviceError):
                result = call.result(0) if call.done() else None
                if isinstance(result, CwmpFault):
                    faults = ", ".join(f"{f.name} {f.code} {f.string}" for f in result.param_faults)
                    said.append(
                        f"the unit refused the {what}: fault {result.fault_code} ({faults or result.fault_string})"
                    )
        if not said:
            return ""
        return f"{'; '.join(said)} (paths from units.{self.name}.data_model, profile {self.profile.name})"

    def _reset(self, inform: Event | None) -> None:
        """Factory reset, the inventory's way (units.NAME.actions.factory_reset); the unit is then booting fresh."""
        how, where = self.cfg.reset
        key = f"units.{self.name}.{where}"
        self._event(UnitKind.FACTORY_RESET, method=how.method)
        tl = self.run.timeline
        if isinstance(how, HemsReset):
            self._reset_by_hems(inform, key)
        elif isinstance(how, ConsoleAction | ShellAction):
            self._reset_by_action(how, key)
        elif isinstance(how, ManualReset):
            mark = tl.mark()
            self._prime(mark)
            self.say(
                f"\nhenb-bench: unit {self.name} needs a factory reset ({key} is manual):\n  {how.instructions}\n"
                f"  waiting up to {self.bounds.factory_reset:g} s ({self.bounds.factory_reset.key}) for it to "
                "turn to the Initial SeGW/HeMS ...\n"
            )
            try:
                tl.wait_for(self._initial_side, self.bounds.factory_reset, "the manual factory reset", mark)
            except DeviceError as exc:
                raise InfraError(f"manual factory reset of unit {self.name} not done: {exc}") from None

    def _reset_by_hems(self, inform: Event | None, key: str) -> None:
        """FactoryReset from the HeMS the unit informs; it answers, ends the session and reboots itself."""
        tl = self.run.timeline
        hems_name = inform.data.get("hems", "serving-hems") if inform is not None else "serving-hems"
        # The unit as it named itself: a wrong DeviceId is still this bench's only unit, and resettable.
        d = inform.data if inform is not None else {}
        device = (
            DeviceKey(d.get("oui", ""), d.get("product_class", ""), d["serial"])
            if "serial" in d
            else self.device
        )
        hems = self.run.topology.hems[hems_name]
        mark = tl.mark()
        # Queued for the unit's open session or its next one; a connection request opens one if none comes
        # by itself. Sent aside: the unit may take the RPC in a session already open and reboot at once, and
        # the HeMSs must be primed for that boot without waiting for the request's answer.
        call = hems.queue_rpc(device, "FactoryReset")
        cr = self.cr_policy

        def connection_request() -> None:
            # Its answer is on the timeline; an RPC never answered says why below.
            with contextlib.suppress(DeviceError, InfraError):
                hems.connect(
                    device, cr.username, cr.password, timeout=self.bounds.step, call=call,
                    attempts=cr.attempts, retry_after=cr.retry_after, purpose="factory reset",
                )  # fmt: skip

        threading.Thread(target=connection_request, name="factory-reset-cr", daemon=True).start()
        result = call.result(self.bounds.step)
        if not isinstance(result, Done):
            seen = (
                f"fault {result.fault_code} {result.fault_string}"
                if isinstance(result, CwmpFault)
                else repr(result)
            )
            raise DeviceError(
                f"factory reset ({key}: hems): expected a FactoryResetResponse from {hems_name}; seen {seen}"
            )
        answered = tl.first(
            lambda e: (
                e.source == "hems" and e.kind == "rpc-response" and e.data.get("method") == "FactoryReset"
            ),
            mark,
        )
        # The unit resets once the session is over: the HeMSs are primed only then (an RPC queued earlier
        # would go out in that session), and the boot starts where the unit first turns to its Initial
        # SeGW/HeMS, as what it did until then (S1 setup, say) was the configured unit's doing.
        end = tl.wait_for(
            lambda e: e.source == "hems" and e.kind == "session-end" and e.data.get("hems") == hems_name,
            self.bounds.step,
            f"the session with the FactoryReset at {hems_name} to end",
            answered.seq if answered is not None else mark,
        )
        boot = self._prime(end.seq + 1)
        try:
            first = tl.wait_for(
                self._initial_side,
                self.bounds.boot,
                "the unit back factory-fresh, turning to its Initial SeGW/HeMS",
                boot.mark,
            )
        except DeviceError as exc:
            raise DeviceError(
                f"factory reset ({key}: hems) answered, but the unit did not reset: {exc}"
            ) from None
        self._fresh_from(boot, first)

    def _reset_by_action(self, how: ConsoleAction | ShellAction, key: str) -> None:
        """A console or shell reset: confirmed, the unit wipes its configuration and reboots by itself (a real
        unit may still be writing its flash after the confirming line, so power is not cut then). One that has
        not turned to its Initial SeGW/HeMS within bounds.factory_reset is power-cycled once."""
        tl = self.run.timeline
        done = run_action(self, "factory reset", how, key, self.bounds.factory_reset)
        boot = self._prime(done.mark)
        what = "the unit back factory-fresh, turning to its Initial SeGW/HeMS"
        try:
            first = tl.wait_for(self._initial_side, self.bounds.factory_reset, what, boot.mark)
        except DeviceError as exc:
            self._event(
                UnitKind.REBOOT, reason=f"factory reset ({key}) confirmed, no reboot by itself: {exc}"
            )
            self._cycle()
            boot = self.boot
            try:
                first = tl.wait_for(self._initial_side, self.bounds.boot, what, boot.mark)
            except DeviceError as again:
                raise DeviceError(
                    f"factory reset ({key}: {how.method}) confirmed, but the unit did not reset, neither by "
                    f"itself nor power-cycled: {again}"
                ) from None
        self._fresh_from(boot, first)

    def _fresh_from(self, boot: Boot, first: Event) -> None:
        """The unit turned factory-fresh at `first`: its boot starts there. Sources report late (dnsmasq's log,
        charon's events), so the timeline's order is not always the order things happened in: once the DNS
        has caught up, the boot starts at the first event since the priming that happened no earlier than the
        first sign of the fresh unit, by time."""
        # The configured unit may have had one more session before it reset, and taken an RPC primed for
        # the fresh boot with it: primed again, it is still in time (discovery and registration follow).
        hemss = self.run.topology.hems
        if boot.initial_spv.done():
            boot.initial_spv = hemss["initial-hems"].queue_rpc(
                self.device, "SetParameterValues", params=boot.serving_values, parameter_key="discovery"
            )
        if boot.serving_spv.done():
            boot.serving_spv = hemss["serving-hems"].queue_rpc(
                self.device,
                "SetParameterValues",
                params=boot.registration_values,
                parameter_key="registration",
            )
        if boot.cr_spv is not None and boot.cr_spv.done():
            self._prime_cr(boot)
        # Only then (the fresh unit goes on meanwhile, and takes what is primed for it) wait for the DNS.
        tl = self.run.timeline
        self.run.topology.dns_caught_up(self.bounds.step)
        signs = tl.find(self._initial_side, boot.mark)
        start = min((e.t for e in signs), default=first.t)
        boot.mark = min((e.seq for e in tl.events(boot.mark) if e.t >= start), default=first.seq)
        self._state = State.FACTORY_FRESH

    def _initial_side(self, e: Event) -> bool:
        """The unit turns to what it was factory-programmed with (so it has no Serving SeGW/HeMS)."""
        op = self.run.inv.operator
        return (
            (e.source == "dns" and e.kind == "query" and e.data.get("dns") == "public-dns"
             and e.data.get("name") in (op.initial_segw, op.initial_hems))
            or (e.source == "segw" and e.kind == "ike-up" and e.data.get("segw") == "isegw"
                and ike_id_matches(self.ike_id, e.data.get("remote_id")))
            # a TLS handshake with the Initial HeMS the unit broke off (it refused a wrong certificate)
            or (e.source == "hems" and e.kind == "tls-handshake-failed" and e.data.get("hems") == "initial-hems")
            or (self._informs(e) and "0 BOOTSTRAP" in e.data.get("events", ()))
        )  # fmt: skip

    @staticmethod
    def _informs(e: Event) -> bool:
        # Any serial: a unit reporting a wrong DeviceId is still this unit (with several units, the run's view
        # shows each unit only what its address says is its own), and still resettable.
        return e.source == "hems" and e.kind == "inform"

    # -- health ----------------------------------------------------------------------------------

    def check(self) -> None:
        """Health, after every test and on every timeout: the power device (InfraError: a tripped supply, an
        error queue, a PDU that does not answer or whose outlet moved), then the console (DeviceError: a
        crash signature, a boot banner the bench did not cause). Each fault also goes onto the timeline."""
        try:
            with driver_calls():
                self.power.check(self._powered)
        except InfraError as exc:
            self._event(UnitKind.HEALTH, verdict="infra", error=str(exc))
            raise
        crashes = self.console.crashes
        if len(crashes) > self._crashes_seen:
            self._crashes_seen = len(crashes)
            c = crashes[-1]
            lines = self.console.around(c.index, before=3, after=10)
            self._event(UnitKind.HEALTH, verdict="crash", line=c.line, pattern=c.pattern)
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
                self._event(UnitKind.HEALTH, verdict="reboot", line=lines[hits[-1]])
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
        self._event(UnitKind.REBOOT, reason=why)

    def act(self, action: str, values: dict[str, str] | None = None) -> ActionDone:
        """Run the unit's `action` template (units.NAME.actions.ACTION) with `values` for its placeholders;
        DeviceError naming the action, the template and what was seen when the unit does not confirm it."""
        how = getattr(self.cfg.actions, action, None) if action in Actions.model_fields else None
        key = f"units.{self.name}.actions.{action}"
        if how is None or isinstance(how, HemsReset):
            raise ConfigError(f"{key}: not given; this step needs it (see docs/inventory.md, Unit actions)")
        return run_action(self, action.replace("_", " "), how, key, self.bounds.step, values)

    def _event(self, kind: UnitKind, **data: Any) -> None:
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

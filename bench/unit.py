"""One HeNB as the tests see it: its drivers, identity and state (off, booting, registered); moving between
states is explicit, and a unit left in doubt by a failed test is power-cycled before the next one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.errors import ConfigError
from bench.hems.server import RpcCall
from bench.inventory import Unit
from drivers.config import build_mock_power, build_power
from drivers.console.serial import SerialConsole
from drivers.power.base import PowerDriver
from drivers.wan import NicWanPort

if TYPE_CHECKING:
    from bench.run import BenchRun


@dataclass
class Boot:
    """One power-on: where it starts on the timeline and the RPCs the HeMSs were primed with for it."""

    mark: int
    initial_spv: RpcCall
    serving_spv: RpcCall
    serving_values: list[tuple[str, str, str]]
    registration_values: list[tuple[str, str, str]]


def default_ike_id(cfg: Unit) -> str:
    """The IKE identity a unit's certificate carries unless the inventory says otherwise."""
    return f"{cfg.identity.oui}-{cfg.identity.serial_number}.henb"


class BenchUnit:
    def __init__(
        self, name: str, cfg: Unit, run: BenchRun, index: int = 0, knobs: list[str] | None = None
    ) -> None:
        from bench.mock.device import MockDevice

        self.name = name
        self.cfg = cfg
        self.run = run
        self.serial = cfg.identity.serial_number
        self.state = "off"
        self.dirty = False
        self.boot: Boot | None = None
        self.device: MockDevice | None = None
        self.wan: NicWanPort | None = None
        topo = run.topology
        if cfg.is_mock:
            assert topo.ca is not None and topo.rogue_ca is not None
            ns, wan = topo.add_unit_port(index)
            self.device = MockDevice(
                name,
                cfg,
                run.inv,
                ns,
                wan,
                topo.workdir / f"unit{index}",
                topo.ca,
                topo.rogue_ca,
                topo.cached_ips(),
                topo.state,
                knobs,
            )
            self.ike_id = self.device.ike_id
            self.power: PowerDriver = build_mock_power(cfg.power, self.device, run.timeline, name)
            console_url = self.device.console_url
        else:
            if cfg.console.driver != "serial" or cfg.wan.driver != "nic":
                raise ConfigError(
                    f"units.{name}: a physical unit needs console.driver serial and wan.driver nic"
                )
            self.ike_id = cfg.identity.ike_id or default_ike_id(cfg)
            self.power = build_power(cfg.power, run.timeline, name)
            # The unit's WAN cable is on a bench NIC: it joins the home link the DHCP server serves.
            self.wan = NicWanPort(cfg.wan.ifname, topo.names.ns("inet"), run.timeline, name)
            self.wan.attach()
            topo.plug_home(cfg.wan.ifname)
            console_url = cfg.console.url
        self.console = SerialConsole(
            console_url, Path(run.dir) / f"console-{name}.log", run.timeline, unit=name
        )
        self.console.open()

    def power_off(self) -> None:
        self.power.off()
        self.state = "off"
        self.boot = None

    def power_on(self) -> Boot:
        """Prime both HeMSs for this unit (the operator's provisioning), then switch it on."""
        run, op = self.run, self.run.inv.operator
        p = op.parameters
        for hems in run.topology.hems.values():
            hems.drop_queued(self.serial)
        mark = run.timeline.mark()
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
        initial = run.topology.hems["initial-hems"].queue_rpc(
            self.serial, "SetParameterValues", params=serving, parameter_key="discovery"
        )
        serving_call = run.topology.hems["serving-hems"].queue_rpc(
            self.serial, "SetParameterValues", params=registration, parameter_key="registration"
        )
        self.boot = Boot(mark, initial, serving_call, serving, registration)
        self.power.on()
        self.state = "booting"
        self.dirty = False
        return self.boot

    def fresh_boot(self) -> Boot:
        if self.state != "off":
            self.power_off()
        return self.power_on()

    def current_boot(self) -> Boot:
        """The boot whose events a test may read: the current one, or a new one when off or left in doubt."""
        if self.boot is None or self.dirty or self.state == "off":
            return self.fresh_boot()
        return self.boot

    def close(self) -> None:
        try:
            close_power = getattr(self.power, "close", None)
            if close_power is not None:  # a simulated supply runs a server of its own
                close_power()
            if self.device is not None:
                self.device.close()
            if self.wan is not None:
                self.wan.detach()
        finally:
            self.console.close()

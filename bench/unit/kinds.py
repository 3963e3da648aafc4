"""Unit kinds, built by one factory: what the bench drives for a mock unit and for a physical one (its power,
its console with the inventory's serial settings, the WAN link the outer capture opens, its optional shell).
Callers ask the bound `Hardware` (or `home_port()` before it is bound), never the inventory's driver names."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bench.errors import ConfigError, driver_calls
from bench.inventory import Inventory, Unit
from bench.network.topology import Names, Topology
from bench.timeline import Timeline
from bench.unit.mock_supply import build_mock_power
from drivers import registry
from drivers.config import NicWan, SerialConsoleConfig, build_power, build_shell
from drivers.console.serial import SerialConsole
from drivers.power.base import PowerDriver
from drivers.wan import NicWanPort

if TYPE_CHECKING:
    from drivers.shell.ssh import SshShell


class RunContext(Protocol):
    """What a unit needs of the run it belongs to (bench.run.BenchRun is one): passed in, never imported,
    so the unit sits below the run."""

    @property
    def dir(self) -> Path: ...

    @property
    def inv(self) -> Inventory: ...

    @property
    def timeline(self) -> Timeline: ...

    @property
    def topology(self) -> Topology: ...


def default_ike_id(cfg: Unit) -> str:
    """The IKE identity expected unless identity.ike_id says otherwise: OUI-SERIAL.henb is the mock's
    convention, not a standard one; a real unit's (often its certificate subject) belongs in the inventory."""
    return f"{cfg.identity.oui}-{cfg.identity.serial_number}.henb"


def home_port(cfg: Unit, names: Names, index: int) -> str:
    """The unit's port on the home bridge (in the internet namespace): a mock unit's veth end, a physical unit's
    WAN NIC. Known before the unit is built (the run attributes events by it from the start)."""
    if cfg.kind == "mock":
        return names.unit_port(index)
    return cfg.wan.ifname if isinstance(cfg.wan, NicWan) else ""


@dataclass
class Hardware:
    """What the bench holds of one unit; `wan` is (namespace, interface) of its WAN link on the home side,
    `kind` which kind of unit it is ("mock" or "physical")."""

    kind: str
    power: PowerDriver
    console: SerialConsole
    wan: tuple[str, str]
    ike_id: str
    shell: SshShell | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Everything the kind started, last first; the console last of all (it logs the shutdown)."""
        try:
            for close in reversed(self.closers):
                with contextlib.suppress(Exception):
                    close()
        finally:
            self.console.close()


def build_hardware(
    name: str, cfg: Unit, run: RunContext, index: int = 0, knobs: list[str] | None = None
) -> Hardware:
    """The one place that knows which kind of unit the inventory describes."""
    with driver_calls():
        return (_mock if cfg.kind == "mock" else _physical)(name, cfg, run, index, knobs or [])


def _console(name: str, cfg: Unit, url: str, run: RunContext) -> SerialConsole:
    """The console on `url` (a mock unit's pty, a physical unit's port) with the inventory's serial settings."""
    c = cfg.console
    log = Path(run.dir) / f"console-{name}.log"
    return SerialConsole(url, log, run.timeline, baudrate=c.baud, unit=name, settings=c.port_settings())


def _mock(name: str, cfg: Unit, run: RunContext, index: int, knobs: list[str]) -> Hardware:
    from bench.mock.device import MockDevice

    topo = run.topology
    assert topo.rogue_ca is not None
    ns, wan = topo.add_unit_port(index)
    device = MockDevice(
        name, cfg, run.inv, ns, wan, topo.workdir / f"unit{index}", topo.ca or topo.rogue_ca, topo.rogue_ca,
        topo.cached_ips(cfg.initial_hems_access), topo.state, knobs, topo.vendor_ca if cfg.mock.vendor_ca else None,
    )  # fmt: skip
    device.config.ca = str(topo.ca_cert)  # what it trusts for the servers: the operator CA, key or not
    op = run.inv.operator
    device.provision_segw_trust(
        topo.rogue_ca.files.cert,
        {op.initial_segw: topo.certs["isegw"].cert, op.serving_segw: topo.certs["ssegw"].cert},
    )
    power = build_mock_power(cfg.power, device, run.timeline, name)
    closers: list[Callable[[], None]] = [device.close]
    close_power = getattr(power, "close", None)
    if close_power is not None:  # a simulated supply runs a server of its own
        closers.append(close_power)
    console = _console(name, cfg, device.console_url, run)
    # What the bench expects comes from the inventory, not from what the mock presents.
    hw = Hardware("mock", power, console, (topo.names.ns("inet"), home_port(cfg, topo.names, index)),
                  cfg.identity.ike_id or default_ike_id(cfg), closers=closers)  # fmt: skip
    try:
        console.open()
    except BaseException:
        hw.close()
        raise
    return hw


def _physical(name: str, cfg: Unit, run: RunContext, index: int, knobs: list[str]) -> Hardware:
    if cfg.labgrid is not None:
        raise ConfigError(
            f"units.{name} is in a labgrid place: `henb-bench run` acquires it and runs with its resources"
        )
    console_cfg, wan_cfg = cfg.console, cfg.wan
    if not isinstance(console_cfg, SerialConsoleConfig) or not isinstance(wan_cfg, NicWan):
        raise ConfigError(f"units.{name}: a physical unit needs console.driver serial and wan.driver nic")
    if knobs:
        raise ConfigError(
            f"--misbehave {' '.join(knobs)}: knobs are for a mock unit; units.{name} is physical"
        )
    topo = run.topology
    power = build_power(cfg.power, run.timeline, name)
    console = _console(name, cfg, console_cfg.url, run)
    inet = topo.names.ns("inet")
    shell = build_shell(cfg.shell, name) if cfg.shell is not None else None
    port = home_port(cfg, topo.names, index)
    hw = Hardware("physical", power, console, (inet, port), cfg.identity.ike_id or default_ike_id(cfg), shell)
    if shell is not None:
        hw.closers.append(shell.close)
    try:
        # The unit's WAN cable is on a bench NIC: it joins the home link the DHCP server serves.
        nic: NicWanPort = registry.build("wan", wan_cfg, run.timeline, name, netns=inet)
        nic.attach()
        hw.closers.append(nic.detach)
        topo.plug_home(port)
        console.open()
    except BaseException:
        hw.close()
        raise
    return hw

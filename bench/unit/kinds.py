"""Unit kinds, built by one factory: what the bench drives for a mock unit and for a physical one (its power,
its console with the inventory's serial settings, the WAN link the outer capture opens, its optional shell)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bench.errors import ConfigError, driver_calls
from bench.inventory import Inventory, SerialConsoleConfig, Unit
from bench.network.topology import Topology
from bench.timeline import Timeline
from bench.unit.mock_supply import build_mock_power
from drivers.config import build_power, build_shell
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


@dataclass
class Hardware:
    """What the bench holds of one unit; `wan` is (namespace, interface) of its WAN link on the home side."""

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
    c = cfg.console
    settings: dict[str, Any] = {}
    baudrate = 115200
    if isinstance(c, SerialConsoleConfig):
        baudrate = c.baudrate
        settings = {
            "bytesize": c.bytesize, "parity": c.parity, "stopbits": c.stopbits, "xonxoff": c.xonxoff,
            "rtscts": c.rtscts,
        }  # fmt: skip
    return SerialConsole(
        url,
        Path(run.dir) / f"console-{name}.log",
        run.timeline,
        baudrate=baudrate,
        unit=name,
        settings=settings,
    )


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
    hw = Hardware(power, console, (topo.names.ns("inet"), topo.names.link("in", f"u{index}")),
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
    if cfg.console.driver != "serial" or cfg.wan.driver != "nic":
        raise ConfigError(f"units.{name}: a physical unit needs console.driver serial and wan.driver nic")
    if knobs:
        raise ConfigError(
            f"--misbehave {' '.join(knobs)}: knobs are for a mock unit; units.{name} is physical"
        )
    topo = run.topology
    power = build_power(cfg.power, run.timeline, name)
    console = _console(name, cfg, cfg.console.url, run)
    inet = topo.names.ns("inet")
    shell = build_shell(cfg.shell, name) if cfg.shell is not None else None
    hw = Hardware(power, console, (inet, cfg.wan.ifname), cfg.identity.ike_id or default_ike_id(cfg), shell)
    if shell is not None:
        hw.closers.append(shell.close)
    try:
        # The unit's WAN cable is on a bench NIC: it joins the home link the DHCP server serves.
        nic = NicWanPort(cfg.wan.ifname, inet, run.timeline, name)
        nic.attach()
        hw.closers.append(nic.detach)
        topo.plug_home(cfg.wan.ifname)
        console.open()
    except BaseException:
        hw.close()
        raise
    return hw

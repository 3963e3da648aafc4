"""The SCPI dialect a bench supply speaks (drivers/power/scpi.py), with the defaults in one place: the
inventory's `power.commands` (drivers/config.py) is validated into it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScpiCommands:
    """The SCPI dialect; the defaults suit Keysight E36xx, R&S HMP/NGE, Siglent/Rigol with `setup` selecting a
    channel (e.g. ["INST:NSEL 1"])."""

    setup: tuple[str, ...] = ()
    set_voltage: str = "VOLT {volts}"
    set_current: str = "CURR {amps}"
    output_on: str = "OUTP ON"
    output_off: str = "OUTP OFF"
    output_query: str = "OUTP?"
    measure_voltage: str = "MEAS:VOLT?"
    measure_current: str = "MEAS:CURR?"
    error_query: str = "SYST:ERR?"
    trip_query: str | None = "OUTP:PROT:TRIP?"
    trip_clear: str | None = "OUTP:PROT:CLE"

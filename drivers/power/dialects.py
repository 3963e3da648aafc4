"""What a power device speaks, defaults included, in one place: the SCPI commands of a bench supply
(drivers/power/scpi.py) and the outlet OIDs of an SNMP PDU (pdu_snmp.py). The inventory's `power.commands` and
`power.oids` (drivers/power/settings.py) are validated straight into these; no library is imported here."""

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


@dataclass(frozen=True)
class SnmpOutletOids:
    """Where an outlet is switched and read, and the integers that mean on and off; `{pdu}` and `{outlet}`
    in the OIDs are replaced by the PDU id (daisy chain position) and the outlet number."""

    control_oid: str
    on_value: int
    off_value: int
    state_oid: str | None = None
    state_on: int | None = None
    state_off: int | None = None

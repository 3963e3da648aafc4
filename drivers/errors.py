"""The errors drivers raise, named by whose fault it is; the bench maps them onto its own three kinds
(bench/errors.py `from_driver`) where it calls a driver, keeping the message."""


class DriverError(Exception):
    """Base of every error a driver raises on purpose."""


class SettingsError(DriverError):
    """The driver was given settings it cannot use (credentials in a URL, neither SNMP v2c nor v3)."""


class EquipmentError(DriverError):
    """The lab equipment the driver talks to failed: a PDU or supply that does not answer, a port gone."""


class UnitError(DriverError):
    """The unit itself failed: no console pattern within the bound, a command that failed on it."""

"""Power drivers: switch a unit on and off through whatever feeds it (relay, PDU, PSU, mock)."""

from drivers.power.base import PowerBase, PowerDriver
from drivers.power.mock import MockDeviceControl, MockPower
from drivers.power.relay_serial import SerialRelay

__all__ = ["MockDeviceControl", "MockPower", "PowerBase", "PowerDriver", "SerialRelay"]

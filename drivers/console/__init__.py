"""Console drivers: read a unit's serial console without missing a byte, and expect() on it."""

from drivers.console.base import ConsoleDriver
from drivers.console.pty import PtyPair
from drivers.console.serial import DEFAULT_CRASH_PATTERNS, Crash, SerialConsole

__all__ = ["DEFAULT_CRASH_PATTERNS", "ConsoleDriver", "Crash", "PtyPair", "SerialConsole"]

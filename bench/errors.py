"""The three kinds of failure: whose fault it is decides how a test is reported and the exit code.
Drivers raise their own kinds (drivers/errors.py); `driver_calls()` maps them where the bench calls a driver."""

import contextlib
import signal
from collections.abc import Iterator

from drivers.errors import DriverError, SettingsError, UnitError


def interrupt(signum: int, frame: object) -> None:
    """A signal handler (SIGTERM) raising KeyboardInterrupt as Ctrl-C does, named for the signal: the run tears
    down as for Ctrl-C and records why it stopped ("SIGTERM")."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


class Interrupts:
    """SIGTERM while a run's tests go on: noted by the handler, raised as KeyboardInterrupt by the main thread
    where it waits for its units (bench.fleet), never wherever the signal landed. Raised from inside the
    logging module's lock (pytest's log capture takes it at every test phase), it left the lock held for good:
    the units' threads blocked at their next log line (urllib3's, in a labgrid PDU's switch) and the run
    never ended. A signal another thread received wakes the main thread's wait within `POLL` seconds."""

    POLL = 0.5
    pending: str | None = None

    @classmethod
    def note(cls, signum: int, frame: object) -> None:
        cls.pending = cls.pending or signal.Signals(signum).name

    @classmethod
    def raise_pending(cls) -> None:
        name, cls.pending = cls.pending, None
        if name is not None:
            raise KeyboardInterrupt(name)


class BenchError(Exception):
    """Base of every error the bench raises on purpose."""

    exit_code = 3


class ConfigError(BenchError):
    """The inventory or the plan is wrong; found before anything is powered."""

    exit_code = 2


class InfraError(BenchError):
    """The bench failed (daemon, namespace, PDU, port): the test is an error, not a unit failure."""

    exit_code = 3


class DeviceError(AssertionError):
    """The unit did something wrong or nothing at all: the test fails.

    An AssertionError so pytest reports it as a failure, not an error.
    """

    exit_code = 1


def from_driver(exc: DriverError) -> BenchError | DeviceError:
    """The bench's kind for a driver's error, with the driver's message: wrong settings are the inventory's
    fault, failing lab equipment the bench's, a failing unit the unit's."""
    kind: type[BenchError] | type[DeviceError] = InfraError
    if isinstance(exc, SettingsError):
        kind = ConfigError
    elif isinstance(exc, UnitError):
        kind = DeviceError
    mapped = kind(str(exc))
    mapped.__cause__ = exc
    return mapped


@contextlib.contextmanager
def driver_calls() -> Iterator[None]:
    """Around calls into drivers: a driver's error leaves as the bench's kind, with the same message."""
    try:
        yield
    except DriverError as exc:
        raise from_driver(exc) from exc

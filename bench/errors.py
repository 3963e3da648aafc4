"""The three kinds of failure: whose fault it is decides how a test is reported and the exit code."""


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

"""The bench maps the drivers' error kinds onto its own (whose fault, and so the test outcome and exit code)
with the driver's message unchanged: where it calls a driver, around a plan's test phase, in the CLI."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bench.cli import main
from bench.errors import ConfigError, DeviceError, InfraError, driver_calls
from bench.plugin import _checked, outcome_kind
from drivers.errors import DriverError, EquipmentError, SettingsError, UnitError

KINDS = [(SettingsError, ConfigError), (EquipmentError, InfraError), (UnitError, DeviceError)]


@pytest.mark.parametrize(("driver_kind", "bench_kind"), KINDS)
def test_driver_calls_maps_each_kind_keeping_the_message(
    driver_kind: type[DriverError], bench_kind: type[Exception]
) -> None:
    with pytest.raises(bench_kind, match=r"^HTTP PDU http://pdu outlet 2: HTTP 401$") as exc, driver_calls():
        raise driver_kind("HTTP PDU http://pdu outlet 2: HTTP 401")
    assert isinstance(exc.value.__cause__, driver_kind)


def test_errors_that_are_not_a_drivers_pass_unchanged() -> None:
    with pytest.raises(KeyError), driver_calls():
        raise KeyError("x")


@pytest.mark.parametrize(("driver_kind", "outcome"), [(UnitError, "failed"), (EquipmentError, "error")])
def test_a_plan_calling_a_driver_itself_gets_the_outcome_of_the_bench_kind(
    driver_kind: type[DriverError], outcome: str
) -> None:
    item = SimpleNamespace(fixturenames=())  # no bench_run: no progress line, no health check
    phase = _checked(item, "test")  # type: ignore[arg-type]
    next(phase)
    with pytest.raises((DeviceError, InfraError)) as exc:
        phase.throw(driver_kind("console /dev/ttyUSB0 (unit u1) is not open"))
    assert str(exc.value) == "console /dev/ttyUSB0 (unit u1) is not open"
    assert outcome_kind(exc.value, passed=False, skipped=False) == outcome


def test_the_cli_reports_a_driver_error_as_the_bench_kind(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: object) -> int:
        raise EquipmentError("bench power supply TCPIP::192.0.2.9::5025::SOCKET: cannot open: timeout")

    monkeypatch.setattr("bench.cli.cmd_list", broken)
    with pytest.raises(SystemExit) as exc:
        main(["list"])
    assert exc.value.code == InfraError.exit_code
    assert "henb-bench: InfraError: bench power supply TCPIP::192.0.2.9::5025::SOCKET: cannot open" in (
        capsys.readouterr().err
    )

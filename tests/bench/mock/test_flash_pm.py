"""Parts of the mock on their own: the flash (what survives power-off), the PM upload schedule and a forced PM
period (the console's in both dialects)."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bench.knobs import Knob
from bench.mock.bench_cli import bench_command
from bench.mock.datamodel import factory
from bench.mock.flash import Flash
from bench.mock.pm import PerfMgmt, first_upload
from bench.mock.vendor_cli import vendor_command

IDENT = {"manufacturer": "m", "oui": "00D0B7", "product_class": "p", "serial_number": "S1"}
URL = "Device.ManagementServer.URL"


def test_flash_keeps_serving_and_values_until_wiped(tmp_path: Path) -> None:
    said: list[str] = []
    flash = Flash(str(tmp_path / "flash.json"), said.append)
    model = factory(IDENT, {URL: "http://ihems/"})
    flash.save(model, None)  # not configured yet: nothing to keep
    assert flash.load(factory(IDENT)) is None
    model.params[URL].value = "http://shems/"
    flash.save(model, ("segw.example", "http://shems/"))
    fresh = factory(IDENT, {URL: "http://ihems/"})
    assert flash.load(fresh) == ("segw.example", "http://shems/")
    assert fresh.get(URL) == "http://shems/"
    flash.wipe()
    assert flash.load(factory(IDENT)) is None and "flash: factory configuration restored" in said


def test_no_flash_keeps_nothing(tmp_path: Path) -> None:
    flash = Flash("", lambda _: None)
    model = factory(IDENT)
    flash.save(model, ("a", "b"))
    assert flash.load(model) is None and not list(tmp_path.iterdir())


def test_first_upload_aligns_to_periodic_upload_time() -> None:
    assert first_upload(1000.0, 60, "0001-01-01T00:00:00Z") == 1060.0  # unknown time: one interval from now
    assert first_upload(1000.0, 60, "not a time") == 1060.0
    assert first_upload(1000.0, 60, "1970-01-01T00:00:30Z") == 1050.0  # 30 + 60k, the next at or after now
    assert first_upload(1050.0, 60, "1970-01-01T00:00:30Z") == 1050.0


# -- a forced PM period (the console's `pm flush` / `pm rop close`) ------------------------------------------

PM = "Device.FAP.PerfMgmt.Config.1."


class Closed:
    """PerfMgmt with a factory model; the uploads it would start are kept, not run."""

    def __init__(self, knobs: set[str] | None = None, registered: bool = True) -> None:
        self.model = factory(IDENT)
        self.spawned: list[Coroutine[Any, Any, None]] = []
        self.pm = PerfMgmt(lambda: self.model, "Device.FAP.PerfMgmt.Config.", knobs or set(), "00D0B7-S1",
                           lambda: registered, self.spawned.append, self._resolve, Path("ca.pem"),
                           lambda _: None)  # fmt: skip

    async def _resolve(self, host: str) -> str:
        return host

    def enable(self) -> None:
        for name, value in (
            ("URL", "http://files/pm/"),
            ("PeriodicUploadInterval", "900"),
            ("Enable", "true"),
        ):
            self.model.params[PM + name].value = value

    def close(self) -> None:
        for coro in self.spawned:
            coro.close()


def test_a_forced_period_uploads_the_collecting_entrys_file_now() -> None:
    unit = Closed()
    try:
        assert unit.pm.force() == 0 and not unit.spawned  # nothing enabled: no period to close
        unit.enable()
        unit.pm.started[1] = time.time() - 42  # the period began 42 s ago
        assert unit.pm.force() == 1 and len(unit.spawned) == 1
        assert unit.spawned[0].cr_frame.f_locals["base"] == PM  # type: ignore[attr-defined]
        assert 41 < unit.spawned[0].cr_frame.f_locals["length"] < 43  # type: ignore[attr-defined]
        assert time.time() - unit.pm.started[1] < 1, "the next period begins at the forced close"
    finally:
        unit.close()


@pytest.mark.parametrize(
    ("knobs", "registered"),
    [({Knob.PM_FORCED_PERIOD_NOT_UPLOADED}, True), ({Knob.NO_PM_UPLOAD}, True), (set(), False)],
)
def test_a_forced_period_without_its_upload(knobs: set[str], registered: bool) -> None:
    unit = Closed(knobs, registered)
    unit.enable()
    # The knob confirms the period closed (1) and uploads nothing; an unregistered unit collects nothing (0).
    assert unit.pm.force() == (1 if registered else 0)
    assert not unit.spawned


class CliUnit:
    """What the console dialects use of the mock: its PM and its console log."""

    def __init__(self, closed: int) -> None:
        self.pm = SimpleNamespace(force=lambda: closed)
        self.model, self.fm = factory(IDENT), "Device.FaultMgmt."
        self.said: list[str] = []
        self.log = self.said.append


@pytest.mark.parametrize(
    ("command", "run", "confirmed", "refused"),
    [
        ("pm flush", bench_command, "pm: flushed 1 period(s), uploading", "pm: nothing to flush (no PM enabled)"),
        ("pm rop close", vendor_command, "PM-OK: ROP closed, 1 file(s) queued for upload", "% PM: no active job"),
    ],
)  # fmt: skip
def test_each_dialect_confirms_a_forced_period_in_its_own_words(
    command: str, run: Callable[[Any, str], None], confirmed: str, refused: str
) -> None:
    unit = CliUnit(1)
    run(unit, command)
    assert unit.said == [confirmed]
    unit = CliUnit(0)
    run(unit, command)
    assert unit.said == [refused]
    other = bench_command if run is vendor_command else vendor_command
    unit = CliUnit(1)
    other(unit, command)  # the other dialect does not know the command
    assert len(unit.said) == 1 and "nknown command" in unit.said[0]

"""Two parts of the mock on their own: the flash (what survives power-off) and the PM upload schedule."""

from __future__ import annotations

from pathlib import Path

from bench.mock.datamodel import factory
from bench.mock.flash import Flash
from bench.mock.pm import first_upload

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

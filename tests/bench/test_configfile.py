"""The configuration file format: build, validate against the shipped XSD, parse."""

from __future__ import annotations

import pytest

from bench import configfile


@pytest.mark.parametrize("root", ["Device.", "InternetGatewayDevice."])
def test_build_validates_and_parses_back(root: str) -> None:
    # Names as the unit's data model has them: TR-181 Device:2 or TR-098 InternetGatewayDevice.
    params = {
        root + "ManagementServer.PeriodicInformInterval": "60",
        root + "FAP.PerfMgmt.Config.1.Enable": "true",
    }
    blob = configfile.build(params)
    assert configfile.validate(blob) == []
    assert configfile.parse(blob) == params


@pytest.mark.parametrize(
    "blob",
    [
        b"not xml",
        b"<configDataFile xmlns='urn:henb-bench:configfile:1'/>",
        configfile.build({"Device.A": "1"}).replace(b'name="Device.A"', b'name="Internet.A"'),
        configfile.build({"Device.A": "1"}).replace(b'name="Device.A"', b'name="InternetGatewayDeviceA"'),
        configfile.build({"Device.A": "1", "Device.B": "2"}).replace(b'name="Device.B"', b'name="Device.A"'),
    ],
    # The built files carry a timestamp: ids of their own, so every xdist worker collects the same tests.
    ids=["not-xml", "no-header", "bad-root", "root-without-dot", "duplicate-name"],
)
def test_invalid_files_are_refused(blob: bytes) -> None:
    assert configfile.validate(blob)
    with pytest.raises(ValueError):
        configfile.parse(blob)

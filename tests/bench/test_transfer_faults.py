"""Download FaultCodes by TR-069 amendment: the families the CWMP schemas in bench/bbf enumerate, and the
inventory keys that choose them per unit (with transfer_protocols, config_file, bounds.transfer_complete)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench import transfer_faults
from bench.bbf import BBF_DIR as BBF
from bench.errors import ConfigError
from bench.inventory import parse_inventory
from bench.mock import vendorfile
from tests.support import ROOT


def schema_codes(xsd: str) -> set[int]:
    """The TransferComplete FaultCode enumeration of one CWMP schema (its FaultStruct for TransferComplete)."""
    text = (BBF / xsd).read_text()
    if xsd == "cwmp-1-2.xsd":
        block = text[text.index('name="TransferCompleteCPEFaultCodeType"') :]
    else:
        block = text[text.index("Fault information for TransferComplete") :]
    block = block[: block.index("</xs:element>" if xsd != "cwmp-1-2.xsd" else "</xs:simpleType>")]
    return {int(v) for v in re.findall(r'<xs:enumeration value="(\d+)"', block)}


@pytest.mark.parametrize(
    ("amendment", "xsd"), [(1, "cwmp-1-0.xsd"), (2, "cwmp-1-1.xsd"), (3, "cwmp-1-2.xsd")]
)
def test_families_are_the_schemas_enumerations(amendment: int, xsd: str) -> None:
    # cwmp-1-2.xsd lists FaultCode 0 (no fault) apart from the fault code type
    assert transfer_faults.allowed(amendment) - {0} == schema_codes(xsd) - {0}


@pytest.mark.parametrize(
    ("cause", "amd1", "amd2"),
    [("credentials", 9012, 9012), ("missing", 9010, 9016), ("corrupt", 9010, 9018), ("invalid", 9010, 9018)],
)
def test_expected_code_per_family(cause: str, amd1: int, amd2: int) -> None:
    assert transfer_faults.expected(cause, 1) == amd1
    assert [transfer_faults.expected(cause, a) for a in range(2, 7)] == [amd2] * 5


def test_codes_a_version_lacks_become_the_generic_ones() -> None:
    assert transfer_faults.for_amendment(9017, 1) == 9010
    assert transfer_faults.for_amendment(9016, 1, upload=True) == 9011
    assert transfer_faults.for_amendment(9020, 2) == 9010 and transfer_faults.for_amendment(9020, 3) == 9020
    assert transfer_faults.for_amendment(9850, 1) == 9850  # vendor codes pass
    assert transfer_faults.family(1) == "TR-069 Amendment 1 (CWMP 1.0)"


def test_vendor_file_round_trip_and_corruption_is_caught() -> None:
    blob = vendorfile.build({"Device.A": "1", "Device.B": "x = y"})
    assert vendorfile.parse(blob) == {"Device.A": "1", "Device.B": "x = y"}
    for bad in (blob[: len(blob) // 2], blob[:20] + bytes([blob[20] ^ 0xFF]) + blob[21:], b"not gzip"):
        with pytest.raises(ValueError, match="not a mock configuration file"):
            vendorfile.parse(bad)


def unit_with(**keys: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "inventory.yaml").read_text())
    data["units"]["henb-01"].update(keys)
    return data


def test_hardware_defaults_http_https_amendment_2_and_time_for_a_reboot() -> None:
    data = unit_with()
    unit = data["units"]["henb-01"]
    del unit["transfer_protocols"], unit["bounds"]
    u = parse_inventory(data, Path("inv.yaml")).units["henb-01"]
    assert (u.transfer_protocols, u.cwmp_amendment, u.config_file) == (["http", "https"], 2, None)
    assert u.bounds.transfer_complete >= u.bounds.boot


@pytest.mark.parametrize(
    ("keys", "words"),
    [
        ({"cwmp_amendment": 7}, "units.henb-01.cwmp_amendment: found 7; Input should be less than or equal to 6"),
        ({"transfer_protocols": ["tftp"]}, "units.henb-01.transfer_protocols.0: found 'tftp'"),
        ({"transfer_protocols": []}, "units.henb-01.transfer_protocols: found []"),
        ({"config_file": {"path": "/nonexistent/unit.cfg", "read_back": {"Device.X": "1"}}},
         "units.henb-01.config_file.path: found '/nonexistent/unit.cfg'; expected a readable file"),
        ({"config_file": {"path": "inventory.yaml", "read_back": {}}}, "units.henb-01.config_file.read_back"),
    ],
)  # fmt: skip
def test_mistakes_name_the_key(keys: dict[str, Any], words: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    with pytest.raises(ConfigError) as exc:
        parse_inventory(unit_with(**keys), Path("inv.yaml"))
    assert words in str(exc.value), str(exc.value)


def test_a_unit_own_file_is_taken(tmp_path: Path) -> None:
    own = tmp_path / "unit.cfg"
    own.write_bytes(b"\x00vendor\xff")
    cfg = {"path": str(own), "read_back": {"Device.X": "1"}, "file_type": "X 00D0B7 cell config"}
    u = parse_inventory(unit_with(config_file=cfg), Path("inv.yaml")).units["henb-01"]
    assert u.config_file is not None and u.config_file.path.read_bytes() == own.read_bytes()
    assert u.config_file.file_type == "X 00D0B7 cell config" and u.config_file.corrupt is None

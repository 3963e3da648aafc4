"""The inventory: the default one is valid, and every mistake names the file, the key, what was found and
what was expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.errors import ConfigError
from bench.inventory import load_inventory, parse_inventory
from tests.support import ROOT

DEFAULT = ROOT / "inventory.yaml"


def default() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT.read_text())
    return data


def error_for(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as exc:
        parse_inventory(data, Path("inv.yaml"))
    return str(exc.value)


def test_default_inventory_has_a_private_and_a_public_mock_unit() -> None:
    inv = load_inventory(DEFAULT)
    name, unit = inv.unit(None)
    assert (name, unit.kind == "mock", unit.identity.serial_number) == ("henb-01", True, "MOCK0001")
    assert inv.bench.prefix == "hb-"
    seen = {n: (u.kind, u.identity.serial_number, u.initial_hems_access) for n, u in inv.units.items()}
    assert seen == {"henb-01": ("mock", "MOCK0001", "private"), "henb-02": ("mock", "MOCK0002", "public")}
    creds = [u.hems_credentials for u in inv.units.values()]
    assert creds[0] and creds[1] and creds[0].username != creds[1].username


def test_a_units_initial_hems_access_defaults_to_the_operators() -> None:
    data = default()
    del data["units"]["henb-02"]["initial_hems_access"]
    inv = parse_inventory(data, Path("inv.yaml"))
    assert {u.initial_hems_access for u in inv.units.values()} == inv.initial_hems_accesses() == {"private"}
    data["operator"]["initial_hems_access"] = "public"
    data["units"]["henb-01"]["initial_hems_access"] = "private"
    inv = parse_inventory(data, Path("inv.yaml"))
    assert (inv.units["henb-01"].initial_hems_access, inv.units["henb-02"].initial_hems_access) == (
        "private",
        "public",
    )
    # The URL each unit is factory-programmed with follows its own access: HTTPS on the internet.
    op = inv.operator
    assert op.initial_hems_url_for("private") == "http://ihems.operator.example:7547/"
    assert op.initial_hems_url_for("public") == "https://ihems.operator.example:7547/"
    assert op.initial_hems_url == op.initial_hems_url_for(None) == op.initial_hems_url_for("public")


def test_a_wrong_initial_hems_access_is_named() -> None:
    data = default()
    data["units"]["henb-02"]["initial_hems_access"] = "internet"
    assert (
        "units.henb-02.initial_hems_access: found 'internet'; Input should be 'private' or 'public'"
        in error_for(data)
    )


def test_unknown_power_driver_names_key_found_and_expected() -> None:
    data = default()
    data["units"]["henb-01"]["power"]["driver"] = "pdux"
    msg = error_for(data)
    assert "inv.yaml" in msg
    assert (
        "units.henb-01.power.driver: found 'pdux'; expected one of 'mock', 'mock-psu', 'serial-relay'" in msg
    )


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("units", "henb-01", "identity", "oui"), "xyz", "units.henb-01.identity.oui: found 'xyz'"),
        (("operator", "initial_segw"), "not a host", "expected an FQDN or an IPv4 address"),
        (("operator", "hems_port"), 70000, "operator.hems_port: found 70000"),
        (("units", "henb-01", "mock", "misbehave"), ["dance"], "unknown knob 'dance'"),
        (("units", "henb-01", "bounds", "boot"), -1, "units.henb-01.bounds.boot: found -1"),
        (("bench", "colour"), "red", "bench.colour: found 'red'; unknown key"),
    ],
)
def test_bad_values_are_named(path: tuple[str, ...], value: object, expected: str) -> None:
    data = default()
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    assert expected in error_for(data)


def test_missing_key_is_named() -> None:
    data = default()
    del data["units"]["henb-01"]["console"]
    assert "units.henb-01.console: required key is missing" in error_for(data)


def test_unreadable_and_non_yaml_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read inventory"):
        load_inventory(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("units: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_inventory(bad)
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_inventory(bad)


def test_unknown_unit_name() -> None:
    with pytest.raises(ConfigError, match="unit 'henb-99' is not in the inventory; units: henb-01"):
        load_inventory(DEFAULT).unit("henb-99")


def test_physical_example_is_a_valid_inventory() -> None:
    inv = load_inventory(ROOT / "docs" / "inventory-physical.yaml")
    drivers = {u.power.driver for u in inv.units.values()}
    assert drivers == {"snmp-pdu", "netio", "http-pdu", "scpi", "serial-relay"}
    assert all(u.kind == "physical" for u in inv.units.values())


def test_a_bad_secret_is_named_but_never_shown() -> None:
    data = yaml.safe_load((ROOT / "docs" / "inventory-physical.yaml").read_text())
    unit = next(u for u in data["units"].values() if u["power"]["driver"] == "snmp-pdu")
    unit["power"]["community"] = ["hunter2-secret"]
    msg = error_for(data)
    assert "units.lab-henb-07.power.community:" in msg
    assert "hunter2-secret" not in msg


def test_connection_request_credentials_set_by_the_hems_or_the_units_own() -> None:
    data = default()
    unit = data["units"]["henb-01"]
    op = parse_inventory(data, Path("inv.yaml")).operator
    # Default: the HeMS sets the operator's defaults.
    unit.pop("connection_request", None)
    cr = parse_inventory(data, Path("inv.yaml")).units["henb-01"].connection_request
    assert cr.own is None and cr.credentials(op) == (op.cr_username, op.cr_password)
    unit["connection_request"] = {"set": {"username": "acs-7"}}
    cr = parse_inventory(data, Path("inv.yaml")).units["henb-01"].connection_request
    assert cr.credentials(op) == ("acs-7", op.cr_password)
    unit["connection_request"] = {"own": {"username": "vendor", "password": "factory-pw"}, "attempts": 5}
    cr = parse_inventory(data, Path("inv.yaml")).units["henb-01"].connection_request
    assert (cr.credentials(op), cr.attempts, cr.retry_after) == (("vendor", "factory-pw"), 5, 10.0)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            {"set": {}, "own": {"username": "u", "password": "p"}},
            "units.henb-01.connection_request: expected either set or own, not both",
        ),
        (
            {"own": {"username": "u"}},
            "units.henb-01.connection_request.own.password: required key is missing",
        ),
        ({"retry_after": 0}, "units.henb-01.connection_request.retry_after: found 0"),
        ({"attempts": 0}, "units.henb-01.connection_request.attempts: found 0"),
        ({"sett": {}}, "units.henb-01.connection_request.sett: unknown key"),
    ],
)
def test_a_broken_connection_request_entry_is_named(entry: dict[str, Any], expected: str) -> None:
    data = default()
    data["units"]["henb-01"]["connection_request"] = entry
    assert expected in error_for(data)


def test_own_connection_request_password_is_never_shown() -> None:
    data = default()
    data["units"]["henb-01"]["connection_request"] = {"own": {"username": "u", "password": ["cr-hunter2"]}}
    msg = error_for(data)
    assert "units.henb-01.connection_request.own.password:" in msg and "cr-hunter2" not in msg

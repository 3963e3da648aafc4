"""Data-model profiles (bench/profiles): the shipped ones name only paths their BBF data models define and the
mock's own models have; a lab's profile file and the inventory's overrides are checked before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench import profiles
from bench.errors import ConfigError
from bench.inventory import parse_inventory
from bench.mock.datamodel import factory
from tests.support import ROOT

IDENT = {"manufacturer": "m", "oui": "00D0B7", "product_class": "p", "serial_number": "S1"}


@pytest.mark.parametrize("name", sorted(profiles.SHIPPED))
def test_every_shipped_path_is_in_the_bbf_data_model_of_its_root(name: str) -> None:
    profile = profiles.load(name)
    assert profile.name == name
    assert profiles.unknown_paths(profile) == []


@pytest.mark.parametrize(
    ("name", "override", "path"),
    [
        ("tr181", "tac", "Device.Services.FAPService.1.CellConfig.LTE.EPC.X_VENDOR_TAC"),
        ("tr181", "history_event", "Device.FaultMgmt.NoSuchTable."),
        # A TR-181 object that is not in TR-098 (nor in the TR-262 components): the IGD model lacks it.
        ("tr098", "ipsec_usage", "InternetGatewayDevice.IPsec.Enable"),
        ("tr098", "pm_config", "InternetGatewayDevice.PerfMgmt.Config.1."),
    ],
)
def test_a_path_the_data_model_lacks_is_listed(name: str, override: str, path: str) -> None:
    assert profiles.unknown_paths(profiles.load(name, {override: path})) == [f"{override}: {path}"]


@pytest.mark.parametrize(("kind", "name"), [("device2", "tr181"), ("igd", "tr098")])
def test_the_mock_models_have_every_path_of_their_profile(kind: str, name: str) -> None:
    assert profiles.mock_profile(kind).name == name
    model = factory(IDENT, kind=kind)
    paths = profiles.mock_profile(kind).paths
    for key, path in paths:
        path = paths.alarm(1) if key == "supported_alarm" else path
        assert model.is_object(path) if path.endswith(".") else path in model.params, (key, path)
    assert model.get(paths.ipsec_usage) == "true" or kind == "device2"


def test_shipped_profiles_name_the_same_things_under_their_own_roots() -> None:
    tr181, tr098 = profiles.load("tr181"), profiles.load("tr098")
    assert (tr181.root, tr098.root) == ("Device.", "InternetGatewayDevice.")
    same = [
        k for k, p in tr181.paths if p.removeprefix("Device.") == getattr(tr098.paths, k).split(".", 1)[1]
    ]
    # Where the two models differ: the IPsec usage indicator, the inner address and PM (TR-262 components).
    assert set(profiles.Paths.model_fields) - set(same) == {"ipsec_usage", "ipsec_address"}
    assert tr181.paths.alarm(3) == "Device.FaultMgmt.SupportedAlarm.3."


def test_a_lab_profile_file_may_start_from_a_shipped_one(tmp_path: Path) -> None:
    f = tmp_path / "vendor.yaml"
    f.write_text(
        yaml.safe_dump(
            {
                "name": "acme-igd",
                "base": "tr098",
                "paths": {"ipsec_usage": "InternetGatewayDevice.X_ACME_IPsec.Enable"},
            }
        )
    )
    p = profiles.load(str(f), {"tac": "InternetGatewayDevice.X_ACME_Cell.TAC"})
    assert (p.name, p.root) == ("acme-igd", "InternetGatewayDevice.")
    assert p.paths.ipsec_usage == "InternetGatewayDevice.X_ACME_IPsec.Enable"
    assert p.paths.tac == "InternetGatewayDevice.X_ACME_Cell.TAC"
    assert p.paths.serving_hems == "InternetGatewayDevice.ManagementServer.URL"
    assert profiles.unknown_paths(p) == [
        "ipsec_usage: InternetGatewayDevice.X_ACME_IPsec.Enable",
        "tac: InternetGatewayDevice.X_ACME_Cell.TAC",
    ]


@pytest.mark.parametrize(
    ("source", "overrides", "words"),
    [
        ("tr18", {}, ["'tr18'", "expected tr181 or tr098, or a profile YAML file"]),
        ("missing.yaml", {}, ["cannot read profile missing.yaml"]),
        ("tr181", {"tack": "Device.A.B"}, ["unknown name(s) tack", "expected management_server"]),
        (
            "tr181",
            {"tac": "InternetGatewayDevice.A.TAC"},
            ["root is Device.", "tac (InternetGatewayDevice.A.TAC)"],
        ),
        ("tr181", {"tac": "Device.A."}, ["paths.tac: expected a parameter path"]),
        (
            "tr181",
            {"fault_mgmt": "Device.FaultMgmt"},
            ["paths.fault_mgmt: expected an object path ending in '.'"],
        ),
        (
            "tr181",
            {"supported_alarm": "Device.FaultMgmt.SupportedAlarm.1."},
            ["supported_alarm", "{i} 1 time"],
        ),
        ("tr181", {"tac": "Device.{i}.TAC"}, ["tac", "{i} 0 time"]),
    ],
)
def test_a_wrong_profile_or_override_is_refused_naming_it(
    source: str, overrides: dict[str, str], words: list[str]
) -> None:
    with pytest.raises(ValueError) as err:
        profiles.load(source, overrides)
    for w in words:
        assert w in str(err.value)


def test_a_lab_file_without_base_needs_every_name(tmp_path: Path) -> None:
    f = tmp_path / "short.yaml"
    f.write_text(yaml.safe_dump({"name": "short", "root": "Device.", "paths": {"tac": "Device.X.TAC"}}))
    with pytest.raises(ValueError) as err:
        profiles.load(str(f))
    assert f"profile {f}: missing management_server, serving_hems," in str(err.value)
    assert "eaid" in str(err.value) and " tac" not in str(err.value)
    f.write_text("name: [unclosed")
    with pytest.raises(ValueError, match="not valid YAML"):
        profiles.load(str(f))
    f.write_text(yaml.safe_dump({"name": "x", "base": "tr069", "paths": {}}))
    with pytest.raises(ValueError, match="base 'tr069': expected one of tr181, tr098"):
        profiles.load(str(f))


def _inventory(unit: dict[str, object], operator: dict[str, object] | None = None) -> dict[str, object]:
    data = yaml.safe_load((ROOT / "inventory.yaml").read_text())
    next(iter(data["units"].values())).update(unit)
    data["operator"].update(operator or {})
    return data


def test_the_inventory_resolves_each_units_profile() -> None:
    inv = parse_inventory(_inventory({}), Path("inv.yaml"))
    assert next(iter(inv.units.values())).data_model.resolve().name == "tr181"
    inv = parse_inventory(_inventory({"data_model": "tr098"}), Path("inv.yaml"))
    unit = next(iter(inv.units.values()))
    assert unit.data_model.resolve().paths.serving_hems == "InternetGatewayDevice.ManagementServer.URL"
    inv = parse_inventory(
        _inventory({"data_model": {"profile": "tr181", "overrides": {"ipsec_usage": "Device.X_ACME_IPsec"}}}),
        Path("inv.yaml"),
    )
    assert next(iter(inv.units.values())).data_model.resolve().paths.ipsec_usage == "Device.X_ACME_IPsec"


def test_a_wrong_profile_in_the_inventory_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError) as err:
        parse_inventory(
            _inventory({"data_model": {"profile": "tr098", "overrides": {"tac": "Device.X.TAC"}}}),
            Path("inv.yaml"),
        )
    assert (
        "units.henb-01.data_model: root is InternetGatewayDevice. but these paths are not under it: tac"
        in str(err.value)
    )


def test_operator_parameters_moved_to_the_units_profile() -> None:
    data = _inventory(
        {}, {"parameters": {"ipsec_address": "InternetGatewayDevice.FAP.Tunnel.IKESA.1.IPAddress"}}
    )
    with pytest.raises(ConfigError) as err:
        parse_inventory(data, Path("inv.yaml"))
    assert (
        "operator: operator.parameters moved to each unit's data-model profile: units.NAME.data_model"
        in str(err.value)
    )


def test_check_names_each_units_profile_and_its_paths_outside_the_bbf_models(tmp_path: Path) -> None:
    from tests.support import henb_bench

    data = _inventory(
        {"data_model": {"profile": "tr098", "overrides": {"tac": "InternetGatewayDevice.X_ACME_TAC"}}}
    )
    (tmp_path / "inv.yaml").write_text(yaml.safe_dump(data))
    res = henb_bench("--inventory", str(tmp_path / "inv.yaml"), "check")
    assert res.returncode == 0, res.stderr
    assert "data_model=tr098" in res.stdout
    assert (
        "data model: henb-01: tac: InternetGatewayDevice.X_ACME_TAC is not in the BBF data models"
        in res.stdout
    )
    assert res.stdout.count("not in the BBF data models") == 1

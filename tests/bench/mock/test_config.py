"""The mock's configuration crosses the process boundary as one typed model: what the bench writes the process
reads back unchanged, and a broken one is a ConfigError naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.errors import ConfigError
from bench.knobs import Knob
from bench.mock.config import MockConfig, load, own_paths

GOOD = {
    "name": "u",
    "workdir": "/tmp/w",
    "knobs": ["no_bootstrap"],
    "cwmp_ns": "urn:dslforum-org:cwmp-1-2",
    "identity": {"manufacturer": "m", "oui": "00D0B7", "product_class": "p", "serial_number": "S1"},
    "initial_hems_url": "http://ihems.example:7547/",
    "boot_time": 2.5,
}


def test_round_trip(tmp_path: Path) -> None:
    cfg = MockConfig.model_validate(GOOD)
    path = tmp_path / "mock.json"
    path.write_text(cfg.model_dump_json())
    back = load(path)
    assert back == cfg and back.knobs == [Knob.NO_BOOTSTRAP] and back.boot_time == 2.5


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"knobs": ["no_such_knob"]}, "knobs.0"),
        ({"identity": {"oui": "00D0B7"}}, "identity.serial_number"),
        ({"hems_auth": "kerberos"}, "hems_auth"),
        ({"cwmp_amendment": "two"}, "cwmp_amendment"),
        ({"boot_time": "slow"}, "boot_time"),
        ({"boot_time": True}, "boot_time"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_broken_config_names_the_field(tmp_path: Path, change: dict[str, object], field: str) -> None:
    path = tmp_path / "mock.json"
    path.write_text(json.dumps({**GOOD, **change}))
    with pytest.raises(ConfigError, match=rf"mock configuration .*mock\.json: .*\b{field}:"):
        load(path)


def test_missing_field_is_named(tmp_path: Path) -> None:
    path = tmp_path / "mock.json"
    path.write_text(json.dumps({k: v for k, v in GOOD.items() if k != "cwmp_ns"}))
    with pytest.raises(ConfigError, match="cwmp_ns: Field required"):
        load(path)


@pytest.mark.parametrize("kind", ["device2", "igd"])
def test_own_paths_are_the_shipped_profile(kind: str) -> None:
    from bench.profiles import mock_profile

    assert own_paths(kind) == mock_profile(kind).paths.model_dump()


def test_dump_leaves_out_what_is_excluded_and_reads_back() -> None:
    cfg = MockConfig.model_validate({**GOOD, "factory_cr": {"username": "u", "password": "p"}})
    dumped = cfg.model_dump(mode="json", exclude={"workdir"})
    assert "workdir" not in dumped and dumped["knobs"] == ["no_bootstrap"]
    assert dumped["factory_cr"] == {"username": "u", "password": "p"}
    assert MockConfig.model_validate_json(cfg.model_dump_json()) == cfg


def test_wrong_types_are_named(tmp_path: Path) -> None:
    path = tmp_path / "mock.json"
    identity = {**GOOD["identity"], "x": 1}  # type: ignore[dict-item]
    path.write_text(json.dumps({**GOOD, "protected": "10.0.0.0/8", "identity": identity}))
    with pytest.raises(ConfigError, match=r"identity\.x: Extra.*protected: Input should be a valid list"):
        load(path)

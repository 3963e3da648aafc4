"""Tests for drivers/registry.py: every backend is found by its name, and a new one is one module and one entry."""

from __future__ import annotations

import inspect
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from bench.inventory import TAGS
from drivers import registry
from drivers.errors import SettingsError

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("b", registry.BACKENDS, ids=lambda b: f"{b.part}-{b.name}")
def test_every_backend_has_its_settings_and_a_way_to_be_made(b: registry.Backend) -> None:
    model = registry.settings_model(b.part, b.name)
    assert issubclass(model, registry.DriverSettings)
    assert typing.get_args(model.model_fields["driver"].annotation) == (b.name,), "driver: Literal[its name]"
    if b.build is None:
        assert b.made_by, "a backend the registry cannot build says who makes it"
        with pytest.raises(SettingsError, match=b.made_by.split(":")[0][:30]):
            registry.build(b.part, type("S", (), {"driver": b.name})(), unit="u1")
    else:
        build = registry._load(b.build)
        assert list(inspect.signature(build).parameters)[:3] == ["cfg", "events", "unit"]
    if b.part in ("power", "console", "wan"):
        assert b.name in TAGS  # the inventory's errors leave the tag out of a key's path


def test_names_are_unique_per_part_and_an_unknown_one_lists_them() -> None:
    for part in registry.PARTS:
        assert len(set(registry.names(part))) == len(registry.names(part))
    with pytest.raises(
        SettingsError, match="no such power backend, expected one of mock, mock-psu, serial-relay"
    ):
        registry.backend("power", "acme-pdu")


# The worked example of docs/drivers.md, "A new backend": the module docs/examples/pdu_acme.py (it would be
# drivers/power/pdu_acme.py) and one entry; run in a fresh interpreter, as the entry is read when the inventory's
# models are made.
EXAMPLE = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from drivers import registry
registry.BACKENDS += (registry.Backend("power", "acme-pdu", "pdu_acme:AcmePduPower", "pdu_acme:build"),)

from bench.errors import ConfigError
from bench.inventory import parse_inventory
from bench.lab.sim.http_pdu import HttpPduServer
from bench.opscli import probe_inventory
from drivers.config import build_power
import yaml

data = yaml.safe_load(Path("inventory.yaml").read_text())
unit = data["units"]["henb-01"]
with HttpPduServer(user="admin", password="pw-7") as pdu:
    unit.update(power={"driver": "acme-pdu", "url": pdu.url, "outlet": 3, "username": "admin", "password": "pw-7"},
                console={"driver": "serial", "url": "socket://127.0.0.1:9"}, wan={"driver": "nic", "ifname": "hbx0"})
    inv = parse_inventory(data, Path("inv.yaml"))
    name, cfg = inv.unit("henb-01")
    assert cfg.kind == "physical"
    power = build_power(cfg.power, None, name)
    power.on()
    assert pdu.outlets[3] is True and power.state() is True
    row = next(r for r in probe_inventory(inv, name) if r.resource == "power")
    print("probe:", row.driver, row.address, row.ok, row.detail)
    unit["power"] = {"driver": "acme-pdu", "url": pdu.url, "outlet": 0, "username": "a", "password": "secret-9"}
    try:
        parse_inventory(data, Path("inv.yaml"))
    except ConfigError as e:
        print("error:", e)
unit["power"] = {"driver": "acme"}
try:
    parse_inventory(data, Path("inv.yaml"))
except ConfigError as e:
    print("error:", e)
"""


def test_a_new_pdu_backend_is_one_module_and_one_entry() -> None:
    out = subprocess.run([sys.executable, "-c", EXAMPLE, str(ROOT / "docs" / "examples")], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("probe: acme-pdu http://127.0.0.1:") and lines[0].endswith(
        "outlet 3 True answers; output is on"
    )
    # Its mistakes are named as every backend's are (the key, what was expected), its secrets never shown.
    assert "units.henb-01.power.outlet: found 0; Input should be greater than or equal to 1" in out.stdout
    assert "secret-9" not in out.stdout
    assert "units.henb-01.power.driver: found 'acme'; expected one of 'mock', 'mock-psu'" in out.stdout
    assert "'place', 'acme-pdu'" in out.stdout

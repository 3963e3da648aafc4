"""Tests for the drivers' settings (drivers/config.py and the modules it gathers): inventory entries parse, reject mistakes, hide secrets, and build working drivers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from bench.lab.sim.http_pdu import HttpPduServer
from bench.lab.sim.scpi_psu import ScpiPsuServer
from bench.lab.sim.snmp_pdu import SnmpPduAgent
from bench.lab.sim.ssh_server import SshServer, write_client_key
from bench.timeline import Timeline
from drivers import registry
from drivers.config import SshShellConfig, build_power, build_shell
from drivers.errors import SettingsError
from drivers.power.dialects import ScpiCommands, SnmpOutletOids
from drivers.power.pdu_http import HttpPdu
from drivers.power.pdu_snmp import SnmpPdu
from drivers.power.scpi import ScpiPower

POWER: TypeAdapter[Any] = TypeAdapter(registry.settings_union("power"))


def parse(text: str) -> Any:
    return POWER.validate_python(yaml.safe_load(text))


def test_example_inventory_entries_parse() -> None:
    doc = yaml.safe_load((Path(__file__).parents[2] / "docs" / "inventory-physical.yaml").read_text())
    units = doc["units"]
    kinds = {
        POWER.validate_python(u["power"]).driver
        for u in units.values()
        if u["power"]["driver"] != "serial-relay"
    }
    assert kinds == {"snmp-pdu", "http-pdu", "netio", "scpi"}
    relay = next(u["power"] for u in units.values() if u["power"]["driver"] == "serial-relay")
    assert relay["on_bytes"] == "A00101A2"
    shells = [SshShellConfig.model_validate(u["shell"]) for u in units.values() if "shell" in u]
    assert shells


def test_snmp_config_builds_a_working_driver() -> None:
    with SnmpPduAgent(
        "raritan", community="pdu-write", v3_users={"benchv3": ("auth-phrase-1", "priv-phrase-1")}
    ) as a:
        for creds in (
            "community: pdu-write",
            "v3: {user: benchv3, auth_key: auth-phrase-1, priv_key: priv-phrase-1}",
        ):
            cfg = parse(
                f"{{driver: snmp-pdu, host: 127.0.0.1, port: {a.port}, outlet: 4, model: raritan, {creds}}}"
            )
            power = build_power(cfg, Timeline(), "u1")
            assert isinstance(power, SnmpPdu)
            power.on()
            assert a.pdu.outlets[4] is True
            power.off()
            assert a.pdu.outlets[4] is False


def test_snmp_config_mistakes_and_secrets() -> None:
    with pytest.raises(ValidationError, match="either community"):
        parse("{driver: snmp-pdu, host: pdu1, outlet: 1}")
    with pytest.raises(ValidationError, match="model custom needs oids"):
        parse("{driver: snmp-pdu, host: pdu1, outlet: 1, model: custom, community: c}")
    with pytest.raises(ValidationError) as exc:
        parse("{driver: snmp-pdu, host: pdu1, outlet: 0, community: topsecret-c}")
    assert "topsecret-c" not in str(exc.value)
    cfg = parse(
        "{driver: snmp-pdu, host: pdu1, outlet: 2, v3: {user: u, auth_key: topsecret-a, priv_key: topsecret-p}}"
    )
    assert "topsecret" not in repr(cfg) + str(cfg) + cfg.model_dump_json()
    custom = parse(
        "{driver: snmp-pdu, host: pdu1, outlet: 2, model: custom, community: c,"
        " oids: {control_oid: '1.3.6.1.4.1.99.1.{outlet}', on_value: 1, off_value: 0}}"
    )
    assert build_power(custom).control_oid == "1.3.6.1.4.1.99.1.2"  # type: ignore[attr-defined]
    assert custom.oids == SnmpOutletOids("1.3.6.1.4.1.99.1.{outlet}", 1, 0)
    with pytest.raises(ValidationError, match=r"oids\.state_value"):
        parse(
            "{driver: snmp-pdu, host: pdu1, outlet: 2, model: custom, community: c,"
            " oids: {control_oid: '1.3.6.1.4.1.99.1.{outlet}', on_value: 1, off_value: 0, state_value: 1}}"
        )


def test_http_and_netio_configs_build_working_drivers() -> None:
    with HttpPduServer(user="admin", password="pw-1") as srv:
        netio = build_power(
            parse(f"{{driver: netio, url: '{srv.url}', outlet: 3, username: admin, password: pw-1}}")
        )
        assert isinstance(netio, HttpPdu)
        netio.on()
        assert srv.outlets[3] is True
        rest = build_power(
            parse(f"""
            driver: http-pdu
            url: {srv.url}
            outlet: 1
            username: admin
            password: pw-1
            on_request: {{method: PUT, path: "/api/outlets/{{outlet}}", body: {{state: "on"}}}}
            off_request: {{method: PUT, path: "/api/outlets/{{outlet}}", body: {{state: "off"}}}}
            state_request: {{path: "/api/outlets/{{outlet}}"}}
            state_path: data.state
            state_on: "on"
            state_off: "off"
            """)
        )
        rest.on()
        assert srv.outlets[1] is True and rest.state() is True


def test_scpi_config_builds_a_working_driver() -> None:
    with ScpiPsuServer(load_ohms=24.0) as psu:
        cfg = parse(
            f"{{driver: scpi, resource: '{psu.resource}', voltage: 12, current_limit: 1.5, sample_seconds: 0,"
            " commands: {setup: ['CURR:PROT:STAT ON']}}"
        )
        power = build_power(cfg)
        assert isinstance(power, ScpiPower)
        power.on()
        assert power.measure().amps == 0.5 and psu.model.ocp
        power.off()
        power.close()
    with pytest.raises(ValidationError):
        parse("{driver: scpi, resource: x, voltage: 0, current_limit: 1}")
    # The dialect's defaults are the driver's own; a key it does not have is refused by name.
    assert parse("{driver: scpi, resource: x, voltage: 12, current_limit: 1}").commands == ScpiCommands()
    with pytest.raises(ValidationError, match=r"commands\.outp_on"):
        parse("{driver: scpi, resource: x, voltage: 12, current_limit: 1, commands: {outp_on: 'OUTP 1'}}")


def test_serial_relay_and_mock() -> None:
    class Relay:
        driver = "serial-relay"
        url = "/dev/hb-none"
        on_bytes = "A00101A2"
        off_bytes = "A00100A1"

    assert type(build_power(Relay())).__name__ == "SerialRelay"
    with pytest.raises(SettingsError, match="mock"):

        class Mock:
            driver = "mock"

        build_power(Mock())


def test_ssh_config_builds_a_working_shell(tmp_path: Path) -> None:
    key, pub = write_client_key(tmp_path)
    with SshServer(client_key=pub) as srv:
        cfg = SshShellConfig.model_validate(
            {"driver": "ssh", "host": "127.0.0.1", "port": srv.port, "key_file": key}
        )
        with build_shell(cfg, unit="u1") as sh:
            assert sh.run("echo hi").stdout == "hi\n"

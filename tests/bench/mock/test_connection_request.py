"""The mock unit's connection-request credentials: factory ones the bench does not know (or the inventory's
`own` ones, as a unit programmed with them), changed only by SetParameterValues, and the knob that ignores it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bench import cwmp
from bench.inventory import parse_inventory
from bench.knobs import Knob
from bench.mock.config import MockConfig
from bench.mock.device import MockDevice
from bench.mock.henb import MockHeNB
from bench.network.state import RunState
from bench.pki import CertificateAuthority
from tests.support import ROOT

NS = "urn:dslforum-org:cwmp-1-1"
MS = "Device.ManagementServer."
USER, PASSWORD = MS + "ConnectionRequestUsername", MS + "ConnectionRequestPassword"


def _inventory(tmp_path: Path, connection_request: dict[str, Any] | None = None) -> Any:
    data = yaml.safe_load((ROOT / "inventory.yaml").read_text())
    data["bench"]["state_dir"] = str(tmp_path / "state")
    unit = data["units"]["henb-01"]
    if connection_request is not None:
        unit["connection_request"] = connection_request
    return parse_inventory(data, Path("inv.yaml"))


def _config(tmp_path: Path, connection_request: dict[str, Any] | None = None) -> MockConfig:
    """The configuration the bench starts the mock process with (its factory programming)."""
    inv = _inventory(tmp_path, connection_request)
    ca = CertificateAuthority(tmp_path / "ca")
    state = RunState(tmp_path / "state.json", "xx-")
    device = MockDevice("henb-01", inv.units["henb-01"], inv, "ns", "wan", tmp_path / "w", ca, ca, {}, state)
    try:
        return MockConfig.model_validate_json(device.config.model_dump_json())
    finally:
        device.close()


def _unit(cfg: MockConfig, knobs: list[str] | None = None) -> MockHeNB:
    return MockHeNB(cfg.model_copy(update={"knobs": [Knob(k) for k in knobs or []], "flash": ""}))


def _spv(unit: MockHeNB, values: dict[str, str]) -> Any:
    params = [(n, v, "xsd:string") for n, v in values.items()]
    env = cwmp.parse_envelope(
        cwmp.request(NS, "1", "SetParameterValues", {"params": params, "parameter_key": "k"})
    )
    return cwmp.read_result(cwmp.parse_envelope(unit.rpc.handle_rpc(env)), "SetParameterValues")


def test_the_bench_hands_the_mock_no_connection_request_credentials(tmp_path: Path) -> None:
    inv = _inventory(tmp_path)
    cfg = _config(tmp_path)
    text = cfg.model_dump_json()
    assert "cr_username" not in text and cfg.factory_cr is None
    assert inv.operator.cr_password not in text
    unit = _unit(cfg)
    factory = (unit.model.get(USER), unit.model.get(PASSWORD))
    assert factory[0] and factory[1] and factory != (inv.operator.cr_username, inv.operator.cr_password)


def test_the_mock_takes_the_credentials_the_hems_sets(tmp_path: Path) -> None:
    unit = _unit(_config(tmp_path))
    assert _spv(unit, {USER: "acs", PASSWORD: "set-by-hems"}) == cwmp.SpvResult(0)
    assert (unit.model.get(USER), unit.model.get(PASSWORD)) == ("acs", "set-by-hems")


def test_knob_ignore_cr_credentials_acknowledges_and_keeps_the_factory_ones(tmp_path: Path) -> None:
    unit = _unit(_config(tmp_path), ["ignore_cr_credentials"])
    factory = (unit.model.get(USER), unit.model.get(PASSWORD))
    assert _spv(unit, {USER: "acs", PASSWORD: "set-by-hems"}) == cwmp.SpvResult(0)
    assert (unit.model.get(USER), unit.model.get(PASSWORD)) == factory
    # Other parameters in the same set are applied as usual.
    assert _spv(unit, {USER: "acs", MS + "URL": "http://shems.example:7547/"}) == cwmp.SpvResult(0)
    assert unit.model.get(MS + "URL") == "http://shems.example:7547/"


@pytest.mark.parametrize("knobs", [[], ["ignore_cr_credentials"]])
def test_own_credentials_are_the_mocks_factory_ones(tmp_path: Path, knobs: list[str]) -> None:
    cfg = _config(tmp_path, {"own": {"username": "vendor", "password": "factory-secret"}})
    assert cfg.factory_cr is not None
    assert cfg.factory_cr.model_dump() == {"username": "vendor", "password": "factory-secret"}
    unit = _unit(cfg, knobs)
    assert (unit.model.get(USER), unit.model.get(PASSWORD)) == ("vendor", "factory-secret")


class _Model:
    """What the connection-request server reads of the data model: the credentials."""

    def get(self, name: str) -> str:
        return {USER: "acs", PASSWORD: "right"}.get(name, "")


@pytest.mark.parametrize(
    ("knobs", "expected"),
    [
        ([], {"none": 401, "wrong": 401, "right": 200}),
        # The HeMS's Digest request goes first without credentials (to be challenged): accepted there already.
        (["cr_without_credentials"], {"none": 200, "wrong": 200, "right": 200}),
        (["cr_wrong_credentials"], {"none": 401, "wrong": 200, "right": 200}),
    ],
)
def test_a_connection_request_needs_the_credentials_unless_a_knob_says_otherwise(
    knobs: list[str], expected: dict[str, int]
) -> None:
    """TR-069 3.2.2 as the bench's HeMS asks it (bench.hems.connreq): no credentials and a wrong password get
    401 and ask for no session; the knobs make the mock accept them and ask for one."""
    import asyncio

    from bench.hems.connreq import connection_request
    from bench.mock import cr_server
    from tests.bench.services.test_fileserver import free_ports

    async def run() -> tuple[dict[str, int | None], int]:
        sessions: list[dict[str, str]] = []
        (port,) = free_ports(1)
        server = await cr_server.serve(
            lambda: _Model(), MS, set(knobs), lambda _: None, sessions.append, port
        )  # type: ignore[arg-type,return-value]
        url = f"http://127.0.0.1:{port}/cr"
        try:
            got = {
                "none": (await connection_request(url, "acs", "right", 5, credentials=False)).status,
                "wrong": (await connection_request(url, "acs", "wrong", 5)).status,
                "right": (await connection_request(url, "acs", "right", 5)).status,
            }
        finally:
            server.close()
        return got, len(sessions)

    got, sessions = asyncio.run(run())
    assert got == expected
    assert sessions == list(expected.values()).count(200)  # a session asked for each accepted request only

"""The mock unit in InternetGatewayDevice mode (units.NAME.mock.data_model: igd): TR-262 FAP components, IGD
root objects, TR-196 FAPService:2 under Services; forced Inform parameters and the parameter RPCs, unit-level."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import cwmp
from bench.mock import bbf
from bench.mock.config import MockConfig
from bench.mock.datamodel import IGD_TUNNEL_ADDRESS, factory
from bench.mock.henb import MockHeNB

IGD = "InternetGatewayDevice."
NS = "urn:dslforum-org:cwmp-1-1"
IDENT = {"manufacturer": "m", "oui": "00D0B7", "product_class": "p", "serial_number": "S1"}


def test_shipped_igd_schema_is_what_the_bbf_xml_says() -> None:
    assert bbf.derive(kind="igd") == bbf.schema("igd")


def test_igd_schema_has_the_tr262_components_and_no_device2() -> None:
    objs = bbf.schema("igd")["objects"]
    assert all(o.startswith(IGD) for o in objs)
    ike = objs[IGD + "FAP.Tunnel.IKESA.{i}."]["params"]["IPAddress"]
    assert not ike["writable"] and ike["cons"]["ip"]
    assert {IGD + "FAP.GPS.", IGD + "FAP.PerfMgmt.Config.{i}.", IGD + "FaultMgmt.SupportedAlarm.{i}."} <= set(
        objs
    )
    assert objs[IGD + "Services.FAPService.{i}.FAPControl.LTE.Gateway."]["params"]["SecGWServer1"]["writable"]


def _unit(tmp_path: Path) -> MockHeNB:
    cfg: dict[str, Any] = {
        "name": "igd",
        "knobs": [],
        "cwmp_ns": NS,
        "data_model": "igd",
        "workdir": str(tmp_path),
        "identity": IDENT,
        "initial_hems_url": "http://ihems.example:7547/",
    }
    return MockHeNB(MockConfig.model_validate(cfg))


def _call(unit: MockHeNB, method: str, **args: Any) -> Any:
    env = cwmp.parse_envelope(cwmp.request(NS, "1", method, args))
    return cwmp.read_result(cwmp.parse_envelope(unit.rpc.handle_rpc(env)), method)


def test_igd_unit_boots_with_igd_names_and_answers_gpn_gpv_spv(tmp_path: Path) -> None:
    unit = _unit(tmp_path)
    m = unit.model
    assert m.root == IGD and m.parameter_key == IGD + "ManagementServer.ParameterKey"
    assert not any(n.startswith("Device.") for n in m.params)
    assert factory(IDENT, kind="igd").get(IGD + "DeviceInfo.SerialNumber") == "S1"
    unit.set_inner("10.9.0.7")
    forced = {n: v for n, v, _ in unit.client.inform_params([])}
    assert set(forced) == {
        IGD + "DeviceSummary",
        IGD + "DeviceInfo.SpecVersion",
        IGD + "DeviceInfo.HardwareVersion",
        IGD + "DeviceInfo.SoftwareVersion",
        IGD + "DeviceInfo.ProvisioningCode",
        IGD + "ManagementServer.ParameterKey",
        IGD + "ManagementServer.ConnectionRequestURL",
        IGD + "Services.FAPService.1.FAPControl.LTE.OpState",
        IGD + "Services.FAPService.1.FAPControl.LTE.RFTxStatus",
    }
    assert forced[IGD + "ManagementServer.ConnectionRequestURL"] == "http://10.9.0.7:7547/cr"
    assert m.get(IGD_TUNNEL_ADDRESS) == "10.9.0.7"
    assert m.get(IGD + "ManagementServer.URL") == "http://ihems.example:7547/"

    gpn = _call(unit, "GetParameterNames", parameter_path="", next_level=True)
    assert isinstance(gpn, cwmp.GpnResult)
    assert {IGD + "DeviceInfo.", IGD + "ManagementServer.", IGD + "FAP.", IGD + "Services."} <= set(
        gpn.params
    )
    gpn = _call(unit, "GetParameterNames", parameter_path=IGD + "FAP.Tunnel.IKESA.1.", next_level=True)
    assert gpn.params[IGD_TUNNEL_ADDRESS] is False
    gpv = _call(unit, "GetParameterValues", names=[IGD + "DeviceInfo.", IGD_TUNNEL_ADDRESS])
    assert isinstance(gpv, cwmp.GpvResult) and gpv.values[IGD + "DeviceInfo.SerialNumber"] == "S1"

    interval = IGD + "ManagementServer.PeriodicInformInterval"
    bad = _call(
        unit,
        "SetParameterValues",
        params=[
            (interval, "60", "xsd:unsignedInt"),
            ("Device.ManagementServer.PeriodicInformInterval", "60", "xsd:unsignedInt"),
            (IGD_TUNNEL_ADDRESS, "10.0.0.1", "xsd:string"),
            (IGD + "FAP.PerfMgmt.Config.1.Enable", "perhaps", "xsd:boolean"),
        ],
        parameter_key="bad",
    )
    assert isinstance(bad, cwmp.CwmpFault) and bad.fault_code == 9003
    assert {f.name: f.code for f in bad.param_faults} == {
        "Device.ManagementServer.PeriodicInformInterval": 9005,
        IGD_TUNNEL_ADDRESS: 9008,
        IGD + "FAP.PerfMgmt.Config.1.Enable": 9006,
    }
    assert m.get(interval) == "300" and m.get(m.parameter_key) == ""
    gw = IGD + "Services.FAPService.1.FAPControl.LTE.Gateway.SecGWServer1"
    ok = _call(
        unit,
        "SetParameterValues",
        params=[(interval, "60", "xsd:unsignedInt"), (gw, "segw.example", "xsd:string")],
        parameter_key="k1",
    )
    assert ok == cwmp.SpvResult(0)
    assert m.get(interval) == "60" and m.get(gw) == "segw.example" and m.get(m.parameter_key) == "k1"
    add = _call(unit, "AddObject", object_name=IGD + "FAP.PerfMgmt.Config.", parameter_key="add")
    assert isinstance(add, cwmp.AddObjectResult) and add.instance == 2
    assert m.get(IGD + "FAP.PerfMgmt.ConfigNumberOfEntries") == "2"

"""The BBF-derived data model: derivation from the XML, instances, SPV faults, notifications, tables."""

from __future__ import annotations

import time

import pytest

from bench.mock import bbf
from bench.mock.datamodel import CwmpError, SpvRefused, factory, template_of

IDENT = {"manufacturer": "m", "oui": "00D0B7", "product_class": "p", "serial_number": "S1"}


def test_shipped_schema_is_what_the_bbf_xml_says() -> None:
    assert bbf.derive() == bbf.schema()


def test_schema_has_the_paths_the_procedures_use() -> None:
    objs = bbf.schema()["objects"]
    pm = objs["Device.FAP.PerfMgmt.Config.{i}."]
    assert pm["writable"] and set(pm["params"]) >= {
        "Enable",
        "URL",
        "Username",
        "Password",
        "PeriodicUploadInterval",
    }
    assert pm["params"]["Password"].get("secret")
    rm = objs["Device.FaultMgmt.SupportedAlarm.{i}."]["params"]["ReportingMechanism"]
    assert rm["writable"] and rm["cons"]["enum"] == ["0 Expedited", "1 Queued", "2 Logged", "3 Disabled"]
    gw = objs["Device.Services.FAPService.{i}.FAPControl.LTE.Gateway."]["params"]
    assert gw["SecGWServer1"]["writable"] and gw["S1SigLinkServerList"].get("list")
    assert objs["Device.ManagementServer."]["params"]["ParameterKey"]["forced"]
    assert not objs["Device.DeviceInfo."]["params"]["SerialNumber"]["writable"]


def test_factory_model_builds_fast_with_its_instances() -> None:
    t0 = time.monotonic()
    m = factory(IDENT)
    assert time.monotonic() - t0 < 0.3
    assert m.get("Device.DeviceInfo.SerialNumber") == "S1"
    assert m.get("Device.IP.Interface.2.IPv4Address.1.AddressingType") == "IKEv2"
    assert m.get("Device.FaultMgmt.SupportedAlarmNumberOfEntries") == "5"
    assert "Device.FAP.PerfMgmt.Config.1.URL" in m.params
    assert "Device.Services.FAPService.1.FAPControl.LTE.Gateway.SecGWServer1" in m.params
    assert template_of("Device.IP.Interface.2.IPv4Address.1.") == "Device.IP.Interface.{i}.IPv4Address.{i}."


def test_spv_is_all_or_nothing_and_names_each_fault() -> None:
    m = factory(IDENT)
    interval = "Device.ManagementServer.PeriodicInformInterval"
    before = m.get(interval)
    with pytest.raises(SpvRefused) as err:
        m.apply(
            {
                interval: "60",
                "Device.Nope": "1",
                "Device.DeviceInfo.SerialNumber": "x",
                "Device.ManagementServer.PeriodicInformEnable": "perhaps",
                "Device.FaultMgmt.SupportedAlarm.1.ReportingMechanism": "4 Sometimes",
                "Device.Services.FAPService.1.FAPControl.LTE.Gateway.S1SigLinkPort": "70000",
                "Device.IP.Interface.2.IPv4Address.1.IPAddress": "10.0.0.300",
            },
            "k1",
        )
    codes = {name: code for name, code, _ in err.value.faults}
    assert codes == {
        "Device.Nope": 9005,
        "Device.DeviceInfo.SerialNumber": 9008,
        "Device.ManagementServer.PeriodicInformEnable": 9006,
        "Device.FaultMgmt.SupportedAlarm.1.ReportingMechanism": 9007,
        "Device.Services.FAPService.1.FAPControl.LTE.Gateway.S1SigLinkPort": 9007,
        "Device.IP.Interface.2.IPv4Address.1.IPAddress": 9007,
    }
    assert m.get(interval) == before and m.get("Device.ManagementServer.ParameterKey") == ""
    m.apply({interval: "60"}, "k2")
    assert m.get(interval) == "60" and m.get("Device.ManagementServer.ParameterKey") == "k2"


def test_partial_spv_knob_semantics() -> None:
    m = factory(IDENT)
    with pytest.raises(SpvRefused):
        m.apply(
            {"Device.ManagementServer.PeriodicInformInterval": "61", "Device.Nope": "1"}, "k", partial=True
        )
    assert m.get("Device.ManagementServer.PeriodicInformInterval") == "61"
    assert m.get("Device.ManagementServer.ParameterKey") == ""


def test_tables_names_and_notifications() -> None:
    m = factory(IDENT)
    n = m.add_object("Device.FAP.PerfMgmt.Config.")
    assert n == 2 and m.get("Device.FAP.PerfMgmt.ConfigNumberOfEntries") == "2"
    m.delete_object("Device.FAP.PerfMgmt.Config.2.")
    assert m.get("Device.FAP.PerfMgmt.ConfigNumberOfEntries") == "1"
    with pytest.raises(CwmpError) as err:
        m.add_object("Device.FaultMgmt.SupportedAlarm.")
    assert err.value.code == 9008
    names = m.names("Device.FAP.PerfMgmt.", True)
    assert names == {"Device.FAP.PerfMgmt.Config.": True, "Device.FAP.PerfMgmt.ConfigNumberOfEntries": False}
    assert "Device.FAP.PerfMgmt.Config.1.URL" in m.names("Device.FAP.PerfMgmt.", False)
    assert m.values(["Device.FaultMgmt.CurrentAlarm."]) == []
    with pytest.raises(CwmpError):
        m.values(["Device.NoSuch."])
    tac = "Device.Services.FAPService.1.CellConfig.LTE.EPC.TAC"
    m.set_attributes([(tac, 2)])
    m.set_internal(tac, "7")
    assert m.changed == {tac: 2}
    assert m.values(["Device.FAP.PerfMgmt.Config.1.Password"])[0][1] == ""
    with pytest.raises(CwmpError) as err:
        m.set_attributes([("Device.DeviceInfo.SoftwareVersion", 0)])
    assert err.value.code == 9009

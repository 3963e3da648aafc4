"""The mock unit's data model as it leaves the factory (Device:2 or InternetGatewayDevice), built on the
instance store (instances.py) and the parameter rules (parameter.py); the mock's parts import all three from here."""

from __future__ import annotations

from bench.mock import bbf
from bench.mock.instances import DataModel
from bench.mock.parameter import (
    FAULT_INVALID_ARGUMENTS,
    FAULT_INVALID_NAME,
    FAULT_INVALID_TYPE,
    FAULT_INVALID_VALUE,
    FAULT_NOT_WRITABLE,
    FAULT_NOTIFICATION_REJECTED,
    NOTIFY_ACTIVE,
    NOTIFY_PASSIVE,
    CwmpError,
    Param,
    SpvRefused,
    template_of,
    value_problem,
)

__all__ = [
    "FAULT_INVALID_ARGUMENTS",
    "FAULT_INVALID_NAME",
    "FAULT_INVALID_TYPE",
    "FAULT_INVALID_VALUE",
    "FAULT_NOT_WRITABLE",
    "FAULT_NOTIFICATION_REJECTED",
    "IGD",
    "IGD_FAP",
    "IGD_TUNNEL_ADDRESS",
    "NOTIFY_ACTIVE",
    "NOTIFY_PASSIVE",
    "CwmpError",
    "DataModel",
    "Param",
    "SpvRefused",
    "factory",
    "factory_igd",
    "template_of",
    "value_problem",
]

# -- the mock unit's factory state --------------------------------------------------------------------

# (EventType, ProbableCause, SpecificProblem, PerceivedSeverity): ITU-T X.733 event types; the console's
# `alarm raise N` raises SupportedAlarm.N.
SUPPORTED_ALARMS = [
    ("Communications Alarm", "S1 link failure", "S1 SCTP association lost", "Major"),
    ("Equipment Alarm", "Transmitter failure", "RF transmitter off", "Critical"),
    ("Environmental Alarm", "High temperature", "Board temperature above threshold", "Minor"),
    ("Processing Error Alarm", "Software error", "Process restarted", "Warning"),
    ("Quality of Service Alarm", "Threshold crossed", "Cell load above threshold", "Warning"),
]
FAP = "Device.Services.FAPService.1."
WAN_IF = "Device.IP.Interface.1."
TUNNEL_IF = "Device.IP.Interface.2."


def _alarms(m: DataModel) -> None:
    fm = m.root + "FaultMgmt."
    for ev, cause, problem, severity in SUPPORTED_ALARMS:
        n = m.add(fm + "SupportedAlarm.")
        base = f"{fm}SupportedAlarm.{n}."
        for k, v in (
            ("EventType", ev),
            ("ProbableCause", cause),
            ("SpecificProblem", problem),
            ("PerceivedSeverity", severity),
            ("ReportingMechanism", "0 Expedited"),
        ):
            m.params[base + k].value = v


def _preset(m: DataModel, preset: dict[str, str]) -> DataModel:
    for name, value in preset.items():
        if name in m.params:
            m.params[name].value = value
    return m


def factory(
    identity: dict[str, str], values: dict[str, str] | None = None, kind: str = "device2"
) -> DataModel:
    """A unit as it leaves the factory: the BBF-derived schema with FAPService.1, the WAN and tunnel IP
    interfaces, one IPsec tunnel, the SupportedAlarm entries and one PerfMgmt.Config (disabled). `kind`
    'igd' gives the InternetGatewayDevice model instead (factory_igd)."""
    if kind == "igd":
        return factory_igd(identity, values)
    m = DataModel(schema=bbf.schema())
    for obj in ("Device.", "Device.Services.", "Device.DeviceInfo.", "Device.ManagementServer."):
        m.instantiate(obj)
    m.instantiate("Device.IP.")
    m.instantiate("Device.IPsec.")
    m.instantiate("Device.FaultMgmt.")
    m.instantiate("Device.FAP.")
    m.add("Device.Services.FAPService.")
    m.add(FAP + "CellConfig.LTE.EPC.PLMNList.")
    for _ in range(2):
        n = m.add("Device.IP.Interface.")
        m.add(f"Device.IP.Interface.{n}.IPv4Address.")
    m.add("Device.IPsec.Tunnel.")
    m.add("Device.FAP.PerfMgmt.Config.")
    _alarms(m)
    preset = {
        "Device.RootDataModelVersion": "2.17",
        "Device.DeviceInfo.Manufacturer": identity["manufacturer"],
        "Device.DeviceInfo.ManufacturerOUI": identity["oui"],
        "Device.DeviceInfo.ProductClass": identity["product_class"],
        "Device.DeviceInfo.SerialNumber": identity["serial_number"],
        "Device.DeviceInfo.HardwareVersion": "mock-1",
        "Device.DeviceInfo.SoftwareVersion": "henb-bench-mock-0.2",
        "Device.FaultMgmt.MaxCurrentAlarmEntries": "16",
        "Device.ManagementServer.PeriodicInformInterval": "300",
        "Device.ManagementServer.CWMPRetryMinimumWaitInterval": "5",
        "Device.ManagementServer.CWMPRetryIntervalMultiplier": "2000",
        WAN_IF + "Enable": "true",
        WAN_IF + "Name": "wan",
        WAN_IF + "IPv4Address.1.AddressingType": "DHCP",
        WAN_IF + "IPv4Address.1.Enable": "true",
        TUNNEL_IF + "Enable": "true",
        TUNNEL_IF + "Name": "ipsec0",
        TUNNEL_IF + "IPv4Address.1.AddressingType": "IKEv2",
        TUNNEL_IF + "IPv4Address.1.Enable": "true",
        TUNNEL_IF + "IPv4Address.1.IPAddress": "0.0.0.0",
        "Device.IPsec.Enable": "true",
        "Device.IPsec.Tunnel.1.TunnelInterface": TUNNEL_IF.rstrip("."),
        FAP + "FAPControl.LTE.Gateway.S1SigLinkPort": "36412",
        "Device.FAP.PerfMgmt.Config.1.PeriodicUploadInterval": "900",
        **(values or {}),
    }
    return _preset(m, preset)


IGD = "InternetGatewayDevice."
IGD_FAP = IGD + "Services.FAPService.1."
# Where the IGD unit keeps its IPsec inner address: TR-262's IKE SA table (readOnly, forceDefaultEnabled).
IGD_TUNNEL_ADDRESS = IGD + "FAP.Tunnel.IKESA.1.IPAddress"


def factory_igd(identity: dict[str, str], values: dict[str, str] | None = None) -> DataModel:
    """The InternetGatewayDevice unit: the IGD root objects, FAPService.1 (one PLMNList), TR-262's FAP.GPS,
    FAP.Tunnel with CryptoProfile.1 (its Enable: the IPsec usage indicator) and IKESA.1 (the inner address) and FAP.PerfMgmt.Config.1 (disabled), FaultMgmt's alarms."""
    m = DataModel(schema=bbf.schema("igd"))
    for obj in ("", "DeviceInfo.", "ManagementServer.", "Services.", "FaultMgmt.", "FAP."):
        m.instantiate(IGD + obj)
    m.add(IGD + "Services.FAPService.")
    m.add(IGD_FAP + "CellConfig.LTE.EPC.PLMNList.")
    m.add(IGD + "FAP.Tunnel.CryptoProfile.")
    m.add(IGD + "FAP.Tunnel.IKESA.")
    m.add(IGD + "FAP.PerfMgmt.Config.")
    _alarms(m)
    preset = {
        IGD + "DeviceSummary": "InternetGatewayDevice:1.4[](Baseline:1), FAPService:2.1[1](Baseline:1)",
        IGD + "DeviceInfo.Manufacturer": identity["manufacturer"],
        IGD + "DeviceInfo.ManufacturerOUI": identity["oui"],
        IGD + "DeviceInfo.ProductClass": identity["product_class"],
        IGD + "DeviceInfo.SerialNumber": identity["serial_number"],
        IGD + "DeviceInfo.SpecVersion": "1.0",
        IGD + "DeviceInfo.HardwareVersion": "mock-1",
        IGD + "DeviceInfo.SoftwareVersion": "henb-bench-mock-0.2",
        IGD + "FaultMgmt.MaxCurrentAlarmEntries": "16",
        IGD + "ManagementServer.PeriodicInformInterval": "300",
        IGD + "ManagementServer.CWMPRetryMinimumWaitInterval": "5",
        IGD + "ManagementServer.CWMPRetryIntervalMultiplier": "2000",
        IGD_TUNNEL_ADDRESS: "0.0.0.0",
        IGD + "FAP.Tunnel.IKESA.1.Status": "Disabled",
        IGD + "FAP.Tunnel.CryptoProfile.1.Enable": "true",
        IGD_FAP + "FAPControl.LTE.Gateway.S1SigLinkPort": "36412",
        IGD + "FAP.PerfMgmt.Config.1.PeriodicUploadInterval": "900",
        **(values or {}),
    }
    return _preset(m, preset)

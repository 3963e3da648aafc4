"""The InternetGatewayDevice root objects a HeNB's management needs, written by hand after TR-098 Amendment 2
(TR-098's XML is not vendored here): read by the mock's schema derivation and the data-model profile check."""

from __future__ import annotations

from typing import Any

IGD = "InternetGatewayDevice."


def _p(
    type_: str = "string", writable: bool = False, forced: bool = False, notify: str = "normal", **extra: Any
) -> dict[str, Any]:
    return {"type": type_, "writable": writable, "forced": forced, "notify": notify, **extra}


# TR-098 (InternetGatewayDevice:1) is not among the reference BBF files, so the few IGD root objects the mock
# needs are written here by hand, after TR-098 Amendment 2: the DeviceInfo and ManagementServer parameters the
# unit reports or the HeMS sets, forcedInform / activeNotify as TR-098 marks them. Keep this minimal: anything
# the BBF files define (FAPService, the FAP components, FaultMgmt) is derived, not typed in.
IGD_ROOT: dict[str, Any] = {
    IGD: {
        "writable": False,
        "num": None,
        "params": {"DeviceSummary": _p(forced=True, cons={"maxlen": 1024})},
    },
    IGD + "DeviceInfo.": {
        "writable": False,
        "num": None,
        "params": {
            "Manufacturer": _p(cons={"maxlen": 64}),
            "ManufacturerOUI": _p(cons={"maxlen": 6}),
            "ProductClass": _p(cons={"maxlen": 64}),
            "SerialNumber": _p(cons={"maxlen": 64}),
            "SpecVersion": _p(forced=True, cons={"maxlen": 16}),
            "HardwareVersion": _p(forced=True, cons={"maxlen": 64}),
            "SoftwareVersion": _p(forced=True, notify="forceEnabled", cons={"maxlen": 64}),
            "ProvisioningCode": _p(writable=True, forced=True, notify="forceEnabled", cons={"maxlen": 64}),
            "UpTime": _p("unsignedInt", notify="canDeny"),
        },
    },
    IGD + "ManagementServer.": {
        "writable": False,
        "num": None,
        "params": {
            "URL": _p(writable=True, cons={"maxlen": 256}),
            "Username": _p(writable=True, cons={"maxlen": 256}),
            "Password": _p(writable=True, secret=True, cons={"maxlen": 256}),
            "PeriodicInformEnable": _p("boolean", writable=True),
            "PeriodicInformInterval": _p("unsignedInt", writable=True, cons={"min": 1}),
            "PeriodicInformTime": _p("dateTime", writable=True),
            "ParameterKey": _p(forced=True, cons={"maxlen": 32}),
            "ConnectionRequestURL": _p(forced=True, cons={"maxlen": 256}),
            "ConnectionRequestUsername": _p(writable=True, cons={"maxlen": 256}),
            "ConnectionRequestPassword": _p(writable=True, secret=True, cons={"maxlen": 256}),
            "UpgradesManaged": _p("boolean", writable=True),
            # TR-069 3.2.1.1's session retry (TR-098 Amendment 2, as TR-181's ManagementServer has them)
            "CWMPRetryMinimumWaitInterval": _p("unsignedInt", writable=True, cons={"min": 1, "max": 65535}),
            "CWMPRetryIntervalMultiplier": _p("unsignedInt", writable=True, cons={"min": 1000, "max": 65535}),
        },
    },
}

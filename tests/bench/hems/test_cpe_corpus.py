"""Replays messages in the shapes real CPEs send (tests/bench/data/cpe_corpus: TR-098 gateways, a TR-196 LTE
eNB on Device:2, ATAs, with their quirks) against a real HeMS on 127.0.0.1 and checks the answer to each."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bench import cwmp
from bench.cwmp import CwmpFault, DeviceKey, GpvResult, SpvResult
from bench.errors import DeviceError
from bench.hems import Hems
from bench.timeline import Timeline
from tests.bench.hems.cpe import NS1, Cpe

NS0, _, NS2 = cwmp.CWMP_NAMESPACES
CORPUS = Path(__file__).parent.parent / "data" / "cpe_corpus"


def load(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


@dataclass
class InformCase:
    file: str
    device: DeviceKey
    ns: str
    id: str
    params: dict[str, str]
    use_version: str | None = None
    bad_bytes: int = 0  # defects: bytes that are not UTF-8, each recorded with its offset


GW = DeviceKey("00147F", "HGW-4", "GW4-0001")
ENB = DeviceKey("A0F3C1", "LTE-HeNB-B7", "FN7C0004411")
ATA = DeviceKey("000E08", "ATA-2FXS", "VL2F00A19")
INFORMS = [
    InformCase(
        "gw_tr098_cwmp10_bootstrap.xml",
        GW,
        NS0,
        "1a2b3c4d",
        {
            "InternetGatewayDevice.DeviceInfo.ProvisioningCode": "",
            "InternetGatewayDevice.ManagementServer.ConnectionRequestURL": "http://127.0.0.1:30005/tr069/GW4-0001",
        },
    ),
    InformCase(
        "gw_tr098_arraytype_lies.xml",
        DeviceKey("0090D0", "BL-VDSL2", "BL20231187"),
        cwmp.CWMP_NAMESPACES[1],
        "1185",
        {"InternetGatewayDevice.ManagementServer.ParameterKey": ""},
    ),
    InformCase(
        "enb_tr196_device2_cwmp14.xml",
        ENB,
        NS2,
        "enb-00017",
        {
            "Device.Services.FAPService.1.FAPControl.LTE.OpState": "true",
            "Device.RootDataModelVersion": "2.11",
        },
        use_version="1.4",
    ),
    InformCase(
        "enb_odd_prefixes_default_ns.xml",
        DeviceKey("A0F3C1", "LTE-HeNB-B40", "FN40C0000093"),
        NS2,
        "9",
        {"Device.IPsec.Tunnel.1.TunnelInnerIPAddress": "10.200.0.17"},
    ),
    InformCase(
        "ata_no_xsi_type_qualified.xml",
        ATA,
        NS0,
        "ata17",
        {"InternetGatewayDevice.DeviceInfo.SoftwareVersion": "1.0.4.12"},
    ),
    InformCase("ata_empty_parameterlist.xml", DeviceKey("000E08", "ATA-1FXS", "VL1F00311"), NS1, "41", {}),
    InformCase(
        "ata_bom_crlf_no_declaration.xml",
        DeviceKey("00E0FC", "PB-ATA", "PB0000000716"),
        NS0,
        "7",
        {"InternetGatewayDevice.DeviceInfo.SoftwareVersion": "PB 2.1 (build 0716)"},
    ),
    InformCase(
        "gw_tr098_non_utf8_value.xml",
        DeviceKey("00147F", "HGW-4", "GW4-0002"),
        NS0,
        "1a2b3c4d",
        {"InternetGatewayDevice.DeviceInfo.HardwareVersion": "HGW-4 r\ufffdv B"},
        bad_bytes=1,
    ),
]


@pytest.mark.parametrize("case", INFORMS, ids=[c.file for c in INFORMS])
def test_each_inform_gets_its_inform_response(hems: tuple[Hems, int], timeline: Timeline, case: InformCase):
    h, port = hems
    body = load(case.file)
    cpe = Cpe(port)
    status, data = cpe.post(body)
    assert status == 200, data
    env = cwmp.parse_envelope(data)
    assert (env.method, env.ns, env.id, env.use_version) == (
        "InformResponse",
        case.ns,
        case.id,
        case.use_version,
    )
    (inform,) = timeline.find(lambda e: e.kind == "inform")
    d = inform.data
    assert DeviceKey(d["oui"], d["product_class"], d["serial"]) == case.device
    assert {k: d["params"].get(k) for k in case.params} == case.params
    url = next((v for k, v in d["params"].items() if k.endswith("ConnectionRequestURL")), None)
    assert h.connection_request_url(case.device) == url
    defects = timeline.find(lambda e: e.kind == "defect")
    assert len(defects) == case.bad_bytes
    if case.bad_bytes:
        offset = body.index(b"\xe9")
        assert f"0xe9 at offset {offset} not UTF-8" in defects[0].data["reason"]
        assert (
            defects[0].data["serial"] == case.device.serial_number and defects[0].data["method"] == "Inform"
        )
    assert cpe.empty() == (204, b"")
    assert not timeline.find(lambda e: e.kind in ("bad-message", "hems-error"))


@dataclass
class ResponseCase:
    inform: str
    rpc: tuple[str, dict[str, Any]]
    response: str
    expect: Any  # the typed result, or the text the DeviceError must carry
    bad_bytes: int = 0
    events: list[str] = field(default_factory=list)


GPV = ("GetParameterValues", {"names": ["InternetGatewayDevice.LANDevice.1.WLANConfiguration.1."]})
RESPONSES = [
    ResponseCase(
        "gw_tr098_cwmp10_bootstrap.xml",
        GPV,
        "gw_gpv_response_no_xsi_arraytype_lies.xml",
        GpvResult(
            {
                "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID": "  Home Net  ",
                "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.Channel": "11",
                "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.Enable": "1",
            }
        ),
    ),
    ResponseCase(
        "gw_tr098_cwmp10_bootstrap.xml",
        GPV,
        "gw_gpv_response_non_utf8.xml",
        GpvResult(
            {
                "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID": "Caf\ufffd Wi-Fi",
                "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.Channel": "11",
                "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.Enable": "1",
            }
        ),
        bad_bytes=1,
    ),
    ResponseCase("gw_tr098_cwmp10_bootstrap.xml", GPV, "gw_fault_9005.xml", 9005),
    ResponseCase(
        "enb_tr196_device2_cwmp14.xml",
        (
            "SetParameterValues",
            {"params": [("Device.ManagementServer.PeriodicInformInterval", "60", "unsignedInt")]},
        ),
        "enb_spv_response_whitespace.xml",
        SpvResult(1),
    ),
    ResponseCase(
        "enb_tr196_device2_cwmp14.xml",
        ("GetParameterValues", {"names": ["Device.Services.FAPService.1."]}),
        "enb_gpv_response_missing_value.xml",
        "ParameterValueStruct has no Value element",
        events=["bad-message"],
    ),
]


@pytest.mark.parametrize("case", RESPONSES, ids=[c.response for c in RESPONSES])
def test_each_rpc_response_resolves_its_call_and_the_session_ends(
    hems: tuple[Hems, int], timeline: Timeline, case: ResponseCase
):
    h, port = hems
    inform = load(case.inform)
    device = cwmp.read_inform(cwmp.parse_envelope(inform)).device_id.key
    method, args = case.rpc
    call = h.queue_rpc(device, method, **args)
    cpe = Cpe(port)
    assert cpe.post(inform)[0] == 200
    status, data = cpe.empty()
    assert status == 200, data
    sent = cwmp.parse_envelope(data)
    assert sent.method == method and sent.id == call.id
    body = load(case.response).replace(b"@ID@", call.id.encode())
    # Answered at once and the session ends cleanly, whatever the response held.
    assert cpe.post(body) == (204, b"")
    assert timeline.find(lambda e: e.kind == "session-end")
    if isinstance(case.expect, str):
        assert call.done()
        with pytest.raises(DeviceError, match=case.expect):
            call.result(1)
    elif isinstance(case.expect, int):
        result = call.result(1)
        assert isinstance(result, CwmpFault) and result.fault_code == case.expect
    else:
        assert call.result(1) == case.expect
    defects = timeline.find(lambda e: e.kind == "defect")
    assert len(defects) == case.bad_bytes
    if case.bad_bytes:
        offset = body.index(b"\xe9")
        assert f"at offset {offset} not UTF-8" in defects[0].data["reason"]
        assert defects[0].data["method"] == "GetParameterValuesResponse"
    bad = timeline.find(lambda e: e.kind == "bad-message")
    assert ["bad-message"] * len(bad) == case.events
    assert not timeline.find(lambda e: e.kind == "hems-error")


def test_an_unreadable_response_fails_its_call_and_the_next_rpc_goes_out(
    hems: tuple[Hems, int], timeline: Timeline
):
    """The session continues: the RPC queued behind the one answered wrongly is sent, and answered."""
    h, port = hems
    first = h.queue_rpc(ENB, "GetParameterValues", names=["Device.Services.FAPService.1."])
    second = h.queue_rpc(
        ENB,
        "SetParameterValues",
        params=[("Device.ManagementServer.PeriodicInformInterval", "60", "unsignedInt")],
    )
    cpe = Cpe(port)
    assert cpe.post(load("enb_tr196_device2_cwmp14.xml"))[0] == 200
    assert cwmp.parse_envelope(cpe.empty()[1]).id == first.id
    status, data = cpe.post(load("enb_gpv_response_missing_value.xml").replace(b"@ID@", first.id.encode()))
    assert status == 200
    assert cwmp.parse_envelope(data).method == "SetParameterValues"
    with pytest.raises(DeviceError, match=f"unit {ENB} answered GetParameterValues .*has no Value"):
        first.result(1)
    body = load("enb_spv_response_whitespace.xml").replace(b"@ID@", second.id.encode())
    assert cpe.post(body) == (204, b"")
    assert second.result(1) == SpvResult(1)
    assert [e.data["reason"] for e in timeline.find(lambda e: e.kind == "bad-message")] == [
        "ParameterValueStruct has no Value element"
    ]


def test_a_cpe_request_from_an_ata_is_answered(hems: tuple[Hems, int], timeline: Timeline):
    h, port = hems
    cpe = Cpe(port)
    assert cpe.post(load("ata_no_xsi_type_qualified.xml"))[0] == 200
    status, data = cpe.post(load("ata_transfer_complete_cwmp10.xml"))
    assert status == 200
    env = cwmp.parse_envelope(data)
    assert (env.method, env.ns, env.id) == ("TransferCompleteResponse", NS0, "ata18")
    (tc,) = timeline.find(lambda e: e.kind == "cpe-rpc")
    assert (tc.data["serial"], tc.data["command_key"], tc.data["fault_code"]) == (
        ATA.serial_number,
        "fw-1.0.4.13",
        0,
    )
    assert cpe.empty() == (204, b"")


HOSTILE = {
    "hostile_xxe_inform.xml": "DOCTYPE is not allowed",
    "hostile_billion_laughs.xml": "DOCTYPE is not allowed",
    # The bad byte sends the body down the recovering path, the DOCTYPE is past the byte check's first 4 KiB.
    "hostile_non_utf8_then_doctype.xml": "DOCTYPE is not allowed",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_the_recovering_parse_still_refuses_entities(hems: tuple[Hems, int], timeline: Timeline, name: str):
    h, port = hems
    status, data = Cpe(port).post(load(name))
    assert status == 400 and data.startswith(b"bad CWMP message"), data
    assert b"root:" not in data
    (bad,) = timeline.find(lambda e: e.kind == "bad-message")
    assert HOSTILE[name] in bad.data["reason"]
    assert not timeline.find(lambda e: e.kind in ("inform", "defect"))


def test_units_with_one_serial_but_another_oui_or_product_class_are_kept_apart(
    hems: tuple[Hems, int], timeline: Timeline
):
    """Sessions, queues and connection-request URLs are keyed by the whole DeviceId."""
    h, port = hems
    a = cwmp.DeviceId("Acme", "00259E", "FAP-1", "0001")
    b = cwmp.DeviceId("Other", "0090D0", "ATA-1", "0001")

    def inform(dev: cwmp.DeviceId, url: str) -> bytes:
        params = [("Device.ManagementServer.ConnectionRequestURL", url, "xsd:string")]
        return cwmp.inform(NS1, "1", dev, [("1 BOOT", "")], params, "2024-01-01T00:00:00Z")

    call = h.queue_rpc(a.key, "Reboot", command_key="for-a")
    cpe_a, cpe_b = Cpe(port), Cpe(port)
    assert cpe_a.post(inform(a, "http://127.0.0.1:1/a"))[0] == 200
    # The other vendor's unit with the same serial opens its own session: it neither gets A's RPC nor ends A's.
    assert cpe_b.post(inform(b, "http://127.0.0.1:1/b"))[0] == 200
    assert cpe_b.empty() == (204, b"")
    status, data = cpe_a.empty()
    assert status == 200 and cwmp.parse_envelope(data).id == call.id
    assert h.connection_request_url(a.key) == "http://127.0.0.1:1/a"
    assert h.connection_request_url(b.key) == "http://127.0.0.1:1/b"
    assert str(a.key) == "00259E-FAP-1-0001"
    # A serial alone still names a unit: the one heard from last.
    assert h.connection_request_url("0001") == "http://127.0.0.1:1/b"
    assert h.wait_inform(b.key, timeout=1).data["oui"] == "0090D0"
    with pytest.raises(DeviceError, match="unit 00259E-ATA-1-0001"):
        h.wait_inform(DeviceKey("00259E", "ATA-1", "0001"), timeout=0.1)

"""The mock unit on the real bench network: parameter RPCs, notifications, Download, Upload, alarms, PM upload
(at the interval and forced), ScheduleInform, reboot and (last: it undoes everything) FactoryReset."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench import configfile, cwmp, pmfile
from bench.hems.server import Hems
from bench.inventory import load_inventory
from bench.mock.datamodel import factory
from bench.run import BenchRun
from bench.timeline import Event
from bench.unit import State
from tests.support import needs_root, write_inventory

# One bench for the module, in order (FactoryReset last): one pytest-xdist worker runs them all (--dist loadgroup).
pytestmark = [pytest.mark.netns, needs_root(), pytest.mark.xdist_group("mock-procedures")]
FM = "Device.FaultMgmt."
PM = "Device.FAP.PerfMgmt.Config.1."


class Unit:
    def __init__(self, run: BenchRun) -> None:
        self.run = run
        self.serial = run.unit.serial
        self.hems: Hems = run.topology.hems["serving-hems"]
        self.op = run.inv.operator
        fs = run.topology.fileserver
        assert fs is not None
        self.fs = fs

    def call(self, method: str, **args: Any) -> Any:
        return self.hems.call(
            self.serial,
            method,
            timeout=20,
            connection_request=True,
            cr_username=self.op.cr_username,
            cr_password=self.op.cr_password,
            **args,
        )

    def gpv(self, *names: str) -> dict[str, str]:
        res = self.call("GetParameterValues", names=list(names))
        assert isinstance(res, cwmp.GpvResult), res
        return res.values

    def console(self, cmd: str) -> None:
        self.run.unit.console.write(cmd + "\n")

    def wait(self, pred: Any, timeout: float = 15, since: int = 0, what: str = "event") -> Event:
        return self.run.timeline.wait_for(pred, timeout, what, since)

    def settle(self) -> None:
        """Until the Serving HeMS has heard nothing for half a second: a connection request whose RPC rode in a
        session the unit still had open is answered by one more session, which must not count as the next
        thing a test provokes."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            mark = self.run.timeline.mark()
            time.sleep(0.5)
            if not self.run.timeline.find(
                lambda e: e.source == "hems" and e.data.get("hems") == "serving-hems", mark
            ):
                return
        raise AssertionError("the Serving HeMS never went quiet")

    def informs(self, since: int) -> list[Event]:
        return self.run.timeline.find(
            lambda e: e.source == "hems" and e.kind == "inform" and e.data.get("hems") == "serving-hems",
            since,
        )


@pytest.fixture(scope="module")
def unit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Unit]:
    tmp = tmp_path_factory.mktemp("mock")
    inv = load_inventory(write_inventory(tmp / "inventory.yaml"))
    run = BenchRun(inv, None, tmp / "captures", "run")
    run.start()
    try:
        boot = run.unit.transition(State.FACTORY_FRESH)
        run.timeline.wait_for(lambda e: e.source == "mme" and e.kind == "sctp-init", 30, "S1 INIT", boot.mark)
        yield Unit(run)
    finally:
        run.close()


def test_spv_all_or_nothing_with_per_parameter_faults(unit: Unit) -> None:
    key_before = unit.gpv("Device.ManagementServer.ParameterKey")["Device.ManagementServer.ParameterKey"]
    res = unit.call(
        "SetParameterValues",
        params=[
            ("Device.ManagementServer.PeriodicInformInterval", "600", "xsd:unsignedInt"),
            ("Device.NoSuch.Thing", "1", "xsd:string"),
            ("Device.DeviceInfo.SerialNumber", "X", "xsd:string"),
            (f"{FM}SupportedAlarm.1.ReportingMechanism", "9 Sometimes", "xsd:string"),
            ("Device.ManagementServer.PeriodicInformEnable", "maybe", "xsd:boolean"),
        ],
        parameter_key="bad",
    )
    assert isinstance(res, cwmp.CwmpFault) and res.fault_code == 9003
    codes = {f.name: f.code for f in res.param_faults}
    assert codes == {
        "Device.NoSuch.Thing": 9005,
        "Device.DeviceInfo.SerialNumber": 9008,
        f"{FM}SupportedAlarm.1.ReportingMechanism": 9007,
        "Device.ManagementServer.PeriodicInformEnable": 9006,
    }
    got = unit.gpv("Device.ManagementServer.PeriodicInformInterval", "Device.ManagementServer.ParameterKey")
    assert got["Device.ManagementServer.PeriodicInformInterval"] != "600"
    assert got["Device.ManagementServer.ParameterKey"] == key_before
    ok = unit.call(
        "SetParameterValues",
        params=[("Device.ManagementServer.PeriodicInformInterval", "600", "xsd:unsignedInt")],
        parameter_key="good-1",
    )
    assert ok == cwmp.SpvResult(0)
    assert (
        unit.gpv("Device.ManagementServer.ParameterKey")["Device.ManagementServer.ParameterKey"] == "good-1"
    )


def test_names_attributes_objects(unit: Unit) -> None:
    gpn = unit.call("GetParameterNames", parameter_path="Device.FAP.PerfMgmt.Config.1.", next_level=True)
    assert isinstance(gpn, cwmp.GpnResult)
    assert gpn.params[PM + "URL"] is True and PM + "PeriodicUploadInterval" in gpn.params
    add = unit.call("AddObject", object_name="Device.FAP.PerfMgmt.Config.", parameter_key="add")
    assert isinstance(add, cwmp.AddObjectResult) and add.instance == 2
    assert (
        unit.gpv("Device.FAP.PerfMgmt.ConfigNumberOfEntries")["Device.FAP.PerfMgmt.ConfigNumberOfEntries"]
        == "2"
    )
    assert unit.call("DeleteObject", object_name="Device.FAP.PerfMgmt.Config.2.") == cwmp.StatusResult(0)
    bad = unit.call("AddObject", object_name="Device.FaultMgmt.SupportedAlarm.")
    assert isinstance(bad, cwmp.CwmpFault) and bad.fault_code == 9008
    name = "Device.Services.FAPService.1.CellConfig.LTE.EPC.TAC"
    assert unit.call("SetParameterAttributes", attributes=[(name, 2)]) == cwmp.Done("SetParameterAttributes")
    gpa = unit.call("GetParameterAttributes", names=[name])
    assert isinstance(gpa, cwmp.GpaResult) and gpa.attributes[name].notification == 2


def test_active_notification_opens_a_session_passive_waits(unit: Unit) -> None:
    active = "Device.Services.FAPService.1.CellConfig.LTE.EPC.TAC"
    passive = "Device.Services.FAPService.1.CellConfig.LTE.EPC.EAID"
    unit.call("SetParameterAttributes", attributes=[(active, 2), (passive, 1)])
    unit.settle()
    mark = unit.run.timeline.mark()
    unit.console(f"set {passive} 77")
    time.sleep(1.0)
    assert not unit.informs(mark), "a Passive change must not open a session"
    unit.console(f"set {active} 4242")
    inf = unit.hems.wait_inform(unit.serial, ["4 VALUE CHANGE"], timeout=10, since=mark)
    assert inf.data["params"][active] == "4242"
    assert inf.data["params"][passive] == "77"


def test_download_over_every_protocol_applies_then_reports(unit: Unit) -> None:
    for i, proto in enumerate(("http", "https", "ftp", "sftp"), 1):
        value = str(100 + i)
        blob = configfile.build({"Device.Services.FAPService.1.CellConfig.LTE.EPC.TAC": value})
        path = unit.fs.add_file(f"/cfg/{proto}.xml", blob, "dl", "secret")
        mark = unit.run.timeline.mark()
        res = unit.call(
            "Download",
            file_type="3 Vendor Configuration File",
            url=unit.fs.url(proto, path),
            username="dl",
            password="secret",
            file_size=len(blob),
            command_key=f"dl-{proto}",
        )
        assert isinstance(res, cwmp.TransferResult) and res.status == 1
        key = f"dl-{proto}"
        tc = unit.wait(
            lambda e, key=key: (
                e.source == "hems" and e.kind == "cpe-rpc" and e.data.get("command_key") == key
            ),
            since=mark,
            what="TransferComplete",
        )
        assert tc.data["fault_code"] == 0, tc.data
        inf = unit.informs(mark)[-1]
        assert "M Download" in inf.data["events"] and "7 TRANSFER COMPLETE" in inf.data["events"]
        got = unit.gpv("Device.Services.FAPService.1.CellConfig.LTE.EPC.TAC")
        assert got["Device.Services.FAPService.1.CellConfig.LTE.EPC.TAC"] == value
        dl = unit.run.timeline.find(lambda e: e.source == "fileserver" and e.kind == "download", mark)
        assert dl and dl[0].data["proto"] == proto and dl[0].data["user"] == "dl"


@pytest.mark.parametrize(
    ("blob", "password", "code"),
    [
        (b"<not-a-config/>", "secret", 9018),
        (None, "wrong", 9012),
        (
            configfile.build(
                {"Device.DeviceInfo.SerialNumber": "X", "Device.ManagementServer.PeriodicInformInterval": "7"}
            ),
            "secret",
            9018,
        ),
    ],
)
def test_failed_download_reports_the_fault_and_applies_nothing(
    unit: Unit, blob: bytes | None, password: str, code: int
) -> None:
    name = "Device.ManagementServer.PeriodicInformInterval"
    before = unit.gpv(name)[name]
    path = unit.fs.add_file("/cfg/bad.xml", blob or configfile.build({name: "7"}), "dl", "secret")
    mark = unit.run.timeline.mark()
    unit.call(
        "Download",
        file_type="3 Vendor Configuration File",
        url=unit.fs.url("http", path),
        username="dl",
        password=password,
        command_key=f"bad-{code}",
    )
    tc = unit.wait(
        lambda e: e.source == "hems" and e.kind == "cpe-rpc" and e.data.get("command_key") == f"bad-{code}",
        since=mark,
    )
    assert tc.data["fault_code"] == code, tc.data
    assert unit.gpv(name)[name] == before


def test_alarms_follow_the_reporting_mechanism(unit: Unit) -> None:
    unit.call(
        "SetParameterValues",
        params=[
            (f"{FM}SupportedAlarm.1.ReportingMechanism", "0 Expedited", "xsd:string"),
            (f"{FM}SupportedAlarm.2.ReportingMechanism", "1 Queued", "xsd:string"),
            (f"{FM}SupportedAlarm.3.ReportingMechanism", "2 Logged", "xsd:string"),
            (f"{FM}SupportedAlarm.4.ReportingMechanism", "3 Disabled", "xsd:string"),
        ],
    )
    unit.settle()
    mark = unit.run.timeline.mark()
    unit.console("alarm raise 5")  # Expedited, but the HeMS has not asked to be notified of the table yet
    time.sleep(1.0)
    assert not unit.informs(mark), "an event table is notified only as the HeMS set its notification"
    # As the HeMS asks (TR-181 FaultMgmt): Active on the Expedited table, Passive on the Queued one.
    unit.call("SetParameterAttributes", attributes=[(f"{FM}ExpeditedEvent.", 2), (f"{FM}QueuedEvent.", 1)])
    unit.settle()
    mark = unit.run.timeline.mark()
    unit.console("alarm raise 2")
    unit.console("alarm raise 3")
    unit.console("alarm raise 4")
    time.sleep(1.0)
    assert not unit.informs(mark), "Queued, Logged and Disabled alarms must not open a session"
    unit.console("alarm raise 1")
    inf = unit.hems.wait_inform(unit.serial, ["4 VALUE CHANGE"], timeout=10, since=mark)
    params = inf.data["params"]
    expedited = [
        v for k, v in params.items() if k.startswith(f"{FM}ExpeditedEvent.") and k.endswith("AlarmIdentifier")
    ]
    queued = [
        v for k, v in params.items() if k.startswith(f"{FM}QueuedEvent.") and k.endswith("AlarmIdentifier")
    ]
    assert expedited == [f"{unit.serial}-alarm-1"]
    assert queued == [f"{unit.serial}-alarm-2"], "the queued alarm rides on the next Inform"
    current = unit.gpv(f"{FM}CurrentAlarm.")
    ids = sorted(v for k, v in current.items() if k.endswith("AlarmIdentifier"))
    assert ids == [f"{unit.serial}-alarm-{n}" for n in (1, 2, 3, 5)]
    mark = unit.run.timeline.mark()
    unit.console("alarm clear 1")
    inf = unit.hems.wait_inform(unit.serial, ["4 VALUE CHANGE"], timeout=10, since=mark)
    assert "ClearedAlarm" in inf.data["params"].values()
    current = unit.gpv(f"{FM}CurrentAlarm.")
    assert f"{unit.serial}-alarm-1" not in current.values()


def enable_pm(unit: Unit, interval: int, *more: tuple[str, str, str]) -> None:
    """PerfMgmt.Config.1 uploading to the file server's /pm/ as user pm every `interval` s (and `more`)."""
    unit.call(
        "SetParameterValues",
        params=[
            (PM + "URL", unit.fs.url("http", "/pm/"), "xsd:string"),
            (PM + "Username", "pm", "xsd:string"),
            (PM + "Password", "pmpass", "xsd:string"),
            (PM + "PeriodicUploadInterval", str(interval), "xsd:unsignedInt"),
            *more,
            (PM + "Enable", "true", "xsd:boolean"),
        ],
    )


def test_pm_upload_every_interval_and_nothing_when_disabled(unit: Unit) -> None:
    unit.fs.add_user("pm", "pmpass")
    mark = unit.run.timeline.mark()
    enable_pm(unit, 1)
    time.sleep(3.6)
    unit.call("SetParameterValues", params=[(PM + "Enable", "false", "xsd:boolean")])
    ups = unit.run.timeline.find(lambda e: e.source == "fileserver" and e.kind == "upload", mark)
    assert 2 <= len(ups) <= 5, [u.data for u in ups]
    for up in ups:
        assert up.data["status"] == 201 and up.data["user"] == "pm"
        assert pmfile.validate(Path(up.data["stored"]).read_bytes()) == []
    times = [u.t for u in ups]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(0.6 < g < 1.5 for g in gaps), gaps
    time.sleep(0.5)
    mark = unit.run.timeline.mark()
    time.sleep(2.0)
    assert not unit.run.timeline.find(lambda e: e.source == "fileserver" and e.kind == "upload", mark)


def uploaded(e: Event) -> bool:
    return e.source == "fileserver" and e.kind == "upload"


def test_pm_flush_uploads_the_current_period_now(unit: Unit) -> None:
    """The default inventory's force_pm_period template (bench dialect): the period closed at once and its file
    uploaded, the schedule kept (the next file at the interval)."""
    unit.fs.add_user("pm", "pmpass")
    enable_pm(unit, 30)
    done = unit.run.unit.act("force_pm_period")
    assert done.seen is not None and "pm: flushed 1 period(s), uploading" in done.seen, done
    up = unit.wait(uploaded, 5, done.mark, "the flushed period's file")
    assert up.data["status"] == 201 and up.data["user"] == "pm", up.data
    assert pmfile.validate(Path(up.data["stored"]).read_bytes()) == []
    time.sleep(1.5)
    assert unit.run.timeline.find(uploaded, up.seq + 1) == [], "one file per forced period; the next at 30 s"
    unit.call("SetParameterValues", params=[(PM + "Enable", "false", "xsd:boolean")])
    mark = unit.run.timeline.mark()
    unit.console("pm flush")  # nothing collecting: nothing to close, and said so
    unit.wait(lambda e: e.kind == "console-line" and "pm: nothing to flush" in e.data["line"], 5, mark)
    time.sleep(0.5)
    assert unit.run.timeline.find(uploaded, mark) == []


def test_reboot_reports_m_reboot_and_boot(unit: Unit) -> None:
    mark = unit.run.timeline.mark()
    assert unit.call("Reboot", command_key="rb-1") == cwmp.Done("Reboot")
    inf = unit.hems.wait_inform(unit.serial, ["M Reboot", "1 BOOT"], timeout=30, since=mark)
    assert inf.data["events"] == ["1 BOOT", "M Reboot"] or set(inf.data["events"]) == {"1 BOOT", "M Reboot"}
    unit.wait(lambda e: e.source == "mme" and e.kind == "sctp-init", 15, mark, "S1 INIT after reboot")


def test_periodic_inform(unit: Unit) -> None:
    unit.call(
        "SetParameterValues",
        params=[
            ("Device.ManagementServer.PeriodicInformInterval", "1", "xsd:unsignedInt"),
            ("Device.ManagementServer.PeriodicInformEnable", "true", "xsd:boolean"),
        ],
    )
    mark = unit.run.timeline.mark()
    unit.hems.wait_inform(unit.serial, ["2 PERIODIC"], timeout=5, since=mark)
    unit.call(
        "SetParameterValues",
        params=[("Device.ManagementServer.PeriodicInformEnable", "false", "xsd:boolean")],
    )


def test_schedule_inform_after_delay_seconds(unit: Unit) -> None:
    mark = unit.run.timeline.mark()
    t0 = time.time()
    assert unit.call("ScheduleInform", delay_seconds=2, command_key="si-1") == cwmp.Done("ScheduleInform")
    inf = unit.hems.wait_inform(unit.serial, ["3 SCHEDULED", "M ScheduleInform"], timeout=10, since=mark)
    assert inf.t - t0 >= 2.0, f"the Inform came {inf.t - t0:.2f} s after ScheduleInform, before DelaySeconds"
    keys = dict(zip(inf.data["events"], inf.data["command_keys"], strict=True))
    assert keys["M ScheduleInform"] == "si-1"
    early = [i for i in unit.informs(mark) if i.t < inf.t and "3 SCHEDULED" in i.data["events"]]
    assert not early


def test_upload_vendor_configuration_file(unit: Unit) -> None:
    unit.fs.add_user("ul", "ulpass")
    tac = "Device.Services.FAPService.1.CellConfig.LTE.EPC.TAC"
    value = unit.gpv(tac)[tac]
    mark = unit.run.timeline.mark()
    res = unit.call(
        "Upload",
        file_type="1 Vendor Configuration File",
        url=unit.fs.url("http", "/up/"),
        username="ul",
        password="ulpass",
        command_key="ul-1",
    )
    assert isinstance(res, cwmp.TransferResult) and res.status == 1
    tc = unit.wait(
        lambda e: e.source == "hems" and e.kind == "cpe-rpc" and e.data.get("command_key") == "ul-1",
        since=mark,
        what="TransferComplete",
    )
    assert tc.data["fault_code"] == 0, tc.data
    inf = unit.informs(mark)[-1]
    assert "M Upload" in inf.data["events"] and "7 TRANSFER COMPLETE" in inf.data["events"]
    ups = unit.run.timeline.find(lambda e: e.source == "fileserver" and e.kind == "upload", mark)
    assert len(ups) == 1 and ups[0].data["status"] == 201 and ups[0].data["user"] == "ul"
    assert ups[0].data["path"] == f"/up/{unit.serial}-config.xml"
    blob = Path(ups[0].data["stored"]).read_bytes()
    assert configfile.validate(blob) == []
    params = configfile.parse(blob)
    assert params[tac] == value
    assert "Device.DeviceInfo.SerialNumber" not in params, "only writable parameters"
    secrets = (
        "Device.ManagementServer.Password",
        "Device.ManagementServer.ConnectionRequestPassword",
        PM + "Password",
    )
    assert not set(secrets) & set(params), "no secrets in the configuration file"


def test_pm_upload_in_phase_with_periodic_upload_time(unit: Unit) -> None:
    unit.fs.add_user("pm", "pmpass")
    # A reference time in the past on an odd second: uploads must fall on odd seconds (interval 2).
    ref = int(time.time()) // 2 * 2 - 101
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ref))
    mark = unit.run.timeline.mark()
    enable_pm(unit, 2, (PM + "PeriodicUploadTime", stamp, "xsd:dateTime"))
    time.sleep(6.5)
    unit.call(
        "SetParameterValues",
        params=[
            (PM + "Enable", "false", "xsd:boolean"),
            (PM + "PeriodicUploadTime", "0001-01-01T00:00:00Z", "xsd:dateTime"),
        ],
    )
    ups = unit.run.timeline.find(lambda e: e.source == "fileserver" and e.kind == "upload", mark)
    assert 2 <= len(ups) <= 4, [u.data for u in ups]
    phases = [(u.t - ref) % 2 for u in ups]
    assert all(p < 0.7 for p in phases), f"uploads {phases} s after the PeriodicUploadTime grid"


def test_factory_reset_bootstraps_with_factory_values(unit: Unit) -> None:
    """Last in the module: the unit comes back factory-fresh (registered again by the bench's HeMSs)."""
    tac = "Device.Services.FAPService.1.CellConfig.LTE.EPC.TAC"
    interval = "Device.ManagementServer.PeriodicInformInterval"
    unit.call(
        "SetParameterValues",
        params=[(tac, "999", "xsd:unsignedInt"), (interval, "777", "xsd:unsignedInt")],
        parameter_key="before-reset",
    )
    unit.call("SetParameterAttributes", attributes=[(tac, 2)])
    assert unit.call("FactoryReset") == cwmp.Done("FactoryReset")
    # The operator provisions the reset unit again, as power_on does for a fresh unit (queued
    # only now: anything queued earlier would ride on the session that carried FactoryReset).
    boot = unit.run.unit.boot
    assert boot is not None
    topo = unit.run.topology
    topo.hems["initial-hems"].queue_rpc(
        unit.serial, "SetParameterValues", params=boot.serving_values, parameter_key="discovery"
    )
    topo.hems["serving-hems"].queue_rpc(
        unit.serial, "SetParameterValues", params=boot.registration_values, parameter_key="registration"
    )
    # The reset unit has its factory connection-request credentials again: the HeMS sets its own.
    p, cr = unit.run.unit.paths, unit.run.unit.cr_policy
    topo.hems["serving-hems"].queue_rpc(
        unit.serial,
        "SetParameterValues",
        params=[
            (p.connection_request_username, cr.username, "xsd:string"),
            (p.connection_request_password, cr.password, "xsd:string"),
        ],
        parameter_key="connection-request",
    )
    mark = unit.run.timeline.mark()  # after the connection-request session that carried FactoryReset
    first = unit.wait(
        lambda e: e.source == "hems" and e.kind == "inform" and e.data.get("serial") == unit.serial,
        30,
        mark,
        "the first Inform after FactoryReset",
    )
    assert "0 BOOTSTRAP" in first.data["events"], first.data["events"]
    assert "M Reboot" not in first.data["events"]
    unit.wait(lambda e: e.source == "mme" and e.kind == "sctp-init", 30, mark, "S1 INIT after FactoryReset")
    fresh = factory(unit.run.unit.cfg.identity.model_dump())
    got = unit.gpv(tac, interval)
    provisioned = {n: v for n, v, _ in boot.registration_values}  # registration sets the TAC again
    assert got == {n: provisioned.get(n, fresh.get(n)) for n in (tac, interval)}
    assert got[tac] != "999"
    gpa = unit.call("GetParameterAttributes", names=[tac])
    assert isinstance(gpa, cwmp.GpaResult) and gpa.attributes[tac].notification == 0

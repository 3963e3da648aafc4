"""The judges of 5.2.2 (configuration by file download), 5.4 (PM upload) and the refused sets (5.2.3, 5.4.1) on
timelines made by hand: each verdict passed, failed with the live plan's wording, or not observable with why
(an SFTP transfer is encrypted; what a file sets is the bench's knowledge)."""

from __future__ import annotations

from typing import Any

from bench.evidence.judge_download import judge_download, judge_failing, judge_untrusted
from bench.evidence.judge_invalid import judge_invalid_interval, judge_invalid_set
from bench.evidence.judge_pm import judge_disabled, judge_uploads
from bench.evidence.judge_pm import judge_untrusted as judge_pm_untrusted
from bench.evidence.judges import NOT_OBSERVABLE, PASSED, Span, boot_inform, judge_reboot
from bench.timeline import Event, Timeline

TAC, EAID = (
    "Device.Services.FAPService.1.CellConfig.LTE.EPC.TAC",
    "Device.Services.FAPService.1.CellConfig.LTE.EPC.EAID",
)
PM = "Device.FAP.PerfMgmt.Config.1."
HEMS = {"hems": "serving-hems", "peer": "10.182.0.1", "serial": "MOCK0001"}
FILE = {TAC: "1234", EAID: "7"}
OLD = {TAC: "1", EAID: "2"}


class Tl:
    """A timeline a test writes event by event, one second apart."""

    def __init__(self) -> None:
        self.tl, self.t = Timeline(), 1000.0

    def __call__(self, source: str, kind: str, **data: Any) -> None:
        self.t += 1.0
        self.tl.add(source, kind, at=self.t, **data)

    def events(self) -> list[Event]:
        return self.tl.events()


def gpv(add: Tl, values: dict[str, str], n: int) -> None:
    add("hems", "rpc-sent", **HEMS, method="GetParameterValues", id=f"g-{n}")
    add("hems", "rpc-response", **HEMS, method="GetParameterValues", id=f"g-{n}", values=values)


def download(proto: str = "http", key: str | None = None, tc_key: str | None = None, user: str = "cm",
             fetched: bool = True, applied: dict[str, str] = FILE, fault: int = 0, bench: bool = True,
             m_download: bool = True, how: str = "applied") -> list[Event]:  # fmt: skip
    add = Tl()
    key = key or f"dl-{proto}-1234"
    path = f"/cm/{proto}-1234-1234.xml"
    if bench:
        add("bench", "config-file", path=path, proto=proto, values=FILE, how=how, key=key, fault={"applied": 0,
            "untrusted": 9012}.get(how, 9010), what="missing file", amendment=1, unit="henb-01")  # fmt: skip
    gpv(add, OLD, 1)
    add("hems", "rpc-sent", **HEMS, method="Download", id="d-1", url=f"{proto}://files.operator.example{path}",
        command_key=key, username="cm", file_type="3 Vendor Configuration File")  # fmt: skip
    add("hems", "rpc-response", **HEMS, method="Download", id="d-1", status=1)
    add("hems", "session-end", **HEMS)
    if fetched:
        add("fileserver", "download", proto=proto, path=path, user=user, status=200, bytes=10)
    events = ["7 TRANSFER COMPLETE", "M Download"] if m_download else ["7 TRANSFER COMPLETE"]
    add("hems", "inform", **HEMS, events=events, command_keys=["", key])
    t = "0001-01-01T00:00:00Z"  # TR-069's unknown time: the hand-made timeline's clock is 1970
    add("hems", "cpe-rpc", **HEMS, method="TransferComplete", id="c-1", command_key=key if tc_key is None else tc_key,
        fault_code=fault, fault_string="" if not fault else "Download failure", start_time=t, complete_time=t)  # fmt: skip
    gpv(add, applied, 2)
    add("hems", "session-end", **HEMS)
    gpv(add, applied, 3)
    return add.events()


def steps(judged: Any) -> dict[str, str]:
    return {v.step: v.outcome for v in judged.verdicts}


def test_a_download_fetched_applied_and_read_back_passes() -> None:
    judged = judge_download("http", download(), s1=False)
    assert judged.outcome == PASSED and judged.failed() is None, judged.verdicts
    assert steps(judged) == {"1": PASSED, "2": PASSED, "3": PASSED}


def test_each_broken_download_step_fails_with_the_live_wording() -> None:
    wrong_user = judge_download("http", download(user="other"), s1=False).failed()
    assert wrong_user is not None and wrong_user.step == "2"
    assert wrong_user.expected == "/cm/http-1234-1234.xml fetched from the file server over http as user cm"
    missing = judge_download("http", download(fetched=False), s1=False).failed()
    assert missing is not None and missing.seen == "no download of it at the file server"
    key = judge_download("http", download(tc_key=""), s1=False).failed()
    assert key is not None and key.step == "3" and key.seen == "a TransferComplete with CommandKey ''"
    no_m = judge_download("http", download(m_download=False), s1=False).failed()
    assert no_m is not None and no_m.seen == "events [('7 TRANSFER COMPLETE', '')]"
    stale = judge_download("http", download(applied=OLD), s1=False).failed()
    assert stale is not None and stale.step == "3" and "still had" in stale.seen
    assert stale.expected == f"the configuration applied when TransferComplete is sent ({FILE})"


def test_what_a_capture_cannot_show_of_a_download_is_not_observable() -> None:
    sftp = judge_download("sftp", download("sftp", fetched=False), Span(end=2000.0), s1=False)
    fetched = next(v for v in sftp.verdicts if v.step == "2")
    assert fetched.outcome == NOT_OBSERVABLE and "SFTP transfers are encrypted" in fetched.why
    assert sftp.failed() is None
    live_sftp = judge_download("sftp", download("sftp", fetched=False), s1=False).failed()
    assert live_sftp is not None and live_sftp.step == "2"  # the live file server sees SFTP
    unknown = judge_download("http", download(bench=False), s1=False)
    assert unknown.failed() is None and "the bench's knowledge" in unknown.verdicts[-1].why
    assert judge_download("http", []).outcome == NOT_OBSERVABLE


def test_a_failing_download_must_give_the_amendment_s_fault_and_change_nothing() -> None:
    ok = judge_failing("missing", download(key="dl-fail-missing", fault=9010, applied=OLD, how="missing"))
    assert ok.outcome == PASSED, ok.verdicts
    wrong = judge_failing("missing", download(key="dl-fail-missing", fault=9016, applied=OLD, how="missing"))
    failed = wrong.failed()
    assert (
        failed is not None
        and failed.step == "3"
        and failed.expected.startswith("FaultCode 9010 for a missing file")
    )
    assert failed.seen == "FaultCode 9016 Download failure (TransferComplete)"
    partial = judge_failing("missing", download(key="dl-fail-missing", fault=9010, how="missing")).failed()
    assert partial is not None and partial.expected == f"nothing applied after a failed download ({OLD})"


def test_an_untrusted_file_server_refused_or_not() -> None:
    events = download("https", key="dl-untrusted", fault=9012, applied=OLD, fetched=False, how="untrusted")
    refused = Timeline()
    for e in events:
        refused.add(e.source, e.kind, at=e.t, **e.data)
        if e.kind == "rpc-response" and e.data.get("method") == "Download":
            refused.add("fileserver", "tls-handshake-failed", at=e.t + 0.5, proto="https", alert="unknown ca")
    assert judge_untrusted(refused.events()).outcome == PASSED
    wrong = judge_untrusted(download("https", key="dl-untrusted", fault=9015, applied=OLD, fetched=False,
                                     how="untrusted")).failed()  # fmt: skip
    assert wrong is not None and wrong.step == "2" and wrong.seen.startswith("no TLS handshake from the unit")
    silent = judge_untrusted(events, Span(end=3000.0))
    assert next(v for v in silent.verdicts if v.step == "2").outcome == NOT_OBSERVABLE
    accepted = judge_untrusted(download("https", key="dl-untrusted", how="untrusted")).failed()
    assert accepted is not None and accepted.expected.startswith(
        "no file fetched from a file server presenting"
    )


def pm(enable: bool, uploads: list[tuple[float, str]], proto: str = "http", forced: bool = False,
       measured: bool = False) -> list[Event]:  # fmt: skip
    add = Tl()
    values = {PM + "URL": f"{proto}://files.operator.example/pm-{proto}/", PM + "Username": "pm",
              PM + "PeriodicUploadInterval": "1", PM + "Enable": "true" if enable else "false"}  # fmt: skip
    add(
        "hems",
        "rpc-sent",
        **HEMS,
        method="SetParameterValues",
        id="s-1",
        values=values,
        parameter_key=f"pm-{proto}",
    )
    add("hems", "rpc-response", **HEMS, method="SetParameterValues", id="s-1", status=0)
    add("bench", "pm-config", proto=proto, interval=1, tolerance=0.6, enable=enable, cert=None)
    if forced:
        add(
            "bench",
            "pm-first-file",
            proto=proto,
            how="forced",
            action="units.henb-01.actions.force_pm_period",
        )
    start = add.t
    for at, user in uploads:
        add.tl.add("fileserver", "upload", at=start + at, proto=proto, path=f"/pm-{proto}/a.xml", user=user,
                   status=201, bytes=10)  # fmt: skip
    if measured:
        add.tl.add("bench", "pm-interval", at=start + 10, proto=proto, interval=1, gaps=[])
    return add.events()


def test_disabled_pm_uploads_nothing() -> None:
    assert judge_disabled(pm(False, [])).outcome == PASSED
    up = judge_disabled(pm(False, [(1.0, "pm")])).failed()
    assert up is not None and up.expected == (
        "no PM upload for 2.6 s (two intervals) while PerfMgmt.Config.1.Enable is false"
    )
    assert up.seen.startswith("an upload: fileserver/upload")
    cut = judge_disabled(pm(False, []), Span(end=1003.5))
    assert cut.outcome == NOT_OBSERVABLE and "before the 2.6 s" in cut.verdicts[0].why


def test_pm_uploads_at_the_interval_with_the_configured_user() -> None:
    ok = judge_uploads(
        "ftp", pm(True, [(0.2, "pm"), (1.2, "pm"), (2.2, "pm"), (3.2, "pm")], "ftp", True, True)
    )
    assert ok.failed() is None and ok.verdicts[-1].outcome == PASSED, ok.verdicts
    slow = judge_uploads(
        "ftp", pm(True, [(0.2, "pm"), (1.2, "pm"), (4.2, "pm"), (5.2, "pm")], "ftp", True, True)
    )
    failed = slow.failed()
    assert failed is not None and failed.expected == "uploads every 1 s (+-0.6 s)"
    assert failed.seen == "uploads [3.0, 1.0] s apart"
    who = judge_uploads("http", pm(True, [(0.2, "anonymous")])).failed()
    assert who is not None and who.expected == "the upload authenticated as pm with the configured password"
    sftp = judge_uploads("sftp", pm(True, [], "sftp"), Span(end=5000.0))
    assert sftp.outcome == NOT_OBSERVABLE and "SFTP transfers are encrypted" in sftp.verdicts[0].why


def test_pm_to_an_untrusted_server() -> None:
    events = pm(True, [(1.0, "pm")], "https")
    events = [Event(e.seq, e.t, e.source, e.kind, {**e.data, "path": "/pm-untrusted/a.xml"} if e.kind == "upload"
              else e.data) for e in events]  # fmt: skip
    sent = events[0]
    sent.data["values"][PM + "URL"] = "https://files.operator.example:8443/pm-untrusted/"
    failed = judge_pm_untrusted(events).failed()
    assert failed is not None and failed.seen.startswith(
        "the unit uploaded /pm-untrusted/a.xml to the file server"
    )


def refused_set(answer: str, after: dict[str, str]) -> list[Event]:
    add = Tl()
    gpv(add, OLD, 1)
    serial = "Device.DeviceInfo.SerialNumber"
    unknown = "Device.Services.FAPService.1.CellConfig.LTE.EPC.NoSuchParameter"
    add("hems", "rpc-sent", **HEMS, method="SetParameterValues", id="s-1", parameter_key="cm-5.2.3-bad",
        values={EAID: "3", TAC: "70000", serial: "X", unknown: "1"})  # fmt: skip
    if answer == "fault":
        add("hems", "rpc-fault", **HEMS, method=None, id="s-1", fault_code=9003, fault_string="Invalid arguments",
            param_faults=[[TAC, 9007, ""], [serial, 9008, ""], [unknown, 9005, ""]])  # fmt: skip
    else:
        add("hems", "rpc-response", **HEMS, method="SetParameterValues", id="s-1", status=0)
    gpv(add, after, 2)
    return add.events()


def test_an_invalid_set_refused_as_a_whole() -> None:
    assert judge_invalid_set(refused_set("fault", OLD)).outcome == PASSED
    accepted = judge_invalid_set(refused_set("ok", OLD)).failed()
    assert accepted is not None and (accepted.expected, accepted.seen) == (
        "a Fault refusing the whole set",
        "SpvResult(status=0)",
    )
    partial = judge_invalid_set(refused_set("fault", {TAC: "1", EAID: "3"})).failed()
    assert partial is not None and partial.seen == f"{EAID} = 3, {TAC} = 1 (part of the set was applied)"


def test_an_invalid_interval_changes_nothing() -> None:
    add = Tl()
    names = {PM + "PeriodicUploadInterval": "1", PM + "Username": "pm"}
    gpv(add, names, 1)
    add("hems", "rpc-sent", **HEMS, method="SetParameterValues", id="s-1", parameter_key="pm-invalid",
        values={PM + "Username": "pm-refused", PM + "PeriodicUploadInterval": "0"})  # fmt: skip
    add("hems", "rpc-response", **HEMS, method="SetParameterValues", id="s-1", status=0)
    gpv(add, {**names, PM + "PeriodicUploadInterval": "0"}, 2)
    failed = judge_invalid_interval(add.events()).failed()
    assert failed is not None and failed.step == "2"
    assert failed.expected == (
        f"a SetParameterValues fault refusing the set with the invalid value {PM}PeriodicUploadInterval = '0'"
    )
    assert failed.seen == "SetParameterValuesResponse Status 0: the invalid value accepted"


def merged(*timelines: list[Event]) -> list[Event]:
    """The events of several hand-made timelines on one, in time order (numbered anew)."""
    tl = Timeline()
    for e in sorted((e for events in timelines for e in events), key=lambda e: e.t):
        tl.add(e.source, e.kind, at=e.t, **e.data)
    return tl.events()


def test_the_forced_pm_period_s_file_missing_is_worded_as_the_live_wait() -> None:
    """The bound the plan waits is the bench's pm-first-file event's: nothing within it fails as the live wait
    fails; evidence that ends before the bound is not observable."""
    events = pm(True, [], "ftp", forced=True)
    first = next(e for e in events if e.kind == "pm-first-file")
    first.data.update(bound=8.6, bound_key="units.henb-01.bounds.step + pm_tolerance")
    failed = judge_uploads("ftp", events, Span(end=first.t + 60)).failed()
    assert failed is not None and failed.step == "1", failed
    assert failed.expected == ("a PM file uploaded over ftp to the file server for the forced PM period "
                               "(units.henb-01.actions.force_pm_period)")  # fmt: skip
    assert failed.seen.startswith("nothing within 8.6 s (units.henb-01.bounds.step + pm_tolerance) (")
    cut = judge_uploads("ftp", events, Span(end=first.t + 2))
    assert cut.failed() is None and cut.verdicts[-1].outcome == NOT_OBSERVABLE, cut.verdicts


def test_a_fault_to_the_read_back_and_to_switching_uploads_off() -> None:
    events = pm(True, [(0.2, "pm")], "ftp")
    add = Tl()
    add.t = events[-1].t
    names = sorted(n for n in events[0].data["values"])
    add("hems", "rpc-sent", **HEMS, method="GetParameterValues", id="g-9", names=names)
    add("hems", "rpc-fault", **HEMS, method="GetParameterValues", id="g-9", fault_code=9002,
        fault_string="Internal error", param_faults=[])  # fmt: skip
    faulted = judge_uploads("ftp", merged(events, add.events()))
    failed = faulted.failed()
    assert failed is not None and failed.step == "pre", faulted.verdicts
    assert (failed.expected, failed.seen) == (f"GetParameterValuesResponse for {names}",
                                              "fault 9002 Internal error, per parameter []")  # fmt: skip
    off = Tl()
    off.t = events[-1].t + 5
    off("hems", "rpc-sent", **HEMS, method="SetParameterValues", id="s-9", values={PM + "Enable": "false"},
        parameter_key="pm-off")  # fmt: skip
    off("hems", "rpc-fault", **HEMS, method="SetParameterValues", id="s-9", fault_code=9003,
        fault_string="Invalid arguments", param_faults=[[PM + "Enable", 9007, "no"]])  # fmt: skip
    refused = judge_uploads("ftp", merged(events, off.events())).failed()
    assert refused is not None and refused.step == "post"
    assert refused.seen == ("fault 9003 Invalid arguments, per parameter [ParamFault(name="
                            f"'{PM}Enable', code=9007, string='no')]")  # fmt: skip


def test_the_boot_inform_after_a_reboot_carries_its_command_key() -> None:
    add = Tl()
    add("hems", "rpc-response", **HEMS, method="SetParameterValues", id="s-1", status=1)
    since = add.events()[-1]
    add("hems", "rpc-sent", **HEMS, method="Reboot", id="r-1", command_key="reboot-x")
    add("hems", "rpc-response", **HEMS, method="Reboot", id="r-1")
    add("hems", "inform", **HEMS, events=["1 BOOT"], command_keys=[""])
    wrong = judge_reboot("5.2.3", "2", add.events(), since)
    assert wrong is not None and wrong.seen == "events [('1 BOOT', '')]", wrong
    assert wrong.expected == ("the Inform after Reboot reboot-x carrying 1 BOOT and M Reboot with CommandKey "
                              "reboot-x (TR-069 3.7.1.5)")  # fmt: skip
    add("hems", "inform", **HEMS, events=["1 BOOT", "M Reboot"], command_keys=["", "reboot-x"])
    right = boot_inform("5.2.3", "2", add.events()[-1], "reboot-x")
    assert right.outcome == PASSED
    assert judge_reboot("5.2.3", "2", add.events()[:1], since) is None  # no Reboot: the unit rebooted itself

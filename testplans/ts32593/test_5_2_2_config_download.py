"""TS 32.593 5.2.2: configuration by file download (Figure 5-6): Download of a configuration file from the
file server with the given credentials, applied as a whole, completion indicated only after it is applied; a failing
download reports the FaultCode of the unit's TR-069 amendment and changes nothing. The file is the unit's own
(inventory config_file) or, for the mock, the bench's XML; completion is DownloadResponse Status 0 or a
TransferComplete within bounds.transfer_complete (time for a reboot)."""

from __future__ import annotations

import contextlib
import random
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from bench import clauses as cl
from bench import configfile, transfer_faults
from bench.cwmp import CwmpFault, TransferResult
from bench.errors import DeviceError
from bench.events import BenchKind, FileserverKind, HemsKind, Source
from bench.evidence.judge_common import judged, judged_all
from bench.evidence.judge_download import (
    download_sent,
    judge_download,
    judge_failing,
    judge_fetched,
    judge_untrusted,
)
from bench.evidence.judges import LIVE
from bench.hems.server import DeviceKey, Hems, RpcCall
from bench.pki import describe_cert
from bench.run import BenchRun, Evidence
from bench.steps import Steps
from bench.timeline import Bound, Event, bound_note
from bench.unit import BenchUnit
from testplans.ts32593.procedures import (
    describe_result,
    get_values,
    offered_protocol,
    reboot,
    rpc,
    s1_carries,
    set_values,
)

USER, PASSWORD = "cm", "cm-download-secret"


def transfer_complete(key: str) -> Any:
    return lambda e: (
        e.source == Source.HEMS
        and e.kind == HemsKind.CPE_RPC
        and e.data.get("method") == "TransferComplete"
        and (e.data.get("command_key") == key)
    )


def any_transfer_complete(serial: str) -> Any:
    return lambda e: (
        e.source == Source.HEMS
        and e.kind == HemsKind.CPE_RPC
        and e.data.get("method") == "TransferComplete"
        and e.data.get("serial") == serial
    )


# How far a unit's clock may be from the bench's (NTP) in a TransferComplete's StartTime and CompleteTime, and
# the second those times are often cut to.
CLOCK_SLACK = 5.0


def _when(value: str) -> datetime | None:
    """A TransferComplete time as an aware datetime; None for TR-069's unknown time (0001-01-01T00:00:00Z)."""
    if value.startswith("0001-01-01"):
        return None
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 dateTime") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def check_transfer_complete(steps: Steps, done: Event, key: str, sent: float) -> None:
    """TR-069 A.3.3.1 TransferComplete: the Download's CommandKey, and StartTime <= CompleteTime, both between
    the Download and the TransferComplete's arrival (give or take CLOCK_SLACK; the unknown time is allowed)."""
    d = done.data
    if d.get("command_key") != key:
        steps.fail("3", f"a TransferComplete with CommandKey {key}, the Download's (TR-069 A.3.3.1)",
                   f"a TransferComplete with CommandKey {d.get('command_key')!r}", done)  # fmt: skip
    try:
        start, end = _when(str(d.get("start_time", ""))), _when(str(d.get("complete_time", "")))
    except ValueError as exc:
        steps.fail("3", "a TransferComplete with StartTime and CompleteTime as dateTime (TR-069 A.3.3.1)", str(exc),
                   done)  # fmt: skip
    low = datetime.fromtimestamp(sent - CLOCK_SLACK, UTC)
    high = datetime.fromtimestamp(done.t + CLOCK_SLACK, UTC)
    shown = f"StartTime {d.get('start_time')}, CompleteTime {d.get('complete_time')}"
    window = f"{low:%H:%M:%S}-{high:%H:%M:%S} UTC"
    if start is not None and end is not None and start > end:
        steps.fail("3", "a TransferComplete with StartTime <= CompleteTime (TR-069 A.3.3.1)", shown, done)
    outside = [t for t in (start, end) if t is not None and not low <= t <= high]
    if outside:
        steps.fail("3", f"a TransferComplete whose StartTime and CompleteTime fall between the Download and its "
                   f"arrival ({window}, {CLOCK_SLACK:g} s either side for the unit's clock)", shown, done)  # fmt: skip


FILE_TYPE = "3 Vendor Configuration File"
PROTOCOLS = ("http", "https", "ftp", "sftp")  # each test run over each, with its own figure


@dataclass(frozen=True)
class Completion:
    """How the unit said a Download ended: DownloadResponse Status 0 (applied at once), a fault answering the
    Download, or a TransferComplete (`event`, with `gpv` asked in its session)."""

    fault_code: int
    fault_string: str
    how: str
    event: Event | None = None
    gpv: RpcCall | None = None


def download(bench_run: BenchRun, steps: Steps, step: str, url: str, key: str, size: int, names: list[str],
             password: str = PASSWORD, file_type: str = FILE_TYPE) -> Completion:  # fmt: skip
    """Download, then its completion. After Status 1 the TransferComplete may come after a reboot; a
    GetParameterValues rides in its session, so what the unit reports there is what it had applied."""
    hems: Hems = bench_run.topology.hems["serving-hems"]
    probe: dict[str, RpcCall] = {}

    def on_inform(h: Hems, device: DeviceKey, events: list[str], params: dict[str, str]) -> None:
        if device == bench_run.unit.device and "7 TRANSFER COMPLETE" in events and not probe:
            probe["gpv"] = h.queue_rpc(device, "GetParameterValues", names=names)

    mark = bench_run.timeline.mark()
    sent = time.time()
    with hems.inform_hooks.registered(bench_run.unit.device, on_inform):
        # A unit that answers Status 0 fetches and applies the file before it answers: the transfer's bound.
        bound = bench_run.unit.bounds.transfer_complete
        result = rpc(bench_run, steps, step, "Download", timeout=bound, file_type=file_type, url=url,
                     username=USER, password=password, file_size=size, command_key=key)  # fmt: skip
        if isinstance(result, CwmpFault):
            return Completion(result.fault_code, result.fault_string, "a fault answering the Download")
        if not isinstance(result, TransferResult) or result.status not in (0, 1):
            steps.fail(step, "a DownloadResponse with Status 0 or 1", describe_result(result))
        if result.status == 0:
            return Completion(0, "", "DownloadResponse Status 0 (applied)")
        rebooted = at_reboot(bench_run, steps, step, key)
        # Any TransferComplete of the unit ends the wait: one with another CommandKey fails now, naming it,
        # rather than the wait running out its bound.
        done = steps.wait(step, any_transfer_complete(bench_run.unit.serial), bound,
                          f"a TransferComplete with CommandKey {key} after DownloadResponse Status 1"
                          f"{' and the Reboot' if rebooted else ''}", mark, why=lambda: at_reboot_hint(bench_run))  # fmt: skip
        check_transfer_complete(steps, done, key, sent)
        booted = bench_run.timeline.first(
            lambda e: (
                e.source == Source.HEMS and e.kind == HemsKind.INFORM and "1 BOOT" in e.data.get("events", ())
            ),
            mark,
        )
        if (
            not rebooted and booted is not None and booted.seq < done.seq
        ):  # it rebooted itself to apply the file
            bench_run.unit.rebooted_on_request(f"5.2.2: Download {key} applied at boot")
        informs = bench_run.timeline.find(
            lambda e: (
                e.source == Source.HEMS
                and e.kind == HemsKind.INFORM
                and e.data.get("serial") == bench_run.unit.serial
            ),
            mark,
            done.seq,
        )
        session = informs[-1] if informs else None  # the Inform that opened the TransferComplete's session
        data = session.data if session else {}
        events = list(zip(data.get("events", ()), data.get("command_keys", ()), strict=False))
        if ("M Download", key) not in events or "7 TRANSFER COMPLETE" not in dict(events):
            steps.fail("3", f"the TransferComplete's session opened by an Inform with 7 TRANSFER COMPLETE and "
                       f"M Download {key} (TR-069)", f"events {events}", session or done)  # fmt: skip
    return Completion(done.data.get("fault_code", -1), done.data.get("fault_string", ""), "TransferComplete",
                      done, probe.get("gpv"))  # fmt: skip


def at_reboot(bench_run: BenchRun, steps: Steps, step: str, key: str) -> bool:
    """After DownloadResponse Status 1, a unit that applies a downloaded file only at its next boot
    (units.NAME.download_applied_at_reboot) is rebooted by the HeMS, as after SetParameterValues Status 1: a
    Reboot with a CommandKey, whose boot Inform must carry 1 BOOT and M Reboot with it (procedures.reboot); its
    TransferComplete follows in that boot's session. Whether it did (False: the unit completes by itself)."""
    if not bench_run.unit.cfg.download_applied_at_reboot:
        return False
    reboot(bench_run, steps, step, f"reboot-{key}", f"DownloadResponse Status 1 to Download {key}")
    return True


def at_reboot_hint(bench_run: BenchRun) -> str:
    """For a TransferComplete that never came after Status 1: the setting for a unit that waits to be rebooted."""
    unit = bench_run.unit
    if unit.cfg.download_applied_at_reboot:
        return ""
    return (f"; the bench did not reboot the unit (units.{unit.name}.download_applied_at_reboot is false): a unit "
            "that applies a downloaded file only at its next boot completes it once the HeMS reboots it")  # fmt: skip


def waited(unit: BenchUnit) -> dict[str, Any]:
    """What the bench's note of a served file says of the wait for its TransferComplete (the bound and its
    inventory key): `henb-bench judge` words an absence as the live wait does."""
    bound = unit.bounds.transfer_complete
    return {"transfer_complete": float(bound), "transfer_complete_key": getattr(bound, "key", "")}


def served_name(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+=,-]", "_", path.rsplit("/", 1)[-1])


def corrupted(data: bytes) -> tuple[bytes, str]:
    """The unit's own file made corrupt: cut to half, and one byte flipped in what is left."""
    half = bytearray(data[: max(1, len(data) // 2)])
    half[len(half) // 2] ^= 0xFF
    return bytes(half), f"cut to {len(half)} of {len(data)} bytes, byte {len(half) // 2} flipped"


def other_value(value: str) -> tuple[str, str] | None:
    """A value other than `value` of its kind, for SetParameterValues: a number one less (one more for 0), a
    boolean flipped; None for anything else (its type and range are the unit's own)."""
    if value in ("true", "false"):
        return ("false" if value == "true" else "true"), "xsd:boolean"
    if re.fullmatch(r"-?[0-9]+", value):
        n = int(value)
        other = n - 1 if n > 0 else n + 1
        return str(other), "xsd:unsignedInt" if n >= 0 else "xsd:int"
    return None


def moved_away(bench_run: BenchRun, steps: Steps, sets: dict[str, str], how: str) -> dict[str, str]:
    """Before a download that must fail: every parameter the unit's own file sets (`sets`, its read_back) set
    to another value first, so that a unit applying part of the file shows it in the read back (after a
    successful download of the same file, the values already equal the file's); then all of them read."""
    away = {name: o for name, value in sets.items() if (o := other_value(value)) is not None}
    if away:
        set_values(bench_run, steps, "pre", away, f"cm-5.2.2-away-{how}")
    return get_values(bench_run, steps, "pre", sorted(sets))


@pytest.mark.clause("5.2.2")
@pytest.mark.parametrize("proto", PROTOCOLS)
def test_configuration_by_file_download(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps, proto: str
) -> None:
    offered_protocol(bench_run, proto)
    fs = bench_run.topology.fileserver
    assert fs is not None, "the topology has no file server"
    TAC, EAID = registered_unit.paths.tac, registered_unit.paths.eaid  # the unit's data-model profile
    own = bench_run.unit.cfg.config_file
    tag = random.randint(1, 65000)
    if own is not None:  # the unit's own file, as it is; what it sets comes from the inventory
        data, values = own.path.read_bytes(), dict(own.read_back)
        file_type, name = own.file_type, own.path.name
    else:
        values = {TAC: str(tag), EAID: str(random.randint(1, 16000000))}
        data, file_type, name = configfile.build(values), FILE_TYPE, f"{tag}.xml"
    path = fs.add_file(f"/cm/{proto}-{tag}-{served_name(name)}", data, USER, PASSWORD)
    key = f"dl-{proto}-{tag}"
    start = bench_run.timeline.mark()
    bench_run.timeline.add(Source.BENCH, BenchKind.CONFIG_FILE, path=path, proto=proto, values=values, how="applied",
                           key=key, fault=0, **waited(bench_run.unit))  # fmt: skip
    before = get_values(bench_run, steps, "pre", sorted(values))
    mark = bench_run.timeline.mark()
    done = download(bench_run, steps, "1", fs.url(proto, path), key, len(data), sorted(values),
                    file_type=file_type)  # fmt: skip
    # The checks the evidence can judge, by the functions `henb-bench judge` calls on captures; once the file
    # server has recorded what it served (over FTP it answers before it records: the unit's TransferComplete
    # can come first).
    fs.caught_up(bench_run.unit.bounds.step)
    sent = download_sent(bench_run.timeline.events(mark), lambda k: k == key)
    assert sent is not None, f"the HeMS's Download {key} is not on the timeline"
    judged(steps, "2", judge_fetched(bench_run.timeline.events(mark), sent, proto, LIVE, steps.describe))
    if done.fault_code != 0:
        unit = bench_run.unit
        physical = own is None and unit.hw.kind == "physical"
        hint = (
            f" (the file is the bench's XML: give units.{unit.name}.config_file, the unit's own)"
            if physical
            else ""
        )
        steps.fail("3", f"the download completed with FaultCode 0{hint}",
                   f"{done.how}: FaultCode {done.fault_code} {done.fault_string}", done.event)  # fmt: skip
    applied = f"the configuration applied when TransferComplete is sent ({values})"
    try:
        done.gpv.result(bench_run.unit.bounds.step) if done.gpv else None
    except (
        DeviceError
    ) as exc:  # the GetParameterValues rode in the TransferComplete's session: it must answer
        steps.fail("3", applied, f"no answer to GetParameterValues in the TransferComplete's session: {exc}",
                   done.event)  # fmt: skip
    get_values(bench_run, steps, "3", sorted(values))
    # What the unit had in the TransferComplete's session, and read back after it: the file's values.
    judged_all(steps, judge_download(proto, bench_run.timeline.events(start), show=steps.describe, s1=False))
    if TAC in values and before.get(TAC) != values[TAC]:  # a unit's own file sets the same TAC every time
        s1_carries(bench_run, steps, "S1", int(values[TAC]), mark)


FAILURES = [
    # what goes wrong, how the bench makes it happen, the cause (its FaultCode: bench.transfer_faults)
    ("bad credentials", "wrong-password", "credentials"),
    ("missing file", "missing", "missing"),
    ("corrupt file", "corrupt", "corrupt"),
    ("invalid value", "invalid", "invalid"),
]


@pytest.mark.clause("5.2.2")
@pytest.mark.parametrize(("what", "how", "cause"), FAILURES, ids=[f[1] for f in FAILURES])
def test_failing_download_reports_the_fault_and_changes_nothing(
    bench_run: BenchRun,
    registered_unit: BenchUnit,
    evidence: Evidence,
    steps: Steps,
    what: str,
    how: str,
    cause: str,
) -> None:
    fs = bench_run.topology.fileserver
    assert fs is not None, "the topology has no file server"
    TAC, EAID = registered_unit.paths.tac, registered_unit.paths.eaid  # the unit's data-model profile
    unit = bench_run.unit
    own, amendment = unit.cfg.config_file, unit.cfg.cwmp_amendment
    file_type = FILE_TYPE
    start = bench_run.timeline.mark()
    if own is None:
        names = [TAC, EAID]
        before = get_values(bench_run, steps, "pre", names)
        new = {
            EAID: str((int(before[EAID] or "0") + 7) % 16000000),
            TAC: str((int(before[TAC] or "0") + 7) % 65000),
        }
        if how == "invalid":
            new[TAC] = "70000"  # one refused value: nothing of the file may be applied
        data = configfile.build(new)
        if how == "corrupt":
            data = data[: len(data) // 2]
    else:
        names, file_type = sorted(own.read_back), own.file_type
        if how == "invalid" and own.invalid is None:
            pytest.skip(
                f"units.{unit.name}.config_file.invalid names no file with a value the unit must refuse"
            )
        before = moved_away(bench_run, steps, dict(own.read_back), how)
        data = own.path.read_bytes()
        if how == "invalid" and own.invalid is not None:
            data = own.invalid.read_bytes()
        if how == "corrupt" and own.corrupt is not None:
            data = own.corrupt.read_bytes()
        elif how == "corrupt":
            data, done_to = corrupted(data)
            bench_run.timeline.add(Source.BENCH, BenchKind.CORRUPTED_FILE, path=str(own.path), how=done_to)
            unit.say(f"henb-bench: 5.2.2 corrupt file: {own.path} {done_to}")
    path = fs.add_file(f"/cm/fail-{how}-{unit.serial}.cfg", data, USER, PASSWORD)  # one per unit
    url = fs.url("http", "/cm/does-not-exist.cfg" if how == "missing" else path)
    bench_run.timeline.add(Source.BENCH, BenchKind.CONFIG_FILE, path=path, proto="http", how=how, key=f"dl-fail-{how}",
                           values=dict.fromkeys(names, ""), fault=transfer_faults.expected(cause, amendment), what=what,
                           amendment=amendment, unit=unit.name, **waited(unit))  # fmt: skip
    download(bench_run, steps, "1", url, f"dl-fail-{how}", len(data), names,
             password="wrong" if how == "wrong-password" else PASSWORD, file_type=file_type)  # fmt: skip
    get_values(bench_run, steps, "3", names)
    # The FaultCode of the unit's amendment, and nothing applied: by the function `henb-bench judge` calls.
    judged_all(steps, judge_failing(how, bench_run.timeline.events(start), show=steps.describe))


@pytest.mark.clause("5.2.2")
def test_download_from_untrusted_file_server_is_refused(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    """A Download over HTTPS from a file server whose certificate (for the right name) comes from a CA the unit
    does not trust: refused in the handshake, nothing fetched nor applied, TransferComplete with 9012, and the
    unit still managed (the read back is a later session)."""
    offered_protocol(bench_run, "https")
    fs = bench_run.topology.fileserver
    assert fs is not None and fs.untrusted is not None, (
        "the topology has no file server with an untrusted port"
    )
    TAC, EAID = registered_unit.paths.tac, registered_unit.paths.eaid  # the unit's data-model profile
    unit = bench_run.unit
    own, amendment = unit.cfg.config_file, unit.cfg.cwmp_amendment
    start = bench_run.timeline.mark()
    if own is None:
        names = [TAC, EAID]
        before = get_values(bench_run, steps, "pre", names)
        new = {
            EAID: str((int(before[EAID] or "0") + 11) % 16000000),
            TAC: str((int(before[TAC] or "0") + 11) % 65000),
        }
        data, file_type = configfile.build(new), FILE_TYPE
    else:
        names, file_type = sorted(own.read_back), own.file_type
        before = moved_away(bench_run, steps, dict(own.read_back), "untrusted")
        data = own.path.read_bytes()
    path = fs.add_file(f"/cm/untrusted-{unit.serial}.cfg", data, USER, PASSWORD)  # one per unit
    shown = f"a certificate from an untrusted CA ({describe_cert(fs.untrusted.cert)})"
    bench_run.timeline.add(Source.BENCH, BenchKind.CONFIG_FILE, path=path, proto="https", how="untrusted",
                           key="dl-untrusted", values=dict.fromkeys(names, ""), cert=describe_cert(fs.untrusted.cert),
                           fault=transfer_faults.expected("untrusted", amendment), amendment=amendment,
                           unit=unit.name, **waited(unit))  # fmt: skip
    mark = bench_run.timeline.mark()
    done = download(bench_run, steps, "1", fs.untrusted_url(path), "dl-untrusted", len(data), names,
                    file_type=file_type)  # fmt: skip

    def fetch(e: Event) -> bool:
        return (
            e.source == Source.FILESERVER and e.kind == FileserverKind.DOWNLOAD and e.data.get("path") == path
        )

    def refusal(e: Event) -> bool:
        return e.source == Source.FILESERVER and e.kind == FileserverKind.TLS_FAILED

    # What the file server saw is awaited, not looked up once: the unit's answer (a TransferComplete, or with
    # Status 0 a fault answering the Download at once) can reach the HeMS before the file server's own thread has
    # read the unit's alert or close and recorded the failed handshake (or served the file and recorded it).
    bound = Bound(unit.bounds.step, f"units.{unit.name}.bounds.step")
    with contextlib.suppress(DeviceError):  # neither within the bound: step 2 fails below, saying so
        bench_run.timeline.wait_for(
            lambda e: fetch(e) or refusal(e),
            bound,
            "the file server to see the unit at its untrusted port",
            mark,
        )
    if bench_run.timeline.first(fetch, mark) is None and bench_run.timeline.first(refusal, mark) is None:
        steps.fail("2", f"the unit to refuse the file server presenting {shown}: a TLS alert or its close during "
                   "the handshake, seen by the file server",
                   f"no TLS handshake from the unit at {fs.untrusted_url('')} within {bound:g} s{bound_note(bound)} "
                   f"after {done.how} (FaultCode {done.fault_code} {done.fault_string})", done.event)  # fmt: skip
    get_values(bench_run, steps, "3", names)  # a later session: the unit is still managed
    # Nothing fetched, the FaultCode of a file server it does not trust, nothing applied: by the function
    # `henb-bench judge` calls on captures.
    judged_all(steps, judge_untrusted(bench_run.timeline.events(start), show=steps.describe))


# The clause as the bench reads it: `henb-bench list`, the report's coverage and expected ladder, the twins.
def _figure_5_6(proto: str | None, s1: bool = True) -> tuple[cl.Step, ...]:
    """A failing download (proto None) need not reach the file server in any particular way, and changes
    nothing S1 carries (s1 False)."""
    fetch = (
        cl.Step(f"file fetched over {proto}", "henb", "files", "fileserver", "download", {"proto": proto}),
    )
    return (
        *cl.rpc("Download", "configuration file"),
        *(fetch if proto else ()),
        cl.inform(event=("7 TRANSFER COMPLETE", "M Download"), label="Inform 7 TRANSFER COMPLETE, M Download"),
        cl.inform_response(),
        cl.Step("TransferComplete", "henb", cl.SERVING, "hems", "cpe-rpc",
                {"hems": cl.SERVING, "method": "TransferComplete"}),
        *cl.rpc("GetParameterValues", "read back"),
        *(cl.s1_update() if s1 else ()),
    )  # fmt: skip


# The twins of a unit that applies a downloaded file at its next boot run with the setting that says so.
AT_REBOOT = {"units": {"henb-01": {"download_applied_at_reboot": True}}}

CLAUSE = cl.Clause(
    id="5.2.2",
    title="Configuration by file download (Figure 5-6)",
    figure=cl.Figure("Figure 5-6: Configuration by file download", _figure_5_6(None)),
    tests={
        **cl.per_protocol("test_configuration_by_file_download", "Figure 5-6: Configuration by file download",
                          _figure_5_6, PROTOCOLS),
        "test_failing_download_reports_the_fault_and_changes_nothing": cl.Figure(
            "Figure 5-6, failing: TransferComplete with the fault, nothing applied", _figure_5_6(None, s1=False)
        ),
        "test_download_from_untrusted_file_server_is_refused": cl.Figure(
            "Figure 5-6, refused: the file server's certificate from an untrusted CA refused in the handshake, "
            "TransferComplete with 9012, nothing applied",
            (*cl.rpc("Download", "configuration file, untrusted HTTPS"), cl.files_tls_refused(),
             *_figure_5_6(None, s1=False)[2:]),
        ),
    },
    checks=(
        cl.Check("2", "the file fetched from the file server with the given credentials", (
            cl.Twin("download_not_fetched", ("fetched from the file server over http as user cm",)),
        )),
        cl.Check("1", "after DownloadResponse Status 1 from a unit that applies a file at its next boot "
                 "(units.NAME.download_applied_at_reboot), the HeMS reboots it: Reboot with a CommandKey, 1 BOOT and "
                 "M Reboot with it in the next Inform (bounds.boot), then the TransferComplete and the read back", (
            cl.Twin("status_1_no_m_reboot", ("carrying 1 BOOT and M Reboot with CommandKey reboot-dl-http-",),
                    inventory=AT_REBOOT),
        ), key="reboot"),
        cl.Check("1", "after DownloadResponse Status 1, a TransferComplete within bounds.transfer_complete (a "
                 "reboot may come between)", (
            cl.Twin("no_transfer_complete_after_reboot", (
                "a TransferComplete with CommandKey dl-http-",
                "nothing within 8 s (units.henb-01.bounds.transfer_complete)")),
        )),
        cl.Check("3", "the TransferComplete carries the Download's CommandKey (one with another ends the wait at "
                 "once, named) and StartTime <= CompleteTime, both between the Download and its arrival (TR-069 "
                 "A.3.3.1)", (
            cl.Twin("transfer_complete_wrong_key", ("a TransferComplete with CommandKey dl-http-",
                                                    "the Download's (TR-069 A.3.3.1)", "with CommandKey ''")),
            cl.Twin("transfer_complete_bad_times", ("StartTime <= CompleteTime (TR-069 A.3.3.1)",)),
        ), key="transfer-complete"),
        cl.Check("3", "the TransferComplete's session opened by an Inform with 7 TRANSFER COMPLETE and M Download "
                 "with the CommandKey (TR-069)", (
            cl.Twin("no_m_download_event", ("an Inform with 7 TRANSFER COMPLETE and M Download dl-http-",
                                            "events [('7 TRANSFER COMPLETE', '')]")),
        )),
        cl.Check("3", "the configuration applied before TransferComplete (FaultCode 0) or DownloadResponse Status "
                 "0, and read back (the inventory's config_file.read_back for a unit's own file)", (
            cl.Twin("transfer_complete_before_apply", ("applied when TransferComplete is sent", "still had")),
            cl.Twin("download_status_1_never_applied", ("applied when TransferComplete is sent", "still had"),
                    inventory=AT_REBOOT),
        )),
        cl.Check("S1", "the downloaded TAC carried to the MME in an eNB Configuration Update", (
            cl.Twin("no_enb_config_update", ("eNB Configuration Update (or S1 Setup Request) with TAC",
                                             "nothing within")),
        )),
        cl.Check("3", "a failed download (credentials, missing, corrupt, invalid) gives the FaultCode of the "
                 "unit's TR-069 amendment (cwmp_amendment: 1 gives 9010, 2 on 9016/9018), changes nothing", (
            cl.Twin("download_wrong_fault", ("FaultCode 9016 for a missing file", "TR-069 Amendment 2 (CWMP 1.1)",
                                             "seen FaultCode 9010")),
            cl.Twin("partial_download", ("nothing applied after a failed download",)),
        )),
        cl.Check("2", "a Download over HTTPS from a file server whose certificate comes from an untrusted CA: "
                 "refused in the handshake (the unit's alert or close), nothing fetched", (
            cl.Twin("accept_untrusted_file_server", (
                "the unit fetched /cm/untrusted-{serial}.cfg from the file server presenting a certificate from "
                "an untrusted CA (CN=files.operator.example, issuer CN=henb-bench rogue CA",)),
        )),
        cl.Check("3", "then TransferComplete with FaultCode 9012 (file transfer server authentication failure), "
                 "nothing applied, and the unit still managed (read back in a later session)", (
            cl.Twin("tls_refusal_as_contact_failure", ("FaultCode 9012 for a file server it does not trust",
                                                       "seen FaultCode 9015")),
        )),
        cl.Check("pre", "before a download, the parameters the file sets read (a unit's own file: each moved to "
                 "another value first, so that a failed download that applied part of it shows)", (
            cl.Twin("gpv_fault", ("GetParameterValuesResponse for", "fault 9002 Internal error")),
        )),
    ),
)  # fmt: skip

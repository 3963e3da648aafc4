"""TS 32.593 5.4: PM file upload. 5.4.1 (Figure 5-11): PeriodicUploadInterval and the rest of PerfMgmt.Config
set and read back; disabled means no upload. 5.4.2 (Figure 5-12): measCollecFiles uploaded at the interval, over
each protocol the unit lists (units.NAME.transfer_protocols: FTP, SFTP, HTTP, HTTPS), with the configured
credentials, each a valid TS 32.435 file; a unit with a force_pm_period action uploads its forced period's file
at once, before that. The interval is measured once per unit, over the first protocol tested."""

from __future__ import annotations

import contextlib
import math

import pytest

from bench import clauses as cl
from bench import pmfile
from bench.errors import DeviceError
from bench.events import BenchKind, FileserverKind, Source
from bench.evidence.judge_common import judged_all
from bench.evidence.judge_pm import judge_disabled
from bench.pki import describe_cert
from bench.run import BenchRun, Evidence
from bench.steps import Steps
from bench.timeline import Bound, Event
from bench.unit import BenchUnit
from testplans.ts32593.invalid_set import invalid_set_changes_nothing
from testplans.ts32593.procedures import offered_protocol, session, set_values

USER, PASSWORD = "pm", "pm-upload-secret"
PROTOCOLS = ("ftp", "sftp", "http", "https")  # each test run over each, with its own figure


def configure(
    bench_run: BenchRun,
    steps: Steps,
    step: str,
    proto: str,
    enable: bool,
    interval: int | None = None,
    untrusted: bool = False,
) -> str:
    """PerfMgmt.Config.1 for uploads to the file server over `proto` every `interval` s (default
    bounds.pm_interval); returns the upload folder's URL. `untrusted`: over HTTPS to the file server's port
    whose certificate comes from a CA the unit does not trust, folder /pm-untrusted/."""
    fs = bench_run.topology.fileserver
    assert fs is not None, "the topology has no file server"
    fs.add_user(USER, PASSWORD)
    folder = "/pm-untrusted/" if untrusted else f"/pm-{proto}/"
    fs.local(USER, folder).mkdir(parents=True, exist_ok=True)  # the operator's upload folder
    url = fs.untrusted_url(folder) if untrusted else fs.url(proto, folder)
    PM = bench_run.unit.paths.pm_config  # the unit's data-model profile
    interval = interval or bench_run.unit.bounds.pm_interval
    values = {
        PM + "URL": (url, "xsd:string"),
        PM + "Username": (USER, "xsd:string"),
        PM + "Password": (PASSWORD, "xsd:string"),
        PM + "PeriodicUploadInterval": (str(interval), "xsd:unsignedInt"),
        PM + "Enable": ("true" if enable else "false", "xsd:boolean"),
    }
    with session(bench_run, steps, step) as s:
        s.set_values(values, f"pm-{proto}")
        s.read_back({n: v for n, (v, _) in values.items() if not n.endswith("Password")})
    cert = describe_cert(fs.untrusted.cert) if untrusted and fs.untrusted is not None else None
    bench_run.timeline.add(Source.BENCH, BenchKind.PM_CONFIG, proto=proto, interval=interval,
                           tolerance=float(bench_run.unit.bounds.pm_tolerance), enable=enable, cert=cert)  # fmt: skip
    return url


def uploads(bench_run: BenchRun, proto: str) -> object:
    """An upload into the PM folder, or a refused login as the PM user (FTP and SFTP refuse before any path)."""
    return lambda e: (
        e.source == Source.FILESERVER
        and e.data.get("proto") == proto
        and (
            (e.kind == FileserverKind.UPLOAD and f"/pm-{proto}/" in str(e.data.get("path", "")))
            or (e.kind == FileserverKind.AUTH_FAILED and e.data.get("user") == USER)
        )
    )


def stop_uploads(bench_run: BenchRun, steps: Steps) -> None:
    PM = bench_run.unit.paths.pm_config
    set_values(bench_run, steps, "post", {PM + "Enable": ("false", "xsd:boolean")}, "pm-off")


@pytest.mark.clause("5.4.1")
def test_disabled_pm_uploads_nothing(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    bounds = bench_run.unit.bounds
    mark = bench_run.timeline.mark()
    configure(bench_run, steps, "2", "http", enable=False)
    window = 2 * bounds.pm_interval + bounds.pm_tolerance
    with contextlib.suppress(DeviceError):  # the stimulus is time: two intervals, or the first upload
        bench_run.timeline.wait_for(uploads(bench_run, "http"), window, "", bench_run.timeline.mark())  # type: ignore[arg-type]
    # The check the evidence can judge, by the function `henb-bench judge` calls on captures.
    judged_all(steps, judge_disabled(bench_run.timeline.events(mark), show=steps.describe))


@pytest.mark.clause("5.4.1")
def test_invalid_upload_interval_changes_nothing(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    """PeriodicUploadInterval 0 (below its minimum, 1) beside a valid change of the upload user name: the set
    refused with a fault, and nothing changed (read back in the same session)."""
    PM = bench_run.unit.paths.pm_config
    user = f"{USER}-refused"
    invalid_set_changes_nothing(bench_run, steps, "2", {PM + "Username": (user, "xsd:string")},
                                {PM + "PeriodicUploadInterval": ("0", "xsd:unsignedInt")}, "pm-invalid")  # fmt: skip


def valid_upload(steps: Steps, ev: Event, which: str = "") -> None:
    """The upload `ev` authenticated with the configured credentials and stored a valid measCollecFile."""
    if ev.kind == FileserverKind.AUTH_FAILED or ev.data.get("user") != USER:
        steps.fail("1", f"the upload authenticated as {USER} with the configured password{which}",
                   steps.describe(ev), ev)  # fmt: skip
    problems = pmfile.validate(open(ev.data["stored"], "rb").read())  # noqa: SIM115
    if problems:
        steps.fail("1", f"a valid TS 32.435 measCollecFile{which}",
                   f"{ev.data['stored']}: {'; '.join(problems[:3])}", ev)  # fmt: skip


def forced_interval(bench_run: BenchRun) -> int:
    """PeriodicUploadInterval while the forced period's file is awaited: no period may end by itself before that
    wait is over (its upload would pass for the forced one), so twice the action's confirmation and the wait;
    bounds.pm_interval when that is longer already (a real unit's 300 s or 900 s)."""
    unit = bench_run.unit
    action = unit.cfg.actions.force_pm_period
    confirm = action.timeout if action is not None and action.timeout is not None else unit.bounds.step
    wait = unit.bounds.step + unit.bounds.pm_tolerance
    return max(unit.bounds.pm_interval, math.ceil(2 * (confirm + wait)))


def forced_period(bench_run: BenchRun, steps: Steps, proto: str) -> Event:
    """The unit's force_pm_period action, then the forced period's file: uploaded over `proto` within
    bounds.step + pm_tolerance, with the configured credentials, valid."""
    unit, bounds = bench_run.unit, bench_run.unit.bounds
    key = f"units.{unit.name}.actions.force_pm_period"
    try:
        done = unit.act("force_pm_period")
    except DeviceError as exc:
        steps.fail("1", "the unit to confirm force_pm_period (close the PM period now)", str(exc))
    wait = Bound(bounds.step + bounds.pm_tolerance, f"units.{unit.name}.bounds.step + pm_tolerance")
    # The bound is the bench's knowledge, on the timeline: `henb-bench judge` words an absence as this wait does.
    bench_run.timeline.add(Source.BENCH, BenchKind.PM_FIRST_FILE, proto=proto, how="forced", action=key,
                           bound=float(wait), bound_key=wait.key)  # fmt: skip
    what = f"a PM file uploaded over {proto} to the file server for the forced PM period ({key})"
    ev = steps.wait("1", uploads(bench_run, proto), wait, what, done.mark)  # type: ignore[arg-type]
    valid_upload(steps, ev, f" (the forced PM period's file, {key})")
    return ev


def interval_measured(bench_run: BenchRun) -> Event | None:
    """This unit's PM interval, if a 5.4.2 test of this run measured it already (over another protocol)."""
    return next(
        (
            e
            for e in bench_run.timeline.events()
            if e.source == Source.BENCH and e.kind == BenchKind.PM_INTERVAL
        ),
        None,
    )


@pytest.mark.clause("5.4.2")
@pytest.mark.parametrize("proto", PROTOCOLS)
def test_pm_files_uploaded_at_the_interval(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps, proto: str
) -> None:
    """Over each protocol: the upload authenticated, a valid file. The interval is the unit's scheduler's, not
    the transport's: the first of these tests in a run measures it (three uploads), the others take one file
    (the forced period's, or the first at the interval): with a real unit's 900 s that is an hour less."""
    offered_protocol(bench_run, proto)
    unit, bounds = bench_run.unit, bench_run.unit.bounds
    interval, tol = bounds.pm_interval, bounds.pm_tolerance
    forced = unit.cfg.actions.force_pm_period is not None
    measured = interval_measured(bench_run)
    count = 1 if measured is not None else 3
    first = forced_interval(bench_run) if forced else interval
    mark = bench_run.timeline.mark()
    configure(bench_run, steps, "pre", proto, enable=True, interval=first)
    seen: list[Event] = []
    try:
        if forced:  # the first file at once; then the interval the plan checks
            forced_file = forced_period(bench_run, steps, proto)
            if measured is not None:
                return  # this protocol's transfer is checked; the interval was measured over another
            mark = forced_file.seq + 1
            if first != interval:
                value = {unit.paths.pm_config + "PeriodicUploadInterval": (str(interval), "xsd:unsignedInt")}
                set_values(bench_run, steps, "pre", value, f"pm-{proto}-interval")
        else:
            why = f"units.{unit.name}.actions.force_pm_period is not given"
            bench_run.timeline.add(Source.BENCH, BenchKind.PM_FIRST_FILE, proto=proto, how="awaited", why=why)
            unit.say(
                f"henb-bench: 5.4.2 over {proto}: the first PM file is awaited at the interval ({why})\n"
            )
        for _ in range(count):
            since = seen[-1].seq + 1 if seen else mark
            ev = steps.wait("1", uploads(bench_run, proto), 3 * interval + tol,  # type: ignore[arg-type]
                            f"a PM file uploaded over {proto} to the file server", since)  # fmt: skip
            valid_upload(steps, ev)
            seen.append(ev)
        if measured is not None:
            return
        # From when each upload began (the unit connected): how long a transfer takes is not the schedule.
        began = [float(e.data.get("began", e.t)) for e in seen]
        gaps = [round(b - a, 2) for a, b in zip(began, began[1:], strict=False)]
        bench_run.timeline.add(Source.BENCH, BenchKind.PM_INTERVAL, proto=proto, interval=interval, gaps=gaps)
        off = [g for g in gaps if abs(g - interval) > tol]
        if off:
            steps.fail("1", f"uploads every {interval} s (+-{tol:g} s)", f"uploads {gaps} s apart", seen[-1])
    finally:
        stop_uploads(bench_run, steps)


@pytest.mark.clause("5.4.2")
def test_pm_upload_to_untrusted_file_server_is_refused(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps
) -> None:
    """PM uploads over HTTPS to a file server whose certificate (for the right name) comes from a CA the unit
    does not trust: the unit refuses it in the handshake (its alert or close, seen by the file server) and
    uploads nothing; it is still managed (uploads switched off in a later session)."""
    offered_protocol(bench_run, "https")
    fs = bench_run.topology.fileserver
    assert fs is not None and fs.untrusted is not None, (
        "the topology has no file server with an untrusted port"
    )
    unit, bounds = bench_run.unit, bench_run.unit.bounds
    forced = unit.cfg.actions.force_pm_period is not None
    shown = f"a certificate from an untrusted CA ({describe_cert(fs.untrusted.cert)})"
    mark = bench_run.timeline.mark()

    def upload(e: Event) -> bool:
        return (
            e.source == Source.FILESERVER
            and e.kind == FileserverKind.UPLOAD
            and "/pm-untrusted/" in str(e.data.get("path", ""))
        )

    def refused_or_upload(e: Event) -> bool:
        return upload(e) or (e.source == Source.FILESERVER and e.kind == FileserverKind.TLS_FAILED)

    interval = forced_interval(bench_run) if forced else bounds.pm_interval
    configure(bench_run, steps, "pre", "https", enable=True, interval=interval, untrusted=True)
    try:
        key = f"units.{unit.name}.actions.force_pm_period"
        if forced:  # its next file now, not after an interval
            try:
                since = unit.act("force_pm_period").mark
            except DeviceError as exc:
                steps.fail("1", "the unit to confirm force_pm_period (close the PM period now)", str(exc))
            bench_run.timeline.add(Source.BENCH, BenchKind.PM_FIRST_FILE, proto="https-untrusted", how="forced",
                                   action=key)  # fmt: skip
            wait = Bound(bounds.step + bounds.pm_tolerance, f"units.{unit.name}.bounds.step + pm_tolerance")
        else:
            bench_run.timeline.add(Source.BENCH, BenchKind.PM_FIRST_FILE, proto="https-untrusted", how="awaited",
                                   why=f"{key} is not given")  # fmt: skip
            since = mark
            wait = Bound(
                3 * interval + bounds.pm_tolerance, f"units.{unit.name}.bounds.pm_interval (3 intervals)"
            )
        seen = steps.wait("1", refused_or_upload, wait,
                          f"the unit to refuse the file server presenting {shown} when it uploads its PM file: a TLS "
                          "alert or its close during the handshake, seen by the file server", since)  # fmt: skip
        if upload(seen):
            steps.fail("1", f"no PM file uploaded to a file server presenting {shown}",
                       f"the unit uploaded {seen.data.get('path')} to the file server presenting {shown}: "
                       f"{steps.describe(seen)}", seen)  # fmt: skip
    finally:
        stop_uploads(bench_run, steps)  # a later session: the unit is still managed
    late = bench_run.timeline.first(upload, mark)
    if late is not None:
        steps.fail("1", f"no PM file uploaded to a file server presenting {shown}",
                   f"the unit uploaded {late.data.get('path')} after refusing it once: {steps.describe(late)}",
                   late)  # fmt: skip


# The clauses as the bench reads them: `henb-bench list`, the report's coverage and expected ladders, the twins.
def _figure_5_12(proto: str | None) -> tuple[cl.Step, ...]:
    """PerfMgmt.Config set, then measCollecFiles uploaded at the interval: 3 for the clause; per protocol the
    one every test awaits (the first protocol tested awaits two more, for the interval)."""
    where = {"proto": proto} if proto else {}
    up = cl.Step(f"PM file uploaded{' over ' + proto if proto else ''}", "henb", "files", "fileserver", "upload",
                 where)  # fmt: skip
    return (*cl.rpc("SetParameterValues", "PerfMgmt.Config"), *((up, up, up) if proto is None else (up,)))


CLAUSES = [
    cl.Clause(
        id="5.4.1",
        title="PeriodicUploadInterval configuration (Figure 5-11)",
        figure=cl.Figure(
            "Figure 5-11: PeriodicUploadInterval configuration",
            (*cl.rpc("SetParameterValues", "PerfMgmt.Config"), *cl.rpc("GetParameterValues", "read back")),
        ),
        checks=(
            cl.Check("2", "PerfMgmt.Config (URL, credentials, PeriodicUploadInterval, Enable) set and read back", (
                cl.Twin("spv_not_applied", ("the values just set, read back", "PeriodicUploadInterval")),
            )),
            cl.Check("3", "no upload for two intervals while Enable is false", (
                cl.Twin("pm_upload_while_disabled", ("no PM upload for 2.6 s (two intervals)", "an upload")),
            )),
            cl.Check("2", "an invalid PeriodicUploadInterval (beside a valid change) refused with a fault", (
                cl.Twin("accept_invalid_values", ("a SetParameterValues fault refusing the set with the invalid "
                                                  "value", "PeriodicUploadInterval = '0'",
                                                  "Status 0: the invalid value accepted")),
            ), key="invalid-refused"),
            cl.Check("2", "a refused set changes nothing, its valid values neither (TR-069 A.3.2.1): read back", (
                cl.Twin("partial_spv", ("nothing changed by the refused set", "Username = 'pm-refused'",
                                        "part of the set was applied")),
            ), key="invalid-nothing-changed"),
        ),
    ),
    cl.Clause(
        id="5.4.2",
        title="PM file upload (Figure 5-12)",
        figure=cl.Figure("Figure 5-12: PM file upload", _figure_5_12(None)),
        tests={
            **cl.per_protocol("test_pm_files_uploaded_at_the_interval", "Figure 5-12: PM file upload",
                              _figure_5_12, PROTOCOLS),
            "test_pm_upload_to_untrusted_file_server_is_refused": cl.Figure(
                "Figure 5-12, refused: the file server's certificate from an untrusted CA refused, nothing uploaded",
                (*cl.rpc("SetParameterValues", "PerfMgmt.Config, untrusted HTTPS"), cl.files_tls_refused(),
                 *cl.rpc("SetParameterValues", "uploads off")),
            ),
        },
        checks=(
            cl.Check("1", "uploads arrive over FTP, SFTP, HTTP and HTTPS", (
                cl.Twin("no_pm_upload", ("a PM file uploaded over ftp to the file server", "nothing within")),
            )),
            cl.Check("1", "each upload authenticated with the configured credentials", (
                cl.Twin("pm_wrong_credentials", ("the upload authenticated as pm with the configured password",)),
            )),
            cl.Check("1", "each file a valid TS 32.435 measCollecFile", (
                cl.Twin("pm_malformed_file", ("a valid TS 32.435 measCollecFile", "fileTrailer")),
            )),
            cl.Check("1", "uploads at PeriodicUploadInterval within the tolerance (measured over the first "
                     "protocol tested)", (
                cl.Twin("pm_wrong_interval", ("uploads every 1 s (+-0.6 s)", "s apart")),
            )),
            cl.Check("1", "with a force_pm_period action: the forced period's file within bounds.step + "
                     "pm_tolerance, before the interval uploads", (
                cl.Twin("pm_forced_period_not_uploaded", ("for the forced PM period", "actions.force_pm_period",
                                                          "nothing within")),
            )),
            cl.Check("1", "uploads over HTTPS to a file server whose certificate comes from an untrusted CA: refused "
                     "in the handshake (the unit's alert or close), nothing uploaded, the unit still managed", (
                cl.Twin("accept_untrusted_file_server", (
                    "the unit uploaded /pm-untrusted/", "to the file server presenting a certificate from an "
                    "untrusted CA (CN=files.operator.example, issuer CN=henb-bench rogue CA")),
            )),
            cl.Check("pre", "PerfMgmt.Config set and read back before the uploads", (
                cl.Twin("gpv_fault", ("GetParameterValuesResponse for", "fault 9002 Internal error")),
            )),
            cl.Check("post", "PerfMgmt.Config.1.Enable set false after the uploads, acknowledged", (
                cl.Twin("refuse_pm_disable", ("SetParameterValuesResponse to", "PerfMgmt.Config.1.Enable",
                                              "fault 9003")),
            )),
        ),
    ),
]  # fmt: skip

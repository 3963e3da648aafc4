"""TS 32.593 5.2.2: configuration by file download (Figure 5-6): Download of a configuration file from the
file server with the given credentials, applied as a whole, TransferComplete only after it is applied; a failing
download reports the right fault and changes nothing."""

from __future__ import annotations

import random
from typing import Any

import pytest

from bench import configfile
from bench.cwmp import GpvResult, TransferResult
from bench.hems.server import DeviceKey, Hems, RpcCall
from bench.run import BenchRun, Evidence
from bench.steps import Steps
from bench.timeline import Event
from bench.unit import BenchUnit
from testplans.ts32593.procedures import describe_result, get_values, rpc, s1_carries

USER, PASSWORD = "cm", "cm-download-secret"


def transfer_complete(key: str) -> Any:
    return lambda e: (
        e.source == "hems"
        and e.kind == "cpe-rpc"
        and e.data.get("method") == "TransferComplete"
        and (e.data.get("command_key") == key)
    )


def download(bench_run: BenchRun, steps: Steps, step: str, url: str, key: str, size: int,
             password: str = PASSWORD) -> tuple[Event, RpcCall | None]:  # fmt: skip
    """Download, then the TransferComplete; a GetParameterValues rides in the TransferComplete's session, so
    what the unit reports there is what it had applied when it said it was done."""
    hems: Hems = bench_run.topology.hems["serving-hems"]
    probe: dict[str, RpcCall] = {}

    def on_inform(h: Hems, device: DeviceKey, events: list[str], params: dict[str, str]) -> None:
        if device == bench_run.unit.device and "7 TRANSFER COMPLETE" in events and not probe:
            paths = bench_run.unit.paths
            probe["gpv"] = h.queue_rpc(device, "GetParameterValues", names=[paths.tac, paths.eaid])

    hems.on_inform = on_inform
    mark = bench_run.timeline.mark()
    try:
        result = rpc(bench_run, steps, step, "Download", file_type="3 Vendor Configuration File", url=url,
                     username=USER, password=password, file_size=size, command_key=key)  # fmt: skip
        if not isinstance(result, TransferResult):
            steps.fail(step, "a DownloadResponse", describe_result(result))
        done = steps.wait(step, transfer_complete(key), bench_run.unit.bounds.step,
                          f"a TransferComplete with CommandKey {key}", mark)  # fmt: skip
    finally:
        hems.on_inform = None
    return done, probe.get("gpv")


@pytest.mark.clause("5.2.2")
@pytest.mark.parametrize("proto", ["http", "https", "ftp", "sftp"])
def test_configuration_by_file_download(
    bench_run: BenchRun, registered_unit: BenchUnit, evidence: Evidence, steps: Steps, proto: str
) -> None:
    fs = bench_run.topology.fileserver
    assert fs is not None, "the topology has no file server"
    TAC, EAID = registered_unit.paths.tac, registered_unit.paths.eaid  # the unit's data-model profile
    values = {TAC: str(random.randint(1, 65000)), EAID: str(random.randint(1, 16000000))}
    data = configfile.build(values)
    path = fs.add_file(f"/cm/{proto}-{values[TAC]}.xml", data, USER, PASSWORD)
    key = f"dl-{proto}-{values[TAC]}"
    mark = bench_run.timeline.mark()
    done, gpv = download(bench_run, steps, "1", fs.url(proto, path), key, len(data))
    fetched = bench_run.timeline.first(
        lambda e: e.source == "fileserver" and e.kind == "download" and e.data.get("path") == path, mark
    )
    if fetched is None or fetched.data.get("user") != USER:
        seen = steps.describe(fetched) if fetched else "no download of it at the file server"
        steps.fail("2", f"{path} fetched from the file server over {proto} as user {USER}", seen)
    if done.data.get("fault_code") != 0:
        steps.fail("3", "TransferComplete with FaultCode 0",
                   f"FaultCode {done.data.get('fault_code')} {done.data.get('fault_string')}", done)  # fmt: skip
    reported = gpv.result(bench_run.unit.bounds.step) if gpv else None
    if isinstance(reported, GpvResult) and reported.values != values:
        steps.fail("3", f"the configuration applied when TransferComplete is sent ({values})",
                   f"in the TransferComplete's session the unit still had {reported.values}", done)  # fmt: skip
    got = get_values(bench_run, steps, "3", [TAC, EAID])
    if got != values:
        steps.fail("3", f"the downloaded configuration applied: {values}", f"read back {got}")
    s1_carries(bench_run, steps, "S1", int(values[TAC]), mark)


FAILURES = [
    # what goes wrong, how the bench makes it happen, the TransferComplete FaultCode (TR-069 Amd 4 on)
    ("bad credentials", "wrong-password", 9012),
    ("missing file", "missing", 9016),
    ("corrupt file", "corrupt", 9018),
    ("invalid value", "invalid", 9018),
]


@pytest.mark.clause("5.2.2")
@pytest.mark.parametrize(("what", "how", "code"), FAILURES, ids=[f[1] for f in FAILURES])
def test_failing_download_reports_the_fault_and_changes_nothing(
    bench_run: BenchRun,
    registered_unit: BenchUnit,
    evidence: Evidence,
    steps: Steps,
    what: str,
    how: str,
    code: int,
) -> None:
    fs = bench_run.topology.fileserver
    assert fs is not None, "the topology has no file server"
    TAC, EAID = registered_unit.paths.tac, registered_unit.paths.eaid
    before = get_values(bench_run, steps, "pre", [TAC, EAID])
    new = {
        EAID: str((int(before[EAID] or "0") + 7) % 16000000),
        TAC: str((int(before[TAC] or "0") + 7) % 65000),
    }
    if how == "invalid":
        new[TAC] = "70000"  # one refused value: nothing of the file may be applied
    data = configfile.build(new)
    if how == "corrupt":
        data = data[: len(data) // 2]
    path = fs.add_file(f"/cm/fail-{how}.xml", data, USER, PASSWORD)
    url = fs.url("http", "/cm/does-not-exist.xml" if how == "missing" else path)
    done, _ = download(bench_run, steps, "1", url, f"dl-fail-{how}", len(data),
                       password="wrong" if how == "wrong-password" else PASSWORD)  # fmt: skip
    if done.data.get("fault_code") != code:
        steps.fail("3", f"TransferComplete with FaultCode {code} for a {what}",
                   f"FaultCode {done.data.get('fault_code')} {done.data.get('fault_string')}", done)  # fmt: skip
    after = get_values(bench_run, steps, "3", [TAC, EAID])
    if after != before:
        steps.fail("3", f"nothing applied after a failed download ({before})", f"read back {after}", done)

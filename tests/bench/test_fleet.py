"""Tests for bench/fleet.py: several units in one run, on one operator network, concurrently; each unit's
verdicts, evidence and bench actions its own."""

from __future__ import annotations

import copy
import ipaddress
import json
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from bench.errors import ConfigError, DeviceError, InfraError
from bench.fleet import raise_worst
from bench.inventory import load_inventory
from bench.report.units import write_junit
from bench.run import BenchRun
from bench.unit import State
from tests.support import FAST_BOUNDS, henb_bench, needs_root, write_inventory

SKIP = pytest.skip.Exception


def two_units(path: Path, names: tuple[str, ...] = ("a", "b"), **settings: str) -> Path:
    """The default inventory's first mock unit twice (henb-a, henb-b: their own serial and HeMS credentials);
    or once per name in `names`, each with `settings` (e.g. initial_hems_access='public')."""
    data = yaml.safe_load(write_inventory(path, FAST_BOUNDS).read_text())
    first = next(iter(data["units"].values()))
    units = {}
    for name, serial in ((f"henb-{n}", f"MOCK{n.upper()}001") for n in names):
        unit = {**copy.deepcopy(first), **settings}
        unit["identity"]["serial_number"] = serial
        unit["hems_credentials"] = {"username": f"00D0B7-{serial}", "password": f"secret-{serial}"}
        units[name] = unit
    data["units"] = units
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_the_item_ends_as_its_worst_unit_naming_each_unit_that_did_not_pass() -> None:
    raise_worst({"a": None, "b": None})
    with pytest.raises(DeviceError, match=r"1 of 2 unit\(s\) did not pass: unit b: DeviceError: no Inform"):
        raise_worst({"a": None, "b": DeviceError("no Inform")})
    with pytest.raises(InfraError) as exc:
        raise_worst({"a": DeviceError("late"), "b": InfraError("PDU gone")})
    assert "unit a: DeviceError: late" in str(exc.value) and "unit b: InfraError: PDU gone" in str(exc.value)
    with pytest.raises(ConfigError):
        raise_worst({"a": ConfigError("units.a.actions.reboot: not given"), "b": None})
    with pytest.raises(SKIP):
        raise_worst({"a": SKIP("public only"), "b": SKIP("public only")})
    raise_worst({"a": SKIP("public only"), "b": None})  # one unit ran it and passed


def test_each_unit_gets_a_junit_file_of_its_own(tmp_path: Path) -> None:
    results = [
        {"test": "test_x", "unit": "a", "clause": "5.1.3", "outcome": "passed", "message": "", "seconds": 1.0},
        {"test": "test_y", "unit": "a", "clause": "5.2.4", "outcome": "failed", "message": "no Inform",
         "seconds": 2.0, "error_kind": "DeviceError"},
    ]  # fmt: skip
    write_junit(tmp_path / "junit.xml", "a", results)
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    failed = suite.findall("testcase")[1]
    assert failed.get("name") == "test_y" and failed.find("failure") is not None
    assert failed.find("failure").get("message") == "no Inform"  # type: ignore[union-attr]


def test_knobs_are_for_every_unit_or_the_one_named(tmp_path: Path) -> None:
    inv = load_inventory(two_units(tmp_path / "inv.yaml"))
    run = BenchRun(
        inv, ["henb-a", "henb-b"], tmp_path / "out", "r", ["no_s1_setup", "henb-b:wrong_device_id"]
    )
    assert run.several and run.unit_names == ["henb-a", "henb-b"]
    assert run.knobs_for("henb-a") == ["no_s1_setup"]
    assert run.knobs_for("henb-b") == ["no_s1_setup", "wrong_device_id"]
    assert not BenchRun(inv, None, tmp_path / "out", "s").several  # no unit named: the first, as before


def test_cli_refuses_a_knob_for_a_unit_not_in_the_run(tmp_path: Path) -> None:
    inv = two_units(tmp_path / "inv.yaml")
    res = henb_bench("--inventory", str(inv), "run", "--unit", "henb-a", "--misbehave", "henb-b:no_s1_setup")
    assert res.returncode == 2 and "'henb-b' is not a unit of this run" in res.stderr


@pytest.mark.netns
@needs_root()
def test_two_units_concurrently_one_misbehaving_fails_alone(tmp_path: Path) -> None:
    """Both units run the discovery and registration plans at once; henb-b reports a wrong DeviceId (still
    attributed to it by its address): it fails, naming itself, and henb-a passes."""
    inv = two_units(tmp_path / "inv.yaml")
    out = tmp_path / "out"
    res = henb_bench(
        "--inventory", str(inv), "run", "--clause", "5.1.2.2", "--clause", "5.1.3", "--out", str(out),
        "--misbehave", "henb-b:wrong_device_id",
    )  # fmt: skip
    assert res.returncode == 1, res.stdout + res.stderr
    run_dir = next(out.iterdir())
    summary = json.loads((run_dir / "run.json").read_text())
    verdicts = {(r["unit"], r["test"]): r for r in summary["results"]}
    discovery = "test_discovery_via_initial_hems_in_private_network"
    assert verdicts[("henb-a", discovery)]["outcome"] == "passed"
    assert verdicts[("henb-b", discovery)]["outcome"] == "failed"
    assert "serial 'MOCKB001X'" in verdicts[("henb-b", discovery)]["message"]
    assert "unit henb-b: DeviceError" in res.stdout and "unit henb-a:" not in res.stdout
    assert summary["units"] == ["henb-a", "henb-b"]
    for unit in ("henb-a", "henb-b"):
        folder = run_dir / unit
        assert (folder / discovery / "outer.pcapng").is_file() and (folder / "report.html").is_file()
        mine = json.loads((folder / "run.json").read_text())
        assert {r["unit"] for r in mine["results"]} == {unit}
        lines = [json.loads(line) for line in (folder / "timeline.jsonl").read_text().splitlines()]
        assert {line.get("unit") for line in lines} <= {None, unit}
        suite = ET.parse(folder / "junit.xml").getroot().find("testsuite")
        assert suite is not None and (suite.get("failures") != "0") == (unit == "henb-b")
    assert (run_dir / "henb-b" / f"{discovery}.tar.gz").is_file()  # the failed unit's bundle


@pytest.mark.netns
@needs_root()
def test_public_units_each_meet_their_own_bad_hems_certificates(tmp_path: Path) -> None:
    """Three public units in 5.1.2.3's refusal test at once, each at its own pace: the Initial HeMS shows each
    unit its own sequence of bad certificates (chosen by the unit's address), so the two careful units pass, and
    henb-c, which accepts a certificate from an untrusted CA, fails alone, on the certificate it was shown."""
    inv = two_units(tmp_path / "inv.yaml", ("a", "b", "c"), initial_hems_access="public")
    out = tmp_path / "out"
    res = henb_bench(
        "--inventory", str(inv), "run", "--clause", "5.1.2.3", "--out", str(out),
        "--misbehave", "henb-c:accept_untrusted_hems_ca",
    )  # fmt: skip
    assert res.returncode == 1, res.stdout[-4000:] + res.stderr[-2000:]
    run_dir = next(out.iterdir())
    results = {
        r["unit"]: r
        for r in json.loads((run_dir / "run.json").read_text())["results"]
        if r["test"] == "test_refuses_initial_hems_it_must_not_trust"
    }
    assert {u: r["outcome"] for u, r in results.items()} == {
        "henb-a": "passed", "henb-b": "passed", "henb-c": "failed"
    }, results  # fmt: skip
    # Then each discovers through the Initial HeMS showing it the right certificate.
    assert "5 passed, 1 failed" in res.stdout, res.stdout[-3000:]
    assert "presenting a certificate from an untrusted CA" in results["henb-c"]["message"], results["henb-c"]
    for unit in ("henb-a", "henb-b"):
        lines = [json.loads(line) for line in (run_dir / unit / "timeline.jsonl").read_text().splitlines()]
        failed = [e for e in lines if e["kind"] == "tls-handshake-failed"]
        refused = [e["data"]["cert"] for e in failed]
        # Its own sequence, each certificate once but for a retry that came before the next went up.
        assert refused[:1] == ["untrusted-ca"] and set(refused) == {
            "untrusted-ca",
            "expired",
            "wrong-name",
        }, lines
        assert {e["unit"] for e in failed} == {unit}


@pytest.mark.netns
@needs_root()
def test_an_address_change_moves_only_the_unit_under_test(tmp_path: Path) -> None:
    inv = load_inventory(two_units(tmp_path / "inv.yaml"))
    run = BenchRun(inv, ["henb-a", "henb-b"], tmp_path / "out", "run")
    run.start()
    try:
        errors: list[BaseException] = []

        def register(name: str) -> None:
            try:
                run.units[name].transition(State.REGISTERED)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=register, args=(n,)) for n in run.unit_names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        a, b = run.units["henb-a"], run.units["henb-b"]
        segw = run.topology.segw["ssegw"]
        before = {s["remote_id"]: s for s in segw.sas() if s["state"] == "ESTABLISHED"}
        mark = run.timeline.mark()
        old, pool = segw.change_address(a.ike_id)
        ike = run.views["henb-a"].timeline.wait_for(
            lambda e: e.kind == "ike-up" and e.data.get("segw") == "ssegw",
            30,
            "henb-a back on its new pool",
            mark,
        )
        new = ike.data["remote_vips"][0]
        assert new != old and ipaddress.ip_address(new) in ipaddress.ip_network(pool)
        after = {s["remote_id"]: s for s in segw.sas() if s["state"] == "ESTABLISHED"}
        assert after[b.ike_id]["unique_id"] == before[b.ike_id]["unique_id"]
        assert after[b.ike_id]["remote_vips"] == before[b.ike_id]["remote_vips"]
        seen_by_b = run.views["henb-b"].timeline.events(mark)
        assert not [e for e in seen_by_b if e.source == "segw"], seen_by_b  # nothing happened to B's tunnel
        assert all(e.unit in (None, "henb-b") for e in seen_by_b)
        # A power cycle of A after its failure is A's alone.
        a.mark_broken("test")
        mark = run.timeline.mark()
        a.transition(State.OFF)
        powered = [e for e in run.timeline.events(mark) if e.source == "power" and e.kind == "power"]
        assert powered and {e.data["unit"] for e in powered} == {"henb-a"}
        assert b.state is State.REGISTERED
    finally:
        run.close()


def test_a_unit_inner_capture_keeps_only_its_addresses_known_when_it_stops(tmp_path: Path) -> None:
    """Addresses learnt after the unit's first packets (the SeGW reports an SA a little late) still count."""
    import socket
    import struct

    from bench.capture import LINKTYPE_ETHERNET, Capture, PcapngWriter, iter_ipv4

    def frame(src: str, dst: str) -> bytes:
        ip = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20, 0, 0, 64, 6, 0, socket.inet_aton(src), socket.inet_aton(dst)
        )
        return b"\x02" * 12 + b"\x08\x00" + ip

    learnt: set[str] = set()
    cap = Capture("ns", "ss-co", tmp_path / "inner.pcapng", "inner", hosts=lambda: set(learnt))
    writer = PcapngWriter(cap.path, LINKTYPE_ETHERNET, "ss-co")
    for src, dst in (
        ("10.182.1.6", "10.180.0.20"),
        ("10.182.1.7", "10.180.0.20"),
        ("10.180.0.20", "10.182.1.6"),
    ):
        writer.write(frame(src, dst), 1.0)
    writer.close()
    learnt.add("10.182.1.6")
    cap._keep_hosts()
    assert [(p.src, p.dst) for p in iter_ipv4(cap.path)] == [
        ("10.182.1.6", "10.180.0.20"),
        ("10.180.0.20", "10.182.1.6"),
    ]
    assert cap.count == 2


@pytest.mark.netns
@needs_root()
def test_each_unit_runs_only_its_discovery_variant(tmp_path: Path) -> None:
    """The default inventory's private henb-01 and public henb-02: each runs the discovery clause that fits it,
    the other is not applicable (not skipped: said once, with why). (Which unit gets ahead depends on the
    machine's timing, so the order is not asserted: under load henb-02's refusal could end first.)"""
    inv = write_inventory(tmp_path / "inv.yaml", FAST_BOUNDS, all_units=True)
    out = tmp_path / "out"
    res = henb_bench(
        "--inventory", str(inv), "run", "--clause", "5.1.2.2", "--clause", "5.1.2.3", "--clause", "5.1.3",
        "--out", str(out),
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    # 5.1.2.2 (henb-01), 5.1.2.3's two tests (henb-02), 5.1.3's three tests (registration, retry after a HeMS restart, impostor Serving SeGWs)
    # for each unit; its refused Serving HeMS skipped for each (http://, operator.serving_hems_tls false).
    assert "9 passed, 0 failed, 0 error(s), 2 skipped, 3 not applicable" in res.stdout, res.stdout[-3000:]
    assert res.stdout.count("SKIPPED") == res.stdout.count("SKIPPED henb-0") == 2, res.stdout[-3000:]
    assert res.stdout.count("test_refuses_serving_hems_it_must_not_trust") >= 2
    assert res.stdout.count("units.henb-01.initial_hems_access: private") == 1, res.stdout[-3000:]
    assert res.stdout.count("units.henb-02.initial_hems_access: public") == 1, res.stdout[-3000:]
    run_dir = next(out.iterdir())
    results = json.loads((run_dir / "run.json").read_text())["results"]
    na = {(r["unit"], r["clause"]) for r in results if r["outcome"] == "not-applicable"}
    assert na == {("henb-02", "5.1.2.2"), ("henb-01", "5.1.2.3")}, results
    assert {r["outcome"] for r in results} == {"passed", "not-applicable", "skipped"}
    assert {r["test"] for r in results if r["outcome"] == "skipped"} == {
        "test_refuses_serving_hems_it_must_not_trust"
    }
    # A unit's JUnit file holds what it ran; its report says what did not apply, and why.
    cases = ET.parse(run_dir / "henb-01" / "junit.xml").getroot().iter("testcase")
    assert {c.get("classname") for c in cases} == {"henb-01.5.1.2.2", "henb-01.5.1.3"}
    report = (run_dir / "henb-01" / "report.html").read_text()
    assert "Not applicable (not run)" in report and "NOT APPLICABLE" in report
    assert "not-applicable" in (run_dir / "report.html").read_text()

"""Nights of a small lab as run folders (factory.py), with answers known by construction: two FAP-200s and a
FAP-100 on two bench hosts, four FAP-200 firmwares; 5.3.2 step 2 breaks at 1.2 and stays broken; 5.1.2.2 step
6.3 failed once on 1.0 and was fixed; 5.4.2 step 1 is flaky on henb-01 at 1.1 on bench-2 only; the PDU of
bench-2 erred once; boot time creeps up by 0.5 s a night."""

from __future__ import annotations

from pathlib import Path

from tests.bench.history.factory import Test, UnitSpec, write_run

DAY = 86_400.0
T0 = 1_790_000_000.0
FIRMWARES = ["1.0", "1.0", "1.1", "1.1", "1.1", "1.2", "1.3"]  # night by night, the FAP-200s'


def _tests(night: int, firmware: str, unit: str, host: str) -> list[Test]:
    broken = firmware in ("1.2", "1.3")
    flaky_fails = unit == "henb-01" and host == "bench-2" and firmware == "1.1" and night == 3
    pdu = unit == "henb-02" and host == "bench-2" and night == 4
    return [
        Test("test_discovery_via_initial_hems_in_private_network", "5.1.2.2",
             "error" if pdu else "failed" if night == 0 else "passed", step="6.3"),
        Test("test_expedited_alarm_is_reported_at_once", "5.3.2", "failed" if broken else "passed", step="2"),
        Test("test_queued_alarm_waits_for_the_next_inform", "5.3.2", "passed"),
        Test("test_pm_files_uploaded_at_the_interval[ftp]", "5.4.2", "failed" if flaky_fails else "passed",
             step="1", why="a PM file within 2 s of the interval"),
    ]  # fmt: skip


def write_nights(root: Path) -> list[Path]:
    folders = []
    for night, firmware in enumerate(FIRMWARES):
        started = T0 + night * DAY
        for host, unit, serial in (("bench-1", "henb-01", "FAP0001"), ("bench-2", "henb-02", "FAP0002")):
            # henb-01 visits bench-2 on the nights 3 and 5 (the labgrid place it was in)
            if unit == "henb-01" and night in (3, 5):
                host = "bench-2"
            spec = UnitSpec(unit, serial, "FAP-200", firmware=firmware,
                            tests=_tests(night, firmware, unit, host),
                            measurements={"boot_time": 20.0 + 0.5 * night, "first_inform": 41.0})  # fmt: skip
            folders.append(
                write_run(root / host, f"2026010{night + 1}-0200{unit[-1]}", [spec], host, started)
            )
    # A FAP-100 with its own firmware, in one run of two units (the several-unit layout).
    for night in range(2):
        specs = [
            UnitSpec("fap100-a", "F100A", "FAP-100", firmware="7.0", tests=[Test("test_expedited_alarm_is_reported_at_once", "5.3.2")]),
            UnitSpec("fap100-b", "F100B", "FAP-100", firmware="7.0", tests=[Test("test_expedited_alarm_is_reported_at_once", "5.3.2")]),
        ]  # fmt: skip
        folders.append(
            write_run(root / "bench-3", f"2026010{night + 1}-030000", specs, "bench-3", T0 + night * DAY)
        )
    return folders

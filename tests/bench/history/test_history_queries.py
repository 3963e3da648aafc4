"""The morning's questions against SQLite and a real PostgreSQL server: the same queries, the same answers
(known by construction in nightly.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.errors import ConfigError
from bench.history import queries
from bench.history.importer import read_run_folder
from bench.history.queries import Cell, Filter
from bench.history.store import Store
from tests.bench.history.nightly import write_nights
from tests.bench.history.pgserver import PgServer


@pytest.fixture
def nights(tmp_path: Path, store: Store) -> Store:
    for folder in write_nights(tmp_path / "captures"):
        store.save(read_run_folder(folder))
    return store


def _cells(m: queries.Matrix, clause: str, step: str) -> dict[str, tuple[int, int, int]]:
    return {fw: (c.passed, c.failed, c.error) for fw, c in m.cells[(clause, step)].items()}


def test_the_matrix_is_clause_and_step_by_firmware_per_product_class(nights: Store) -> None:
    with nights.session() as s:
        found = queries.matrix(s)
    assert [m.product_class for m in found] == ["FAP-100", "FAP-200"]
    fap200 = found[1]
    assert fap200.firmwares == ["1.0", "1.1", "1.2", "1.3"]  # as the nights met them
    assert fap200.rows == [
        ("5.1.2.2", "1.1"),
        ("5.1.2.2", "2.1"),
        ("5.1.2.2", "6.3"),
        ("5.3.2", "2"),
        ("5.4.2", "1"),
    ]
    # Per run, a step's worst verdict over the clause's tests (5.3.2 has two; one broke at 1.2).
    assert _cells(fap200, "5.3.2", "2") == {
        "1.0": (4, 0, 0),
        "1.1": (6, 0, 0),
        "1.2": (0, 2, 0),
        "1.3": (0, 2, 0),
    }
    # The night-0 failure named step 6.3 only; the PDU's error (no step named) stands for every check.
    assert _cells(fap200, "5.1.2.2", "6.3") == {
        "1.0": (2, 2, 0),
        "1.1": (5, 0, 1),
        "1.2": (2, 0, 0),
        "1.3": (2, 0, 0),
    }
    assert _cells(fap200, "5.1.2.2", "1.1") == {
        "1.0": (2, 0, 0),
        "1.1": (5, 0, 1),
        "1.2": (2, 0, 0),
        "1.3": (2, 0, 0),
    }
    assert _cells(fap200, "5.4.2", "1")["1.1"] == (5, 1, 0)
    assert found[0].firmwares == ["7.0"]
    assert _cells(found[0], "5.3.2", "2") == {"7.0": (4, 0, 0)}


def test_the_matrix_of_one_unit_by_name_or_serial(nights: Store) -> None:
    with nights.session() as s:
        by_name, by_serial = (
            queries.matrix(s, Filter(unit="henb-01")),
            queries.matrix(s, Filter(unit="FAP0001")),
        )
        by_class = queries.matrix(s, Filter(product_class="FAP-100"))
        newest = queries.matrix(s, Filter(product_class="FAP-200", last=4))
    assert by_name == by_serial
    assert _cells(by_name[0], "5.3.2", "2") == {
        "1.0": (2, 0, 0),
        "1.1": (3, 0, 0),
        "1.2": (0, 1, 0),
        "1.3": (0, 1, 0),
    }
    assert [m.product_class for m in by_class] == ["FAP-100"]
    assert newest[0].firmwares == ["1.2", "1.3"]  # the newest 4 unit runs: two nights of two units


def test_first_failure_names_the_firmware_that_broke_the_step(nights: Store) -> None:
    with nights.session() as s:
        found = queries.first_failures(s, Filter(product_class="FAP-200"))
        none = queries.first_failures(s, Filter(product_class="FAP-100"))
    assert [(f.clause, f.step, f.first_failed, f.last_passed, f.failed_since) for f in found] == [
        ("5.3.2", "2", "1.2", "1.1", 2)
    ]
    assert found[0].message.startswith("TS 32.593 5.3.2 step 2: expected the alarm in an Inform")
    assert none == []


def test_flaky_steps_by_unit_and_firmware_with_hosts_and_bench_errors_apart(nights: Store) -> None:
    with nights.session() as s:
        found = queries.flaky(s)
    rows = [
        (f.kind, f.clause, f.step, f.serial, f.firmware, (f.total.passed, f.total.failed, f.total.error))
        for f in found
    ]
    assert rows == [
        ("unit", "5.1.2.2", "6.3", "FAP0001", "1.0", (1, 1, 0)),
        ("unit", "5.1.2.2", "6.3", "FAP0002", "1.0", (1, 1, 0)),
        ("unit", "5.4.2", "1", "FAP0001", "1.1", (2, 1, 0)),
        ("bench", "5.1.2.2", "1.1", "FAP0002", "1.1", (2, 0, 1)),
        ("bench", "5.1.2.2", "2.1", "FAP0002", "1.1", (2, 0, 1)),
        ("bench", "5.1.2.2", "6.3", "FAP0002", "1.1", (2, 0, 1)),
    ]
    # 5.4.2 is flaky on henb-01 only where it ran on bench-2: the host, not the unit.
    assert found[2].hosts == {"bench-1": Cell(2, 0, 0), "bench-2": Cell(0, 1, 0)}


def test_trend_of_a_measurement_over_the_newest_runs(nights: Store) -> None:
    with nights.session() as s:
        boot = queries.trend(s, "boot_time", Filter(unit="henb-01"))
        last3 = queries.trend(s, "boot_time", Filter(unit="henb-01", last=3))
        with pytest.raises(
            ConfigError, match="boot_tme: no such measurement stored; stored: boot_time, first_inform"
        ):
            queries.trend(s, "boot_tme")
    assert [p.value for p in boot.points] == [20.0, 20.5, 21.0, 21.5, 22.0, 22.5, 23.0]
    assert [p.firmware for p in boot.points] == FIRMWARES
    assert boot.creep == 2.0
    assert [p.value for p in last3.points] == [22.0, 22.5, 23.0]


FIRMWARES = ["1.0", "1.0", "1.1", "1.1", "1.1", "1.2", "1.3"]


def test_diff_says_what_changed_between_two_runs(nights: Store) -> None:
    with nights.session() as s:
        d = queries.diff(s, "20260105-02001", "20260106-02001", tolerance=0)
        same = queries.diff(s, "20260106-02001", "20260107-02001")  # the same failure, another run folder
        with pytest.raises(ConfigError, match="no stored run 'nope'"):
            queries.diff(s, "nope", "20260106-02001")
    changes = [(c.what, c.name, c.before, c.after) for c in d.changes]
    assert ("unit", "SoftwareVersion", "1.1", "1.2") in changes
    assert ("test", "test_expedited_alarm_is_reported_at_once", "passed", "failed") in changes
    assert ("measurement", "boot_time", "22", "22.5") in changes
    assert ("test", "test_discovery_via_initial_hems_in_private_network", "passed", "passed") not in changes
    # Boot time 22.5 -> 23 s is within the default 10 %: a run's noise, not a change; 20 -> 23 s is one.
    assert [(c.what, c.name) for c in same.changes] == [("unit", "SoftwareVersion")]
    with nights.session() as s:
        far = queries.diff(s, "20260101-02001", "20260107-02001")
    assert ("measurement", "boot_time", "20", "23") in [
        (c.what, c.name, c.before, c.after) for c in far.changes
    ]


def test_diff_of_a_run_id_two_hosts_have_asks_which(tmp_path: Path, store: Store) -> None:
    from tests.bench.history.factory import UnitSpec, write_run

    for host in ("bench-1", "bench-2"):
        store.save(read_run_folder(write_run(tmp_path / host, "20260101-020000", [UnitSpec()], host)))
    with (
        store.session() as s,
        pytest.raises(ConfigError, match="ambiguous: give one of .*@bench-1@.*@bench-2@"),
    ):
        queries.diff(s, "20260101-020000", "20260101-020000@bench-2")
    with store.session() as s:
        assert queries.diff(s, "20260101-020000@bench-1", "20260101-020000@bench-2").changes == []


def test_sqlite_and_postgresql_give_the_same_answers(tmp_path: Path, pg_server: PgServer) -> None:
    folders = write_nights(tmp_path / "captures")
    answers = []
    for url in (f"sqlite:///{tmp_path / 'h.sqlite'}", pg_server.create_database("same_answers")):
        store = Store(url)
        try:
            for folder in folders:
                store.save(read_run_folder(folder))
            with store.session() as s:
                answers.append(
                    (
                        queries.matrix(s),
                        queries.first_failures(s),
                        queries.flaky(s),
                        queries.trend(s, "boot_time"),
                        queries.diff(s, "20260101-02001", "20260107-02002"),
                        [row[:-1] for row in queries.recent_runs(s, Filter(last=50))],
                    )
                )
        finally:
            store.close()
    assert answers[0] == answers[1]

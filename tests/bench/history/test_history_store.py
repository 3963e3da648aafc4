"""The store on SQLite and PostgreSQL: the migrations make the models' schema, a run recorded twice is one run,
a run goes in whole or not at all, no secret goes in, and a database that cannot be reached is said so."""

from __future__ import annotations

import glob
import sqlite3
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import MetaData, func, select, text
from sqlalchemy.exc import OperationalError

import bench.history.store as store_module
from bench.errors import ConfigError, InfraError
from bench.history import quick
from bench.history.importer import read_run_folder
from bench.history.models import Base, Run, StepResult, TestResult
from bench.history.records import RunRecord
from bench.history.store import MIGRATIONS, Store, history_url, shown
from tests.bench.history.factory import Test, UnitSpec, write_run

ROOT = Path(__file__).resolve().parents[3]
ALARM = "test_expedited_alarm_is_reported_at_once"


def _count(store: Store, table: type[Base]) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def test_the_migrations_make_the_schema_the_models_declare(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        tables = MetaData()
        tables.reflect(conn)
    assert {"runs", "units", "unit_runs", "tests", "steps", "measurements", "alembic_version"} == set(
        tables.tables
    )


def test_the_head_the_store_knows_is_alembics(tmp_path: Path) -> None:
    """Store.HEAD is the newest migration (a new one updates it); a database not at it is Alembic's to upgrade."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == store_module.HEAD
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    Store(url).close()
    old = Store(url)
    with old.engine.begin() as conn:  # its tables, and no revision recorded
        conn.execute(text("DELETE FROM alembic_version"))
    old.close()
    # Not taken for the head: Alembic is asked, and its first migration finds the tables there.
    with pytest.raises(InfraError, match="table runs already exists"):
        Store(url)


def test_the_migration_scripts_are_package_data() -> None:
    """An installed henb-bench (not an editable checkout) has every migration script."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["bench"]
    shipped = {Path(p) for pattern in data for p in glob.glob(str(ROOT / "bench" / pattern))}
    scripts = {p for p in MIGRATIONS.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert scripts and scripts <= shipped, sorted(map(str, scripts - shipped))


def test_a_run_recorded_twice_is_one_run(tmp_path: Path, store: Store) -> None:
    folder = write_run(tmp_path, "r1", [UnitSpec(tests=[Test(ALARM, "5.3.2", "failed", "2")])])
    assert store.save(read_run_folder(folder)) == "stored"
    record = read_run_folder(folder)
    record.exit_code = 1  # the end of `henb-bench run` knows it; an import before it did not
    assert store.save(record) == "replaced"
    assert (_count(store, Run), _count(store, TestResult), _count(store, StepResult)) == (1, 1, 1)
    with store.session() as s:
        assert s.scalar(select(Run.exit_code)) == 1
    # The same run id on another bench host, or started at another time, is another run.
    store.save(read_run_folder(write_run(tmp_path / "b2", "r1", [UnitSpec()], host="bench-2")))
    assert _count(store, Run) == 2


def test_a_run_goes_in_whole_or_not_at_all(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_run(tmp_path, "r1", [UnitSpec(tests=[Test(ALARM, "5.3.2")])])
    store.save(read_run_folder(folder))
    real = store_module._insert

    def half(session: object, record: object) -> None:
        real(session, record)  # type: ignore[arg-type]
        raise OperationalError("INSERT", {}, Exception("the server went away"))

    monkeypatch.setattr(store_module, "_insert", half)
    record = read_run_folder(folder)
    record.exit_code = 3
    with pytest.raises(InfraError, match="the server went away"):
        store.save(record)
    with store.session() as s:  # the replaced run is still there, as it was
        assert s.execute(select(Run.run_id, Run.exit_code)).all() == [("r1", None)]
    assert _count(store, TestResult) == 1


def test_no_inventory_secret_goes_in(tmp_path: Path, store: Store) -> None:
    from bench.inventory import parse_inventory
    from bench.report.redact import redactor_for
    from tests.bench.report.fakerun import COMMUNITY, HEMS_PASSWORD, SHELL_PASSWORD, inventory_data

    why = f"login with {SHELL_PASSWORD}, HeMS {HEMS_PASSWORD}"
    folder = write_run(tmp_path, "r1", [UnitSpec(tests=[Test(ALARM, "5.3.2", "failed", "2", why=why)])])
    inv = parse_inventory(inventory_data(), tmp_path / "inv.yaml")
    store.save(read_run_folder(folder, redactor_for(inv, [HEMS_PASSWORD]).text))
    with store.engine.connect() as conn:
        every = [
            row
            for table in Base.metadata.sorted_tables
            for row in conn.execute(text(f"SELECT * FROM {table.name}"))
        ]
    dump = repr(every)
    assert "login with [redacted]" in dump
    for secret in (SHELL_PASSWORD, HEMS_PASSWORD):
        assert secret not in dump
    assert f"'{COMMUNITY}'" not in dump


def test_a_database_that_cannot_be_reached_is_an_infra_error_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://bench:s3cret-db-pw@/henb?host={tmp_path}&port=1"
    with pytest.raises(InfraError) as exc:
        Store(url)
    assert "cannot be reached" in str(exc.value) and "s3cret-db-pw" not in str(exc.value)
    assert "***" in shown(url)
    with pytest.raises(ConfigError, match="expected sqlite:///FILE or postgresql"):
        Store("mysql://x@y/z")
    with pytest.raises(ConfigError, match="no results history at"):
        Store(f"sqlite:///{tmp_path / 'none.sqlite'}", create=False)


def test_where_the_history_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HENB_BENCH_HISTORY_URL", raising=False)
    assert history_url(None, tmp_path) == f"sqlite:///{tmp_path}/history.sqlite"
    assert history_url("postgresql+psycopg://db/h", tmp_path) == "postgresql+psycopg://db/h"
    monkeypatch.setenv("HENB_BENCH_HISTORY_URL", "sqlite:////x.sqlite")
    assert history_url("postgresql+psycopg://db/h", tmp_path) == "sqlite:////x.sqlite"


def test_the_inventorys_history_url_is_checked_and_named(tmp_path: Path) -> None:
    from bench.inventory import parse_inventory
    from tests.bench.report.fakerun import inventory_data

    good = parse_inventory(
        inventory_data() | {"history": {"url": "postgresql+psycopg://bench@db/henb"}}, tmp_path / "i.yaml"
    )
    assert good.history.url == "postgresql+psycopg://bench@db/henb"
    assert parse_inventory(inventory_data(), tmp_path / "i.yaml").history.url is None
    with pytest.raises(ConfigError, match=r"history\.url: found 'mysql://x'; expected a database URL"):
        parse_inventory(inventory_data() | {"history": {"url": "mysql://x"}}, tmp_path / "i.yaml")
    with pytest.raises(ConfigError, match=r"history\.uri"):
        parse_inventory(inventory_data() | {"history": {"uri": "sqlite:///x"}}, tmp_path / "i.yaml")


def test_benches_opening_a_new_database_at_once_migrate_it_once(pg_server: object, tmp_path: Path) -> None:
    """Nightly jobs on several hosts end together: each opens the shared store; one creates the schema while
    the others wait for it (without the lock, they block each other creating the same tables). Each bench is a
    process of its own, killed when it has not opened the store within a minute."""
    import subprocess
    import sys
    import time

    from tests.bench.history.pgserver import PgServer

    assert isinstance(pg_server, PgServer)
    url = pg_server.create_database("together")
    go = tmp_path / "go"  # all four open the store at once, once each has imported the bench
    code = (
        "import os, time\nfrom bench.history.store import Store\n"
        f"while not os.path.exists({str(go)!r}):\n    time.sleep(0.005)\nStore({url!r}).close()\nprint('ok')"
    )
    benches = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    time.sleep(3)
    go.touch()
    outcome = []
    for bench in benches:
        try:
            out, _ = bench.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            bench.kill()
            out = "did not open the store within 60 s: " + bench.communicate()[0][-300:]
        outcome.append(out.strip().splitlines()[-1] if out.strip() else f"exit {bench.returncode}")
    assert outcome == ["ok"] * 4, outcome


# bench/history/quick.py: the record `henb-bench run` makes into a SQLite history already at the newest migration,
# with the standard library's sqlite3: the same rows as the store's.
def _rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    s = Store(url, create=False)
    try:
        with s.engine.connect() as conn:
            return {
                t.name: list(conn.execute(text(f"SELECT * FROM {t.name} ORDER BY id")))
                for t in Base.metadata.sorted_tables
            }
    finally:
        s.close()


def _runs(tmp_path: Path) -> list[RunRecord]:
    """Two runs of two units (the second again of one of them), then the first again: a unit found, a unit new,
    a run replaced with its units' tests, steps and measurements."""
    two = [UnitSpec(tests=[Test(ALARM, "5.3.2", "failed", "2"), Test("test_pm", "5.4.2"), Test("t_err", "5.4.2", "error")]),
           UnitSpec(name="henb-02", serial="FAP0002", firmware=None, tests=[Test("test_disc", "5.1.2.2")])]  # fmt: skip
    first = read_run_folder(write_run(tmp_path / "a", "r1", two, exit_code=1))
    second = read_run_folder(write_run(tmp_path / "b", "r2", [UnitSpec(serial="FAP0003", measurements={}),
                                                               UnitSpec(name="henb-02", serial="FAP0002")]))  # fmt: skip
    again = read_run_folder(write_run(tmp_path / "c", "r1", two[:1]))
    again.exit_code, again.interrupted = 3, "SIGTERM"
    return [first, second, again]


def test_the_quick_record_writes_the_stores_rows(tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path / name}" for name in ("store.sqlite", "quick.sqlite")]
    for url in urls:
        Store(url).close()  # new and migrated: the store's to do
    answers: list[list[str | None]] = [[], []]
    for record in _runs(tmp_path):
        s = Store(urls[0])
        answers[0].append(s.save(record))
        s.close()
        answers[1].append(quick.save(urls[1], record))
    assert answers[0] == answers[1] == ["stored", "stored", "replaced"]
    assert _rows(urls[1]) == _rows(urls[0])
    assert len(_rows(urls[1])["steps"]) > 1 and len(_rows(urls[1])["units"]) == 3


def test_the_quick_record_leaves_to_the_store_what_is_not_a_sqlite_file_at_the_head(tmp_path: Path) -> None:
    record = _runs(tmp_path)[0]
    new = tmp_path / "new.sqlite"
    assert quick.save(f"sqlite:///{new}", record) is None and not new.exists()  # the store creates it
    for url in ("sqlite://", "sqlite:///:memory:", f"sqlite:///{new}?timeout=3", "postgresql+psycopg://db/h"):
        assert quick.save(url, record) is None
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    Store(url).close()
    old = Store(url)
    with old.engine.begin() as conn:  # an older schema: Alembic's to upgrade
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    old.close()
    assert quick.save(url, record) is None
    assert shown(f"sqlite:///{new}") == f"sqlite:///{new}"  # what the run prints after a quick record


def test_a_quick_record_goes_in_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    Store(url).close()
    first, _, again = _runs(tmp_path)
    assert quick.save(url, first) == "stored"
    before = _rows(url)
    real = quick._insert

    def failing(db: sqlite3.Connection, table: str, row: dict[str, object]) -> int:
        if table == "tests" and row["test"] == "t_err":  # after the run, its units and the first tests
            raise sqlite3.OperationalError("disk I/O error")
        return real(db, table, row)

    monkeypatch.setattr(quick, "_insert", failing)
    with pytest.raises(InfraError, match="disk I/O error"):
        quick.save(url, first)
    assert _rows(url) == before
    assert again.units  # and the database is not left locked: the next run goes in
    monkeypatch.setattr(quick, "_insert", real)
    assert quick.save(url, again) == "replaced"

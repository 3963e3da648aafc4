"""Where the history is, and the record a run makes at its end written into a SQLite history with the standard
library's sqlite3: the store (bench/history/store.py) costs SQLAlchemy's import and its models' mapping, about a
third of a second of CPU, at the end of every run. Only a SQLite file already at the newest migration is written
here (`save` answers None for anything else, and the store creates, migrates or writes it); the rows are the
store's (`Store.save`, tests/bench/history/test_history_store.py holds the two to the same rows), the schema the
models' (bench/history/models.py) as the migrations made it."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from bench.errors import InfraError
from bench.history.records import RunRecord

ENV_URL = "HENB_BENCH_HISTORY_URL"
DEFAULT_FILE = "history.sqlite"
# The newest migration's revision (tests/bench/history/test_history_store.py holds it to Alembic's head): a
# database already there is written or opened without importing Alembic.
HEAD = "0001"
SQLITE = "sqlite:///"


def history_url(inventory_url: str | None, state_dir: Path) -> str:
    """Where the history is: $HENB_BENCH_HISTORY_URL, else the inventory's history.url, else a SQLite file in
    the bench's state dir (one store per bench host, whatever checkout or --out a run used)."""
    return os.environ.get(ENV_URL) or inventory_url or f"{SQLITE}{state_dir / DEFAULT_FILE}"


def sqlite_file(url: str) -> Path | None:
    """The file of a plain `sqlite:///FILE` URL (no query, no escapes: SQLAlchemy would read those its way);
    None for any other URL."""
    if not url.startswith(SQLITE) or any(c in url for c in "?%#"):
        return None
    name = url.removeprefix(SQLITE)
    return Path(name) if name not in ("", ":memory:") else None


def save(url: str, record: RunRecord) -> str | None:
    """Store one run in one transaction as `Store.save` does ("stored", or "replaced" when its key was stored
    before); None, having written nothing, when the URL is not a SQLite file already at the newest migration."""
    path = sqlite_file(url)
    if path is None or not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=30, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        try:
            if [r[0] for r in db.execute("SELECT version_num FROM alembic_version")] != [HEAD]:
                return None
        except sqlite3.Error:  # no alembic_version: not made by the migrations
            return None
        try:
            db.execute("PRAGMA foreign_keys=ON")  # ON DELETE CASCADE when a run is replaced
            # the write lock at once: another run's end is waited for (timeout), never a deadlock on upgrading
            db.execute("BEGIN IMMEDIATE")
            try:
                done = _save(db, record)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InfraError(f"history database {url}: {reason}") from None
        return done
    finally:
        db.close()


def _insert(db: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
    cur = db.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))  # noqa: S608  # fmt: skip
    assert cur.lastrowid is not None
    return cur.lastrowid


def _save(db: sqlite3.Connection, r: RunRecord) -> str:
    old = db.execute("SELECT id FROM runs WHERE key = ?", (r.key,)).fetchone()
    if old is not None:
        db.execute("DELETE FROM runs WHERE id = ?", (old[0],))
    run_id = _insert(db, "runs", dict(
        key=r.key, run_id=r.run_id, host=r.host, bench=r.bench, revision=r.revision, tool_version=r.tool_version,
        inventory_sha256=r.inventory_sha256, place=r.place, started=r.started, ended=r.ended,
        exit_code=r.exit_code, interrupted=r.interrupted, folder=r.folder,
    ))  # fmt: skip
    for u in r.units:
        found = db.execute(
            "SELECT id FROM units WHERE oui = ? AND product_class = ? AND serial = ?",
            (u.oui, u.product_class, u.serial),
        ).fetchone()
        unit_id = found[0] if found else _insert(db, "units", dict(oui=u.oui, product_class=u.product_class, serial=u.serial))  # fmt: skip
        unit_run = _insert(db, "unit_runs", dict(run_id=run_id, unit_id=unit_id, name=u.name,
                                                 hardware_version=u.hardware_version,
                                                 software_version=u.software_version))  # fmt: skip
        for name, value in u.measurements.items():
            _insert(db, "measurements", dict(unit_run_id=unit_run, name=name, value=value))
        for t in u.tests:
            test_id = _insert(db, "tests", dict(unit_run_id=unit_run, test=t.test, clause=t.clause,
                                                outcome=t.outcome, message=t.message, error_kind=t.error_kind,
                                                seconds=t.seconds))  # fmt: skip
            db.executemany(
                "INSERT INTO steps (test_id, unit_run_id, clause, step, verdict, message, error_kind)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(test_id, unit_run, s.clause, s.step, s.verdict, s.message, s.error_kind) for s in t.steps],
            )
    return "replaced" if old is not None else "stored"

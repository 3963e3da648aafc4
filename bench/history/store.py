"""The results store: a database by URL (SQLite file by default, PostgreSQL for a lab's shared store), brought
to the newest schema by the shipped Alembic migrations, and written one run per transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, delete, event, insert, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from bench.errors import ConfigError, InfraError
from bench.history.models import Measurement, Run, StepResult, TestResult, Unit, UnitRun
from bench.history.quick import DEFAULT_FILE, ENV_URL, HEAD, history_url
from bench.history.records import RunRecord

__all__ = ["DEFAULT_FILE", "ENV_URL", "HEAD", "MIGRATIONS", "Store", "history_url", "shown"]
MIGRATIONS = Path(__file__).with_name("migrations")
# A database already at HEAD (bench.history.quick) is opened without importing Alembic (a third of a second of
# CPU).


def shown(url: str) -> str:
    """The URL as it may be printed: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


class Store:
    """An open history database at the newest schema."""

    def __init__(self, url: str, create: bool = True) -> None:
        self.url = url
        self.shown = shown(url)
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ConfigError(f"history URL {url!r}: {exc}") from None
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise ConfigError(
                f"history URL {self.shown}: expected sqlite:///FILE or postgresql+psycopg://..."
            )
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3, not psycopg2
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            path = Path(parsed.database or "")
            if not create and not path.is_file():
                raise ConfigError(
                    f"no results history at {path} (`henb-bench history import RUN_DIR` fills it)"
                )
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InfraError(f"history database {self.shown}: {exc}") from None
        self.engine: Engine = create_engine(parsed, connect_args=_connect_args(parsed.get_backend_name()))
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            self._migrate()
        except SQLAlchemyError as exc:
            self.engine.dispose()
            what = "cannot be reached" if isinstance(exc, OperationalError) else "cannot be migrated"
            raise InfraError(f"history database {self.shown} {what}: {_reason(exc)}") from None

    def _migrate(self) -> None:
        """Upgrade to the newest migration, unless already there (a cheap read on every open)."""
        with self.engine.begin() as conn:
            if (
                conn.dialect.name == "postgresql"
            ):  # benches that end a run at once: one migrates, the rest wait
                conn.execute(text("SELECT pg_advisory_xact_lock(3259323)"))
            if _revisions(conn) == [HEAD]:
                return
            from alembic import command
            from alembic.config import Config

            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def session(self) -> Iterator[Session]:
        try:
            with Session(self.engine) as session:
                yield session
        except SQLAlchemyError as exc:
            raise InfraError(f"history database {self.shown}: {_reason(exc)}") from None

    def save(self, record: RunRecord) -> str:
        """Store one run in one transaction: "stored", or "replaced" when its key was stored before (a run
        recorded twice is one run; the newer record wins)."""
        try:
            with Session(self.engine) as session, session.begin():
                old = session.scalar(select(Run.id).where(Run.key == record.key))
                if old is not None:
                    session.execute(delete(Run).where(Run.id == old))
                _insert(session, record)
        except SQLAlchemyError as exc:
            raise InfraError(f"history database {self.shown}: {_reason(exc)}") from None
        return "replaced" if old is not None else "stored"

    def close(self) -> None:
        self.engine.dispose()


def _revisions(conn: Connection) -> list[str]:
    """The revisions Alembic recorded in the database (none in a new one)."""
    if not inspect(conn).has_table("alembic_version"):
        return []
    return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _connect_args(backend: str) -> dict[str, Any]:
    # A lab's shared server that does not answer must not hold the end of a run for minutes.
    return {"connect_timeout": 10} if backend == "postgresql" else {"timeout": 30}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # ON DELETE CASCADE when a run is replaced
    cursor.close()


def _reason(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _unit(session: Session, oui: str, product_class: str, serial: str) -> Unit:
    found = session.scalar(
        select(Unit).where(Unit.oui == oui, Unit.product_class == product_class, Unit.serial == serial)
    )
    if found is None:
        found = Unit(oui=oui, product_class=product_class, serial=serial)
        session.add(found)
        session.flush()
    return found


def _insert(session: Session, r: RunRecord) -> None:
    """The run's rows: runs and unit_runs one by one, tests and steps in batches (a run has hundreds)."""
    run = Run(
        key=r.key, run_id=r.run_id, host=r.host, bench=r.bench, revision=r.revision, tool_version=r.tool_version,
        inventory_sha256=r.inventory_sha256, place=r.place, started=r.started, ended=r.ended,
        exit_code=r.exit_code, interrupted=r.interrupted, folder=r.folder,
    )  # fmt: skip
    session.add(run)
    session.flush()
    for u in r.units:
        unit_run = UnitRun(
            run_id=run.id,
            unit_id=_unit(session, u.oui, u.product_class, u.serial).id,
            name=u.name,
            hardware_version=u.hardware_version,
            software_version=u.software_version,
        )
        session.add(unit_run)
        session.flush()
        if u.measurements:
            session.execute(
                insert(Measurement),
                [{"unit_run_id": unit_run.id, "name": k, "value": v} for k, v in u.measurements.items()],
            )
        if not u.tests:
            continue
        rows = [
            {"unit_run_id": unit_run.id, "test": t.test, "clause": t.clause, "outcome": t.outcome,
             "message": t.message, "error_kind": t.error_kind, "seconds": t.seconds}
            for t in u.tests
        ]  # fmt: skip
        ids = session.scalars(
            insert(TestResult).returning(TestResult.id, sort_by_parameter_order=True), rows
        ).all()
        steps = [
            {"test_id": test_id, "unit_run_id": unit_run.id, "clause": s.clause, "step": s.step,
             "verdict": s.verdict, "message": s.message, "error_kind": s.error_kind}
            for test_id, t in zip(ids, u.tests, strict=True)
            for s in t.steps
        ]  # fmt: skip
        if steps:
            session.execute(insert(StepResult), steps)

"""The history's tables (SQLAlchemy 2): a run, each unit's part of it, each test's and step's verdict, and the
measurements. One schema for SQLite and PostgreSQL; Alembic migrations (bench/history/migrations) create it."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Run(Base):
    """One run folder: `key` (run id, bench host, start time) makes a run recorded twice one run."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    run_id: Mapped[str] = mapped_column(String(100), index=True)
    host: Mapped[str] = mapped_column(String(200))
    bench: Mapped[str | None] = mapped_column(String(100))
    revision: Mapped[str | None] = mapped_column(String(100))
    tool_version: Mapped[str | None] = mapped_column(String(50))
    inventory_sha256: Mapped[str | None] = mapped_column(String(64))
    place: Mapped[str | None] = mapped_column(String(200))
    started: Mapped[float] = mapped_column(Float, index=True)
    ended: Mapped[float | None] = mapped_column(Float)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    interrupted: Mapped[str | None] = mapped_column(String(100))
    folder: Mapped[str | None] = mapped_column(Text)


class Unit(Base):
    """A unit as it identifies itself (OUI, ProductClass, SerialNumber from its Inform, else the inventory's)."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("oui", "product_class", "serial"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    oui: Mapped[str] = mapped_column(String(20))
    product_class: Mapped[str] = mapped_column(String(100), index=True)
    serial: Mapped[str] = mapped_column(String(100))


class UnitRun(Base):
    """A unit's part of a run: its inventory name there and the firmware it reported in its Inform."""

    __tablename__ = "unit_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    hardware_version: Mapped[str | None] = mapped_column(String(100))
    software_version: Mapped[str | None] = mapped_column(String(100), index=True)


class TestResult(Base):
    """One test on one unit: outcome (passed, failed, error, skipped, not-applicable), message, error kind."""

    __tablename__ = "tests"
    __test__ = False  # pytest: not a test class
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_run_id: Mapped[int] = mapped_column(ForeignKey("unit_runs.id", ondelete="CASCADE"), index=True)
    test: Mapped[str] = mapped_column(String(300))
    clause: Mapped[str | None] = mapped_column(String(30))
    outcome: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    error_kind: Mapped[str | None] = mapped_column(String(100))
    seconds: Mapped[float | None] = mapped_column(Float)


class StepResult(Base):
    """A spec step's verdict within a test: `passed`, `failed` (the unit's fault) or `error` (the bench's)."""

    __tablename__ = "steps"
    __table_args__ = (Index("ix_steps_clause_step", "clause", "step"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    test_id: Mapped[int] = mapped_column(ForeignKey("tests.id", ondelete="CASCADE"), index=True)
    unit_run_id: Mapped[int] = mapped_column(ForeignKey("unit_runs.id", ondelete="CASCADE"), index=True)
    clause: Mapped[str] = mapped_column(String(30))
    step: Mapped[str] = mapped_column(String(30))
    verdict: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    error_kind: Mapped[str | None] = mapped_column(String(100))


class Measurement(Base):
    """A figure from run.json's measurements (boot time, time to first Inform, IKE setup, ...), in seconds."""

    __tablename__ = "measurements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_run_id: Mapped[int] = mapped_column(ForeignKey("unit_runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    value: Mapped[float] = mapped_column(Float)

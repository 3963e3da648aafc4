"""The morning's questions as queries, the same SQL on SQLite and PostgreSQL: a matrix of clause/step by
firmware, the first firmware each step failed at (and failed since), flaky steps, a measurement's trend, and
what changed between two runs. Firmware is ordered by when the store first saw it, as a nightly meets it."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from bench.errors import ConfigError
from bench.history.models import Measurement, Run, StepResult, TestResult, Unit, UnitRun

UNKNOWN_FIRMWARE = "?"  # the unit never reported a SoftwareVersion (no Inform)
VERDICTS = ("passed", "error", "failed")  # by rank: in one run, a step's worst verdict over its tests


@dataclass(frozen=True)
class Filter:
    """Which unit runs a query looks at: a unit (inventory name or serial), a product class, a bench host,
    a clause; `last`: only the newest N runs."""

    unit: str | None = None
    product_class: str | None = None
    host: str | None = None
    clause: str | None = None
    last: int | None = None


@dataclass
class Cell:
    passed: int = 0
    failed: int = 0
    error: int = 0

    def add(self, verdict: str, n: int) -> None:
        setattr(self, verdict, getattr(self, verdict) + n)

    @property
    def runs(self) -> int:
        return self.passed + self.failed + self.error


@dataclass
class Matrix:
    """One product class: rows (clause, step), columns the firmwares in the order they were first seen."""

    product_class: str
    firmwares: list[str]
    cells: dict[tuple[str, str], dict[str, Cell]]

    @property
    def rows(self) -> list[tuple[str, str]]:
        return sorted(self.cells, key=lambda r: (_clause_key(r[0]), _step_key(r[1])))


@dataclass
class FirstFailure:
    product_class: str
    clause: str
    step: str
    first_failed: str
    last_passed: str | None  # None: it never passed on a firmware this store has
    failed_since: int  # firmwares it has failed on from first_failed to the newest
    message: str = ""


@dataclass
class Flaky:
    product_class: str
    serial: str
    firmware: str
    clause: str
    step: str
    total: Cell
    hosts: dict[str, Cell]

    @property
    def kind(self) -> str:
        """unit: passed and failed (the unit's fault) on the same firmware; bench: passes beside bench errors."""
        return "unit" if self.total.passed and self.total.failed else "bench"


@dataclass
class TrendPoint:
    started: float
    run_id: str
    host: str
    unit: str
    firmware: str
    value: float


@dataclass
class Trend:
    measurement: str
    points: list[TrendPoint]
    product_class: str | None = None  # the runs of one product class, or of every one

    @property
    def creep(self) -> float | None:
        """The newer half's median less the older half's (seconds); None with fewer than 4 points."""
        values = [p.value for p in self.points]
        if len(values) < 4:
            return None
        half = len(values) // 2
        return round(statistics.median(values[-half:]) - statistics.median(values[:half]), 3)


@dataclass
class Change:
    what: str  # test, measurement, unit
    name: str
    before: str
    after: str


@dataclass
class Diff:
    run_a: str
    run_b: str
    tolerance: float  # percent: a measurement's change within it is a run's noise, not a change
    changes: list[Change] = field(default_factory=list)


def _clause_key(clause: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in clause.split("."))


def _step_key(step: str) -> tuple[int, str]:
    head = re.match(r"\d+", step)
    return (int(head.group()) if head else 10**6, step)


def _rank() -> Any:
    return case((StepResult.verdict == "failed", 2), (StepResult.verdict == "error", 1), else_=0)


def _scoped(stmt: Any, f: Filter, session: Session) -> Any:
    if f.unit:
        stmt = stmt.where(or_(UnitRun.name == f.unit, Unit.serial == f.unit))
    if f.product_class:
        stmt = stmt.where(Unit.product_class == f.product_class)
    if f.host:
        stmt = stmt.where(Run.host == f.host)
    if f.last:
        newest = _scoped(select(Run.started), Filter(f.unit, f.product_class, f.host), session)
        newest = newest.join_from(Run, UnitRun).join(Unit).order_by(Run.started.desc()).limit(f.last)
        cutoff = session.scalars(newest).all()
        stmt = stmt.where(Run.started >= (cutoff[-1] if cutoff else 0))
    return stmt


def _per_run_steps(session: Session, f: Filter) -> Any:
    """Each unit run's verdict per step (its worst over the run's tests), with what the queries group by."""
    stmt = (
        select(
            StepResult.unit_run_id,
            StepResult.clause,
            StepResult.step,
            func.max(_rank()).label("rank"),
        )
        .join(UnitRun, UnitRun.id == StepResult.unit_run_id)
        .join(Unit, Unit.id == UnitRun.unit_id)
        .join(Run, Run.id == UnitRun.run_id)
        .group_by(StepResult.unit_run_id, StepResult.clause, StepResult.step)
    )
    if f.clause:
        stmt = stmt.where(StepResult.clause == f.clause)
    return _scoped(stmt, f, session).subquery()


def _firmware_order(session: Session, f: Filter) -> dict[tuple[str, str], float]:
    """(product class, firmware) -> when the store first saw it."""
    fw = func.coalesce(UnitRun.software_version, UNKNOWN_FIRMWARE)
    stmt = (
        select(Unit.product_class, fw, func.min(Run.started))
        .select_from(UnitRun)
        .join(Unit, Unit.id == UnitRun.unit_id)
        .join(Run, Run.id == UnitRun.run_id)
        .group_by(Unit.product_class, fw)
    )
    return {(pc, v): t for pc, v, t in session.execute(_scoped(stmt, f, session))}


def matrix(session: Session, f: Filter = Filter()) -> list[Matrix]:
    """Per product class: each clause/step's verdicts (runs passed, failed, erred) per firmware."""
    per = _per_run_steps(session, f)
    fw = func.coalesce(UnitRun.software_version, UNKNOWN_FIRMWARE)
    stmt = (
        select(Unit.product_class, per.c.clause, per.c.step, fw, per.c.rank, func.count())
        .select_from(per)
        .join(UnitRun, UnitRun.id == per.c.unit_run_id)
        .join(Unit, Unit.id == UnitRun.unit_id)
        .group_by(Unit.product_class, per.c.clause, per.c.step, fw, per.c.rank)
    )
    seen = _firmware_order(session, f)
    out: dict[str, Matrix] = {}
    for pc, clause, step, firmware, rank, n in session.execute(stmt):
        m = out.setdefault(pc, Matrix(pc, [], {}))
        m.cells.setdefault((clause, step), {}).setdefault(firmware, Cell()).add(VERDICTS[rank], n)
    for pc, m in out.items():
        used = {fw for row in m.cells.values() for fw in row}
        m.firmwares = sorted(used, key=lambda v: (seen.get((pc, v), 0.0), v))
    return [out[pc] for pc in sorted(out)]


def first_failures(session: Session, f: Filter = Filter()) -> list[FirstFailure]:
    """Each step failing (the unit's fault, every run) on the newest firmware, with the first firmware from
    which it has failed on every firmware since; bench errors neither break nor make such a streak."""
    found = []
    for m in matrix(session, f):
        for row in m.rows:
            cells = [(fw, m.cells[row][fw]) for fw in m.firmwares if fw in m.cells[row]]
            cells = [(fw, c) for fw, c in cells if c.passed or c.failed]
            start = len(cells)
            while start > 0 and cells[start - 1][1].failed and not cells[start - 1][1].passed:
                start -= 1
            if start == len(cells):
                continue
            last_passed = cells[start - 1][0] if start else None
            found.append(
                FirstFailure(m.product_class, *row, cells[start][0], last_passed, len(cells) - start)
            )
    for ff in found:
        ff.message = _latest_message(session, f, ff)
    return found


def _latest_message(session: Session, f: Filter, ff: FirstFailure) -> str:
    stmt = (
        select(StepResult.message)
        .join(UnitRun, UnitRun.id == StepResult.unit_run_id)
        .join(Unit, Unit.id == UnitRun.unit_id)
        .join(Run, Run.id == UnitRun.run_id)
        .where(
            StepResult.clause == ff.clause,
            StepResult.step == ff.step,
            StepResult.verdict == "failed",
            Unit.product_class == ff.product_class,
        )
        .order_by(Run.started.desc())
        .limit(1)
    )
    return session.scalar(_scoped(stmt, f, session)) or ""


def flaky(session: Session, f: Filter = Filter()) -> list[Flaky]:
    """Steps with both verdicts on one unit and firmware, by bench host: passed and failed (the unit's fault)
    is flaky; passed beside bench errors is counted apart, as the bench's."""
    per = _per_run_steps(session, f)
    fw = func.coalesce(UnitRun.software_version, UNKNOWN_FIRMWARE)
    # Grouped by the unit's id (an integer), not its strings: the biggest query of the history.
    stmt = (
        select(UnitRun.unit_id, fw, per.c.clause, per.c.step, Run.host, per.c.rank, func.count())
        .select_from(per)
        .join(UnitRun, UnitRun.id == per.c.unit_run_id)
        .join(Run, Run.id == UnitRun.run_id)
        .group_by(UnitRun.unit_id, fw, per.c.clause, per.c.step, Run.host, per.c.rank)
    )
    units = {
        i: (pc, serial) for i, pc, serial in session.execute(select(Unit.id, Unit.product_class, Unit.serial))
    }
    groups: dict[tuple[int, str, str, str], Flaky] = {}
    for unit_id, firmware, clause, step, host, rank, n in session.execute(stmt):
        g = groups.get((unit_id, firmware, clause, step))
        if g is None:
            g = groups[(unit_id, firmware, clause, step)] = Flaky(
                *units[unit_id], firmware, clause, step, Cell(), {}
            )
        g.total.add(VERDICTS[rank], n)
        g.hosts.setdefault(host, Cell()).add(VERDICTS[rank], n)
    mixed = [g for g in groups.values() if g.total.passed and (g.total.failed or g.total.error)]
    return sorted(
        mixed,
        key=lambda g: (g.kind != "unit", _clause_key(g.clause), _step_key(g.step), g.product_class, g.serial),
    )


def measurement_names(session: Session) -> list[str]:
    return list(session.scalars(select(Measurement.name).distinct().order_by(Measurement.name)))


def trend(session: Session, name: str, f: Filter = Filter()) -> Trend:
    """A measurement over the runs, oldest first (the newest `f.last` runs)."""
    known = measurement_names(session)
    if name not in known:
        raise ConfigError(f"--trend {name}: no such measurement stored; stored: {', '.join(known) or 'none'}")
    fw = func.coalesce(UnitRun.software_version, UNKNOWN_FIRMWARE)
    stmt = (
        select(Run.started, Run.run_id, Run.host, UnitRun.name, fw, Measurement.value)
        .select_from(Measurement)
        .join(UnitRun, UnitRun.id == Measurement.unit_run_id)
        .join(Unit, Unit.id == UnitRun.unit_id)
        .join(Run, Run.id == UnitRun.run_id)
        .where(Measurement.name == name)
        .order_by(Run.started.desc(), UnitRun.name)
    )
    stmt = _scoped(stmt, Filter(f.unit, f.product_class, f.host), session)
    if f.last:
        stmt = stmt.limit(f.last)
    points = [TrendPoint(*row) for row in session.execute(stmt)]
    return Trend(name, points[::-1], f.product_class)


def find_run(session: Session, ref: str) -> Run:
    """A stored run by its run id (RUN_ID, or RUN_ID@HOST when two hosts have one) or its whole key."""
    run_id, _, host = ref.partition("@")
    stmt = select(Run).where(or_(Run.key == ref, Run.run_id == run_id))
    if host and "@" not in host:
        stmt = stmt.where(Run.host == host)
    found = list(session.scalars(stmt.order_by(Run.started)))
    exact = [r for r in found if r.key == ref]
    if exact:
        return exact[0]
    if not found:
        raise ConfigError(f"no stored run {ref!r} (`henb-bench history --runs` lists them)")
    if len(found) > 1:
        keys = ", ".join(r.key for r in found)
        raise ConfigError(f"run {ref!r} is ambiguous: give one of {keys} (or RUN_ID@HOST)")
    return found[0]


def recent_runs(session: Session, f: Filter = Filter(last=20)) -> list[tuple[Any, ...]]:
    """The newest runs: run id, host, unit, product class, firmware, exit code, test counts by outcome."""
    fw = func.coalesce(UnitRun.software_version, UNKNOWN_FIRMWARE)
    counts = [func.sum(case((TestResult.outcome == o, 1), else_=0)) for o in ("passed", "failed", "error")]
    stmt = (
        select(
            Run.run_id, Run.host, UnitRun.name, Unit.product_class, fw, Run.exit_code, *counts, Run.started
        )
        .select_from(UnitRun)
        .join(Unit, Unit.id == UnitRun.unit_id)
        .join(Run, Run.id == UnitRun.run_id)
        .outerjoin(TestResult, TestResult.unit_run_id == UnitRun.id)
        .group_by(Run.id, UnitRun.id, Unit.product_class, Run.run_id, Run.host, UnitRun.name)
        .order_by(Run.started.desc(), UnitRun.name)
    )
    stmt = _scoped(stmt, Filter(f.unit, f.product_class, f.host), session)
    if f.last:
        stmt = stmt.limit(f.last)
    return [tuple(row) for row in session.execute(stmt)]


_EVIDENCE = re.compile(r";? ?evidence: \S+")


def _same_message(text: str, run_ids: tuple[str, str]) -> str:
    """A message without what differs between any two runs: its evidence path, the run ids."""
    text = _EVIDENCE.sub("", text)
    for rid in run_ids:
        text = text.replace(rid, "RUN")
    return text.strip()


def diff(session: Session, ref_a: str, ref_b: str, tolerance: float = 10.0) -> Diff:
    """What changed from run A to run B, per unit (by its inventory name; one unit each: those two):
    firmware, outcomes, messages (evidence paths aside), measurements by more than `tolerance` percent."""
    a, b = find_run(session, ref_a), find_run(session, ref_b)
    out = Diff(a.key, b.key, tolerance)
    ids = (a.run_id, b.run_id)
    units_a, units_b = _unit_runs(session, a), _unit_runs(session, b)
    if len(units_a) == 1 and len(units_b) == 1:
        pairs = [(next(iter(units_a.values())), next(iter(units_b.values())))]
    else:
        pairs = [(units_a[n], units_b[n]) for n in units_a if n in units_b]
        for n in sorted(set(units_a) ^ set(units_b)):
            out.changes.append(
                Change("unit", n, "in A" if n in units_a else "-", "in B" if n in units_b else "-")
            )
    for ua, ub in pairs:
        prefix = f"{ua.name}: " if len(pairs) > 1 else ""
        for label, va, vb in (
            ("SoftwareVersion", ua.software_version, ub.software_version),
            ("HardwareVersion", ua.hardware_version, ub.hardware_version),
        ):
            if va != vb:
                out.changes.append(Change("unit", prefix + label, va or "-", vb or "-"))
        ta, tb = _tests(session, ua.id), _tests(session, ub.id)
        for test in [*ta, *(t for t in tb if t not in ta)]:
            (oa, ma), (ob, mb) = ta.get(test, ("-", "")), tb.get(test, ("-", ""))
            if oa != ob:
                out.changes.append(Change("test", prefix + test, oa, ob))
            elif _same_message(ma, ids) != _same_message(mb, ids):
                out.changes.append(Change("message", prefix + test, ma, mb))
        ma_, mb_ = _measurements(session, ua.id), _measurements(session, ub.id)
        for name in sorted(set(ma_) | set(mb_)):
            va_, vb_ = ma_.get(name), mb_.get(name)
            if va_ is None or vb_ is None or abs(vb_ - va_) > abs(va_) * tolerance / 100:
                out.changes.append(Change("measurement", prefix + name, _num(va_), _num(vb_)))
    run_fields: list[tuple[str, object, object]] = [
        ("revision", a.revision, b.revision),
        ("exit code", a.exit_code, b.exit_code),
    ]
    out.changes += [Change("run", label, str(va), str(vb)) for label, va, vb in run_fields if va != vb]
    return out


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"


def _unit_runs(session: Session, run: Run) -> dict[str, UnitRun]:
    return {u.name: u for u in session.scalars(select(UnitRun).where(UnitRun.run_id == run.id))}


def _tests(session: Session, unit_run_id: int) -> dict[str, tuple[str, str]]:
    rows = session.execute(
        select(TestResult.test, TestResult.outcome, TestResult.message)
        .where(TestResult.unit_run_id == unit_run_id)
        .order_by(TestResult.id)
    )
    return {t: (o, m or "") for t, o, m in rows}


def _measurements(session: Session, unit_run_id: int) -> dict[str, float]:
    rows = session.execute(
        select(Measurement.name, Measurement.value).where(Measurement.unit_run_id == unit_run_id)
    )
    return {name: value for name, value in rows}

"""What the history keeps of one run, as plain data: the importer makes it from a run folder, the store
writes it in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StepRecord:
    clause: str
    step: str  # "-": the test as a whole (no step named)
    verdict: str  # passed, failed (the unit's fault), error (the bench's)
    message: str = ""
    error_kind: str | None = None


@dataclass
class TestRecord:
    __test__ = False  # pytest: not a test class

    test: str
    clause: str | None
    outcome: str
    message: str = ""
    error_kind: str | None = None
    seconds: float | None = None
    steps: list[StepRecord] = field(default_factory=list)


@dataclass
class UnitRecord:
    name: str
    oui: str
    product_class: str
    serial: str
    hardware_version: str | None = None
    software_version: str | None = None
    tests: list[TestRecord] = field(default_factory=list)
    measurements: dict[str, float] = field(default_factory=dict)


@dataclass
class RunRecord:
    run_id: str
    host: str
    started: float
    ended: float | None = None
    bench: str | None = None
    revision: str | None = None
    tool_version: str | None = None
    inventory_sha256: str | None = None
    place: str | None = None
    exit_code: int | None = None
    interrupted: str | None = None
    folder: str | None = None
    units: list[UnitRecord] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Stable across imports of the same folder: the run id, the bench host and the start to the ms."""
        return f"{self.run_id}@{self.host}@{self.started:.3f}"

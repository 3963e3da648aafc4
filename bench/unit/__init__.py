"""One HeNB as the tests see it: its lifecycle (bench.unit.lifecycle) and its kind (bench.unit.kinds)."""

from bench.unit.kinds import Hardware, build_hardware, default_ike_id, home_port
from bench.unit.lifecycle import BenchUnit, Boot, State, UnitBounds

__all__ = [
    "BenchUnit",
    "Boot",
    "Hardware",
    "State",
    "UnitBounds",
    "build_hardware",
    "default_ike_id",
    "home_port",
]

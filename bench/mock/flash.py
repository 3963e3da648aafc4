"""The mock unit's flash: the Serving SeGW/HeMS and the writable values the HeMSs set survive power-off (and the
next run); FactoryReset wipes it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from bench.mock.datamodel import DataModel


class Flash:
    def __init__(self, path: str, log: Callable[[str], None]) -> None:
        self.path = Path(path) if path else None
        self.log = log

    def save(self, model: DataModel, serving: tuple[str, str] | None) -> None:
        if self.path is None or serving is None:
            return
        values = {n: p.value for n, p in model.params.items() if p.writable}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"serving": list(serving), "values": values}))
        tmp.replace(self.path)

    def load(self, model: DataModel) -> tuple[str, str] | None:
        """Configured before: the values set since go back into `model`; the Serving SeGW/HeMS, or None."""
        if self.path is None or not self.path.is_file():
            return None
        saved = json.loads(self.path.read_text())
        for name, value in saved["values"].items():
            if name in model.params:
                model.params[name].value = value
        ssegw, shems = saved["serving"]
        self.log(f"flash: configured, Serving SeGW {ssegw}, Serving HeMS {shems}")
        return ssegw, shems

    def wipe(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.log("flash: factory configuration restored")

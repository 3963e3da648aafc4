"""5.1.2.3: the Initial HeMS on the internet over HTTPS; the mock checks its certificate exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.inventory import load_inventory
from bench.run import BenchRun
from bench.unit import State
from tests.support import needs_root, write_inventory

pytestmark = [pytest.mark.netns, needs_root()]


def public_run(tmp: Path, cert_name: str | None, knobs: list[str]) -> BenchRun:
    path = write_inventory(tmp / "inventory.yaml")
    data = yaml.safe_load(path.read_text())
    data["operator"]["initial_hems_access"] = "public"
    if cert_name:
        data["operator"]["initial_hems_cert_name"] = cert_name
    path.write_text(yaml.safe_dump(data))
    run = BenchRun(load_inventory(path), None, tmp / "captures", "run", knobs)
    run.start()
    return run


@pytest.mark.parametrize(
    ("cert_name", "knobs", "informs"),
    [
        (None, [], True),
        ("wrong.operator.example", [], False),
        ("wrong.operator.example", ["accept_any_cert"], True),
    ],
)
def test_public_initial_hems(tmp_path: Path, cert_name: str | None, knobs: list[str], informs: bool) -> None:
    run = public_run(tmp_path, cert_name, knobs)
    try:
        boot = run.unit.transition(State.FACTORY_FRESH)
        tl = run.timeline
        if informs:
            inf = run.topology.hems["initial-hems"].wait_inform(
                run.unit.serial, ["0 BOOTSTRAP"], 20, boot.mark
            )
            assert inf.data["peer"] != str(run.inv.network.initial_hems)
            # Then the Serving part as in 5.1.2.2: IPsec to the Serving SeGW, registration, S1.
            tl.wait_for(lambda e: e.source == "mme" and e.kind == "sctp-init", 20, "S1 INIT", boot.mark)
            q = tl.find(
                lambda e: (
                    e.source == "dns" and e.kind == "query" and e.data["name"] == "ihems.operator.example"
                )
            )
            assert q and all(e.data["dns"] == "public-dns" for e in q)
            assert run.topology.hems_keylog.stat().st_size > 0
        else:
            run.unit.console.expect("tls: refusing the Initial HeMS certificate", 20)
            assert not tl.find(lambda e: e.source == "hems" and e.kind == "inform", boot.mark)
    finally:
        run.close()

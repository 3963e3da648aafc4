"""The outer-link policy through the real command line: the mock unit's NTP at boot (and DHCP, DNS, IKE/ESP)
passes 5.1.2.2 even with operator.outer_link.strict, and the timeline shows the NTP query and the verdict.
The failing side is the negative twins `leak_cleartext` and `other_traffic` (test_negative_twins.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.support import henb_bench, needs_root

pytestmark = [pytest.mark.netns, needs_root()]


def test_ntp_at_boot_passes_a_strict_outer_link(fast_inventory: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(fast_inventory.read_text())
    data["operator"]["outer_link"] = {"strict": True}
    strict = tmp_path / "strict.yaml"
    strict.write_text(yaml.safe_dump(data))
    out = tmp_path / "captures"
    res = henb_bench(
        "--inventory", str(strict), "run", "--clause", "5.1.2.2", "--exitfirst", "--out", str(out)
    )
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    events = [
        json.loads(line)
        for path in out.glob("*/test_*/timeline.jsonl")
        for line in path.read_text().splitlines()
    ]
    home = "198.51.100."  # the default network.home, 198.51.100.0/24; the gateway .1 serves DHCP, DNS, NTP
    queries = [e["data"] for e in events if (e["source"], e["kind"]) == ("ntp", "query")]
    assert queries and all(q["server"] == home + "1" and q["peer"].startswith(home) for q in queries), queries
    verdicts = [e["data"] for e in events if (e["source"], e["kind"]) == ("security", "outer-link")]
    assert verdicts, "no security/outer-link event on the timeline"
    for v in verdicts:
        assert v["strict"] is True and v["operator"] == 0 and v["other"] == {}, v
        assert v["allowed"]["NTP"] >= 2 and v["allowed"]["DHCP"] >= 2 and v["allowed"]["IKE"] >= 2, v

"""`henb-bench judge` on a shareable bundle (issue 22 item 5): the bundle's captures, judged without any key,
give the verdicts the original captures give with the run's key log, step by step (outcome, message and
frames; only a masked secret may read differently). And the rewrite keeps every pcapng block that is not a
packet, so the capture's interface statistics block (when it ended) still lets a judge prove an absence.
One bench run (5.2.3 on the mock, its Initial HeMS public: CWMP over TLS on the outer link) for the live
test."""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.capture import LINKTYPE_RAW, PcapngWriter
from bench.evidence.tshark import capture_end
from bench.inventory import load_inventory
from bench.report.masking import Secrets
from bench.report.pcaprw import read_capture
from bench.report.shareable import build_shareable
from tests.bench.report.test_shareable import _tcp
from tests.support import FAST_BOUNDS, henb_bench, needs_root, wipe_flash, write_inventory

TEST = "test_configuration_by_set_parameter_values"


def _blocks(path: Path) -> list[tuple[int, bytes]]:
    """Every pcapng block of a capture but its packets: (type, bytes)."""
    data, off, out = path.read_bytes(), 0, []
    while off < len(data):
        kind, total = (
            int.from_bytes(data[off : off + 4], "little"),
            int.from_bytes(data[off + 4 : off + 8], "little"),
        )
        if kind != 6:
            out.append((kind, data[off : off + total]))
        off += total
    return out


def test_the_rewrite_keeps_the_statistics_block_so_the_capture_end_stays(tmp_path: Path) -> None:
    run = tmp_path / "20261207-130000"
    (run / "test_x").mkdir(parents=True)
    (run / "run.json").write_text("{}")
    cap = run / "test_x" / "inner.pcapng"
    w = PcapngWriter(cap, LINKTYPE_RAW, "hgx-core")
    w.write(_tcp("10.0.0.1", "10.0.0.2", 40000, 7547, 1, b"PASS secret-0042\r\n"), 1.0)
    w.close(ended=61.0)  # the capture ran on a minute after its last packet: nothing more came
    before = _blocks(cap)
    assert 5 in [k for k, _ in before] and capture_end(cap) == pytest.approx(61.0)
    out, _ = build_shareable(run, "test_x", Secrets({"secret-0042"}), tmp_path / "b.tar.gz")
    with tarfile.open(out) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    shared = tmp_path / "x" / run.name / "test_x" / "inner.pcapng"
    assert b"secret-0042" not in shared.read_bytes()  # the packet was rewritten...
    assert _blocks(shared) == before  # ...and every other block is as it was
    assert capture_end(shared) == pytest.approx(61.0)
    assert [p.index for p in read_capture(shared).packets] == [0]


def test_a_parameter_s_path_under_a_secret_name_is_no_secret(tmp_path: Path) -> None:
    """run.json's profile maps connection_request_password to the parameter's path: the path stays readable in
    the capture's SetParameterValues (a judge reads which parameter was set), its value is masked."""
    run = tmp_path / "20261207-130000"
    (run / "test_x").mkdir(parents=True)
    name = b"Device.ManagementServer.ConnectionRequestPassword"
    (run / "run.json").write_text(json.dumps({"paths": {"connection_request_password": name.decode()}}))
    spv = (
        b"<ParameterValueStruct><Name>" + name + b"</Name><Value>henb-bench-cr</Value></ParameterValueStruct>"
    )
    w = PcapngWriter(run / "test_x" / "inner.pcapng", LINKTYPE_RAW, "hgx-core")
    w.write(_tcp("10.0.0.1", "10.0.0.2", 40000, 7547, 1, spv), 1.0)
    w.close()
    out, manifest = build_shareable(run, "test_x", Secrets(), tmp_path / "b.tar.gz")
    with tarfile.open(out) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    data = (tmp_path / "x" / run.name / "test_x" / "inner.pcapng").read_bytes()
    assert b"<Name>" + name + b"</Name><Value>*************</Value>" in data
    assert name in (tmp_path / "x" / run.name / "run.json").read_bytes()
    assert manifest["masked_total"] == {"cwmp-secret-parameter": 1}


# --- one real run on the mock ---


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(inventory, the run's test folder, the same folder from its shareable bundle, unpacked)."""
    tmp = tmp_path_factory.mktemp("sharejudge")
    # The Initial HeMS on the public Internet: its CWMP is TLS on the outer link, with the HeMS's key log.
    inv = write_inventory(tmp / "inventory.yaml", FAST_BOUNDS, {"initial_hems_access": "public"})
    # Factory-fresh units: a flash a run before left configured would skip the discovery (5.2.3 needs only a
    # registered unit), and with it the Initial HeMS's TLS this test is about.
    wipe_flash(load_inventory(inv))
    res = henb_bench("--inventory", str(inv), "run", "--clause", "5.2.3", "--out", str(tmp / "captures"))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    run_dir = next((tmp / "captures").iterdir())
    res = henb_bench("--inventory", str(inv), "bundle", str(run_dir), TEST, "--shareable")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    with tarfile.open(run_dir / f"{TEST}.shareable.tar.gz") as tar:
        tar.extractall(tmp / "x", filter="data")
    return inv, run_dir / TEST, tmp / "x" / run_dir.name / TEST


def _judge(inv: Path, folder: Path, out: Path, keylogs: list[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """`henb-bench judge` on the folder's two captures: the judged run's results, its timeline's lines and its
    notes of what is not observable."""
    caps = [str(folder / n) for n in ("outer.pcapng", "inner.pcapng")]
    keys = [a for k in keylogs for a in ("--keylog", str(k))]
    res = henb_bench("--inventory", str(inv), "judge", *caps, *keys, "--out", str(out))
    assert res.returncode in (0, 1), res.stdout[-3000:] + res.stderr[-3000:]
    judged = next(out.iterdir())
    summary = json.loads((judged / "run.json").read_text())
    lines = (judged / "timeline.jsonl").read_text().splitlines()
    return summary["results"], lines + [f"note: {n}" for n in summary["not_observable"]]


def _alike(folder: Path, out: Path) -> Callable[[str], str]:
    """Text with the capture folder and the judged folder named alike, and every masked secret alike."""

    def same(text: str) -> str:
        text = text.replace(str(folder), "CAPTURES").replace(str(out), "OUT")
        return re.sub(r"\*{2,}|\[redacted\]", "MASKED", text)

    return same


def _steps(results: list[dict[str, Any]], same: Callable[[str], str]) -> list[tuple[str, ...]]:
    """Each test's steps in order: outcome, message and the frames each verdict rests on."""
    return [
        (r["test"], r["outcome"], v["step"], v["outcome"], same(v["message"]), same(json.dumps(v["frames"])))
        for r in results
        for v in r["verdicts"]
    ]


@pytest.mark.netns
@needs_root()
def test_the_shareable_bundle_judged_without_a_key_gives_the_original_s_verdicts(
    run: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    inv, original, shared = run
    keylog = original / "initial-hems-tls-keys.log"
    assert keylog.is_file() and not list(shared.glob("*keys.log"))
    with_key, tl_original = _judge(inv, original, tmp_path / "original", [keylog])
    without, tl_shared = _judge(inv, shared, tmp_path / "shared", [])
    expected = _steps(with_key, _alike(original, tmp_path / "original"))
    assert ("passed", "ParameterKey", "passed") in [(s[1], s[2], s[3]) for s in expected if s[0] == TEST]
    assert _steps(without, _alike(shared, tmp_path / "shared")) == expected
    # What the judges read is the same timeline: the Initial HeMS's CWMP (TLS in the original, opened by its
    # key log; plain in the bundle), the Serving HeMS's with its secrets masked, DHCP, DNS, IKE, S1AP; and the
    # same notes of what is not observable.
    events = [_alike(original, tmp_path / "original")(line) for line in tl_original]
    assert any('"source": "initial-hems"' in e or '"hems": "initial-hems"' in e for e in events), events[:20]
    assert [_alike(shared, tmp_path / "shared")(line) for line in tl_shared] == events
    # The negative twin: the original without its key log reads less (no Initial HeMS), so the equality above
    # rests on the bundle's decrypted TLS, not on the judges ignoring it.
    _, tl_closed = _judge(inv, original, tmp_path / "closed", [])
    closed = [_alike(original, tmp_path / "closed")(line) for line in tl_closed]
    assert not any('"hems": "initial-hems"' in e for e in closed) and len(closed) < len(events)

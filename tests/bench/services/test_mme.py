"""The MME stand-in (bench/services/mme.py): S1 setup answered over the userspace SCTP endpoint, failure as
the inventory asks, eNB Configuration Update acknowledged, corrupt packets dropped; and the bench's inner
capture of a real run decodes as S1AP in Wireshark (tshark)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml
from pyroute2 import netns as pr_netns

from bench import s1ap, sctp
from bench.mock.s1 import S1Client
from bench.network import netns
from bench.services.mme import MmeStandIn
from bench.timeline import Event, Timeline
from tests.support import PREFIX, henb_bench, needs_root, write_inventory

pytestmark = [pytest.mark.netns, needs_root()]


def mme_events(tl: Timeline, kind: str) -> list[Event]:
    return tl.find(lambda e: e.source == "mme" and e.kind == kind)


def test_s1_setup_failure_update_ack_and_abort(tmp_path: Path) -> None:
    ns = f"{PREFIX}mme{threading.get_ident() % 10000}"
    pr_netns.create(ns)
    tl = Timeline()
    mme = MmeStandIn(ns, tl, failure="misc:om-intervention", time_to_wait="v10s")
    client: sctp.RawSctp | None = None
    try:
        netns.in_netns(ns, lambda ipr: ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up"))
        mme.start()
        got: list[dict[str, object]] = []
        answered = threading.Semaphore(0)

        def on_data(a: sctp.Association, stream: int, ppid: int, data: bytes) -> None:
            got.append({"ppid": ppid, **s1ap.decode(data)})
            answered.release()

        raw = netns.socket_in_netns(ns, socket.AF_INET, socket.SOCK_RAW, sctp.IPPROTO_SCTP)
        client = sctp.RawSctp(raw, rto_initial=0.2)
        a = client.connect("127.0.0.1", s1ap.PORT, on_data, lambda a, s, r: None)
        client.send(a, s1ap.PPID, s1ap.s1_setup_request(0x1234567, "310410", 77, "henb"))
        assert answered.acquire(timeout=10), f"no answer to S1 Setup Request; association {a.state}"
        assert got[0]["message"] == "S1SetupFailure" and got[0]["ppid"] == s1ap.PPID
        assert got[0]["cause"] == "misc:om-intervention" and got[0]["time_to_wait"] == "v10s"

        # A packet with a wrong checksum is dropped, not answered and not on the timeline.
        before = len(tl.events())
        bad = bytearray(sctp.packet(a.local_port, s1ap.PORT, a.peer_tag, [sctp.chunk(sctp.ABORT, 0, b"")]))
        bad[8] ^= 0xFF
        raw.sendto(bytes(bad), ("127.0.0.1", 0))
        client.send(a, s1ap.PPID, s1ap.enb_configuration_update("310410", 78))
        assert answered.acquire(timeout=10), "no answer to the eNB Configuration Update"
        assert got[1]["message"] == "ENBConfigurationUpdateAcknowledge"
        assert mme.raw is not None and mme.raw.dropped >= 1
        assert [e.kind for e in tl.events(before) if e.source == "mme"] == ["s1ap", "s1ap"]

        client.close_association(a, graceful=False)
        tl.wait_for(lambda e: e.source == "mme" and e.kind == "sctp-down", 10, "the association torn down")
    finally:
        if client is not None:
            client.close()
        mme.stop()
        pr_netns.remove(ns)
    up = [e.data for e in mme_events(tl, "s1ap") if e.data["direction"] == "uplink"]
    assert up[0]["message"] == "S1SetupRequest" and up[0]["tacs"] == [77] and up[0]["plmn"] == "310410"
    assert up[0]["enb_id"] == 0x1234567 and up[0]["local"] == "127.0.0.1"
    assert len(mme_events(tl, "sctp-init")) == 1 and len(mme_events(tl, "sctp-up")) == 1
    assert mme_events(tl, "sctp-down")[0].data["reason"] == "ABORT from the peer"


def test_the_mock_holds_s1_setup_over_a_new_association_until_time_to_wait() -> None:
    """TS 36.413 8.7.3.3 holds per MME, not per association: S1 setup again over a new association (after a
    factory reset, an address change) right after an S1 Setup Failure with TimeToWait sends its request only
    once the wait is over, and the retry timed for the association before is dropped with it (it used to fire
    on the new one, 0.2 s after that one's failure: the lead's full run)."""
    ns = f"{PREFIX}mmw{threading.get_ident() % 10000}"
    pr_netns.create(ns)
    tl = Timeline()
    mme = MmeStandIn(ns, tl, failure="misc:om-intervention", time_to_wait="v1s")
    lines: list[str] = []
    client = S1Client(lines.append, set())
    try:
        netns.in_netns(ns, lambda ipr: ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up"))
        mme.start()

        def failure(since: int) -> Event:
            return tl.wait_for(
                lambda e: e.source == "mme" and e.data.get("message") == "S1SetupFailure", 10,
                "an S1 Setup Failure", since,
            )  # fmt: skip

        setup = ("127.0.0.1", s1ap.PORT, 0x1234567, "310410", 77, "henb")
        netns.run_in_netns(ns, client.setup, *setup)
        first = failure(0)
        deadline = time.monotonic() + 10  # the unit has it (the stand-in records it as it sends it)
        while not any("S1SetupFailure received" in line for line in lines) and time.monotonic() < deadline:
            time.sleep(0.01)
        netns.run_in_netns(ns, client.setup, *setup)  # a new association at once, as after a factory reset
        second = failure(first.seq + 1)
        time.sleep(1.5)  # the retry over the new association, and the old one's if it were not dropped
    finally:
        client.close()
        mme.stop()
        pr_netns.remove(ns)
    requests = [e for e in mme_events(tl, "s1ap") if e.data["message"] == "S1SetupRequest"]
    assert len(mme_events(tl, "sctp-init")) == 2, lines
    after_first = [round(e.t - first.t, 2) for e in requests if e.seq > first.seq and e.seq < second.seq]
    assert len(after_first) == 1 and after_first[0] >= 1.0, (after_first, lines)
    after_second = [round(e.t - second.t, 2) for e in requests if e.seq > second.seq]
    assert len(after_second) == 1 and after_second[0] >= 1.0, (after_second, lines)
    assert any("held" in line and "TimeToWait" in line for line in lines), lines


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed (make deps installs it)")
def test_inner_capture_decodes_as_s1ap_in_wireshark(fast_inventory: Path, tmp_path: Path) -> None:
    res = henb_bench("--inventory", str(fast_inventory), "run", "--clause", "5.1.3", "--out", str(tmp_path))
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    (inner,) = tmp_path.glob("*/test_registration_with_serving_hems/inner.pcapng")
    fields = ["sctp.checksum.status", "sctp.data_payload_proto_id", "s1ap.procedureCode", "_ws.col.Info"]
    out = subprocess.run(
        ["tshark", "-o", "sctp.checksum:crc-32c", "-r", str(inner), "-Y", "s1ap", "-T", "fields",
         *(x for f in fields for x in ("-e", f))],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    rows = [line.split("\t") for line in out.splitlines() if line.strip()]
    assert [r[3] for r in rows[:2]] == ["S1SetupRequest", "S1SetupResponse"], out
    # checksum status 1 is Wireshark's "Good"; PPID 18 is S1AP; procedure 17 is S1 Setup.
    assert all(r[0] == "1" and r[1] == "18" and r[2] == "17" for r in rows[:2]), out
    report = next(tmp_path.glob("*/report.html")).read_text()
    assert "S1AP S1SetupRequest" in report and "S1AP S1SetupResponse" in report


def test_inventory_makes_the_mme_refuse_s1_setup(fast_inventory: Path, tmp_path: Path) -> None:
    inventory = yaml.safe_load(fast_inventory.read_text())
    inventory["operator"].update(
        {"s1_setup_failure": "misc:om-intervention", "s1_time_to_wait": "v1s", "tac": 4660, "plmn": "310410"}
    )
    fast_inventory.write_text(yaml.safe_dump(inventory))
    res = henb_bench(
        "--inventory", str(fast_inventory), "run", "--clause", "5.1.3", "--out", str(tmp_path / "out")
    )
    # Passed: 5.1.3 saw the S1 Setup Failure it expected, and the unit kept to its TimeToWait.
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    (timeline,) = tmp_path.glob("out/*/timeline.jsonl")
    s1 = [e["data"] for e in map(json.loads, timeline.read_text().splitlines()) if e["kind"] == "s1ap"]
    # Every S1 setup of the run (also one the unit began before the bench's factory reset) is refused.
    requests = [d for d in s1 if d["direction"] == "uplink"]
    answers = [d for d in s1 if d["direction"] == "downlink"]
    assert requests and all(d["message"] == "S1SetupRequest" for d in requests), requests
    assert all(d["tacs"] == [4660] and d["plmn"] == "310410" for d in requests), requests
    assert answers and all(d["message"] == "S1SetupFailure" for d in answers), answers
    assert all(d["cause"] == "misc:om-intervention" and d["time_to_wait"] == "v1s" for d in answers), answers


def test_a_wrong_s1ap_cause_is_a_config_error(tmp_path: Path) -> None:
    inventory = write_inventory(
        tmp_path / "inventory.yaml", operator={"s1_setup_failure": "misc:no-such-cause"}
    )
    res = henb_bench("--inventory", str(inventory), "check")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "s1_setup_failure" in res.stdout + res.stderr and "GROUP:VALUE" in res.stdout + res.stderr

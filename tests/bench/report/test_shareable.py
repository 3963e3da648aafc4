"""Tests for `henb-bench bundle --shareable` (bench/report/shareable.py): a synthetic capture for the masking
and the refusal, and one real run on the mock (HTTP Basic HeMSs, an HTTPS Initial HeMS, PM uploads over FTP and
HTTPS) for the scan of every byte and the CWMP read from the decrypted capture without a key."""

from __future__ import annotations

import base64
import json
import re
import socket
import struct
import subprocess
import tarfile
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from bench.capture import LINKTYPE_RAW, PcapngWriter
from bench.errors import ConfigError
from bench.inventory import load_inventory
from bench.report import shareable
from bench.report.masking import Secrets
from bench.report.pcaprw import checksum, parse_l4, read_capture, streams
from bench.report.shareable import SecretLeft, build_shareable, inventory_credentials
from tests.support import henb_bench, needs_root, write_inventory

USER, PASSWORD, PM_PASSWORD = "00D0B7-MOCK0002", "hems-secret-0042", "pm-upload-secret"


def _tcp(src: str, dst: str, sport: int, dport: int, seq: int, payload: bytes) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 1, 5 << 4, 0x18, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))  # fmt: skip
    return ip + tcp


def _fake_run(tmp_path: Path) -> Path:
    """A run folder whose capture carries Basic credentials split over two segments, an SPV of a password,
    and FTP's PASS; its transcript the SPV again; and a key log."""
    run = tmp_path / "20261207-120000"
    test = run / "test_x"
    test.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"run_id": run.name}))
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode())
    spv = (b"<ParameterValueStruct><Name>Device.FAP.PerfMgmt.Config.1.Password</Name>"
           b"<Value xsi:type=\"xsd:string\">" + PM_PASSWORD.encode() + b"</Value></ParameterValueStruct>")  # fmt: skip
    body = b"<soap-env:Body><cwmp:SetParameterValues>" + spv + b"</cwmp:SetParameterValues></soap-env:Body>"
    http = b"POST / HTTP/1.1\r\nAuthorization: Basic " + basic + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
    http += body
    cut = http.index(basic) + 7  # the credentials split over two segments
    w = PcapngWriter(test / "inner.pcapng", LINKTYPE_RAW, "hbx-core")
    w.write(_tcp("10.0.0.1", "10.0.0.2", 40000, 7547, 1000, http[:cut]), 1.0)
    w.write(_tcp("10.0.0.1", "10.0.0.2", 40000, 7547, 1000 + cut, http[cut:]), 1.1)
    w.write(
        _tcp("10.0.0.1", "10.0.0.3", 40001, 21, 5, b"USER pm\r\nPASS " + PM_PASSWORD.encode() + b"\r\n"), 1.2
    )
    w.close()
    (test / "serving-hems-transcript.txt").write_bytes(b"POST from 10.0.0.1\n" + body + b"\n")
    (test / "initial-hems-tls-keys.log").write_text("CLIENT_RANDOM 00 11\n")
    (test / "esp_sa").write_text(
        '"IPv4","10.0.0.1","10.0.0.2","0x1","AES-CBC [RFC3602]","0x00","HMAC-SHA-1-96 [RFC2404]","0x00"\n'
    )
    event = {"kind": "rpc-sent", "data": {"values": {"Device.FAP.PerfMgmt.Config.1.Password": PM_PASSWORD},
                                          "parameter_key": "pm-config"}}  # fmt: skip
    (test / "timeline.jsonl").write_text(json.dumps(event) + "\n")
    return run


def test_secrets_are_masked_in_place_even_split_over_segments(tmp_path: Path) -> None:
    run = _fake_run(tmp_path)
    before = read_capture(run / "test_x" / "inner.pcapng")
    out, manifest = build_shareable(run, "test_x", Secrets({PASSWORD}, {USER}), tmp_path / "b.tar.gz")
    with tarfile.open(out) as tar:
        names = tar.getnames()
        tar.extractall(tmp_path / "x", filter="data")
    assert not any(n.endswith("keys.log") for n in names)
    cap = read_capture(tmp_path / "x" / run.name / "test_x" / "inner.pcapng")
    assert [len(p.frame) for p in cap.packets] == [len(p.frame) for p in before.packets]
    for pkt in cap.packets:  # checksums true after the masking
        lay = parse_l4(pkt)
        assert lay is not None
        seg = pkt.frame[lay.l4 : lay.end]
        assert checksum(lay.src + lay.dst + struct.pack("!BBH", 0, 6, len(seg)) + seg) == 0
    joined = b"".join(bytes(s.data) for s in streams(cap.packets))
    assert b"Authorization: Basic " + b"*" * 44 in joined and b"PASS " + b"*" * len(PM_PASSWORD) in joined
    transcript = (tmp_path / "x" / run.name / "test_x" / "serving-hems-transcript.txt").read_bytes()
    assert PM_PASSWORD.encode() not in transcript and b"Config.1.Password</Name>" in transcript
    timeline = (tmp_path / "x" / run.name / "test_x" / "timeline.jsonl").read_text()
    assert (
        PM_PASSWORD not in timeline and '"parameter_key": "pm-config"' in timeline
    )  # a ParameterKey is no secret
    kinds = {"cwmp-secret-parameter": 2, "ftp-pass": 1, "http-basic-credentials": 1, "json-secret-value": 1}
    assert manifest["masked_total"] == kinds
    assert manifest["secrets_known"] == {
        "inventory": 1,
        "found_in_the_run": 1,
    }  # the PM password, from the SPV
    assert manifest["left_out"] == {
        f"{run.name}/test_x/esp_sa": "ESP SAs", f"{run.name}/test_x/initial-hems-tls-keys.log": "TLS key log"
    }  # fmt: skip


def test_a_capture_rewritten_unchanged_is_the_same_bytes_pcapng_and_pcap(tmp_path: Path) -> None:
    from scapy.layers.inet import IP, TCP
    from scapy.utils import wrpcap

    src = _fake_run(tmp_path) / "test_x" / "inner.pcapng"
    classic = tmp_path / "classic.pcap"
    wrpcap(str(classic), [IP(dst="10.0.0.2") / TCP(dport=21) / b"PASS x\r\n"] * 2)
    for path in (src, classic):
        cap = read_capture(path)
        assert len(cap.packets) in (2, 3)
        cap.write(tmp_path / "again")
        assert (tmp_path / "again").read_bytes() == path.read_bytes(), path.name
        cap.packets[0].frame += b"!"  # a longer frame: the lengths in its block follow
        cap.write(tmp_path / "again")
        assert read_capture(tmp_path / "again").packets[0].frame == cap.packets[0].frame


def test_a_bundle_with_a_secret_left_is_refused_naming_file_and_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The negative twin of the scan: a masking that misses everything must not give a bundle."""
    run = _fake_run(tmp_path)
    monkeypatch.setattr(shareable.Masker, "ranges", lambda self, data: [])
    monkeypatch.setattr(shareable.Masker, "mask", lambda self, data: data)
    with pytest.raises(SecretLeft, match=r"test_x/inner.pcapng still holds a known secret \(.*plain"):
        build_shareable(run, "test_x", Secrets({PASSWORD}, {USER}), tmp_path / "b.tar.gz")
    assert not list(tmp_path.glob("b.tar.gz*"))


def test_a_cut_capture_or_no_inventory_stops_the_command_with_why(tmp_path: Path) -> None:
    run = _fake_run(tmp_path)
    res = henb_bench("--inventory", str(tmp_path / "none.yaml"), "bundle", str(run), "test_x", "--shareable")
    assert res.returncode == 2 and "--shareable needs the inventory the run used" in res.stderr, res.stderr
    cap = run / "test_x" / "inner.pcapng"
    cap.write_bytes(cap.read_bytes()[:-10])
    with pytest.raises(ConfigError, match=r"inner.pcapng: .*it cannot be rewritten for a shareable bundle"):
        build_shareable(run, "test_x", Secrets({PASSWORD}, {USER}), tmp_path / "b.tar.gz")
    assert not list(tmp_path.glob("b.tar.gz*"))


# --- one real run on the mock ---

# The tests of the module's run on one pytest-xdist worker (--dist loadgroup), so the run is made once: a
# module-scoped fixture is made again on every worker that runs one of its tests. They build a bench (netns):
# scheduled first, and checked for leftovers.
SHARED = pytest.mark.xdist_group("shareable-bundles")
DISCOVERY = "test_discovery_via_initial_hems_on_public_internet"
FTP, HTTPS = "test_pm_files_uploaded_at_the_interval[ftp]", "test_pm_files_uploaded_at_the_interval[https]"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Path]]:
    """(run folder, inventory, test -> its shareable bundle extracted): henb-02 (HTTPS Initial HeMS), HeMSs
    challenging with Basic, PM uploads over FTP and HTTPS."""
    tmp = tmp_path_factory.mktemp("shareable")
    inv = write_inventory(tmp / "inv.yaml", operator={"hems_auth": "basic"}, all_units=True)
    data = yaml.safe_load(inv.read_text())
    data["units"] = {"henb-02": {**data["units"]["henb-02"], "transfer_protocols": ["ftp", "https"]}}
    inv.write_text(yaml.safe_dump(data))
    res = henb_bench("--inventory", str(inv), "run", "--clause", "5.1.2.3", "--clause", "5.4.2",
                     "--out", str(tmp / "captures"))  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    run = next((tmp / "captures").iterdir())
    out: dict[str, Path] = {}
    for test in (DISCOVERY, FTP, HTTPS):
        res = henb_bench("--inventory", str(inv), "bundle", str(run), test, "--shareable")
        assert res.returncode == 0, res.stderr
        with tarfile.open(run / f"{test}.shareable.tar.gz") as tar:
            tar.extractall(tmp / "x" / test, filter="data")
        out[test] = tmp / "x" / test / run.name
    return run, inv, out


def _forbidden(inv: Path) -> dict[bytes, str]:
    known = inventory_credentials(load_inventory(inv))
    values = known.values | {PM_PASSWORD}
    found = {}
    for v in values:
        found[v.encode()] = f"{v[:3]}... plain"
        found[quote(v, safe="").encode()] = f"{v[:3]}... URL-encoded"
        for u in known.users | {"pm"}:
            found[base64.b64encode(f"{u}:{v}".encode()).rstrip(b"=")] = f"{v[:3]}... base64 of {u}:password"
    return found


@needs_root()
@pytest.mark.netns
@SHARED
def test_no_secret_survives_in_any_byte_of_a_shareable_bundle(
    bundles: tuple[Path, Path, dict[str, Path]],
) -> None:
    run, inv, out = bundles
    forbidden = _forbidden(inv)
    # The originals do carry them: the test could fail.
    original = b"".join(p.read_bytes() for t in (DISCOVERY, FTP) for p in (run / t).glob("inner.pcapng"))
    assert PM_PASSWORD.encode() in original and b"Authorization: Basic" in original
    for test, root in out.items():
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                left = [kind for pat, kind in forbidden.items() if pat in data]
                assert not left, f"{test}: {path.name} still holds {left}"
                assert b"CLIENT_RANDOM" not in data and b"TRAFFIC_SECRET" not in data, path
        tarball = (run / f"{test}.shareable.tar.gz").read_bytes()
        assert not [k for p, k in forbidden.items() if p in tarball]
        manifest = json.loads((root / "shareable-manifest.json").read_text())
        assert manifest["left_out"] and all("keys.log" in n for n in manifest["left_out"])
        assert set(manifest["left_out"].values()) == {"TLS key log"}
    ftp = json.loads((out[FTP] / "shareable-manifest.json").read_text())["masked_total"]
    assert ftp["ftp-pass"] >= 1 and ftp["http-basic-credentials"] >= 1 and ftp["cwmp-secret-parameter"] >= 1


def _tshark(cap: Path, *opts: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tshark", "-r", str(cap), *opts], capture_output=True, text=True, timeout=120)


def _cwmp_methods(cap: Path, keylog: Path | None = None) -> list[str]:
    """The CWMP messages of a capture in order: each SOAP body's first element (HTTP/XML as tshark reads it)."""
    opts = ["-o", f"tls.keylog_file:{keylog}"] if keylog else []
    res = _tshark(cap, *opts, "-Y", "http", "-T", "fields", "-e", "http.file_data")
    assert res.returncode == 0, res.stderr
    return re.findall(r"Body[^>]*>\s*(?:\\n)?\s*<(?:[\w-]+:)?(\w+)", res.stdout)


@needs_root()
@pytest.mark.netns
@SHARED
def test_cwmp_read_without_a_key_from_the_shareable_capture_equals_the_original_with_its_key(
    bundles: tuple[Path, Path, dict[str, Path]],
) -> None:
    run, _, out = bundles
    original, shared = run / DISCOVERY / "outer.pcapng", out[DISCOVERY] / DISCOVERY / "outer.pcapng"
    with_key = _cwmp_methods(original, run / DISCOVERY / "initial-hems-tls-keys.log")
    assert with_key[:1] == ["Inform"] and "InformResponse" in with_key
    assert _cwmp_methods(original) == []  # TLS: nothing without the key
    assert _cwmp_methods(shared) == with_key
    # The HTTPS upload: the PUT is readable without a key, its Basic credentials masked.
    res = _tshark(out[HTTPS] / HTTPS / "inner.pcapng", "-Y", "http.request.method == PUT && tcp.port == 443",
                  "-T", "fields", "-e", "http.authorization")  # fmt: skip
    assert res.stdout.strip().startswith("Basic ***"), res.stdout


@needs_root()
@pytest.mark.netns
@SHARED
def test_shareable_captures_open_in_tshark_without_errors(
    bundles: tuple[Path, Path, dict[str, Path]],
) -> None:
    _, _, out = bundles
    caps = [p for root in out.values() for p in root.rglob("*.pcapng")]
    assert len(caps) == 9  # outer, inner and inner-initial of each of the three tests
    for cap in caps:
        res = _tshark(cap, "-Y", "_ws.malformed || _ws.expert.severity == error")
        assert res.returncode == 0 and "cut short" not in res.stderr and "damaged" not in res.stderr, (
            res.stderr
        )
        assert res.stdout.strip() == "", f"{cap}: {res.stdout[:500]}"

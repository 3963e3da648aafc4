"""Shareable bundles (`henb-bench bundle RUN_DIR TEST --shareable`): a test's evidence that can go to a vendor.
Captures are rewritten with every secret masked in place and TLS sessions written out decrypted as plain TCP
(bench/report/tlsplain.py), key logs are left out, text files are masked the same way, and before anything is
written every byte of every file is scanned for the secrets the inventory and the run know (plain, encoded,
base64 of user:password, and across TCP segments): one found refuses the bundle, naming the file and kind."""

from __future__ import annotations

import json
import tarfile
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bench.capture import CaptureFormatError
from bench.errors import ConfigError, InfraError
from bench.report.bundle import RUN_FILES, test_folder
from bench.report.masking import Masker, Secrets, harvest, scan
from bench.report.pcaprw import Capture, fix_checksums, parse_l4, read_capture, streams
from bench.report.redact import inventory_secrets
from bench.report.tlsplain import TlsStream, decrypt, find_tls, write_plain

MANIFEST, README = "shareable-manifest.json", "README-shareable.md"
KEYLOG_MARKERS = (b"CLIENT_RANDOM ", b"_TRAFFIC_SECRET", b"# TLS secrets log file", b"SERVER_HANDSHAKE")
ESP_SA_MARKERS = (b'"IPv4","', b'"IPv6","')  # Wireshark's esp_sa file: protocol, addresses, SPI, keys
# Ports Wireshark dissects as TLS by default: a decrypted stream there needs "Decode As" HTTP.
TLS_PORTS = {443, 465, 636, 853, 990, 993, 995, 5061, 8443}


class SecretLeft(InfraError):
    """The scan found a known secret in a file of the bundle: nothing was written."""


def inventory_credentials(obj: Any, key: str = "") -> Secrets:
    """The inventory's secrets (as bench.report.redact finds them) and its user names, to pair them."""
    found = Secrets(values=inventory_secrets(obj))

    def users(o: Any, k: str) -> None:
        if isinstance(o, BaseModel):
            for name in type(o).model_fields:
                users(getattr(o, name), name)
        elif isinstance(o, dict):
            for kk, v in o.items():
                users(v, str(kk))
        elif isinstance(o, (list, tuple)):
            for v in o:
                users(v, k)
        elif isinstance(o, str) and o and k.lower().endswith("username"):
            found.users.add(o)

    users(obj, key)
    return found


def key_material(path: Path) -> str | None:
    """What keys a file holds ("TLS key log", "ESP SAs"), or None: such a file never goes into the bundle."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if path.name.endswith(("keys.log", ".keylog")) or any(m in head for m in KEYLOG_MARKERS):
        return "TLS key log"
    if "esp_sa" in path.name or any(head.lstrip().startswith(m) for m in ESP_SA_MARKERS):
        return "ESP SAs"
    return None


def is_keylog(path: Path) -> bool:
    return key_material(path) == "TLS key log"


def is_capture(path: Path) -> bool:
    with open(path, "rb") as fh:
        magic = fh.read(4)
    return magic in (
        b"\x0a\x0d\x0d\x0a",
        b"\xd4\xc3\xb2\xa1",
        b"\xa1\xb2\xc3\xd4",
        b"\x4d\x3c\xb2\xa1",
        b"\xa1\xb2\x3c\x4d",
    )


@dataclass
class Plan:
    """What goes into the bundle: its files by name in the archive, and what was done to them."""

    files: dict[str, Path] = field(default_factory=dict)
    captures: dict[str, Capture] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)  # name in the archive -> what keys it holds
    tls: list[tuple[str, TlsStream]] = field(default_factory=list)
    masked: dict[str, Counter[str]] = field(default_factory=dict)


def _combined_keylog(keylogs: list[Path], into: Path) -> Path | None:
    if not keylogs:
        return None
    into.write_bytes(b"\n".join(p.read_bytes() for p in keylogs) + b"\n")
    return into


def _plan(run_dir: Path, test_dir: Path, work: Path) -> Plan:
    plan = Plan()
    root = run_dir.name
    candidates = [(f"{root}/{n}", run_dir / n) for n in RUN_FILES if (run_dir / n).is_file()]
    candidates += [(f"{root}/{test_dir.name}/{p.relative_to(test_dir)}", p) for p in sorted(test_dir.rglob("*")) if p.is_file()]  # fmt: skip
    keylogs = [p for _, p in candidates if is_keylog(p)]
    if (run_dir / "logs").is_dir():
        keylogs += [p for p in sorted((run_dir / "logs").rglob("*")) if p.is_file() and is_keylog(p)]
    keylog = _combined_keylog(keylogs, work / "keys.log")
    for name, path in candidates:
        if key_material(path):
            plan.left_out[name] = key_material(path) or ""
        elif is_capture(path):
            try:
                cap = read_capture(path)
            except CaptureFormatError as exc:
                raise ConfigError(f"{exc}: it cannot be rewritten for a shareable bundle") from None
            found = find_tls(cap)
            decrypt(path, found, keylog)
            for s in found:
                if s.decrypted:
                    write_plain(cap, s)
                plan.tls.append((name, s))
            plan.captures[name] = cap
        else:
            plan.files[name] = path
    return plan


def _mask_capture(cap: Capture, masker: Masker) -> Counter[str]:
    before = Counter(masker.counts)
    touched: set[int] = set()
    for st in streams(cap.packets):
        ranges = masker.ranges(bytes(st.data))
        if not ranges:
            continue
        masked = bytearray(st.data)
        for start, end, kind in ranges:
            if any(b != ord("*") for b in masked[start:end]):
                masker.counts[kind] += 1
            masked[start:end] = b"*" * (end - start)
        for index, off, length in st.segments:
            new = bytes(masked[off : off + length])
            pkt = cap.packets[index]
            lay = parse_l4(pkt)
            if lay is None:
                continue
            old = pkt.frame[lay.start : lay.start + length]
            if new != old and len(old) == length:
                pkt.frame = pkt.frame[: lay.start] + new + pkt.frame[lay.start + length :]
                touched.add(index)
    for index in touched:
        pkt = cap.packets[index]
        lay = parse_l4(pkt)
        if lay is not None:
            frame = bytearray(pkt.frame)
            fix_checksums(frame, lay)
            pkt.frame = bytes(frame)
    return masker.counts - before


def _check(staged: Path, secrets: Secrets) -> None:
    """Refuse (SecretLeft) when any staged file still holds a known secret, in its bytes or in a TCP stream."""
    for path in sorted(p for p in staged.rglob("*") if p.is_file()):
        name = str(path.relative_to(staged))
        data = path.read_bytes()
        findings = [(f.kind, f"byte {f.offset}") for f in scan(data, secrets)]
        if is_capture(path):
            for st in streams(read_capture(path).packets):
                findings += [(f.kind, f"packet {st.segments[0][0] + 1}'s stream") for f in scan(bytes(st.data), secrets)]  # fmt: skip
        if findings:
            kinds = ", ".join(sorted({k for k, _ in findings}))
            raise SecretLeft(
                f"refusing to write a shareable bundle: {name} still holds a known secret ({kinds}; "
                f"{len(findings)} place(s), first at {findings[0][1]}); nothing was written"
            )


def build_shareable(
    run_dir: Path, test: str, known: Secrets, out: Path | None = None
) -> tuple[Path, dict[str, Any]]:
    """Write `<run_dir>/<test>.shareable.tar.gz` (or `out`); return its path and manifest."""
    run_dir = run_dir.resolve()
    test_dir = test_folder(run_dir, test)
    path = out or run_dir / f"{test}.shareable.tar.gz"
    secrets = Secrets(set(known.values), set(known.users))
    from_inventory = len(secrets.values)
    with tempfile.TemporaryDirectory(prefix="henb-bench-share-") as tmp:
        work = Path(tmp)
        plan = _plan(run_dir, test_dir, work)
        for cap in plan.captures.values():
            for st in streams(cap.packets):
                harvest(bytes(st.data), secrets)
        for p in plan.files.values():
            harvest(p.read_bytes(), secrets)
        masker = Masker(secrets)
        staged = work / "bundle"
        for name, cap in plan.captures.items():
            plan.masked[name] = _mask_capture(cap, masker)
            (staged / name).parent.mkdir(parents=True, exist_ok=True)
            cap.write(staged / name)
        for name, p in plan.files.items():
            before = Counter(masker.counts)
            (staged / name).parent.mkdir(parents=True, exist_ok=True)
            (staged / name).write_bytes(masker.mask(p.read_bytes()))
            plan.masked[name] = masker.counts - before
        manifest = _manifest(
            run_dir, test, plan, masker, from_inventory, len(secrets.values) - from_inventory
        )
        (staged / run_dir.name / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        (staged / run_dir.name / README).write_text(readme(manifest))
        _check(staged, secrets)
        part = path.with_name(path.name + ".part")
        with tarfile.open(part, "w:gz") as tar:
            tar.add(staged / run_dir.name, run_dir.name)
        part.replace(path)
    return path, manifest


def _manifest(run_dir: Path, test: str, plan: Plan, masker: Masker, inv: int, found: int) -> dict[str, Any]:
    tls = [
        {
            "file": name,
            "first_packet": s.packets[0] + 1,
            "client": s.client,
            "server": s.server,
            "decrypted": s.decrypted,
            "packets": len(s.packets),
            "plaintext_bytes": s.size,
        }  # fmt: skip
        for name, s in plan.tls
    ]
    return {
        "bundle": "shareable",
        "run_id": run_dir.name,
        "test": test,
        "masked": {name: dict(sorted(c.items())) for name, c in sorted(plan.masked.items()) if c},
        "masked_total": dict(sorted(masker.counts.items())),
        "secrets_known": {"inventory": inv, "found_in_the_run": found},
        "tls_streams": tls,
        "left_out": dict(sorted(plan.left_out.items())),
        "scan": "every file scanned: no known secret (plain, XML/JSON-escaped, URL-encoded, base64, base64 of "
        "user:password, in file bytes and in reassembled TCP streams)",
    }


def readme(m: dict[str, Any]) -> str:
    """The bundle's README: what was masked, which TLS streams were decrypted, what was left out."""
    lines = [
        f"# Shareable evidence of {m['test']} (run {m['run_id']})",
        "",
        "Written by `henb-bench bundle --shareable`. Every secret the inventory and the run know was masked in",
        "place with `*`, as many as it had characters, so offsets, HTTP Content-Length and TCP sequence numbers",
        "stay true (TCP/UDP/IP checksums recomputed). Masked: HTTP Basic credentials, HTTP Digest responses, FTP",
        "PASS, CWMP parameter values whose names say Password/Key/Secret, RPC passwords, passwords in URLs, and",
        f"every known secret wherever it appeared ({m['secrets_known']['inventory']} from the inventory,",
        f"{m['secrets_known']['found_in_the_run']} found in the run). Counts per kind (never a value): "
        f"`{MANIFEST}`.",
        "",
        "| kind | masked |",
        "| --- | --- |",
        *[f"| {k} | {n} |" for k, n in m["masked_total"].items()],
        "",
        "## TLS",
        "",
    ]
    decrypted = [t for t in m["tls_streams"] if t["decrypted"]]
    if decrypted:
        lines += [
            "These TLS sessions were decrypted with the run's key logs and **the original TLS packets were",
            "replaced** by plain TCP packets carrying the plaintext (same addresses, ports and times; sequence",
            "numbers renumbered to the plaintext). No key log is in this bundle and none is needed:",
            "",
        ]
        for t in decrypted:
            port = int(t["server"].rsplit(":", 1)[-1] or 0)
            hint = f" (shown as TLS? `-d tcp.port=={port},http`)" if port in TLS_PORTS else ""
            lines.append(f"- `{t['file']}` from packet {t['first_packet']}: {t['client']} -> {t['server']}, "
                         f"{t['plaintext_bytes']} bytes of application data{hint}")  # fmt: skip
    else:
        lines.append("No TLS session was decrypted.")
    kept = [t for t in m["tls_streams"] if not t["decrypted"]]
    if kept:
        lines += ["", "Left encrypted (no key for them, or no application data: a refused handshake):", ""]
        lines += [
            f"- `{t['file']}` from packet {t['first_packet']}: {t['client']} -> {t['server']}" for t in kept
        ]
    lines += ["", "## Left out", ""]
    lines += [f"- `{n}` ({what})" for n, what in m["left_out"].items()] or ["- nothing"]
    lines += ["", "## Checked", "", m["scan"] + ".", ""]
    return "\n".join(lines)

"""ESP SAs in Wireshark's `esp_sa` table format (what strongSwan's save-keys plugin writes), checked line by line
before tshark sees them: tshark drops the whole table, silently, for one bad field, and exits 0."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from bench.errors import ConfigError

# Wireshark's names (4.0, epan/dissectors/packet-ipsec.c); strongSwan writes "TripleDes-CBC", so matched on case.
ENCRYPTION = (
    "NULL", "TripleDES-CBC [RFC2451]", "AES-CBC [RFC3602]", "AES-CTR [RFC3686]", "DES-CBC [RFC2405]",
    "CAST5-CBC [RFC2144]", "BLOWFISH-CBC [RFC2451]", "TWOFISH-CBC", "AES-GCM [RFC4106]",
    "AES-GCM with 8 octet ICV [RFC4106]", "AES-GCM with 12 octet ICV [RFC4106]",
    "AES-GCM with 16 octet ICV [RFC4106]",
)  # fmt: skip
AUTHENTICATION = (
    "NULL", "HMAC-SHA-1-96 [RFC2404]", "HMAC-SHA-256-96 [draft-ietf-ipsec-ciph-sha-256-00]",
    "HMAC-SHA-256-128 [RFC4868]", "HMAC-SHA-384-192 [RFC4868]", "HMAC-SHA-512-256 [RFC4868]",
    "HMAC-MD5-96 [RFC2403]", "MAC-RIPEMD-160-96 [RFC2857]", "ANY 64 bit authentication [no checking]",
    "ANY 96 bit authentication [no checking]", "ANY 128 bit authentication [no checking]",
    "ANY 192 bit authentication [no checking]", "ANY 256 bit authentication [no checking]",
)  # fmt: skip
COLUMNS = "protocol, source, destination, SPI, encryption, encryption key, authentication, authentication key"
_HEX = re.compile(r"0x[0-9a-fA-F]*")


def _name(value: str, names: tuple[str, ...], what: str) -> str:
    for name in names:
        if name.lower() == value.lower():
            return name
    raise ValueError(f"unknown {what} algorithm {value!r} (Wireshark knows: {', '.join(names)})")


def _record(fields: list[str]) -> list[str]:
    """One SA, its algorithm names spelled as Wireshark spells them; a ValueError says what is wrong."""
    if len(fields) < 8:
        raise ValueError(f"{len(fields)} fields, expected 8 ({COLUMNS})")
    proto, src, dst, spi, enc, enc_key, auth, auth_key = fields[:8]
    if proto not in ("IPv4", "IPv6"):
        raise ValueError(f"protocol {proto!r}, expected IPv4 or IPv6")
    if not src or not dst:
        raise ValueError("no source or destination address (give one, or * for any)")
    if spi != "*" and not (_HEX.fullmatch(spi) and len(spi) > 2):
        raise ValueError(f"SPI {spi!r}, expected hex such as 0xc0ffee01 (or *)")
    for label, key in (("encryption key", enc_key), ("authentication key", auth_key)):
        if key and not (_HEX.fullmatch(key) and len(key) % 2 == 0):
            raise ValueError(f"{label} {key!r}, expected 0x and an even number of hex digits")
    return [
        proto, src, dst, spi, _name(enc, ENCRYPTION, "encryption"), enc_key,
        _name(auth, AUTHENTICATION, "authentication"), auth_key,
    ]  # fmt: skip


def read_esp_sa(path: Path) -> list[list[str]]:
    """The SAs of an esp_sa file (blank lines and # comments skipped); a ConfigError names the line that is
    wrong and why."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--esp-sa {path}: cannot read it: {exc}") from None
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            if not line.lstrip().startswith('"'):
                raise ValueError('expected quoted fields: "IPv4","SRC","DST","0xSPI",...')
            records.append(_record(next(csv.reader([line], skipinitialspace=True))))
        except (ValueError, csv.Error) as exc:
            raise ConfigError(f"--esp-sa {path}: line {number}: {exc}") from None
    if not records:
        raise ConfigError(f"--esp-sa {path}: no SA in it (one line per SA: {COLUMNS})")
    return records


def write_profile(records: list[list[str]], folder: Path) -> Path:
    """A Wireshark configuration folder holding just these SAs (tshark is pointed at it with
    WIRESHARK_CONFIG_DIR, so the user's own profile does not change the verdicts)."""
    lines = (",".join(f'"{v}"' for v in record) for record in records)
    (folder / "esp_sa").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return folder

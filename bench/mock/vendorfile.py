"""The mock unit's own configuration file format, one the bench does not know (as a vendor's would be):
gzip-compressed `Name = Value` lines, `#` comments. gzip's CRC makes a truncated or altered file detectable."""

from __future__ import annotations

import gzip
import zlib

MAGIC = b"\x1f\x8b"


def build(params: dict[str, str]) -> bytes:
    """A file setting every parameter in `params` (full TR-069 names)."""
    lines = ["# mock HeNB configuration", *(f"{name} = {value}" for name, value in params.items())]
    return gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)


def parse(blob: bytes) -> dict[str, str]:
    """The parameters of a file, in file order; ValueError naming the problem."""
    try:
        text = gzip.decompress(blob).decode()
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise ValueError(f"not a mock configuration file: {exc}") from None
    values: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"line {n}: expected 'Name = Value', found {line!r}")
        values[name.strip()] = value.strip()
    return values

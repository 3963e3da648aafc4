"""The mock's shape: knobs named through bench.knobs.Knob, never as string literals, and files small enough
to read at once."""

from __future__ import annotations

import ast
from pathlib import Path

from bench.knobs import KNOBS, Knob

MOCK = Path(__file__).resolve().parents[3] / "bench" / "mock"
MAX_LINES = 400


def literal_knobs(source: str) -> list[tuple[int, str]]:
    """(line, name) of every string constant that is a knob's name."""
    return [
        (node.lineno, node.value)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in KNOBS
    ]


def test_no_string_literal_knob_in_mock() -> None:
    found = [
        f"{p.name}:{line}: {name!r}"
        for p in sorted(MOCK.glob("*.py"))
        for line, name in literal_knobs(p.read_text())
    ]
    assert not found, f"knob names as string literals (use bench.knobs.Knob): {found}"


def test_literal_check_catches_a_literal() -> None:
    assert literal_knobs('if "no_bootstrap" in knobs: pass') == [(1, "no_bootstrap")]
    assert literal_knobs("if Knob.NO_BOOTSTRAP in knobs: pass") == []


def test_knob_enum_keeps_names_and_descriptions() -> None:
    assert set(KNOBS) == set(Knob)
    assert all(k.value == k.name.lower() and KNOBS[k] for k in Knob)
    assert "no_bootstrap" in KNOBS and Knob("no_bootstrap") is Knob.NO_BOOTSTRAP


def test_mock_files_small_enough() -> None:
    too_long = []
    for p in sorted(MOCK.glob("*.py")):
        lines = len(p.read_text().splitlines())
        if lines > MAX_LINES:
            too_long.append(f"{p.name}: {lines} lines (at most {MAX_LINES})")
    assert not too_long, too_long


# What the mock process must not load (issue 14: at most 50 MiB RSS per mock unit with its charon): each of these
# cost it megabytes (scapy 32, pydantic 18, asyncssh 17, pycrate 12, aiohttp 11, pyroute2 5, dnspython with
# importlib.metadata 4, urllib.request 3).
HEAVY = ("pydantic", "pycrate_asn1dir", "aiohttp", "asyncssh", "scapy", "pyroute2", "urllib.request", "bench.hems",
         "dns", "importlib.metadata")  # fmt: skip
# And what costs every start of it CPU for nothing it needs (a process at every power-on: docs/testing.md):
# tenacity, a twentieth of its imports, for one retry loop (bench.services.charon's VICI connect); pickle, which
# bench.s1ap (the numbers of the mock's S1AP codec) needs only for the bench's cache of pycrate's objects.
SLOW = ("tenacity", "pickle")


def test_the_mock_process_loads_no_heavy_library() -> None:
    import subprocess
    import sys

    # The modules the process loads at start, and those it loads later for S1, HTTP, DNS and its console.
    code = (
        "import sys, bench.mock.henb, bench.mock.s1ap_codec, bench.mock.http, bench.mock.bench_cli, "
        "bench.mock.vendor_cli; print(' '.join(m for m in sys.argv[1:] if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code, *HEAVY, *SLOW], capture_output=True, text=True, check=True,
                         cwd=MOCK.parents[1])  # fmt: skip
    assert out.stdout.split() == [], f"the mock process imports {out.stdout.split()}"

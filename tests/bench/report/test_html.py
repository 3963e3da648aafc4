"""Tests for bench/report/html.py: one self-contained page, opened in headless Chromium (Debian's chromium),
screenshotted, and checked that the ladders are drawn."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
import yaml

from bench.report.html import render
from tests.bench.report.fakerun import inventory_data, make_fake_run

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]


@pytest.fixture
def failed_run(tmp_path: Path) -> Path:
    inv = tmp_path / "inv.yaml"
    inv.write_text(yaml.safe_dump(inventory_data()))
    return make_fake_run(tmp_path / "captures", inv, failing=True, deviate=True)


def test_report_is_self_contained_and_shows_the_first_deviation(failed_run: Path) -> None:
    page = (failed_run / "report.html").read_text()
    assert page == render(failed_run, None) or "[redacted]" in page
    # No external assets: nothing loaded from anywhere, links only to the run's own files and anchors.
    assert not re.search(r"<(script|link|img)\b", page)
    assert not re.search(r"""(src|href)=["']https?:""", page)
    assert "first deviation: step 11 <b>DNS query Serving SeGW (public DNS)</b>: not seen after #" in page
    assert "fw-9.8.7" in page and "hw-B" in page  # firmware as the unit reported it
    assert "TS 32.593 clause coverage" in page and "5.1.2.2" in page
    for title in ("Time to first Inform", "IKE setup time", "Boot time", "Upload interval observed"):
        assert title in page
    assert "0.012 s" in page  # IKE setup from the outer capture
    assert "operator packets outside the tunnel: <b>0</b> &middot; allowed: DHCP 2, NTP 2, IKE 4" in page
    assert "other traffic: UDP port 514: 1 packet(s) (listed, not a failure (not strict))" in page
    # Every observed arrow links to an entry of the events table.
    anchors = set(re.findall(r"<tr id='(ev0-\d+)'", page))
    links = set(re.findall(r'href="#(ev0-\d+)"', page))
    assert links and links <= anchors
    assert "<tr id='ev0-11' class='hl'>" in page  # the entry the failure message points at


def _png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Rows of RGB(A) pixels of an 8-bit PNG (what Chromium writes), unfiltered by hand: no imaging library."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, bpp = 8, b"", 0, 0, 4
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6)
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, bpp, rows


def test_chromium_draws_the_ladders(failed_run: Path, tmp_path: Path) -> None:
    assert Path(CHROMIUM).exists(), "Debian package chromium is needed (the Makefile installs it)"
    url = (failed_run / "report.html").as_uri()
    common = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*common, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    # Parsed by the browser: the two SVG ladders with their arrows and lanes.
    assert dom.count("<svg") == 2, dom[:2000]
    assert len(re.findall(r'<g class="arrow', dom)) >= 18
    assert 'class="arrow bad"' in dom  # the first deviation
    # Both ladders on the same lifelines, as Figure 5-3 names them (and the MME the S1 setup went to).
    lanes = re.findall(r'class="lane-name"[^>]*>([^<]+)<', dom)
    each = ["HeNB", "public DNS", "private DNS", "Initial SeGW", "Serving SeGW", "Initial HeMS", "MME"]
    assert lanes == each * 2, lanes
    assert len(re.findall(r'class="lane"', dom)) == 14
    # The power-on and DHCP before the procedure's first message: one collapsed line.
    assert "\u2026 3 earlier messages: power-on, DHCP" in dom

    shot = tmp_path / "report.png"
    # A window the width of both ladders; tall, as the ladders start below the summary and coverage table.
    subprocess.run(
        [*common, "--window-size=1500,5000", "--virtual-time-budget=3000", f"--screenshot={shot}", url],
        capture_output=True,
        timeout=120,
        check=True,
    )
    width, bpp, rows = _png_pixels(shot)
    assert width == 1500
    colors = {row[i : i + 3] for row in rows for i in range(0, len(row), bpp)}  # every pixel: arrows are thin
    assert len(colors) > 20, "the screenshot is blank"
    blue = bytes.fromhex("2563eb")  # observed arrows
    green = bytes.fromhex("15803d")  # expected steps that matched
    drawn = {c for c in colors if max(abs(x - y) for x, y in zip(c, blue, strict=True)) < 40}
    matched = {c for c in colors if max(abs(x - y) for x, y in zip(c, green, strict=True)) < 40}
    assert drawn and matched, "no ladder arrows in the screenshot"


def test_a_clause_whose_tests_were_all_skipped_reads_skipped_not_passed() -> None:
    from bench.report.html import _coverage

    summary = {
        "clauses": {"5.1.2.3": {"title": "public", "checks": [{"step": "1.1", "what": "DNS"}]}},
        "results": [{"test": "t", "clause": "5.1.2.3", "outcome": "skipped", "message": "private inventory"}],
    }
    page = _coverage(summary)
    assert ">SKIPPED<" in page and ">PASSED<" not in page
    assert "<span class='not-run'>not run</span> step 1.1" in page


def test_a_clause_not_applicable_to_the_unit_says_so_and_why_not_skipped() -> None:
    from bench.report.html import _coverage, _inapplicable

    why = (
        "clause 5.1.2.3 is for units with initial_hems_access: public (units.u.initial_hems_access: private)"
    )
    results = [{"test": "t", "clause": "5.1.2.3", "outcome": "not-applicable", "message": why}]
    page = _coverage({"clauses": {"5.1.2.3": {"title": "public", "checks": [{"step": "1.1", "what": "DNS"}]}},
                      "results": results})  # fmt: skip
    assert ">NOT APPLICABLE<" in page and ">SKIPPED<" not in page and ">PASSED<" not in page
    assert f"not run: {why}" in page and "<span class='not-run'>not run</span> step 1.1" in page
    listed = _inapplicable(results)
    assert "Not applicable (not run)" in listed and why in listed
    assert _inapplicable([]) == ""


def test_chromium_draws_the_address_change_alone_on_its_own_lifelines(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(yaml.safe_dump(inventory_data()))
    run = make_fake_run(tmp_path / "captures", inv, flow="5.2.4")
    url = (run / "report.html").as_uri()
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    section = dom[dom.index('<section id="test-test_inform_after_ipsec_address_change">') :]
    observed, expected = re.findall(r"<svg.*?</svg>", section, re.S)
    # Figure 5-8's lifelines: the HeNB, the Serving SeGW and the Serving HeMS, nothing of the boot's.
    for svg in (observed, expected):
        assert re.findall(r'class="lane-name"[^>]*>([^<]+)<', svg) == ["HeNB", "Serving SeGW", "Serving HeMS"]
    # Boot, registration, the earlier test and this test's preparation: one line; then the address change.
    assert "\u2026 26 earlier messages: power-on, DHCP, registration, configuration, S1 setup" in observed
    labels = re.findall(r'class="label">([^<]+)<', observed)
    assert labels == [
        "inner address change", "IKE SA down", "IKE SA up", "Inform [4 VALUE CHANGE]", "InformResponse",
        "HTTP 204 (session end)",
    ]  # fmt: skip
    assert "the observed messages follow the figure's sequence" in section
    assert 'class="arrow bad"' not in section

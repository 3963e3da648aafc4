"""The bench's own test suite timed per test file: CPU (each test's process and every process it waited for, which
is every `henb-bench run`, mock unit, charon and daemon a test starts) and wall time, so the next slow file shows.

Runs pytest as `make test` does (`-n 6 --dist loadgroup`, bytecode cached; other files or options after `--`)
with this module as a plugin in every worker: around each test (setup, call, teardown) it takes the worker's
getrusage(SELF) and getrusage(CHILDREN) and the monotonic clock, and writes one JSON line per test. Then it prints,
per file, the tests, their CPU, their wall time (worker-seconds: how long they held a worker) and the slowest
test; per worker its busy time (the suite can end no earlier than its busiest worker); each module, class or
package fixture made more than once (a run or a bench its tests could share); and the whole run's wall and CPU.

    sudo HB_TEST_PREFIX=hx- .venv/bin/python benchmarks/bench_suite.py                      # the whole suite
    sudo HB_TEST_PREFIX=hx- .venv/bin/python benchmarks/bench_suite.py -n 2 -- tests/bench/test_doctor.py
    sudo HB_TEST_PREFIX=hx- .venv/bin/python benchmarks/bench_suite.py --save after.json --compare before.json \
        --log after.log  # pytest's whole output: a failure's traceback

CPU is what a loaded, shared host cannot inflate much (wall time there is the others' load as much as the
suite's); a process a test leaves to init instead of waiting for it (a daemon that forks away) is not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECORDS = "HB_SUITE_RECORDS"  # the folder the workers write their JSON lines to


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# -- the plugin, in each pytest (xdist worker) process ------------------------------------------------------


_OUTCOMES: dict[str, str] = {}
_WORST = ("failed", "error", "skipped", "passed")
_MADE: list[str] = []  # the fixtures wider than a test made during the current test


def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> None:
    """A module, class or package fixture made during this test is named in its record: one made again (on
    another worker, or on one after other modules' tests) is a run or a bench its tests could share."""
    if fixturedef.scope in ("module", "class", "package"):
        param = getattr(request, "param", None)
        name = fixturedef.argname + (f"[{param}]" if param is not None else "")
        _MADE.append(f"{fixturedef.baseid or '(plugin)'}::{name}")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    outcome = "error" if report.failed and report.when != "call" else report.outcome
    was = _OUTCOMES.get(report.nodeid, "passed")
    _OUTCOMES[report.nodeid] = min(was, outcome, key=_WORST.index)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, None]:
    folder = os.environ.get(RECORDS)
    if not folder:
        yield
        return
    cpu, t0 = _cpu(), time.monotonic()
    yield
    record = {
        "nodeid": item.nodeid.split("@", 1)[0],
        "file": item.nodeid.split("::", 1)[0],
        "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
        "cpu": round(_cpu() - cpu, 3),
        "wall": round(time.monotonic() - t0, 3),
        "outcome": _OUTCOMES.pop(item.nodeid, "passed"),
        "made": _MADE[:],
    }
    _MADE.clear()
    with open(Path(folder, f"{record['worker']}.jsonl"), "a") as out:
        out.write(json.dumps(record) + "\n")


# -- the script ---------------------------------------------------------------------------------------------


def run_suite(
    workers: int, args: list[str], log: Path | None = None
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Run pytest; every test's record and the run's own figures (wall, CPU of everything it waited for). `log`
    keeps pytest's whole output (a failure's traceback: the summary shows only its first line)."""
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as folder:
        # As the Makefile's test target: bytecode (and pytest's rewritten test modules) cached.
        env = dict(os.environ, **{RECORDS: folder}, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="")
        cmd = [
            str(ROOT / ".venv/bin/pytest"),
            "-q",
            "-rfE",
            "-p",
            "benchmarks.bench_suite",
            "-p",
            "no:cacheprovider",
        ]
        if workers:
            cmd += ["-n", str(workers), "--dist", "loadgroup"]
        cmd += args
        before, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if log:
            log.write_text(done.stdout + done.stderr)
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        print(f"pytest exit {done.returncode}: {lines[-1] if lines else '(no output)'}")
        for line in lines:  # -rfE's short summary: what failed, and its first line
            if line.startswith(("FAILED ", "ERROR ")):
                print(f"  {line[:300]}")
        if done.returncode not in (0, 1):
            print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
        records = [
            json.loads(line)
            for path in Path(folder).glob("*.jsonl")
            for line in path.read_text().splitlines()
        ]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return records, {"wall": wall, "cpu": cpu, "exit": done.returncode, "tests": len(records)}


def per_file(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    files: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"tests": 0, "cpu": 0.0, "wall": 0.0, "slowest": ("", 0.0)}
    )
    for r in records:
        f = files[r["file"]]
        f["tests"] += 1
        f["cpu"] += r["cpu"]
        f["wall"] += r["wall"]
        if r["wall"] > f["slowest"][1]:
            f["slowest"] = (r["nodeid"].split("::", 1)[-1], r["wall"])
    return dict(files)


def report(
    records: list[dict[str, Any]], run: dict[str, float], before: dict[str, Any] | None, top: int
) -> str:
    files = per_file(records)
    old = before["files"] if before else {}
    lines = []
    total_cpu = sum(f["cpu"] for f in files.values()) or 1.0
    head = f"{'file':58} {'tests':>5} {'CPU s':>8} {'CPU%':>5} {'wall s':>8}"
    lines.append(head + ("   before: CPU s / wall s" if before else "") + "   slowest test (wall s)")
    ranked = sorted(files.items(), key=lambda kv: -kv[1]["cpu"])
    for name, f in ranked[:top] if top else ranked:
        was = old.get(name)
        compare = (
            f"   {was['cpu']:8.1f} / {was['wall']:7.1f}" if was else ("   " + " " * 18 if before else "")
        )
        slow, secs = f["slowest"]
        lines.append(
            f"{name[-58:]:58} {f['tests']:5d} {f['cpu']:8.1f} {100 * f['cpu'] / total_cpu:5.1f} {f['wall']:8.1f}"
            f"{compare}   {slow[:60]} ({secs:.1f})"
        )
    if top and len(ranked) > top:
        rest = ranked[top:]
        lines.append(
            f"{f'... {len(rest)} more files':58} {sum(f['tests'] for _, f in rest):5d} "
            f"{sum(f['cpu'] for _, f in rest):8.1f} {'':5} {sum(f['wall'] for _, f in rest):8.1f}"
        )
    busy: dict[str, float] = defaultdict(float)
    for r in records:
        busy[r["worker"]] += r["wall"]
    lines.append(
        "workers busy (wall s): "
        + ", ".join(f"{w} {s:.0f}" for w, s in sorted(busy.items()))
        + f"; the busiest ends the run no earlier than {max(busy.values(), default=0):.0f} s"
    )
    made: dict[str, list[str]] = defaultdict(list)
    for r in records:
        for fixture in r.get("made", []):
            made[fixture].append(r["worker"])
    for fixture, where in sorted(made.items()):
        if len(where) > 1:
            lines.append(
                f"made {len(where)} times ({', '.join(sorted(where))}): {fixture}"
                " (one xdist_group for the tests that use it makes it once)"
            )
    for r in records:
        if r.get("outcome") in ("failed", "error"):
            lines.append(f"{r['outcome'].upper()}: {r['nodeid']}")
    lines.append(
        f"run: {run['tests']} tests, wall {run['wall']:.1f} s, CPU {run['cpu']:.1f} s "
        f"(tests' own {sum(r['cpu'] for r in records):.1f} s; the rest is pytest's and its workers' start)"
        + (
            f"; before: wall {before['run']['wall']:.1f} s, CPU {before['run']['cpu']:.1f} s"
            if before
            else ""
        )
    )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--workers", type=int, default=6, help="pytest-xdist workers (0: none); default 6")
    ap.add_argument("--save", type=Path, help="write the records and figures to this JSON file")
    ap.add_argument("--compare", type=Path, help="a --save file of an earlier run to print beside this one")
    ap.add_argument("--load", type=Path, help="print a --save file's figures instead of running the suite")
    ap.add_argument(
        "--log", type=Path, help="write pytest's whole output (failures' tracebacks) to this file"
    )
    ap.add_argument("--top", type=int, default=40, help="files shown, by CPU (0: all); default 40")
    ap.add_argument("pytest_args", nargs="*", help="after --: test files or pytest options")
    opts = ap.parse_args()
    if opts.load:
        saved = json.loads(opts.load.read_text())
        records, run = saved["records"], saved["run"]
    else:
        if "HB_TEST_PREFIX" not in os.environ:
            print("note: HB_TEST_PREFIX is not set; the tests use the default hb- names", file=sys.stderr)
        records, run = run_suite(opts.workers, opts.pytest_args, opts.log)
    before = None
    if opts.compare:
        saved = json.loads(opts.compare.read_text())
        before = {"files": per_file(saved["records"]), "run": saved["run"]}
    print(report(records, run, before, opts.top))
    if opts.save:
        opts.save.write_text(json.dumps({"run": run, "records": records}, indent=None))
    return 0 if run.get("exit", 0) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

"""The results history at a lab's scale: 1,000 run folders (22 tests each, the real plans' clause catalogue, four
units on four bench hosts, a firmware every 8 nights, a regression, flaky steps, bench errors) imported into
SQLite and, with --postgres, a throwaway PostgreSQL server; then each history query, repeated, with medians.

    .venv/bin/python benchmarks/bench_history.py [--runs 1000] [--repeat 5] [--postgres]

Goals (issue 23): the import under a minute, each query under a second. Exits 1 when a goal is missed.
--postgres starts a server as tests/bench/history/pgserver.py does (Debian's postgresql, root for runuser).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.history import queries  # noqa: E402
from bench.history.importer import read_run_folder  # noqa: E402
from bench.history.queries import Filter  # noqa: E402
from bench.history.store import Store  # noqa: E402
from bench.run import clause_catalogue  # noqa: E402
from tests.bench.history.factory import Test, UnitSpec, write_run  # noqa: E402

PROTOCOLS = ("http", "https", "ftp", "sftp")
TESTS = [
    ("test_discovery_via_initial_hems_in_private_network", "5.1.2.2"),
    ("test_refuses_initial_hems_with_mismatching_certificate", "5.1.2.3"),
    ("test_discovery_via_initial_hems_on_public_internet", "5.1.2.3"),
    ("test_registration_with_serving_hems", "5.1.3"),
    *((f"test_configuration_by_file_download[{p}]", "5.2.2") for p in PROTOCOLS),
    ("test_failing_download_reports_the_fault_and_changes_nothing", "5.2.2"),
    ("test_configuration_by_set_parameter_values", "5.2.3"),
    ("test_invalid_set_is_refused_as_a_whole", "5.2.3"),
    ("test_inform_after_ipsec_address_change", "5.2.4"),
    ("test_reporting_mechanism_configuration", "5.3.1"),
    ("test_expedited_alarm_is_reported_at_once", "5.3.2"),
    ("test_queued_alarm_waits_for_the_next_inform", "5.3.2"),
    ("test_logged_alarm_is_not_informed_but_kept", "5.3.2"),
    ("test_disabled_alarm_is_not_reported", "5.3.2"),
    ("test_disabled_pm_uploads_nothing", "5.4.1"),
    *((f"test_pm_files_uploaded_at_the_interval[{p}]", "5.4.2") for p in PROTOCOLS),
]
UNITS = [("henb-01", "FAP0001", "FAP-200"), ("henb-02", "FAP0002", "FAP-200"), ("henb-03", "F1000001", "FAP-100"),
         ("henb-04", "F3000001", "FAP-300")]  # fmt: skip
HOSTS = ["lab-bench-1", "lab-bench-2", "lab-bench-3", "lab-bench-4"]
REGRESSION_AT = 20  # the FAP-200 firmware from which 5.3.2 step 2 fails


def make_folders(root: Path, count: int, catalogue: dict[str, Any]) -> list[Path]:
    rng = random.Random(23)
    steps = {c: [str(x["step"]) for x in v["checks"]] or ["-"] for c, v in catalogue.items()}
    folders = []
    for i in range(count):
        night, which = divmod(i, len(UNITS))
        name, serial, pc = UNITS[which]
        fw_index = night // 8
        tests = []
        for test, clause in TESTS:
            roll = rng.random()
            if (
                pc == "FAP-200"
                and fw_index >= REGRESSION_AT
                and test == "test_expedited_alarm_is_reported_at_once"
            ):
                tests.append(Test(test, clause, "failed", "2"))
            elif roll < 0.02:
                tests.append(Test(test, clause, "failed", rng.choice(steps[clause])))
            elif roll < 0.03:
                tests.append(Test(test, clause, "error"))
            else:
                tests.append(Test(test, clause))
        spec = UnitSpec(name, serial, pc, firmware=f"{pc[-3:]}.{fw_index // 10}.{fw_index % 10}", tests=tests,
                        measurements={"boot_time": round(20 + 0.05 * fw_index + rng.gauss(0, 0.3), 3),
                                      "first_inform": round(41 + rng.gauss(0, 1), 3),
                                      "ike_setup": round(0.3 + rng.random() * 0.1, 3),
                                      "registration": round(55 + rng.gauss(0, 1), 3)})  # fmt: skip
        host = HOSTS[(i + night) % len(HOSTS)]
        folders.append(
            write_run(root, f"{i:05d}-{name}", [spec], host, 1.79e9 + night * 86400.0, clauses=catalogue)
        )
    return folders


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def bench_backend(label: str, url: str, folders: list[Path], repeat: int) -> bool:
    store = Store(url)
    ok = True
    try:
        t0 = time.perf_counter()
        for folder in folders:
            store.save(read_run_folder(folder))
        took = time.perf_counter() - t0
        ok &= took < 60
        print(f"{label}: import of {len(folders)} run folders: {took:.1f} s ({1000 * took / len(folders):.1f} ms each)"
              f"{'' if took < 60 else '  GOAL MISSED (60 s)'}")  # fmt: skip
        last = folders[-1].name
        cases: list[tuple[str, Callable[[Any], Any]]] = [
            ("history (matrix, every product class)", lambda s: queries.matrix(s)),
            ("history --unit henb-01", lambda s: queries.matrix(s, Filter(unit="henb-01"))),
            ("history --first-failure --product-class FAP-200",
             lambda s: queries.first_failures(s, Filter(product_class="FAP-200"))),
            ("history --flaky", lambda s: queries.flaky(s)),
            ("history --flaky --clause 5.4.2", lambda s: queries.flaky(s, Filter(clause="5.4.2"))),
            ("history --trend boot_time --last 30", lambda s: queries.trend(s, "boot_time", Filter(last=30))),
            ("history --trend boot_time (all)", lambda s: queries.trend(s, "boot_time")),
            ("history --runs", lambda s: queries.recent_runs(s)),
            ("diff RUN_A RUN_B", lambda s: queries.diff(s, folders[-5].name, last)),
        ]  # fmt: skip
        with store.session() as session:
            for name, query in cases:
                median, _ = timed(lambda q=query: q(session), repeat)  # type: ignore[misc]
                ok &= median < 1
                print(
                    f"{label}:   {name:50} median {1000 * median:7.1f} ms{'' if median < 1 else '  GOAL MISSED (1 s)'}"
                )
            for argv in (["history"], ["history", "--html", str(folders[0].parents[1] / "morning.html")]):
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-W", "ignore", "-m", "bench.cli", *argv, "--db", url], cwd=ROOT,
                               check=True, capture_output=True)  # fmt: skip
                print(
                    f"{label}:   {'henb-bench ' + ' '.join(argv[:2]):50} whole command {time.perf_counter() - t0:.2f} s"
                )
            found = queries.first_failures(session, Filter(product_class="FAP-200"))
            regression = [f for f in found if (f.clause, f.step) == ("5.3.2", "2")]
            print(
                f"{label}:   first failure of 5.3.2 step 2 on FAP-200: {regression[0].first_failed if regression else 'none'}"
            )
    finally:
        store.close()
    return ok


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL server (root)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="henb-bench-history-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        folders = make_folders(root / "captures", args.runs, clause_catalogue())
        print(
            f"made {len(folders)} run folders in {time.perf_counter() - t0:.1f} s ({len(TESTS)} tests each)"
        )
        ok = bench_backend("sqlite", f"sqlite:///{root / 'history.sqlite'}", folders, args.repeat)
        if args.postgres:
            from tests.bench.history.pgserver import PgServer

            server = PgServer().start()
            try:
                ok &= bench_backend("postgresql", server.create_database("bench"), folders, args.repeat)
            finally:
                server.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

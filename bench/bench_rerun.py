"""Benchmark: server time of a theme-page rerun after changing the selected municipality, and peak memory.

With the full bundled snapshot in a fresh warehouse, AppTest opens the employment page, then changes the sidebar
selection N times. "Server time" is the time the script run itself takes (measured around Streamlit's script
execution, so AppTest's own polling is not counted); the wall time of `AppTest.run()` is printed too. Peak memory is
the process's maximum resident set size. Prints medians of one run.

With `--backend postgres` the warehouse is a new database on a throwaway PostgreSQL server (tests/pg_server.py).

Usage: .venv/bin/python bench/bench_rerun.py [--runs 15] [--page employment] [--backend local|postgres]
Targets (issue 6): median rerun < 150 ms, peak memory < 400 MB; (issue 9) on PostgreSQL within 1.2× of local.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from script_timing import record_script_times  # noqa: E402 - bench/ is the script's own folder

SELECTIONS = [["KU098"], ["KU016", "KU098"], ["KU111"], ["KU560", "KU111"], ["KU091"], ["KU016"], ["KU398", "KU098"],
              ["KU049", "KU091", "KU092"], ["KU560"], ["KU111", "KU016", "KU098", "KU560"]]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--page", default="employment")
    parser.add_argument("--backend", choices=["local", "postgres"], default="local")
    args = parser.parse_args()
    os.environ["TIEDOLLA_WAREHOUSE_DIR"] = tempfile.mkdtemp(prefix="tiedolla-bench-")
    if args.backend == "postgres":
        from tests.pg_server import PostgresServer

        with PostgresServer() as server:
            os.environ["TIEDOLLA_WAREHOUSE_URL"] = server.create_database("bench_rerun")
            return run(args)
    return run(args)


def run(args) -> int:

    script_times = record_script_times()
    from tests.apptest_helpers import open_page, run_app

    at = run_app()
    open_page(at, args.page)
    at.run()  # warm: caches filled for the page's open panels
    server, wall = [], []
    for index in range(args.runs):
        at.sidebar.multiselect(key="municipalities").set_value(SELECTIONS[index % len(SELECTIONS)])
        script_times.clear()
        started = time.perf_counter()
        at.run()
        wall.append(time.perf_counter() - started)
        server.append(sum(script_times))
        if at.exception:
            print("page raised:", at.exception[0].message)
            return 1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"page: {args.page}, reruns: {args.runs}, backend: {args.backend}")
    print(f"median server time of a rerun: {statistics.median(server) * 1000:.0f} ms "
          f"(min {min(server) * 1000:.0f}, max {max(server) * 1000:.0f})")
    print(f"median AppTest.run() wall time: {statistics.median(wall) * 1000:.0f} ms")
    print(f"peak memory (max RSS): {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

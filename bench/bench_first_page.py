"""Benchmark: the first theme page of a fresh process on an already seeded warehouse (issue 16).

The warehouse is filled from the full bundled snapshot once, in a process of its own (as the first start of the app,
or the worker, does). Then each run starts a fresh Python process, which opens the app with AppTest and switches to
a theme page, as the first reader after a server start or on a new replica does. Printed per run and as medians:

- script time: the two script runs (the app's default page, then the theme page) themselves, measured around
  Streamlit's script execution, so AppTest's own polling is not counted;
- wall time: from the fresh process's start of `main` (after the interpreter started) to the theme page done,
  imports included;
- the page again: one more script run of the same page in that process, what a later reader waits for.

With `--backend postgres` the warehouse is a new database on a throwaway PostgreSQL server (tests/pg_server.py).

Usage: .venv/bin/python bench/bench_first_page.py [--runs 3] [--page employment] [--backend local|postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def child_seed() -> dict:
    started = time.perf_counter()
    from ui import loading

    loading.ensure_warehouse()
    return {"seed_s": time.perf_counter() - started}


def child_page(page: str) -> dict:
    started = time.perf_counter()
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "bench"))
    from script_timing import record_script_times

    script_times = record_script_times()
    from tests.apptest_helpers import open_page, run_app

    at = run_app()
    open_page(at, page)
    wall = time.perf_counter() - started
    if at.exception:
        raise SystemExit(f"page raised: {at.exception[0].message}")
    first, runs = sum(script_times), len(script_times)
    script_times.clear()
    at.run()  # the same page again in the same process: what a later reader waits for
    return {"script_s": first, "runs": runs, "wall_s": wall, "again_s": sum(script_times)}


def spawn(mode: str, page: str, env: dict[str, str]) -> dict:
    output = subprocess.run([sys.executable, __file__, "--child", mode, "--page", page], env=env, cwd=REPO,
                            capture_output=True, text=True, check=False)
    if output.returncode != 0:
        raise SystemExit(f"child {mode} failed:\n{output.stdout}\n{output.stderr}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def measure(args, env: dict[str, str]) -> int:
    seeded = spawn("seed", args.page, env)
    print(f"backend: {args.backend}, page: {args.page}, fresh processes: {args.runs}")
    print(f"seeding the warehouse (its own process): {seeded['seed_s']:.1f} s")
    results = []
    for index in range(args.runs):
        result = spawn("page", args.page, env)
        results.append(result)
        print(f"  run {index + 1}: script {result['script_s']:.2f} s ({result['runs']} runs), "
              f"wall {result['wall_s']:.2f} s; the page again {result['again_s']:.2f} s")
    print(f"median script time to the first theme page: {statistics.median(r['script_s'] for r in results):.2f} s")
    print(f"median wall time from process start: {statistics.median(r['wall_s'] for r in results):.2f} s")
    print(f"median script time of the same page again: {statistics.median(r['again_s'] for r in results):.2f} s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--page", default="employment")
    parser.add_argument("--backend", choices=["local", "postgres"], default="local")
    parser.add_argument("--child", choices=["seed", "page"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, str(REPO))
        print(json.dumps(child_seed() if args.child == "seed" else child_page(args.page)))
        return 0
    env = {**os.environ, "TIEDOLLA_WAREHOUSE_DIR": tempfile.mkdtemp(prefix="tiedolla-bench-")}
    if args.backend == "postgres":
        sys.path.insert(0, str(REPO))
        from tests.pg_server import PostgresServer

        with PostgresServer() as server:
            env["TIEDOLLA_WAREHOUSE_URL"] = server.create_database("bench_first_page")
            return measure(args, env)
    return measure(args, env)


if __name__ == "__main__":
    sys.exit(main())

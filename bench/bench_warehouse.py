"""Benchmark: the warehouse on both backends, local store and PostgreSQL, in one run on this machine.

Measures, for each backend:
- writing the largest series, 308 municipalities × 240 months × 3 contents (221 760 rows), into an empty warehouse;
- an unchanged re-fetch of it (must store no rows: the stored row count is printed before and after);
- a revision of 1 % of its values (a new vintage);
- a cold load of every series of the bundled snapshot, seeded into the warehouse (a new warehouse object each time,
  so nothing is cached in the process; the operating system's file cache is warm for both).
Prints medians of `--runs` repetitions and the PostgreSQL/local ratios. PostgreSQL is a throwaway server started
for the run (tests/pg_server.py: Unix socket, fsync off, as in the tests).

The written series is CONSTRUCTED (deterministic numbers), not real data: it only has the real table's shape.

Usage: .venv/bin/python bench/bench_warehouse.py [--runs 5]
Targets (issue 9): largest write ≤ 2 s; cold load from PostgreSQL within 2× of local; unchanged re-fetch adds 0 rows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sources.contract import Provenance, SeriesData, SeriesInfo, tidy_frame  # noqa: E402
from sources.settings import load_settings  # noqa: E402
from sources.snapshot import seed_warehouse  # noqa: E402
from sources.warehouse import open_warehouse  # noqa: E402

INFO = SeriesInfo(id="bench.unemployment", title={"fi": "Testi", "sv": "Test", "en": "Test"}, unit="henkilöä",
                  publisher="bench", licence="-", home_url="-", frequency="monthly")
PROVENANCE = Provenance(source="bench", table="12r5-shaped", request_url="-", fetched_at="2026-12-01T00:00:00+00:00",
                        data_updated="2026-11-30", licence="-")


def largest_series(offset: float = 0.0, revised_share: float = 0.0) -> SeriesData:
    municipalities = [f"KU{number:03d}" for number in range(1, 309)]
    months = [f"{year}-{month:02d}" for year in range(2006, 2026) for month in range(1, 13)]
    regions, periods = [], []
    for content in range(3):  # three contents stored as one long series, as many rows as the real table
        for region in municipalities:
            regions += [region] * len(months)
            periods += [f"{int(month[:4]) - 20 * content - 20:04d}{month[4:]}" if content else month
                        for month in months]
    values = (np.arange(len(regions), dtype="float64") * 7.0) % 10_000 + offset
    if revised_share:
        values[: int(len(values) * revised_share)] += 1.0
    return SeriesData(INFO, tidy_frame(INFO.id, regions, periods, values), PROVENANCE)


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def stored_rows(store) -> int:
    dump = store.dump_series(INFO.id)
    return 0 if dump is None else len(dump.history)


def measure(name: str, make_location, runs: int) -> dict[str, float]:
    settings = load_settings()
    writes, unchanged, revisions, loads = [], [], [], []
    rows_before = rows_after = 0
    for _ in range(runs):
        with open_warehouse(make_location()) as store:
            store.migrate()
            writes.append(timed(lambda: store.write(largest_series())))
            rows_before = stored_rows(store)
            unchanged.append(timed(lambda: store.write(largest_series())))
            rows_after = stored_rows(store)
            revisions.append(timed(lambda: store.write(largest_series(revised_share=0.01))))
    location = make_location()
    with open_warehouse(location) as store:
        store.migrate()
        seed_warehouse(settings, store)
        cells = len(store.read())
    for _ in range(runs):
        with open_warehouse(location) as cold:
            loads.append(timed(lambda: cold.read()))
    result = {"write": statistics.median(writes), "unchanged": statistics.median(unchanged),
              "revision": statistics.median(revisions), "load": statistics.median(loads)}
    print(f"{name}: write 221 760 rows {result['write'] * 1000:.0f} ms; unchanged re-fetch "
          f"{result['unchanged'] * 1000:.0f} ms (stored rows {rows_before} → {rows_after}); 1 % revised "
          f"{result['revision'] * 1000:.0f} ms; cold load of all {cells} snapshot rows {result['load'] * 1000:.0f} ms")
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from tests.pg_server import PostgresServer

    counter = iter(range(10_000))
    local = measure("local", lambda: tempfile.mkdtemp(prefix="tiedolla-bench-"), args.runs)
    with PostgresServer() as server:
        postgres = measure("postgres", lambda: server.create_database(f"bench_{next(counter)}"), args.runs)
    for key in ("write", "unchanged", "revision", "load"):
        print(f"postgres / local, {key}: {postgres[key] / local[key]:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())

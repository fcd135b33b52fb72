"""Benchmark: building the employment theme's PDF report for four municipalities, on the full bundled snapshot in a
fresh local warehouse. The first build includes computing the theme's indicators (cold caches); the following ones
are what a reader waits for once the theme page has been opened. Prints the cold time and the median of the warm
builds from one run.

Usage: .venv/bin/python bench/bench_report.py [--runs 5] [--theme employment]
Target (issue 12): a 4-municipality report in at most 10 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

FOUR = ["KU016", "KU111", "KU098", "KU560"]  # Asikkala, Heinola, Hollola, Orimattila
BENCHMARK = "MK07"  # Päijät-Häme


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--theme", default="employment")
    args = parser.parse_args()
    os.environ["TIEDOLLA_WAREHOUSE_DIR"] = tempfile.mkdtemp(prefix="tiedolla-bench-")
    from ui import loading, report

    loading.ensure_warehouse()
    started = time.perf_counter()
    pdf = report.theme_report_pdf(args.theme, FOUR, BENCHMARK, "fi")
    cold = time.perf_counter() - started
    warm = []
    for _ in range(args.runs):
        started = time.perf_counter()
        report.theme_report_pdf(args.theme, FOUR, BENCHMARK, "fi")
        warm.append(time.perf_counter() - started)
    print(f"theme: {args.theme}, 4 municipalities, {len(pdf) / 1e6:.1f} MB PDF")
    print(f"first build (indicators computed): {cold:.1f} s")
    print(f"median of {args.runs} later builds: {statistics.median(warm):.1f} s "
          f"(min {min(warm):.1f}, max {max(warm):.1f}); target <= 10 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

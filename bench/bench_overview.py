"""Benchmark: a theme page's rerun with the overview table open against the same page without it, 12 municipalities.

Two AppTest sessions in one process on the full bundled snapshot (a fresh local warehouse): one opens the theme page
as a link that leaves the overview closed (the page as it was before the overview), the other with the overview
open (the default). Each rerun changes the 12 chosen municipalities (one is swapped in turn); the two sessions'
reruns are interleaved so that machine load hits both alike. "Script time" is measured around Streamlit's script
execution, as in bench/bench_rerun.py. Prints the medians and their ratio from one run.

Usage: .venv/bin/python bench/bench_overview.py [--runs 20] [--page employment]
Target (issue 12): with the overview ≤ 1.5× without it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from script_timing import record_script_times  # noqa: E402 - bench/ is the script's own folder

TWELVE = ["KU016", "KU098", "KU111", "KU560", "KU398", "KU091", "KU049", "KU092", "KU837", "KU853", "KU564",
          "KU179"]
SWAPS = ["KU109", "KU286", "KU743", "KU405", "KU297", "KU698"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--page", default="employment")
    args = parser.parse_args()
    os.environ["TIEDOLLA_WAREHOUSE_DIR"] = tempfile.mkdtemp(prefix="tiedolla-bench-")

    script_times = record_script_times()
    from tests.apptest_helpers import open_page, run_app

    sessions = {}
    for label in ("without overview", "with overview"):
        at = run_app()
        open_page(at, args.page)
        at.sidebar.multiselect(key="municipalities").set_value(TWELVE)
        at.run()
        if label == "without overview":  # close the overview as a reader would; the other panels stay as they are
            at.session_state[f"overview_panel_{args.page}"] = False
        at.run()
        sessions[label] = (at, [])
    for index in range(args.runs):
        chosen = [*TWELVE[:-1], SWAPS[index % len(SWAPS)]] if index % 2 else TWELVE
        for at, times in sessions.values():
            at.sidebar.multiselect(key="municipalities").set_value(chosen)
            script_times.clear()
            at.run()
            times.append(sum(script_times))
            if at.exception:
                print("page raised:", at.exception[0].message)
                return 1
    medians = {label: statistics.median(times) for label, (_, times) in sessions.items()}
    print(f"page: {args.page}, 12 municipalities, reruns: {args.runs} each, interleaved")
    for label, median in medians.items():
        print(f"median script time {label}: {median * 1000:.0f} ms")
    print(f"ratio: {medians['with overview'] / medians['without overview']:.2f}x (target <= 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

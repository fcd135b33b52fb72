"""Benchmark: a compare-page rerun, and what its map costs: script time, bytes of chart messages, deep copies.

With the full bundled snapshot in a fresh warehouse, AppTest opens the compare page, then changes the sidebar
selection N times (each change reruns the page and moves the map's outlines; the shapes stay the same). Per rerun it
records the script time (measured around Streamlit's script execution, as bench_rerun.py does), the serialized size
of every Vega-Lite chart message the page sends (the map's separately), and, in one extra profiled rerun, how many
times `copy.deepcopy` and Babel's `format_date` are called. Prints medians of one run.

Static serving of the map's shapes is on here, as in `.streamlit/config.toml`; `--inline` turns it off, so the
shapes travel inline in every message (what a server without static serving does).

Usage: .venv/bin/python bench/bench_map.py [--runs 15] [--inline]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from script_timing import record_script_times  # noqa: E402 - bench/ is the script's own folder

SELECTIONS = [["KU098"], ["KU016", "KU098"], ["KU111"], ["KU560", "KU111"], ["KU091"], ["KU016"], ["KU398", "KU098"],
              ["KU049", "KU091", "KU092"], ["KU560"], ["KU111", "KU016", "KU098", "KU560"]]


def record_chart_messages() -> list[tuple[int, int]]:
    """Patch the chart command to append (spec bytes, whole message bytes) of every Vega-Lite chart it sends."""
    import streamlit.delta_generator as delta_generator

    sent: list[tuple[int, int]] = []
    original = delta_generator.DeltaGenerator._enqueue

    def enqueue(self, delta_type, element_proto=None, *args, **kwargs):
        if delta_type == "vega_lite_chart" and element_proto is not None:
            sent.append((len(element_proto.spec.encode("utf-8")), element_proto.ByteSize()))
        return original(self, delta_type, element_proto, *args, **kwargs)

    delta_generator.DeltaGenerator._enqueue = enqueue
    return sent


def profile_script_runs() -> list[cProfile.Profile]:
    """Patch Streamlit's script execution to profile the runs while the returned list holds a profiler. The script
    runs in its own thread, which a profiler started in the main thread would not see."""
    import streamlit.runtime.scriptrunner.script_runner as script_runner

    active: list[cProfile.Profile] = []
    original = script_runner.exec_func_with_error_handling

    def profiled(func, ctx):
        if not active:
            return original(func, ctx)
        active[0].enable()
        try:
            return original(func, ctx)
        finally:
            active[0].disable()

    script_runner.exec_func_with_error_handling = profiled
    return active


def calls_to(stats: pstats.Stats, module_part: str, function: str) -> int:
    return sum(calls for (filename, _, name), (_, calls, *_rest) in stats.stats.items()
               if name == function and module_part in filename)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--inline", action="store_true", help="static serving off: shapes inline in every message")
    args = parser.parse_args()
    os.environ["TIEDOLLA_WAREHOUSE_DIR"] = tempfile.mkdtemp(prefix="tiedolla-bench-")

    from streamlit import config
    from streamlit.runtime.pages_manager import PagesManager

    # As ui/serve.py (and tests/conftest.py) do: the app uses st.navigation, not the legacy pages/ directory, in
    # which a page file would run without app.py. AppTest resets the flag, so it is set again after each reset.
    original_init = PagesManager.__init__

    def init(self, *init_args, **init_kwargs):
        original_init(self, *init_args, **init_kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init

    script_times = record_script_times()
    sent = record_chart_messages()
    profiling = profile_script_runs()
    from streamlit.testing.v1 import AppTest
    from streamlit.util import calc_hash

    from tests.apptest_helpers import APP_FILE, APP_TIMEOUT_S

    config.set_option("server.enableStaticServing", not args.inline)
    at = AppTest.from_file(APP_FILE, default_timeout=APP_TIMEOUT_S)
    at._page_hash = calc_hash("compare")  # st.Page identifies a page by the hash of its URL path
    at.run()
    at.run()  # warm: caches filled, the shapes file written
    server, map_spec, map_message, all_messages = [], [], [], []
    for index in range(args.runs):
        at.sidebar.multiselect(key="municipalities").set_value(SELECTIONS[index % len(SELECTIONS)])
        script_times.clear()
        sent.clear()
        at.run()
        if at.exception:
            print("page raised:", at.exception[0].message)
            return 1
        server.append(sum(script_times))
        # The map is the page's last chart.
        map_spec.append(sent[-1][0])
        map_message.append(sent[-1][1])
        all_messages.append(sum(size for _, size in sent))

    at.sidebar.multiselect(key="municipalities").set_value(SELECTIONS[0])
    profiling.append(cProfile.Profile())
    at.run()
    stats = pstats.Stats(profiling.pop())

    print(f"compare page, reruns: {args.runs}, shapes: {'inline' if args.inline else 'static file'}")
    print(f"median script time of a rerun: {statistics.median(server) * 1000:.0f} ms "
          f"(min {min(server) * 1000:.0f}, max {max(server) * 1000:.0f})")
    print(f"map chart message per rerun: {statistics.median(map_message) / 1000:.1f} kB "
          f"(spec {statistics.median(map_spec) / 1000:.1f} kB)")
    print(f"all chart messages per rerun: {statistics.median(all_messages) / 1000:.1f} kB")
    if os.environ.get("BENCH_MAP_DUMP"):
        stats.dump_stats(os.environ["BENCH_MAP_DUMP"])
    print(f"deep copies in one rerun: {calls_to(stats, 'schemapi', '_deep_copy')} by Altair (_deep_copy), "
          f"{calls_to(stats, 'copy.py', 'deepcopy')} by copy.deepcopy")
    print(f"babel format_date calls in one rerun: {calls_to(stats, 'babel', 'format_date')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

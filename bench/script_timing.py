"""Shared by the AppTest benchmarks: time each Streamlit script run itself, so AppTest's own polling is not counted."""

from __future__ import annotations

import time


def record_script_times() -> list[float]:
    """Patch Streamlit's script execution to append each run's duration (seconds) to the returned list."""
    import streamlit.runtime.scriptrunner.script_runner as script_runner

    script_times: list[float] = []
    original = script_runner.exec_func_with_error_handling

    def timed(func, ctx):
        started = time.perf_counter()
        try:
            return original(func, ctx)
        finally:
            script_times.append(time.perf_counter() - started)

    script_runner.exec_func_with_error_handling = timed
    return script_times

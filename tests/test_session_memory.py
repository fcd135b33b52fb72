"""A closed tab's session keeps nothing of its page run but its widget state (issue 16).

Streamlit keeps a closed tab's session for a reconnect (server.disconnectedSessionTTL, 120 s, up to 128 sessions)
with its widget state, and a widget's state holds its callables (format_func, on_change). A function defined in a
page script has that run's namespace as its globals, so one given to a widget kept every table, chart and map of the
run alive with the session: about 0.5 MB for each compare-page tab closed in the last two minutes
(bench/bench_session_memory.py). The pages give widgets functions of imported modules (ui.views) instead.
"""

from __future__ import annotations

import functools
import gc
import sys
import types

import pytest

from tests.apptest_helpers import open_page, run_app

PAGES = ["compare", "employment", "about", ""]


def script_functions(root: object, limit: int = 200_000) -> list[types.FunctionType]:
    """Functions reachable from `root` whose globals are a script run's namespace (a page or app.py executed by
    Streamlit), not an imported module's. Imported modules are not followed: they live for the process anyway."""
    module_dicts = {id(vars(module)) for module in list(sys.modules.values()) if module is not None}
    found, seen, queue = [], {id(root)}, [root]
    while queue and len(seen) < limit:
        obj = queue.pop()
        if isinstance(obj, types.FunctionType):
            if id(obj.__globals__) not in module_dicts:
                found.append(obj)
            continue  # its globals are either a module's or the namespace just reported
        if isinstance(obj, types.ModuleType | type) or id(obj) in module_dicts:
            continue
        for referent in gc.get_referents(obj):
            if id(referent) not in seen:
                seen.add(id(referent))
                queue.append(referent)
    return found


def describe(function: types.FunctionType) -> str:
    return f"{function.__qualname__} ({function.__code__.co_filename}:{function.__code__.co_firstlineno})"


@pytest.mark.parametrize("page", PAGES)
def test_the_widget_state_a_closed_session_keeps_holds_no_function_of_a_page_run(page):
    at = open_page(run_app(), page)
    assert not at.exception, at.exception

    widget_state = at._session_state._state  # the session's SessionState: widget values and metadata
    held = script_functions(widget_state)

    assert not held, "a widget holds a function of a page run (and with it the run's globals): " + ", ".join(
        sorted({describe(function) for function in held}))


def test_the_check_finds_a_function_defined_in_a_script_run():
    namespace: dict = {}
    exec("def label(option):\n    return str(option)\n", namespace)  # noqa: S102 - as Streamlit runs a page
    state = {"meta": functools.partial(namespace["label"])}

    assert [function.__name__ for function in script_functions(state)] == ["label"]
    assert script_functions({"meta": functools.partial(describe)}) == []

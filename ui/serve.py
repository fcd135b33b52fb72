"""Start the Tiedolla app server: `python -m ui.serve [streamlit options]` (what `./tiedolla.sh run` calls).

It is `streamlit run app.py` with two corrections to Streamlit 1.67's server:

- Streamlit treats a `pages/` folder beside the main script as a legacy multipage app until `st.navigation` first
  runs, so the very first request after a server start is routed the legacy way: a shared deep link
  (`/employment?...`) then shows a spurious "Page not found" dialog. The app always uses `st.navigation`, so the
  server is told so before it starts.
- Streamlit binds its listening socket itself with `socket.socket(family)`, whose protocol number is 0, and asyncio
  turns Nagle's algorithm off (TCP_NODELAY) only on sockets whose protocol is TCP. Every websocket of the app so kept
  Nagle on: the server held the messages of a run behind the first one until the browser's delayed ACK came, about
  40 ms later on Linux, on every run (bench/bench_server.py: a trivial app's change took 48 ms instead of 6). The
  listening socket is re-wrapped with its protocol read from the kernel, so the connections it accepts get
  TCP_NODELAY as asyncio intends.

And one policy: at most `TIEDOLLA_CONCURRENT_RUNS` script runs (default 2, one per core) execute at once; the others
wait for a slot, first come first served. The runs of one process share the GIL, so 20 runs started together
(20 readers changing a municipality at the same moment) shared one core evenly and all ended together, at the end of
the whole batch; in turn, half of them are done in half that time, and fewer half-built pages are in memory at once.
A run that has waited `RUN_SLOT_WAIT_S` runs anyway, so one run stuck on a slow warehouse cannot hold up every
session.

And one allocator setting: glibc's malloc gives each new thread that allocates its own arena, up to 8 per core, and
Streamlit runs every session's script on a thread of its own, so the frames of 20 sessions' runs were spread over
16 arenas, each keeping its high-water mark after they ended. The server caps them at `MALLOC_ARENAS` (as
`MALLOC_ARENA_MAX=2` would; an explicit MALLOC_ARENA_MAX in the environment is left as it is). With the turns above,
the server's memory after 20 simultaneous changes stayed at what one visit of every page leaves (bench: 331 MB;
without either 465 MB, and 440-480 MB still two minutes after the sessions closed).
"""

from __future__ import annotations

import ctypes
import os
import platform
import socket
import sys
import threading
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner.script_runner import ScriptRunner
from streamlit.web import cli
from streamlit.web.server.starlette import starlette_server

APP = Path(__file__).resolve().parent.parent / "app.py"
CONCURRENT_RUNS_DEFAULT = 2  # script runs executing at once, per process (the machines have 2 cores)
RUN_SLOT_WAIT_S = 5.0  # a run waits at most this long for a slot, then runs beside the others
MALLOC_ARENAS = 2
M_ARENA_MAX = -8  # glibc's mallopt() parameter number (malloc.h)


def tcp_socket(sock: socket.socket) -> socket.socket:
    """The same listening socket, with its protocol number (IPPROTO_TCP) read from the file descriptor."""
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
        return socket.socket(fileno=sock.detach())
    return sock


def with_tcp_protocol(bind):
    def bind_socket(address: str, port: int, backlog: int) -> socket.socket:
        return tcp_socket(bind(address, port, backlog))

    return bind_socket


def run_in_turn(run_script, slots: threading.Semaphore, wait_s: float = RUN_SLOT_WAIT_S):
    """`ScriptRunner._run_script`, executed when one of `slots` is free (or after `wait_s`)."""

    def _run_script(self, rerun_data) -> None:
        acquired = slots.acquire(timeout=wait_s)
        try:
            run_script(self, rerun_data)
        finally:
            if acquired:
                slots.release()

    return _run_script


def concurrent_runs() -> int:
    value = os.environ.get("TIEDOLLA_CONCURRENT_RUNS", "")
    return int(value) if value.strip() else CONCURRENT_RUNS_DEFAULT


def cap_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for the threads started from now on; False where the C library is not glibc."""
    if "MALLOC_ARENA_MAX" in os.environ or platform.libc_ver()[0] != "glibc":
        return False
    return bool(ctypes.CDLL(None).mallopt(M_ARENA_MAX, arenas))


def serve(script: Path | str, arguments: list[str]) -> None:
    """`streamlit run script arguments...` with the corrections above (bench/bench_server.py serves its trivial
    app this way too, so that its floor is measured on the same server)."""
    cap_malloc_arenas()  # before the server starts its threads
    PagesManager.uses_pages_directory = False
    starlette_server._bind_socket = with_tcp_protocol(starlette_server._bind_socket)
    runs = concurrent_runs()
    if runs > 0:  # 0: no limit, as Streamlit runs them
        ScriptRunner._run_script = run_in_turn(ScriptRunner._run_script, threading.Semaphore(runs))
    sys.argv = ["streamlit", "run", str(script), *arguments]
    cli.main()


def main(arguments: list[str]) -> None:
    serve(APP, arguments)


if __name__ == "__main__":
    main(sys.argv[1:])

"""ui/serve.py's corrections to Streamlit's server: its websockets get TCP_NODELAY, and script runs take turns."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
from streamlit.web.server.starlette import starlette_server

from ui.serve import run_in_turn, with_tcp_protocol

pytestmark = pytest.mark.no_warehouse


async def nodelay_of_an_accepted_connection(bind) -> int:
    """Listen on a socket bound as Streamlit binds it, serve it with asyncio as uvicorn does, connect once, and
    read TCP_NODELAY on the server's side of the connection."""
    listening = bind("127.0.0.1", 0, 8)
    accepted: asyncio.Future = asyncio.get_running_loop().create_future()

    def connected(reader, writer):
        accepted.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(connected, sock=listening)
    async with server:
        _, writer = await asyncio.open_connection("127.0.0.1", listening.getsockname()[1])
        value = await asyncio.wait_for(accepted, 10)
        writer.close()
    return value


def test_the_servers_connections_have_nagle_off_only_with_the_correction():
    assert asyncio.run(nodelay_of_an_accepted_connection(starlette_server._bind_socket)) == 0  # Streamlit's own
    assert asyncio.run(nodelay_of_an_accepted_connection(with_tcp_protocol(starlette_server._bind_socket))) != 0


def test_script_runs_take_turns_and_a_long_wait_runs_anyway():
    active, most = [0], [0]
    lock = threading.Lock()

    def run_script(runner, rerun_data):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1

    in_turn = run_in_turn(run_script, threading.Semaphore(2), wait_s=30)
    threads = [threading.Thread(target=in_turn, args=(None, None)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 2

    slots = threading.Semaphore(1)
    slots.acquire()  # a run that never ends holds the only slot
    started = time.monotonic()
    run_in_turn(run_script, slots, wait_s=0.2)(None, None)
    assert 0.2 <= time.monotonic() - started < 5

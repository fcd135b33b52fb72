"""Benchmark: what one closed session leaves in the server's memory, page by page (issue 16).

For each page it starts `python -m ui.serve` (bench/bench_server.py's `Server`) on a fresh warehouse seeded from the
bundled snapshot, warms it with one session of that page, then opens and closes `--sessions` sessions of the page one
after another (bench/st_client.py: a page load over the websocket, then the socket closed, as a tab closed). After
each close it waits `--settle-s` for the server to drop the session and reads the server's VmRSS. A page whose closed
sessions are freed stays flat; one that keeps something grows by about the same amount per session, and a bounded
cache grows up to its bound and then stays flat (run with more sessions to see a plateau).

Each page gets a server of its own, so the pages do not share caches and the growth of one is not counted for the
next. The growth per session is the least-squares slope of RSS over the sessions after the warm-up.

Usage: .venv/bin/python bench/bench_session_memory.py [--sessions 30] [--pages compare employment climate]
                                                      [--settle-s 0.2] [--env NAME=VALUE ...]
JSON goes to bench/results/session_memory_<time>.json. Loopback only; run it on a quiet machine (2 cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_server import REPO, RESULTS, Server, app_command, rss_mb, seed  # noqa: E402 - bench/ is not a package
from st_client import RunError, Session  # noqa: E402

PAGES = ["compare", "employment", "climate"]


async def open_and_close(url: str, page: str) -> float:
    """One session: open the page as a page load does, then close the websocket. Returns the open's seconds."""
    async with Session(url, page) as session:
        run = await session.open()
        if run.exceptions:
            raise RunError(f"{page}: {run.exceptions[0][:200]}")
    return run.seconds


def slope(values: list[float]) -> float | None:
    """MB per session: the least-squares slope of RSS over the session number."""
    if len(values) < 2:
        return None
    return statistics.linear_regression(range(len(values)), values).slope


async def measure_page(page: str, sessions: int, settle_s: float, env: dict, log_dir: Path) -> dict:
    server = Server(app_command([]), env, log_dir, f"memory-{page or 'home'}")
    try:
        await server.healthy()
        await open_and_close(server.url, page)  # warm: the page's caches filled once
        await asyncio.sleep(settle_s)
        warm = rss_mb(server.pid)
        print(f"{page}: warm {warm} MB", flush=True)
        rss, opens = [], []
        for index in range(sessions):
            opens.append(await open_and_close(server.url, page))
            await asyncio.sleep(settle_s)
            rss.append(rss_mb(server.pid))
            print(f"{page}: session {index + 1:3d} closed, open {opens[-1] * 1000:5.0f} ms, RSS {rss[-1]} MB",
                  flush=True)
        per_session = slope(rss)
        return {"page": page, "rss_warm_mb": warm, "rss_mb": rss, "open_s": opens,
                "rss_growth_mb": round(rss[-1] - warm, 1) if rss else None,
                "mb_per_session": round(per_session, 2) if per_session is not None else None}
    finally:
        server.stop()


async def bench(args) -> dict:
    work = Path(tempfile.mkdtemp(prefix="tiedolla-bench-memory-"))
    env = {**os.environ, "TIEDOLLA_WAREHOUSE_DIR": str(work / "warehouse"),
           **dict(item.split("=", 1) for item in args.env)}
    env.pop("TIEDOLLA_WAREHOUSE_URL", None)
    seed(env)
    result: dict = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "sessions": args.sessions,
                    "settle_s": args.settle_s, "env": args.env, "cpus": os.cpu_count(),
                    "load_before": " ".join(Path("/proc/loadavg").read_text().split()[:3]), "pages": []}
    for page in args.pages:
        result["pages"].append(await measure_page(page, args.sessions, args.settle_s, env, work))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=30, help="sessions opened and closed per page")
    parser.add_argument("--pages", nargs="+", default=PAGES, help="url paths of the pages ('' is the home page)")
    parser.add_argument("--settle-s", type=float, default=0.2, help="wait after each close before reading RSS")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the servers, e.g. MALLOC_ARENA_MAX=2")
    args = parser.parse_args()
    started = time.perf_counter()
    result = asyncio.run(bench(args))
    result["bench_s"] = round(time.perf_counter() - started, 1)
    print(f"session_memory {result['date']}, load {result['load_before']}, {result['cpus']} CPUs, "
          f"{args.sessions} sessions per page")
    print(f"{'page':<12}{'warm MB':>9}{'last MB':>9}{'growth MB':>11}{'MB/session':>12}{'open p50':>10}")
    for page in result["pages"]:
        print(f"{page['page'] or 'home':<12}{page['rss_warm_mb']:>9}{page['rss_mb'][-1]:>9}"
              f"{page['rss_growth_mb']:>11}{page['mb_per_session']:>12}"
              f"{statistics.median(page['open_s']) * 1000:>8.0f} ms")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"session_memory_{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps({"args": vars(args), **result}, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"written: {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

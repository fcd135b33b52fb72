"""Benchmark: the app through the real Streamlit server, driven over its websocket as a browser drives it.

It starts `python -m ui.serve` (what `./tiedolla.sh run` and the Dockerfile start) on loopback, on a fresh warehouse
folder seeded from the bundled snapshot (`python -m sources migrate`), and talks to it with bench/st_client.py, which
speaks Streamlit's own protocol (protobuf BackMsg / ForwardMsg on `/_stcore/stream`). Times are the browser's: from a
widget change sent (or a session's connection opened) to the server saying the run is over. No browser draws
anything, so these are server figures plus the loopback.

It measures, in one run:
  - cold start: process start -> the first finished run of a theme page (employment), against a trivial app's cold
    start (a tiny script written to a temp dir, served by `streamlit run` with the same .streamlit/config.toml) and
    against the same trivial app importing the app's libraries first (APP_LIBRARIES: pandas, pyarrow, altair, ...),
    the floor for any app on this stack; the three are started in turn, round by round;
  - opening a session (connection -> first finished run) on the employment, compare and climate pages, warm;
  - a municipality change (the sidebar multiselect) on those pages, warm, and the floor: a trivial app's multiselect
    change on a server of its own with the same settings;
  - 20 sessions on one process each making a change at the same moment (median, p95, errors);
  - the server's resident memory (VmRSS): after visiting every page once, at the peak of the 20 sessions, and
    `--after-s` seconds after they closed.
Medians are printed in a table with the ratios to the targets (issue 16); JSON goes to bench/results/.

Usage: .venv/bin/python bench/bench_server.py [--repeats 9] [--cold 3] [--sessions 20] [--after-s 60]
                                              [--set runner.postScriptGC=true ...]
`--set option=value` passes a Streamlit option to both servers on the command line (it overrides
.streamlit/config.toml), `--env NAME=VALUE` an environment variable, to measure what one production setting costs or
saves. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from st_client import RunError, Session  # noqa: E402 - bench/ is the script's own folder

RESULTS = REPO / "bench" / "results"
STARTUP_TIMEOUT_S = 120
THEME_PAGES = ["employment", "compare", "climate"]  # the pages timed; every page is visited once for the memory
ADDED = ["Helsinki", "Tampere", "Oulu", "Turku", "Kuopio", "Jyväskylä", "Espoo", "Vantaa", "Lahti", "Pori"]
# CONSTRUCTED: the trivial app's options are made-up words; it only gives the server's own floor.
TRIVIAL_APP = '''\
import streamlit as st

picked = st.sidebar.multiselect("Kunnat", [f"Kunta {n}" for n in range(300)], default=["Kunta 1"], key="municipalities")
st.title("Trivial")
st.write("Valittu: " + ", ".join(picked))
'''
# The libraries the app's first theme page imports, which any app built on them pays for at its cold start: the
# trivial app with these imported first is the floor of a cold start on this stack.
APP_LIBRARIES = ("pandas", "pyarrow", "altair", "pydantic_settings", "requests", "babel")
TRIVIAL_WITH_LIBRARIES = "import " + ", ".join(APP_LIBRARIES) + "  # noqa: F401\n" + TRIVIAL_APP
TARGETS = {  # issue 16, medians from one run
    "employment_change_s": 0.100, "compare_change_s": 0.150, "open_s": 0.300, "cold_ratio": 1.5,
    "concurrent_p50_s": 1.0, "rss_pages_mb": 300.0, "rss_after_ratio": 1.10,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        return None
    return None


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


class Server:
    """One Streamlit server process on loopback, in its own process group, its output in a log file."""

    def __init__(self, command: list[str], env: dict[str, str], log_dir: Path, name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}-{self.port}.log"
        self.started = time.perf_counter()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [*command, "--server.headless", "true", "--server.address", "127.0.0.1",
                 "--server.port", str(self.port)],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited ({self.process.returncode}):\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as answer:
                    if answer.read() == b"ok":
                        return
            except OSError:
                pass
            await asyncio.sleep(0.02)
        raise RuntimeError(f"server not healthy within {STARTUP_TIMEOUT_S} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def server_options(settings: list[str]) -> list[str]:
    options = []
    for setting in settings:
        name, _, value = setting.partition("=")
        options += [f"--{name}", value]
    return options


def app_command(settings: list[str]) -> list[str]:
    return [sys.executable, "-m", "ui.serve", *server_options(settings)]


def trivial_command(script: Path, settings: list[str]) -> list[str]:
    """The trivial app on the app's own server (ui/serve.py's corrections), with the same .streamlit/config.toml."""
    return [sys.executable, "-c", "import sys; from ui.serve import serve; serve(sys.argv[1], sys.argv[2:])",
            str(script), *server_options(settings)]


async def cold_start(command: list[str], env: dict, log_dir: Path, name: str, page: str,
                     keep: bool = False) -> tuple[float, Server | None]:
    """Process start -> the first finished run of `page` in a session opened as soon as the server answers."""
    server = Server(command, env, log_dir, name)
    try:
        await server.healthy()
        async with Session(server.url, page) as session:
            run = await session.open()
            if run.exceptions:
                raise RunError(f"{name} {page}: {run.exceptions}")
        return time.perf_counter() - server.started, server if keep else None
    finally:
        if not keep:
            server.stop()


async def open_times(url: str, page: str, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        async with Session(url, page) as session:
            run = await session.open()
            if run.exceptions:
                raise RunError(f"open {page}: {run.exceptions}")
            times.append(run.seconds)
    return times


async def change_times(url: str, page: str, repeats: int, name_shown: bool = True,
                       names: list[str] = ADDED) -> list[float]:
    """One session on `page` replaces its last municipality with another, `repeats` times (the first change is a
    warm-up and is not counted: it may fill the cache of a selection never shown before)."""
    times = []
    async with Session(url, page) as session:
        await session.open()
        picker = session.widget("municipalities")
        for index in range(repeats + 1):
            name = names[index % len(names)]
            run = await session.set_widget(picker, [*session.value(picker)[:3], session.option(picker, name)])
            if run.exceptions:
                raise RunError(f"change on {page}: {run.exceptions}")
            if name_shown and name not in run.text():
                raise RunError(f"{page} does not name {name} after the change")
            if index:
                times.append(run.seconds)
    return times


async def visit_every_page(url: str) -> dict[str, float]:
    """One session opens the home page and goes through every page of the navigation once."""
    times = {}
    async with Session(url, "") as session:
        await session.open()
        for path in list(session.pages):
            run = await session.goto(path)
            if run.exceptions:
                raise RunError(f"page {path!r}: {run.exceptions}")
            times[path or "home"] = run.seconds
    return times


async def concurrent_changes(server: Server, count: int, after_s: float) -> dict:
    """`count` sessions open the employment page; then each adds a municipality at the same moment."""
    peak = [rss_mb(server.pid) or 0.0]
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_mb(server.pid) or 0.0)
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    sessions = [Session(server.url, "employment") for _ in range(count)]
    errors: list[str] = []
    opens = await asyncio.gather(*(session.open() for session in sessions), return_exceptions=True)
    ready = []
    for session, opened in zip(sessions, opens):
        if isinstance(opened, BaseException):
            errors.append(f"open: {opened}")
        else:
            ready.append(session)
    cpu_before, started = cpu_s(server.pid), time.perf_counter()

    async def change(index: int, session: Session) -> float:
        picker = session.widget("municipalities")
        name = ADDED[index % len(ADDED)]
        run = await session.set_widget(picker, [*session.value(picker), session.option(picker, name)])
        if run.exceptions:
            raise RunError(f"exception: {run.exceptions[0][:120]}")
        if name not in run.text():
            raise RunError(f"the page does not name {name}")
        return run.seconds

    changes = await asyncio.gather(*(change(i, s) for i, s in enumerate(ready)), return_exceptions=True)
    wall, cpu = time.perf_counter() - started, cpu_s(server.pid) - cpu_before
    times = [value for value in changes if isinstance(value, float)]
    errors += [f"change: {value}" for value in changes if isinstance(value, BaseException)]
    rss_open = rss_mb(server.pid)
    for session in sessions:
        await session.close()
    stop.set()
    await sampler
    await asyncio.sleep(after_s)
    return {"sessions": count, "open_p50_s": median([o.seconds for o in opens if not isinstance(o, BaseException)]),
            "change_p50_s": median(times), "change_p95_s": percentile(times, 0.95), "change_max_s": max(times or [0]),
            "errors": len(errors), "error_reasons": sorted(set(errors))[:5], "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2), "rss_open_mb": rss_open, "rss_peak_mb": peak[0],
            "rss_after_mb": rss_mb(server.pid), "after_s": after_s, "change_s": times}


def seed(env: dict) -> None:
    result = subprocess.run([sys.executable, "-m", "sources", "migrate"], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=300)
    if result.returncode:
        raise RuntimeError(f"seeding failed:\n{result.stdout}\n{result.stderr}")


async def bench(args) -> dict:
    work = Path(tempfile.mkdtemp(prefix="tiedolla-bench-server-"))
    env = {**os.environ, "TIEDOLLA_WAREHOUSE_DIR": str(work / "warehouse"), **dict(item.split("=", 1)
                                                                                    for item in args.env)}
    env.pop("TIEDOLLA_WAREHOUSE_URL", None)
    seed(env)
    trivial = work / "trivial" / "trivial_app.py"
    trivial.parent.mkdir()
    trivial.write_text(textwrap.dedent(TRIVIAL_APP), encoding="utf-8")
    with_libraries = work / "trivial" / "trivial_with_libraries.py"
    with_libraries.write_text(TRIVIAL_WITH_LIBRARIES, encoding="utf-8")
    result: dict = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "settings": args.set + args.env,
                    "load_before": " ".join(Path("/proc/loadavg").read_text().split()[:3]), "cpus": os.cpu_count()}

    cold_trivial, cold_libraries, cold_app, server = [], [], [], None
    for index in range(args.cold):  # in turn, so a busy moment slows all three alike
        cold_trivial.append((await cold_start(trivial_command(trivial, args.set), env, work, "trivial", ""))[0])
        cold_libraries.append((await cold_start(trivial_command(with_libraries, args.set), env, work, "libraries",
                                                ""))[0])
        seconds, kept = await cold_start(app_command(args.set), env, work, "app", "employment",
                                         keep=index == args.cold - 1)  # the last one stays up for the warm part
        cold_app.append(seconds)
        server = kept or server
    result["cold_trivial_s"], result["cold_libraries_s"], result["cold_app_s"] = cold_trivial, cold_libraries, cold_app
    try:
        result["rss_start_mb"] = rss_mb(server.pid)
        result["first_visit_s"] = await visit_every_page(server.url)
        result["rss_pages_mb"] = rss_mb(server.pid)
        for page in THEME_PAGES:
            result[f"{page}_open_s"] = await open_times(server.url, page, args.repeats)
            result[f"{page}_change_s"] = await change_times(server.url, page, args.repeats)
        result["about_change_s"] = await change_times(server.url, "about", args.repeats, name_shown=False)
        result["rss_warm_mb"] = rss_mb(server.pid)
        result["concurrent"] = await concurrent_changes(server, args.sessions, args.after_s)
    finally:
        server.stop()
    floor = Server(trivial_command(trivial, args.set), env, work, "trivial-floor")
    try:
        await floor.healthy()
        result["trivial_open_s"] = await open_times(floor.url, "", args.repeats)
        result["trivial_change_s"] = await change_times(floor.url, "", args.repeats,
                                                   names=[f"Kunta {n}" for n in range(2, 40)])
    finally:
        floor.stop()
    return result


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if unit == "ms" else f"{value:.2f}{unit}"


def print_table(result: dict) -> None:
    m = {key: median(value) for key, value in result.items() if isinstance(value, list) and value
         and isinstance(value[0], float)}
    c = result["concurrent"]
    rows = [
        ("employment page, municipality change", fmt(m["employment_change_s"], "ms"), "≤ 100 ms",
         f"{m['employment_change_s'] / TARGETS['employment_change_s']:.2f}× target; "
         f"{m['employment_change_s'] / m['trivial_change_s']:.1f}× floor"),
        ("compare page, municipality change", fmt(m["compare_change_s"], "ms"), "≤ 150 ms",
         f"{m['compare_change_s'] / TARGETS['compare_change_s']:.2f}× target"),
        ("climate page, municipality change", fmt(m["climate_change_s"], "ms"), "-",
         f"{m['climate_change_s'] / m['trivial_change_s']:.1f}× floor"),
        ("about page (app frame only), municipality change", fmt(m["about_change_s"], "ms"), "-",
         f"{m['about_change_s'] / m['trivial_change_s']:.1f}× floor"),
        ("floor: trivial app, multiselect change", fmt(m["trivial_change_s"], "ms"), "-", ""),
        *[(f"open a session, {page}", fmt(m[f"{page}_open_s"], "ms"), "≤ 300 ms",
           f"{m[f'{page}_open_s'] / TARGETS['open_s']:.2f}× target") for page in THEME_PAGES],
        ("open a session, trivial app", fmt(m["trivial_open_s"], "ms"), "-", ""),
        ("cold start -> first theme page (employment)", fmt(m["cold_app_s"], " s"), "≤ 1.5× trivial",
         f"{m['cold_app_s'] / m['cold_trivial_s']:.1f}× trivial; "
         f"{m['cold_app_s'] / m['cold_libraries_s']:.2f}× the libraries' floor"),
        ("cold start -> trivial app's first run", fmt(m["cold_trivial_s"], " s"), "-", ""),
        ("cold start -> trivial app importing the app's libraries", fmt(m["cold_libraries_s"], " s"), "-",
         f"{m['cold_libraries_s'] / m['cold_trivial_s']:.1f}× trivial"),
        (f"{c['sessions']} simultaneous changes, one process: median / p95", f"{fmt(c['change_p50_s'], 'ms')} / "
         f"{fmt(c['change_p95_s'], 'ms')}", "median ≤ 1 s, 0 errors", f"{c['errors']} errors; server CPU "
         f"{c['cpu_s']} s in {c['wall_s']} s"),
        ("server RSS after every page", f"{result['rss_pages_mb']} MB", "≤ 300 MB",
         f"{result['rss_pages_mb'] / TARGETS['rss_pages_mb']:.2f}× target; at start {result['rss_start_mb']} MB"),
        (f"server RSS with {c['sessions']} sessions (peak) / {c['after_s']:.0f} s after they close",
         f"{c['rss_peak_mb']} / {c['rss_after_mb']} MB", "after ≤ 1.1× after every page",
         f"{c['rss_after_mb'] / result['rss_pages_mb']:.2f}× after every page"),
    ]
    print(f"bench_server {result['date']}, load {result['load_before']}, {result['cpus']} CPUs, settings: "
          f"{' '.join(result['settings']) or '.streamlit/config.toml as is'}")
    widths = [max(len(str(row[i])) for row in rows) for i in range(3)]
    for row in [("what", "median", "target", "ratio"), *rows]:
        print(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}")
    for reason in c["error_reasons"]:
        print(f"  error: {reason}")
    print("first visit of each page (s): " + ", ".join(f"{k} {v:.2f}" for k, v in result["first_visit_s"].items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed opens and changes per page")
    parser.add_argument("--cold", type=int, default=3, help="cold starts of each app")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--after-s", type=float, default=60.0, help="when to read memory after the sessions close")
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                        help="a Streamlit option for both servers, e.g. runner.postScriptGC=true")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for both servers, e.g. MALLOC_ARENA_MAX=2")
    args = parser.parse_args()
    started = time.perf_counter()
    result = asyncio.run(bench(args))
    result["bench_s"] = round(time.perf_counter() - started, 1)
    print_table(result)
    print(f"bench took {result['bench_s']:.0f} s")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"server_{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps({"args": vars(args), **result}, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"written: {path.relative_to(REPO)}")
    errors = result["concurrent"]["errors"]
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

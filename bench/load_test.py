"""Load test: N concurrent browser sessions on the employment page, with a refresh committing a new vintage halfway.

It starts its own stack on loopback (tests/stack.py): a throwaway PostgreSQL warehouse filled from the bundled
snapshot, 1 app replica opened directly or 2 replicas behind nginx (the production template), and a fake Statistics
Finland host (CONSTRUCTED answers, tests/pxweb_fake.py). One Debian Chromium runs every session, each in its own
browser context (its own cookies, so behind nginx the sessions spread over the replicas).

Each session
  1. opens /employment and waits until the page has settled: the script ran and stopped, no running indicator
     (`stStatusWidget` gone), the main heading visible  -> "open" time;
then, when every session has settled, `python -m sources refresh` commits a new vintage from the fake host; then each
session
  2. adds a municipality in the sidebar picker and waits until the page has settled again  -> "change" time,
     and must then name the new vintage in the sidebar ("Tietoversio N").
An error is a session that timed out, shows a Streamlit exception, lost its connection, or missed the new vintage.
Each replica's resident memory (VmRSS) is read at idle, at the peak during the sessions and one minute after they
closed.

Usage: .venv/bin/python bench/load_test.py [--replicas 1|2] [--sessions 20] [--sweep] [--after-s 60]
`--sweep` runs N = 1, 5, 10, 20, 40, 80 until the p95 of the open or change time exceeds 3x its single-session
value (the breakdown point). Prints a table; writes JSON to bench/results/. Loopback only, nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.pxweb_fake import cell_value  # noqa: E402
from tests.stack import FAKE_TABLE, Stack, access_log_entries  # noqa: E402

RESULTS = REPO / "bench" / "results"
PAGE = "/employment"
HEADING = "Työllisyys"
SWEEP = [1, 5, 10, 20, 40, 80]
BREAKDOWN_FACTOR = 3.0
WAIT_TIMEOUT_MS = 180_000  # per settle; a session slower than this counts as an error
ADDED = ["Helsinki", "Tampere", "Kuopio", "Oulu", "Turku", "Jyväskylä", "Espoo", "Vantaa", "Lahti"]
VIEWPORT = {"width": 1280, "height": 800}

# Installed before the app's own scripts: every change of the script state Streamlit puts on its root element,
# with the page's clock, so "ran and stopped since moment T" can be asked without racing the websocket.
OBSERVER = """
window.__tiedollaRuns = [];
new MutationObserver((records) => {
  for (const record of records) {
    window.__tiedollaRuns.push({state: record.target.getAttribute('data-test-script-state'), t: performance.now()});
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
"""
TAGS = '[data-testid="stSidebar"] [data-testid="stMultiSelectTagsContainer"] [data-tag]'  # the picker's municipalities
QUIET_MS = 300  # the script state must stay "notRunning" this long: a page load may run the script twice
SETTLED = """
([since, heading, quietMs]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  // A run must have started after `since`, or been going at `since` (a change made during a run joins it).
  const all = window.__tiedollaRuns;
  const before = all.filter((run) => run.t < since);
  const runs = all.filter((run) => run.t >= since);
  const going = before.length > 0 && before[before.length - 1].state !== 'notRunning';
  if (!going && !runs.some((run) => run.state === 'running')) return false;
  if (!runs.length) return false;
  const last = runs[runs.length - 1];
  if (last.state !== 'notRunning' || performance.now() - last.t < quietMs) return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  if (!document.querySelector('__TAGS__')) return false;
  const title = document.querySelector('[data-testid="stMain"] h1');
  if (!title || !title.innerText.includes(heading)) return false;
  return last.t;  // when the script last stopped, on the page's clock
}
""".replace("__TAGS__", TAGS)
RUN_START_TIMEOUT_MS = 30_000  # a click on an option starts a run within this, or it was lost
STARTED = """
(since) => {
  const runs = window.__tiedollaRuns;
  const before = runs.filter((run) => run.t < since);
  return runs.some((run) => run.t >= since && run.state !== 'notRunning')
    || (before.length > 0 && before[before.length - 1].state !== 'notRunning');
}
"""
STATE = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const caption = [...document.querySelectorAll('[data-testid="stSidebar"] [data-testid="stCaptionContainer"]')]
    .map((node) => node.innerText).find((text) => text.startsWith('Tietoversio')) || '';
  const match = caption.match(/Tietoversio (\\d+)/);
  return {
    vintage: match ? Number(match[1]) : null,
    exceptions: document.querySelectorAll('[data-testid="stException"]').length,
    connection: app ? app.getAttribute('data-test-connection-state') : null,
    tags: [...document.querySelectorAll('__TAGS__')]
      .map((node) => node.getAttribute('aria-label')),
  };
}
""".replace("__TAGS__", TAGS)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_seconds(pids: set[int] | None = None, comm_prefix: str | None = None) -> dict[int, float]:
    """User + system CPU time of processes: the given pids, or this process's descendants named `comm_prefix*`."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        stats[int(entry.name)] = (comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    if pids is None:
        mine, frontier = set(), {os.getpid()}
        while frontier:
            frontier = {pid for pid, (_, ppid, _) in stats.items() if ppid in frontier} - mine
            mine |= frontier
        pids = {pid for pid in mine if stats[pid][0].startswith(comm_prefix or "")}
    return {pid: stats[pid][2] for pid in pids if pid in stats}


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    return round(sum(value - before.get(pid, 0.0) for pid, value in after.items()), 1)


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


class Bench:
    def __init__(self, replicas: int) -> None:
        self.stack = Stack()
        self.fake = self.stack.fake_pxweb()
        self.step = 0
        url = self.stack.postgres_database("load")
        self.location = url
        self.env = self.stack.warehouse_env(url, self.fake)
        self.stack.migrate(self.env)
        self.replicas = [self.stack.replica(self.env, wait=False) for _ in range(replicas)]
        for replica in self.replicas:
            self.stack.wait_healthy(replica)
        self.proxy = self.stack.nginx(self.replicas) if replicas > 1 else None
        self.target = self.proxy.url if self.proxy else self.replicas[0].url

    def latest_vintage(self) -> int:
        from sources.warehouse import open_warehouse

        with open_warehouse(self.location) as store:
            return store.latest_vintage_id()

    def refresh(self) -> tuple[int, float]:
        """New figures at the fake host, then `python -m sources refresh`: returns the new vintage and its time."""
        self.step += 1
        factor = 1 + self.step / 100
        self.fake.tables[FAKE_TABLE].value = lambda codes: round(cell_value(codes) * factor)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "sources", "refresh", "--source", "statfin"], cwd=REPO,
                                env=self.env, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"refresh failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return self.latest_vintage(), time.perf_counter() - started

    def sessions_per_replica(self, keys: list[str | None]) -> list[int]:
        """How many of the sessions (by their sticky cookie) each replica served, from nginx's access log."""
        if self.proxy is None:
            return [len(keys)]
        served = {entry["sticky"]: entry["replica"] for entry in access_log_entries(self.proxy.extra["access_log"])}
        return [sum(1 for key in keys if served.get(key) == replica.extra["address"]) for replica in self.replicas]

    def rss_mb(self) -> list[float | None]:
        return [None if (kb := replica.rss_kb()) is None else round(kb / 1024, 1) for replica in self.replicas]


async def page_state(page) -> str:
    """What the page showed when a session failed: Streamlit's connection and script state, and its last runs."""
    try:
        return str(await page.evaluate("""() => {
          const app = document.querySelector('[data-testid="stApp"]');
          return {connection: app && app.getAttribute('data-test-connection-state'),
                  script: app && app.getAttribute('data-test-script-state'),
                  statusWidget: !!document.querySelector('[data-testid="stStatusWidget"]'),
                  exceptions: document.querySelectorAll('[data-testid="stException"]').length,
                  tags: document.querySelectorAll('__TAGS__').length,
                  runs: window.__tiedollaRuns.slice(-4).map((run) => run.state + '@' + Math.round(run.t))};
        }""".replace("__TAGS__", TAGS)))
    except Exception as exc:  # noqa: BLE001
        return f"page state unreadable: {type(exc).__name__}"


async def settle(page, since: float) -> float:
    """Wait until the page has settled; returns when its script last stopped (ms on the page's clock)."""
    handle = await page.wait_for_function(SETTLED, arg=[since, HEADING, QUIET_MS], polling=100,
                                          timeout=WAIT_TIMEOUT_MS)
    return float(await handle.json_value())


async def open_session(browser, url: str) -> dict:
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(WAIT_TIMEOUT_MS)  # a starved browser is slow to click, not broken
    await context.add_init_script(OBSERVER)
    page = await context.new_page()
    session = {"context": context, "page": page, "error": None}
    try:
        await page.goto(url, timeout=WAIT_TIMEOUT_MS)
        stopped_ms = await settle(page, 0)  # the page's clock starts when its navigation starts
        session["open_s"] = stopped_ms / 1000
        state = await page.evaluate(STATE)
        session["vintage_before"] = state["vintage"]
        session["sticky"] = next((c["value"] for c in await context.cookies() if c["name"] == "tiedolla_replica"), None)
        session["tags_before"] = state["tags"]
        if state["exceptions"]:
            session["error"] = "exception on open"
    except Exception as exc:  # noqa: BLE001 - every failure of a session is counted, not raised
        session["error"] = f"open: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}; {await page_state(page)}"
    return session


async def change_session(session: dict, name: str, expected_vintage: int) -> None:
    if session["error"]:
        return
    page = session["page"]
    try:
        picker = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").locator("input")
        since = None
        for attempt in range(2):  # a starved browser now and then drops the click on the option: pick it again
            await picker.click()
            await picker.fill(name)
            option = page.get_by_role("option", name=name, exact=False).first  # Enter would add every match
            await option.wait_for(timeout=WAIT_TIMEOUT_MS)
            since = since if since is not None else await page.evaluate("performance.now()")
            await option.click()
            try:
                await page.wait_for_function(STARTED, arg=since, polling=100, timeout=RUN_START_TIMEOUT_MS)
                break
            except Exception:  # noqa: BLE001
                picked = await page.evaluate(STATE)
                if len(picked["tags"]) != len(session["tags_before"]) or attempt == 1:
                    raise
                session["retried"] = True
        stopped_ms = await settle(page, since)
        session["change_s"] = (stopped_ms - since) / 1000
        await page.keyboard.press("Escape")
        state = await page.evaluate(STATE)
        session["vintage_after"] = state["vintage"]
        if state["exceptions"]:
            session["error"] = "exception after the change"
        elif state["connection"] != "CONNECTED":
            session["error"] = f"connection {state['connection']}"
        elif len(state["tags"]) != len(session["tags_before"]) + 1:
            session["error"] = f"picker has {state['tags']}, expected {session['tags_before']} and {name}"
        elif state["vintage"] != expected_vintage:
            session["error"] = f"shows vintage {state['vintage']}, expected {expected_vintage}"
    except Exception as exc:  # noqa: BLE001
        session["error"] = f"change: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}; {await page_state(page)}"


async def sample_rss(bench: Bench, peak: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for index, value in enumerate(bench.rss_mb()):
            if value is not None:
                peak[index] = max(peak[index], value)
        try:
            await asyncio.wait_for(stop.wait(), timeout=0.25)
        except TimeoutError:
            pass


async def run_round(bench: Bench, browser, sessions: int, after_s: float) -> dict:
    load = load_average()
    idle = bench.rss_mb()
    peak = [value or 0.0 for value in idle]
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(bench, peak, stop))
    vintage_before = bench.latest_vintage()
    replica_pids = {replica.pid for replica in bench.replicas}
    cpu_replicas, cpu_browser = cpu_seconds(replica_pids), cpu_seconds(comm_prefix="chrom")
    started = time.perf_counter()
    opened = await asyncio.gather(*(open_session(browser, bench.target + PAGE) for _ in range(sessions)))
    new_vintage, refresh_s = await asyncio.to_thread(bench.refresh)  # halfway: a refresh commits a new vintage
    await asyncio.gather(*(change_session(session, ADDED[index % len(ADDED)], new_vintage)
                           for index, session in enumerate(opened)))
    elapsed = time.perf_counter() - started
    cpu = {"replicas_s": cpu_used(cpu_replicas, cpu_seconds(replica_pids)),
           "browser_s": cpu_used(cpu_browser, cpu_seconds(comm_prefix="chrom"))}
    for session in opened:
        await session["context"].close()
    stop.set()
    await sampler
    await asyncio.sleep(after_s)
    after = bench.rss_mb()
    per_replica = bench.sessions_per_replica([s.get("sticky") for s in opened])
    opens = [s["open_s"] for s in opened if "open_s" in s]
    changes = [s["change_s"] for s in opened if "change_s" in s]
    errors = [s["error"] for s in opened if s["error"]]
    return {
        "replicas": len(bench.replicas), "sessions": sessions, "load_before": load,
        "open_p50_s": percentile(opens, 0.5), "open_p95_s": percentile(opens, 0.95),
        "change_p50_s": percentile(changes, 0.5), "change_p95_s": percentile(changes, 0.95),
        "errors": len(errors), "error_reasons": sorted(set(errors)),
        "clicks_retried": sum(1 for s in opened if s.get("retried")),
        "vintage_before": vintage_before, "vintage_after": new_vintage, "refresh_s": round(refresh_s, 2),
        "saw_new_vintage": sum(1 for s in opened if s.get("vintage_after") == new_vintage),
        "sessions_per_replica": per_replica,
        "rss_idle_mb": idle, "rss_peak_mb": peak, "rss_after_mb": after, "after_s": after_s,
        "wall_s": round(elapsed, 2), "cpu_s": cpu, "open_s": opens, "change_s": changes,
    }


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_table(rounds: list[dict]) -> None:
    print(f"{'replicas':>8} {'sessions':>8} {'load1/5/15':>16} {'open p50':>9} {'open p95':>9} {'chg p50':>8} "
          f"{'chg p95':>8} {'errors':>6} {'new vint.':>9} {'per repl.':>9} {'CPU s app/browser':>17}  "
          f"RSS MB idle / peak / +{rounds[0]['after_s']:.0f}s per replica")
    for r in rounds:
        rss = "; ".join(f"{a} / {b} / {c}" for a, b, c in zip(r["rss_idle_mb"], r["rss_peak_mb"], r["rss_after_mb"]))
        print(f"{r['replicas']:>8} {r['sessions']:>8} {r['load_before']:>16} {fmt(r['open_p50_s']):>9} "
              f"{fmt(r['open_p95_s']):>9} {fmt(r['change_p50_s']):>8} {fmt(r['change_p95_s']):>8} "
              f"{r['errors']:>6} {r['saw_new_vintage']:>4}/{r['sessions']:<4} "
              f"{'+'.join(map(str, r['sessions_per_replica'])):>9} "
              f"{str(r['cpu_s']['replicas_s']) + ' / ' + str(r['cpu_s']['browser_s']):>17}  "
              f"{rss}")
        if r["clicks_retried"]:
            print(f"{'':>8} picks retried after a lost click: {r['clicks_retried']}")
        for reason in r["error_reasons"]:
            print(f"{'':>8} error: {reason}")


async def main_async(args) -> int:
    from playwright.async_api import async_playwright

    bench = Bench(args.replicas)
    rounds: list[dict] = []
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for replica in bench.replicas:  # warm each replica: first run of the script, caches filled
                    warm = await open_session(browser, replica.url + PAGE)
                    await warm["context"].close()
                    if warm["error"]:
                        raise RuntimeError(f"warm-up of {replica.name} failed: {warm['error']}")
                counts = SWEEP if args.sweep else [args.sessions]
                for count in counts:
                    result = await run_round(bench, browser, count, args.after_s)
                    rounds.append(result)
                    print_table([result])
                    if args.sweep and count > 1:
                        base = rounds[0]
                        broke = [key for key in ("open", "change") if result[f"{key}_p95_s"] and base[f"{key}_p50_s"]
                                 and result[f"{key}_p95_s"] > BREAKDOWN_FACTOR * base[f"{key}_p50_s"]]
                        if broke or result["errors"]:
                            result["breakdown"] = broke or ["errors"]
                            break
            finally:
                await browser.close()
    finally:
        bench.stack.stop()
    print()
    print_table(rounds)
    if args.sweep:
        broken = next((r for r in rounds if r.get("breakdown")), None)
        print(f"breakdown point: {broken['sessions']} sessions ({', '.join(broken['breakdown'])} p95 > "
              f"{BREAKDOWN_FACTOR:g}x the single-session time)" if broken else
              f"no breakdown up to {rounds[-1]['sessions']} sessions")
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"load_{args.replicas}r_{'sweep' if args.sweep else f'{args.sessions}s'}_{datetime.now():%Y%m%d-%H%M%S}.json"
    (RESULTS / name).write_text(json.dumps({"args": vars(args), "cpus": os.cpu_count(), "rounds": rounds},
                                           indent=2), encoding="utf-8")
    print(f"written: {(RESULTS / name).relative_to(REPO)}")
    return 1 if any(r["errors"] for r in rounds if not args.sweep or not r.get("breakdown")) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicas", type=int, choices=[1, 2], default=1)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--after-s", type=float, default=60.0, help="when to read memory after the sessions close")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())

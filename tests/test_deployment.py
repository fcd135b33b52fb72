"""The deployment of compose.yaml, on loopback: a PostgreSQL warehouse, two app replicas on it, nginx in front of them
with the production template (deploy/nginx/tiedolla.conf.template), the refresh worker, and a fake Statistics Finland
host for the worker to refresh from (tests/stack.py starts and stops them all).

It checks what a deployment with several replicas needs: both replicas are healthy directly and through nginx; a
browser stays on one replica for every request (Streamlit keeps a session in one process), while different browsers
spread over the replicas; and a vintage the worker commits is shown by every replica within seconds, without a
restart. The fake host's answers are CONSTRUCTED (tests/pxweb_fake.py).
"""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict

import pytest
import requests

from sources.warehouse import open_warehouse
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.stack import Stack, access_log_entries

pytestmark = pytest.mark.browser

LOAD_TIMEOUT_MS = 60_000
VISIBLE_WITHIN_S = 5.0  # a committed vintage must be on every replica's pages within this
MAX_CONTEXTS = 16  # fresh browsers tried until two land on different replicas (all on one: 2 * 0.5**16)
VINTAGE_CAPTION = re.compile(r"Tietoversio (\d+) \(")


@pytest.fixture(scope="module")
def deployment(request):
    stack = Stack()
    request.addfinalizer(stack.stop)
    try:
        fake = stack.fake_pxweb()
        url = stack.postgres_database("deployment")
        env = stack.warehouse_env(url, fake)
        stack.migrate(env)  # compose.yaml's one-shot `migrate`: schema and snapshot before the replicas start
        replicas = [stack.replica(env, wait=False) for _ in range(2)]
        for replica in replicas:
            stack.wait_healthy(replica)
        proxy = stack.nginx(replicas)
    except Exception:
        print(stack.logs())
        raise
    yield {"stack": stack, "env": env, "url": url, "replicas": replicas, "proxy": proxy, "fake": fake}
    if request.session.testsfailed:
        print(stack.logs())


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def replicas_in_log(proxy) -> dict[str, set[str]]:
    """Sticky key -> the replicas (upstream addresses) that served requests carrying it."""
    served: dict[str, set[str]] = defaultdict(set)
    for entry in access_log_entries(proxy.extra["access_log"]):
        served[entry["sticky"]].add(entry["replica"])
    return served


def shown_vintage(page, url: str) -> int:
    """Open `url` in `page` and read the data version the sidebar names."""
    page.goto(url, timeout=LOAD_TIMEOUT_MS)
    caption = page.get_by_text(VINTAGE_CAPTION).first
    caption.wait_for(timeout=LOAD_TIMEOUT_MS)
    return int(VINTAGE_CAPTION.search(caption.inner_text()).group(1))


class VintageWatch:
    """Polls the warehouse's latest vintage id every 50 ms in a thread, noting when each new id first appeared."""

    def __init__(self, location: str) -> None:
        self._location = location
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._seen: list[tuple[int, float]] = []
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        with open_warehouse(self._location) as store:
            while not self._stop.is_set():
                latest = store.latest_vintage_id()
                with self._lock:
                    if not self._seen or self._seen[-1][0] != latest:
                        self._seen.append((latest, time.monotonic()))
                self._stop.wait(0.05)

    def latest(self) -> tuple[int, float]:
        """The latest vintage id and when the poll first saw it."""
        with self._lock:
            return self._seen[-1] if self._seen else (0, time.monotonic())

    def wait_beyond(self, vintage_id: int, timeout_s: float, worker) -> None:
        deadline = time.monotonic() + timeout_s
        while self.latest()[0] <= vintage_id:
            assert time.monotonic() < deadline, f"the worker committed nothing in {timeout_s:.0f} s:\n{worker.log()}"
            assert worker.running(), f"the worker stopped:\n{worker.log()}"
            time.sleep(0.05)

    def __enter__(self) -> VintageWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def test_both_replicas_answer_health_directly_and_through_nginx(deployment):
    replicas, proxy = deployment["replicas"], deployment["proxy"]
    for replica in replicas:
        answer = requests.get(f"{replica.url}/_stcore/health", timeout=5)
        assert answer.status_code == 200 and answer.text == "ok", replica.name
    cookies = set()
    for _ in range(40):  # no cookie: each request gets a new random key, so the keys spread over both replicas
        answer = requests.get(f"{proxy.url}/_stcore/health", timeout=5)
        assert answer.status_code == 200 and answer.text == "ok"
        cookies.add(answer.cookies.get("tiedolla_replica"))
        served = {entry["replica"] for entry in access_log_entries(proxy.extra["access_log"])
                  if entry["path"] == "/_stcore/health" and entry["status"] == "200"}
        if served == {replica.extra["address"] for replica in replicas}:
            break
    else:
        pytest.fail(f"nginx sent health checks only to {served}")
    assert None not in cookies, "a request without the cookie must get one"
    kept = requests.get(f"{proxy.url}/_stcore/health", cookies={"tiedolla_replica": "abc"}, timeout=5)
    assert "tiedolla_replica" not in kept.headers.get("Set-Cookie", ""), "a browser's cookie must not be replaced"


def test_a_browser_keeps_its_replica_and_browsers_spread_over_both(deployment, browser):
    proxy, replicas = deployment["proxy"], deployment["replicas"]
    keys: list[str] = []
    for attempt in range(MAX_CONTEXTS):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            page = context.new_page()
            page.goto(proxy.url, timeout=LOAD_TIMEOUT_MS)
            page.get_by_role("heading", name="Tiedolla", exact=False).first.wait_for(timeout=LOAD_TIMEOUT_MS)
            if attempt < 2:  # a second page load and a theme page: more requests, more websockets, same replica
                page.goto(f"{proxy.url}/employment", timeout=LOAD_TIMEOUT_MS)
                page.get_by_role("heading", name="Työllisyys", exact=False).first.wait_for(timeout=LOAD_TIMEOUT_MS)
            page.get_by_text(VINTAGE_CAPTION).first.wait_for(timeout=LOAD_TIMEOUT_MS)
            cookie = [c["value"] for c in context.cookies() if c["name"] == "tiedolla_replica"]
            assert len(cookie) == 1, context.cookies()
            keys.append(cookie[0])
        finally:
            context.close()  # nginx logs a websocket when it closes
        served = replicas_in_log(proxy)
        if attempt >= 1 and len({replica for key in keys for replica in served.get(key, ())}) == 2:
            break
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the closed websockets' log lines
        entries = [entry for entry in access_log_entries(proxy.extra["access_log"]) if entry["sticky"] in keys]
        streams = {entry["sticky"] for entry in entries if entry["path"].startswith("/_stcore/stream")}
        if streams >= set(keys):
            break
        time.sleep(0.2)
    served = replicas_in_log(proxy)
    for key in keys:
        assert len(served[key]) == 1, f"the browser with key {key} was served by {served[key]}"
        requests_of_key = [entry for entry in entries if entry["sticky"] == key]
        assert any(entry["path"].startswith("/_stcore/stream") and entry["status"] == "101"
                   for entry in requests_of_key), f"no websocket through nginx for {key}: {requests_of_key}"
        assert len(requests_of_key) >= 5, requests_of_key  # the page, its scripts and styles, the websocket
    used = {replica for key in keys for replica in served[key]}
    assert used == {replica.extra["address"] for replica in replicas}, (
        f"{len(keys)} fresh browsers all landed on {used}")


def test_a_vintage_the_worker_commits_is_shown_by_every_replica_within_5_s(deployment, browser, capsys):
    stack, replicas, location = deployment["stack"], deployment["replicas"], deployment["url"]
    with open_warehouse(location) as store:
        before = store.latest_vintage_id()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pages = {replica.name: context.new_page() for replica in replicas}
    try:
        for replica in replicas:
            assert shown_vintage(pages[replica.name], replica.url) == before

        worker = stack.worker(deployment["env"], schedule="every 3s")
        with VintageWatch(location) as watch:
            watch.wait_beyond(before, timeout_s=60, worker=worker)
            shown_at: dict[str, dict[int, float]] = {replica.name: {} for replica in replicas}
            deadline = time.monotonic() + 60
            while True:  # open each replica's page again and again until all show the newest vintage
                for replica in replicas:
                    shown = shown_vintage(pages[replica.name], replica.url)
                    shown_at[replica.name].setdefault(shown, time.monotonic())
                latest, latest_since = watch.latest()
                settled = time.monotonic() - latest_since > 2.0  # the run may commit one vintage per series
                if settled and all(latest in seen for seen in shown_at.values()):
                    break
                assert time.monotonic() < deadline, (
                    f"replicas did not show vintage {latest}: {shown_at}\n{stack.logs()}")
        delays = {name: seen[latest] - latest_since for name, seen in shown_at.items()}
        with capsys.disabled():
            print(f"\nvintage {before} -> {latest}: shown on a freshly opened page after "
                  + ", ".join(f"{name} {delay:.2f} s" for name, delay in delays.items()))
        assert all(delay <= VISIBLE_WITHIN_S for delay in delays.values()), delays
    finally:
        context.close()

    code = worker.stop()
    assert code == 0, f"the worker did not stop cleanly on SIGTERM (exit {code}):\n{worker.log()}"
    assert worker.log().strip(), "the worker logs a line per run"

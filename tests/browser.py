"""Start the real app with `streamlit run` on a free local port and drive Debian's Chromium with Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run"]
STARTUP_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_app(warehouse_dir: Path | None = None, env: dict[str, str] | None = None):
    """The app served by `ui.serve` on a free port, with its warehouse in `warehouse_dir` or as `env` says."""
    port = free_port()
    env = dict(env or os.environ)
    if warehouse_dir is not None:
        env["TIEDOLLA_WAREHOUSE_DIR"] = str(warehouse_dir)
    process = subprocess.Popen(
        [sys.executable, "-m", "ui.serve", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:  # e.g. another test worker took the port between free_port() and here
                output = process.stdout.read().decode(errors="replace")[-3000:]
                raise RuntimeError(f"the app exited ({process.returncode}) before it was up:\n{output}")
            try:
                if requests.get(f"{base}/_stcore/health", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        else:
            raise RuntimeError("the app did not start within the time limit")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def browser_page(width: int = 1400, height: int = 1000):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def warm_up(page, base: str) -> None:
    """Load the front page once and wait for it (a first page load also fills a new warehouse from the snapshot)."""
    page.goto(base, timeout=60_000)
    page.get_by_role("heading", name="Tiedolla", exact=False).first.wait_for(timeout=90_000)

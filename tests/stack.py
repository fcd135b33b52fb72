"""The deployed stack on loopback, for the deployment test and the load benchmark: a throwaway PostgreSQL warehouse,
app replicas, nginx in front of them (filled from deploy/nginx/tiedolla.conf.template, the file production uses), the
refresh worker, and a fake Statistics Finland host.

    with Stack() as stack:
        fake = stack.fake_pxweb()                       # tests/pxweb_fake.py on a local port, in this process
        env = stack.warehouse_env(stack.postgres_database("deploy"), fake)
        stack.migrate(env)                              # what compose.yaml's one-shot `migrate` service does
        replicas = [stack.replica(env) for _ in range(2)]
        proxy = stack.nginx(replicas)
        worker = stack.worker(env, schedule="every 3s")

Every process runs in its own process group with its output in a log file under `stack.root`; `Stack.stop()` (also
on an exception inside the `with`) stops them in reverse order, the whole group each, with SIGTERM and then SIGKILL.
The replicas run exactly the command of the Dockerfile's CMD, with the address and port changed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import requests

from tests.pxweb_fake import FakePxWeb, toml_value, unemployment_table
from tests.replay_server import ReplayServer

REPO = Path(__file__).resolve().parent.parent
NGINX = "/usr/sbin/nginx"
NGINX_TEMPLATE = REPO / "deploy" / "nginx" / "tiedolla.conf.template"
STARTUP_TIMEOUT_S = 90
STOP_TIMEOUT_S = 10
# The statfin series the fake host serves (one table, StatFin tyonv/12r5); the generated config keeps only these.
FAKE_TABLE = "StatFin/tyonv/12r5"
_PLACEHOLDER = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def replica_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """The app server of one replica: the Dockerfile's CMD, on another address and port."""
    return [sys.executable, "-m", "ui.serve", "--server.headless", "true", "--server.address", address,
            "--server.port", str(port), "--server.fileWatcherType", "none"]


def fill_template(text: str, values: dict[str, str]) -> str:
    """`${NAME}` -> value, as the nginx image's envsubst does; a placeholder without a value is an error."""
    missing = sorted({name for name in _PLACEHOLDER.findall(text) if name not in values})
    if missing:
        raise KeyError(f"{NGINX_TEMPLATE.name} needs values for {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def rss_kb(pid: int) -> int | None:
    """The resident set size of a process (VmRSS in /proc/PID/status), in KiB; None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


@dataclass
class Service:
    """One started process (and its process group)."""

    name: str
    process: subprocess.Popen
    log_path: Path
    url: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log(self, tail_chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail_chars:]
        except OSError:
            return ""

    def rss_kb(self) -> int | None:
        return rss_kb(self.pid)

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
        """Signal the whole process group, wait, then kill what is left; returns the exit code."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # children that outlived their parent
        except (ProcessLookupError, PermissionError):
            pass
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None


class Stack:
    """Processes started for one test or benchmark run; stopped together, in reverse order of starting."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root or tempfile.mkdtemp(prefix="tiedolla-stack-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.services: list[Service] = []
        self._cleanups: list = []  # callables, run in reverse order by stop()
        self._postgres = None

    # --- the pieces ---------------------------------------------------------------------------------------------

    def postgres_database(self, name: str = "tiedolla") -> str:
        """A new, migrated database on a throwaway server (started on first use); returns its URL."""
        if self._postgres is None:
            from tests.pg_server import PostgresServer

            self._postgres = PostgresServer()
            self._cleanups.append(self._postgres.stop)
        return self._postgres.create_database(name)

    def fake_pxweb(self) -> FakePxWeb:
        """A fake Statistics Finland host serving the unemployment table (tests/pxweb_fake.py), in this process."""
        server = ReplayServer().__enter__()
        self._cleanups.append(lambda: server.__exit__(None, None, None))
        fake = FakePxWeb(server)
        fake.add(unemployment_table())
        return fake

    def warehouse_env(self, warehouse_url: str, fake: FakePxWeb | None = None, **extra: str) -> dict[str, str]:
        """The environment every process of the stack gets: the warehouse URL and, with a fake host, a config whose
        only live source is statfin at that host (the other services are not reachable from a test)."""
        env = {**os.environ, "TIEDOLLA_WAREHOUSE_URL": warehouse_url,
               "TIEDOLLA_WAREHOUSE_DIR": str(self.root / "unused-local-warehouse"),
               "TIEDOLLA_REFRESH__RATE_LIMIT_DIR": str(self.root / "rate-limits"), **extra}
        if fake is not None:
            config = self.root / "config.toml"
            config.write_text(config_for_fake(fake.base_url), encoding="utf-8")
            env["TIEDOLLA_CONFIG_FILE"] = str(config)
        return env

    def migrate(self, env: dict[str, str]) -> None:
        """`python -m sources migrate`: schema and the bundled snapshot, before the replicas start."""
        result = subprocess.run([sys.executable, "-m", "sources", "migrate"], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"migrate failed ({result.returncode}): {result.stdout}{result.stderr}")

    def replica(self, env: dict[str, str], wait: bool = True) -> Service:
        port = free_port()
        number = sum(1 for service in self.services if service.name.startswith("replica")) + 1
        service = self._start(f"replica{number}", replica_command(port), env)
        service.url = f"http://127.0.0.1:{port}"
        service.extra["address"] = f"127.0.0.1:{port}"
        if wait:
            self.wait_healthy(service)
        return service

    def nginx(self, replicas: list[Service], wait: bool = True) -> Service:
        """nginx with the production template in front of `replicas`, on a free loopback port."""
        port = free_port()
        folder = self.root / "nginx"
        for sub in ("temp/client", "temp/proxy", "temp/fastcgi", "temp/uwsgi", "temp/scgi"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        access_log = folder / "access.log"
        access_log.touch()
        upstreams = " ".join(f"server {replica.extra['address']};" for replica in replicas)
        site = fill_template(NGINX_TEMPLATE.read_text(encoding="utf-8"), {
            "TIEDOLLA_LISTEN": f"127.0.0.1:{port}",
            "TIEDOLLA_UPSTREAM_SERVERS": upstreams,
            "TIEDOLLA_ACCESS_LOG": str(access_log),
        })
        (folder / "tiedolla.conf").write_text(site, encoding="utf-8")
        main = folder / "nginx.conf"
        main.write_text(main_config(folder), encoding="utf-8")
        command = [NGINX, "-p", str(folder), "-c", str(main), "-e", str(folder / "error.log")]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx rejects the configuration: {check.stderr}")
        service = self._start("nginx", command, dict(os.environ))
        service.url = f"http://127.0.0.1:{port}"
        service.extra["access_log"] = access_log
        service.extra["error_log"] = folder / "error.log"
        if wait:
            self.wait_healthy(service)
        return service

    def worker(self, env: dict[str, str], schedule: str | None = None, once: bool = False) -> Service:
        """The refresh worker, `python -m sources worker` (optionally with another schedule, or `--once`)."""
        env = dict(env)
        if schedule:
            env["TIEDOLLA_REFRESH__SCHEDULE"] = schedule
        command = [sys.executable, "-m", "sources", "worker", *(["--once"] if once else [])]
        return self._start("worker", command, env)

    # --- waiting and stopping -----------------------------------------------------------------------------------

    def wait_healthy(self, service: Service, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not service.running():
                raise RuntimeError(f"{service.name} exited ({service.process.returncode}):\n{service.log()}")
            try:
                answer = requests.get(f"{service.url}/_stcore/health", timeout=2)
                if answer.ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{service.name} was not healthy within {timeout_s:.0f} s:\n{service.log()}")

    def logs(self) -> str:
        """The tail of every log, for a failing test's output."""
        parts = [f"--- {service.name} (pid {service.pid}, exit {service.process.poll()}) ---\n{service.log()}"
                 for service in self.services]
        error_log = self.root / "nginx" / "error.log"
        if error_log.exists():
            parts.append(f"--- nginx error.log ---\n{error_log.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()
        self.services.clear()
        while self._cleanups:
            try:
                self._cleanups.pop()()
            except Exception:  # noqa: BLE001 - stopping must go on; the rest still needs stopping
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> Service:
        log_path = self.root / f"{name}.log"
        handle = log_path.open("ab")
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        handle.close()
        service = Service(name, process, log_path)
        self.services.append(service)
        return service


def main_config(folder: Path) -> str:
    """The smallest main nginx.conf around the template, all its files in `folder` (the image has its own)."""
    user = "user root;\n" if os.getuid() == 0 else ""  # as root, workers would otherwise switch to `nobody`
    return f"""{user}daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {folder}/temp/client;
    proxy_temp_path {folder}/temp/proxy;
    fastcgi_temp_path {folder}/temp/fastcgi;
    uwsgi_temp_path {folder}/temp/uwsgi;
    scgi_temp_path {folder}/temp/scgi;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    include {folder}/tiedolla.conf;
}}
"""


def config_for_fake(base_url: str) -> str:
    """config.toml with its settings and the snapshot source, and statfin at `base_url` with only the series of
    the table the fake serves (short timeouts, no retries). The other live sources are left out."""
    config = tomllib.loads((REPO / "config.toml").read_text(encoding="utf-8"))
    lines = [f"{key} = {toml_value(value)}" for key, value in config.items() if not isinstance(value, dict)]
    for name, table in config.items():
        if isinstance(table, dict) and name != "sources":
            lines.append(f"\n[{name}]")
            lines += [f"{key} = {toml_value(value)}" for key, value in table.items()]
    snapshot = config["sources"]["snapshot"]
    lines.append("\n[sources.snapshot]")
    lines += [f"{key} = {toml_value(value)}" for key, value in snapshot.items()]
    statfin = {key: value for key, value in config["sources"]["statfin"].items() if key != "series"}
    statfin.update(base_url=base_url, max_retries=0, timeout_connect_s=2.0, timeout_read_s=10.0)
    lines.append("\n[sources.statfin]")
    lines += [f"{key} = {toml_value(value)}" for key, value in statfin.items()]
    for series in config["sources"]["statfin"]["series"]:
        if series.get("table") == FAKE_TABLE:
            lines.append("\n[[sources.statfin.series]]")
            lines += [f"{key} = {toml_value(value)}" for key, value in series.items()]
    return "\n".join(lines) + "\n"


def access_log_entries(path: Path) -> list[dict[str, str]]:
    """The lines of the template's `tiedolla` log format: request, status, replica and sticky key of each."""
    pattern = re.compile(r'"(?P<method>\S+) (?P<path>\S+)[^"]*" (?P<status>\d+) .* replica=(?P<replica>\S+) '
                         r'sticky=(?P<sticky>\S+)$')
    entries = []
    for line in path.read_text(errors="replace").splitlines():
        match = pattern.search(line)
        if match:
            entries.append(match.groupdict())
    return entries

"""A throwaway PostgreSQL server for tests: its own data folder, reachable only through a Unix socket in that folder.

`PostgresServer()` runs `initdb` and `pg_ctl start` in a fresh temporary folder (fsync off: the data dies with the
test run anyway) and listens on no TCP port, so parallel test runs and a developer's own server never collide.
`create_database(name)` returns the URL of a new, already migrated database: the migrations run once into a template
database, and every further database is a cheap `CREATE DATABASE ... TEMPLATE` copy of it.

PostgreSQL refuses to run as root. When the tests run as root (containers, CI), the server binaries run as the
`postgres` system user through `runuser`; the Debian package creates that user, and it is created when missing.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Self
from urllib.parse import quote

import psycopg
from psycopg import sql

SUPERUSER = "postgres"
TEMPLATE_DATABASE = "tiedolla_template"
SERVER_OPTIONS = "-c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off"


class PostgresNotInstalled(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bindir() -> Path:
    """The folder of initdb/pg_ctl: from `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            output = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout
            candidates.append(Path(output.strip()))
        except (OSError, subprocess.CalledProcessError):
            pass
    candidates += [Path(path) for path in sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                                                  key=lambda path: int(Path(path).parent.name), reverse=True)]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    raise PostgresNotInstalled(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found via `pg_config --bindir` or in "
        "/usr/lib/postgresql/*/bin; install them with `apt-get install postgresql`.")


def _server_user() -> str | None:
    """The system user the server runs as when we are root (None: run as ourselves)."""
    if os.getuid() != 0:
        return None
    try:
        pwd.getpwnam(SUPERUSER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SUPERUSER],
                       check=True, capture_output=True)
    return SUPERUSER


class PostgresServer:
    """A private PostgreSQL server; use as a context manager or call `stop()`."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.run_as = _server_user()
        # A short path under /tmp: the socket path must stay below the ~107-byte Unix socket limit.
        self.root = Path(tempfile.mkdtemp(prefix="tiedolla-pg-"))
        self.data_dir = self.root / "data"
        self.log_file = self.root / "server.log"
        self._template_ready = False
        self._stopped = False
        if self.run_as:
            record = pwd.getpwnam(self.run_as)
            os.chown(self.root, record.pw_uid, record.pw_gid)
        try:
            self._run("initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
                      "--locale=C.UTF-8", "--no-sync")
            self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data_dir), "-l", str(self.log_file),
                      "-o", f"{SERVER_OPTIONS} -k {self.root}")
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        atexit.register(self.stop)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        result = subprocess.run(command, check=False, capture_output=True, text=True, cwd=self.root)
        if result.returncode != 0:
            log = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            raise RuntimeError(f"{program} failed ({result.returncode}): {result.stderr.strip()}\n{log}")

    # --- addresses ----------------------------------------------------------------------------------------------

    def url(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        """A libpq URL reaching `dbname` through the socket folder (no TCP)."""
        return f"postgresql://{quote(user)}@/{quote(dbname)}?host={quote(str(self.root), safe='')}"

    def execute(self, *statements: str, dbname: str = "postgres") -> None:
        """Run statements as the superuser outside a transaction (CREATE/DROP DATABASE need that)."""
        with psycopg.connect(self.url(dbname), autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)

    # --- databases ----------------------------------------------------------------------------------------------

    def create_database(self, name: str, migrated: bool = True) -> str:
        """A new database (a copy of the migrated template unless `migrated=False`); returns its URL."""
        if migrated:
            self._ensure_template()
            template = sql.SQL(" TEMPLATE {}").format(sql.Identifier(TEMPLATE_DATABASE))
        else:
            template = sql.SQL(" TEMPLATE template0")
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)) + template)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def _ensure_template(self) -> None:
        if self._template_ready:
            return
        from sources.warehouse_pg import PostgresWarehouse

        url = self.create_database(TEMPLATE_DATABASE, migrated=False)
        with PostgresWarehouse(url) as warehouse:
            warehouse.migrate()
        self._template_ready = True  # its connections are closed: CREATE DATABASE TEMPLATE needs it idle

    # --- lifetime -----------------------------------------------------------------------------------------------

    def pause(self) -> None:
        """Stop the server as a crash or a restart would, keeping its data (resume() starts it again)."""
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", "-w")

    def resume(self) -> None:
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data_dir), "-l", str(self.log_file),
                  "-o", f"{SERVER_OPTIONS} -k {self.root}")

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", "-w")
        except RuntimeError:
            pass  # already gone; the folder is removed all the same
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

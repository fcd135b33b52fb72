"""Application settings: `config.toml` at the repository root, overridden by environment variables.

Every setting can be overridden with the prefix `TIEDOLLA_` and `__` for nesting, for example
`TIEDOLLA_WAREHOUSE_URL=postgresql://tiedolla@db/tiedolla`, `TIEDOLLA_WAREHOUSE_DIR=/tmp/wh` or `TIEDOLLA_SOURCES__STATFIN__BASE_URL=http://127.0.0.1:8765/api/v1/`.
`TIEDOLLA_CONFIG_FILE` points at another TOML file (tests use this).

A broken file or a wrong value raises `ConfigError` with the file and the field named, never a bare traceback.
"""

from __future__ import annotations

import difflib
import os
import tempfile
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from indicators.catalogue import UpdateRhythm

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_FILE = REPO_ROOT / "config.toml"
LANGUAGES = ("fi", "sv", "en")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file and the field."""


class SeriesConfig(BaseModel):
    """One series a source provides, declared in configuration (no Python needed for a new table).

    Adapter-specific keys (table, content text, indicator id, ...) are kept as extra fields and read by the
    adapter of the source's kind.
    """

    model_config = ConfigDict(extra="allow")

    id: str = Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
    title: dict[str, str]
    unit: str
    frequency: Literal["annual", "monthly"] = "annual"
    measure: Literal["count", "rate", "amount"] = "count"
    description: dict[str, str] = Field(default_factory=dict)
    # How often the publisher updates it, when the catalogue's indicators do not say (see sources/schedule.py).
    update: UpdateRhythm | None = None


class SourceConfig(BaseModel):
    """One configured source instance, e.g. `statfin` of kind `pxweb`."""

    model_config = ConfigDict(extra="allow")

    kind: str
    enabled: bool = True
    title: dict[str, str] = Field(default_factory=dict)
    publisher: str = ""
    licence: str = ""
    attribution: str = ""
    home_url: str = ""
    base_url: str = ""
    timeout_connect_s: float = 5.0
    timeout_read_s: float = 30.0
    series: list[SeriesConfig] = Field(default_factory=list)


class RefreshConfig(BaseModel):
    """`[refresh]`: when the worker refreshes what is due, who may start a refresh, and shared request limits."""

    model_config = ConfigDict(extra="forbid")

    # Start the worker beside the app in `./tiedolla.sh run`. Off by default: a clone on a laptop should not call the
    # open-data services unprompted (and offline it cannot); a server turns it on or runs the worker as a service.
    auto: bool = False
    # "06:00" (daily, server local time), "06:00,18:00" (several times a day) or "every 30m" / "every 6h" / "every 10s".
    schedule: str = "06:00"
    # After a run that could not happen at all (warehouse unreachable or busy), the worker tries again after this,
    # doubling up to `backoff_max_s`, never later than the next scheduled run. Failed sources wait for the schedule.
    backoff_initial_s: float = Field(default=60.0, gt=0)
    backoff_max_s: float = Field(default=3600.0, gt=0)
    # The "Refresh now" button on About the data. Turn it off on a public deployment: residents must not start
    # refreshes. With `require_login`, the button is shown only to a user signed in through Streamlit's st.login
    # (OIDC, configured in .streamlit/secrets.toml [auth]).
    allow_from_app: bool = True
    require_login: bool = False
    # Where processes on this machine share each host's request log, so a host's limit (PxWeb maxCalls per
    # timeWindow) holds across processes: the services count requests per client address. Empty: a folder in the
    # system's temporary directory.
    rate_limit_dir: Path | None = None

    @property
    def rate_limit_path(self) -> Path:
        return self.rate_limit_dir or Path(tempfile.gettempdir()) / "tiedolla-rate-limits"


class Settings(BaseSettings):
    """All settings of Tiedolla. Defaults here; values in config.toml; environment wins."""

    model_config = SettingsConfigDict(
        env_prefix="TIEDOLLA_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    # Where the warehouse lives: a folder path or file:// URL (the local store) or postgresql://... (a shared
    # PostgreSQL warehouse). Empty means the local store in `warehouse_dir`.
    warehouse_url: str = ""
    warehouse_dir: Path = REPO_ROOT / ".warehouse"
    # How long a refresh waits for another refresh of the same warehouse to finish before giving up (exit code 3).
    refresh_lock_timeout_s: float = Field(default=60.0, ge=0)
    snapshot_dir: Path = REPO_ROOT / "data" / "snapshot"
    default_language: str = Field(default="fi", pattern=r"^(fi|sv|en)$")
    default_municipalities: list[str] = Field(default_factory=lambda: ["KU016", "KU111", "KU098", "KU560"])
    default_region: str = "MK07"
    user_agent: str = "Tiedolla/0.1 (+https://github.com/tiedolla; municipal indicators)"
    refresh: RefreshConfig = Field(default_factory=RefreshConfig)
    sources: dict[str, SourceConfig] = Field(default_factory=dict)

    @property
    def warehouse_location(self) -> str:
        """The warehouse to open with `sources.warehouse.open_warehouse`: `warehouse_url`, else `warehouse_dir`."""
        return self.warehouse_url or str(self.warehouse_dir)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_source = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return (init_settings, env_settings, toml_source)


def config_file() -> Path:
    return Path(os.environ.get("TIEDOLLA_CONFIG_FILE", DEFAULT_CONFIG_FILE))


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings; raise ConfigError with a readable message when they are wrong (every
    problem found, not only the first)."""
    settings, problems = _load(overrides)
    if problems:
        raise ConfigError(problems[0] if len(problems) == 1 else
                          f"{len(problems)} problems: " + " ".join(f"({n}) {text}" for n, text in
                                                                  enumerate(problems, start=1)))
    assert settings is not None
    return settings


def check_configuration(**overrides: Any) -> tuple[Settings | None, list[str]]:
    """The settings and every problem of the configuration, each naming the file and the field (for
    `python -m sources check`); the settings are None when they could not be read or validated at all."""
    return _load(overrides)


def _load(overrides: dict[str, Any]) -> tuple[Settings | None, list[str]]:
    path = config_file()
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        return None, [f"Configuration file {path} is missing."]
    except tomllib.TOMLDecodeError as exc:
        return None, [f"Configuration file {path} is not valid TOML: {exc}."]
    problems = unknown_key_problems(raw, path)
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        return None, problems + [
            f"Configuration in {path} (or TIEDOLLA_ environment) is invalid: {_where(error['loc'], raw)}: "
            f"{error['msg']}." for error in exc.errors() if error["type"] != "extra_forbidden"]
    problems += _unique_series_problems(settings, path) + _schedule_problems(settings, path)
    url = settings.warehouse_url
    if "://" in url and not url.startswith(("file://", "postgresql://", "postgres://")):
        problems.append(
            f"Configuration in {path}: warehouse_url {url.split('://')[0]}://... is not supported; use a folder "
            "path, file:///folder or postgresql://user@host/database.")
    if not problems:  # building the sources needs a sound configuration
        problems += _sources_build_problems(settings, path)
    if not settings.warehouse_dir.is_absolute():
        settings.warehouse_dir = REPO_ROOT / settings.warehouse_dir
    if url and "://" not in url and not Path(url).is_absolute():
        settings.warehouse_url = str(REPO_ROOT / url)
    if not settings.snapshot_dir.is_absolute():
        settings.snapshot_dir = REPO_ROOT / settings.snapshot_dir
    return settings, problems


def _where(location: tuple, raw: dict[str, Any]) -> str:
    """A validation error's place, with a series named by its id rather than its position in the list."""
    parts = [str(part) for part in location]
    if len(location) >= 4 and location[0] == "sources" and location[2] == "series" and isinstance(location[3], int):
        try:
            series_id = raw["sources"][location[1]]["series"][location[3]].get("id")
        except (KeyError, IndexError, TypeError, AttributeError):
            series_id = None
        if series_id:
            return f"[sources.{location[1]}] series {series_id}" + "".join(f".{part}" for part in parts[4:])
    return ".".join(parts)


def unknown_key_problems(raw: dict[str, Any], path: Path) -> list[str]:
    """Keys no part of the program reads, e.g. a misspelt `contnet`, each with the closest known key. A source
    kind declares its own keys (`SOURCE_KEYS`, `SERIES_KEYS`); a plugin that declares none is not checked."""
    from sources.http import CLIENT_KEYS
    from sources.registry import load_kind  # the registry imports this module

    problems: list[str] = []

    def check(table: Any, allowed: set[str], where: str) -> None:
        if not isinstance(table, dict):
            return
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
                problems.append(f"Configuration in {path}: {where}: unknown key '{key}'"
                                + (f"; did you mean '{close[0]}'?" if close else
                                   f" (known keys: {', '.join(sorted(allowed))})."))

    check(raw, set(Settings.model_fields), "top level")
    check(raw.get("refresh"), set(RefreshConfig.model_fields), "[refresh]")
    sources = raw.get("sources")
    for name, source in (sources.items() if isinstance(sources, dict) else []):
        if not isinstance(source, dict):
            continue
        try:
            kind = load_kind(str(source.get("kind")))
        except ConfigError:
            continue  # said when the sources are built
        source_keys, series_keys = getattr(kind, "SOURCE_KEYS", None), getattr(kind, "SERIES_KEYS", None)
        if source_keys is not None:
            client = CLIENT_KEYS if getattr(kind, "USES_CLIENT_KEYS", True) else frozenset()
            check(source, set(SourceConfig.model_fields) | set(source_keys) | set(client), f"[sources.{name}]")
        if series_keys is not None:
            for number, series in enumerate(source.get("series") or [], start=1):
                label = series.get("id", f"#{number}") if isinstance(series, dict) else f"#{number}"
                check(series, set(SeriesConfig.model_fields) | set(series_keys), f"[sources.{name}] series {label}")
    return problems


def _schedule_problems(settings: Settings, path: Path) -> list[str]:
    from sources.schedule import ScheduleError, parse_schedule

    try:
        parse_schedule(settings.refresh.schedule)
    except ScheduleError as exc:
        return [f"Configuration in {path}: [refresh] schedule: {exc}"]
    return []


def _sources_build_problems(settings: Settings, path: Path) -> list[str]:
    """Build every enabled source once (no network), so an unknown kind or a wrong option is reported when the
    configuration is loaded, not only when that source is refreshed."""
    from sources.registry import build_adapter  # the registry imports this module

    problems = []
    for name, source in settings.sources.items():
        if not source.enabled:
            continue
        try:
            build_adapter(name, settings)
        except ConfigError as exc:
            problems.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - any adapter's own validation error, said as a config error
            problems.append(f"Configuration in {path}: [sources.{name}] (kind {source.kind}) cannot be set up: {exc}")
    return problems


def _unique_series_problems(settings: Settings, path: Path) -> list[str]:
    """Two declarations of one series id would write into one series; name both places."""
    places: dict[str, str] = {}
    problems = []
    for name, source in settings.sources.items():
        for number, series in enumerate(source.series, start=1):
            place = f"[sources.{name}] series {number}"
            if series.id in places:
                problems.append(f"Configuration in {path}: the series id {series.id} is declared twice, in "
                                f"{places[series.id]} and in {place}; give each series its own id.")
            places[series.id] = place
    return problems


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests call `get_settings.cache_clear()` after changing the environment)."""
    return load_settings()

"""The registry of source kinds: built-in adapters and third-party ones found through entry points.

A source *kind* (e.g. `pxweb`) is an adapter class; a source *instance* (e.g. `statfin`, `traficom`) is a
`[sources.NAME]` table in config.toml naming its kind. Built-in kinds are listed in `BUILTIN_KINDS` as
"module:Class" strings, exactly the form an entry point has, and third-party packages add kinds through the
entry-point group `tiedolla.sources`; both go through `load_kind`, so built-ins get no special path.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

import requests

from indicators.checks import Declared
from sources.contract import SourceAdapter
from sources.settings import ConfigError, Settings

ENTRY_POINT_GROUP = "tiedolla.sources"

BUILTIN_KINDS: dict[str, str] = {
    "snapshot": "sources.snapshot:SnapshotAdapter",
    "sotkanet": "sources.sotkanet:SotkanetAdapter",
    "syke_emissions": "sources.syke:SykeEmissionsAdapter",
    "boundaries": "sources.boundaries:BoundariesAdapter",
    "pxweb": "sources.pxweb:PxWebAdapter",
}


def available_kinds() -> dict[str, str]:
    """Kind name -> "module:Class" for built-ins and installed plugins (a plugin may not shadow a built-in)."""
    kinds = dict(BUILTIN_KINDS)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        kinds.setdefault(entry.name, entry.value)
    return kinds


def load_kind(kind: str) -> type:
    """Import the adapter class of a kind; ConfigError when the kind is unknown or broken."""
    target = available_kinds().get(kind)
    if target is None:
        known = ", ".join(sorted(available_kinds()))
        raise ConfigError(f"Unknown source kind '{kind}'. Known kinds: {known}.")
    module_name, _, class_name = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"Source kind '{kind}' ({target}) cannot be loaded: {exc}.") from exc


def build_adapter(name: str, settings: Settings, session: requests.Session | None = None) -> SourceAdapter:
    """Create the adapter for the configured source instance `name`."""
    config = settings.sources.get(name)
    if config is None:
        raise ConfigError(f"No source named '{name}' in the configuration ([sources.{name}]).")
    adapter_class = load_kind(config.kind)
    return adapter_class(name=name, config=config, settings=settings, session=session)


def declared_series(settings: Settings) -> dict[str, Declared]:
    """Every series the enabled sources offer, with what they declare about it (unit, frequency, measure): what a
    catalogue formula may refer to (indicators/checks.py). Configured series come from config.toml; others (the
    snapshot's, a plugin's) from the adapter's `describe()`."""
    declared: dict[str, Declared] = {}
    for name, config in settings.sources.items():
        if not config.enabled:
            continue
        infos = build_adapter(name, settings).describe() if not config.series else config.series
        where = f"config.toml [sources.{name}]" if config.series else f"the source {name} ({config.kind})"
        for info in infos:
            declared[info.id] = Declared(info.id, info.unit, info.frequency, info.measure, where)
    return declared


def build_adapters(settings: Settings, session: requests.Session | None = None,
                   only: list[str] | None = None) -> dict[str, SourceAdapter]:
    """All enabled configured sources (or the named ones), in configuration order."""
    names = only or [name for name, config in settings.sources.items() if config.enabled]
    return {name: build_adapter(name, settings, session) for name in names}

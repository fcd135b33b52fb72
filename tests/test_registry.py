"""The source registry: built-in kinds, configured sources, third-party kinds through entry points."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import ClassVar

import pandas as pd
import pytest

import sources.registry as registry
from sources.contract import (
    NotFound,
    Provenance,
    SeriesData,
    SeriesInfo,
    SourceAdapter,
    tidy_frame,
    validate_frame,
)
from sources.settings import ConfigError, load_settings

# Opens no warehouse (or only the bundled snapshot's files): the PostgreSQL run leaves it out.
pytestmark = pytest.mark.no_warehouse


class DummyAdapter:
    """A third-party adapter as a plugin package would ship it (constructed for these tests)."""

    kind: ClassVar[str] = "dummy"

    def __init__(self, name, config, settings, session=None) -> None:
        self.name = name
        self.config = config

    def describe(self) -> list[SeriesInfo]:
        return [SeriesInfo(id="dummy.one", title={"fi": "Yksi", "sv": "En", "en": "One"}, unit="kpl",
                           publisher="Dummy", licence="CC0", home_url="", source=self.name)]

    def fetch(self, series_ids=None, regions=None, periods=None, progress=None) -> list[SeriesData]:
        frame = tidy_frame("dummy.one", ["KU091"], ["2024"], [1.0])
        provenance = Provenance("dummy", "t", "http://example.invalid/", "2024-01-01", None, "CC0")
        return [SeriesData(self.describe()[0], frame, provenance)]


def plugin_entry_points(*entries: tuple[str, str]):
    """A stand-in for importlib.metadata.entry_points that 'installs' the given (name, value) plugins."""

    def fake(group: str | None = None, **_):
        found = [EntryPoint(name=name, value=value, group=registry.ENTRY_POINT_GROUP) for name, value in entries]
        return [entry for entry in found if group in (None, entry.group)]

    return fake


def plugin_config(tmp_path, monkeypatch, kind: str) -> None:
    # Constructed config: one source instance of the given kind, nothing else.
    path = tmp_path / "plugin.toml"
    path.write_text(f'[sources.mine]\nkind = "{kind}"\nlicence = "CC0"\n', encoding="utf-8")
    monkeypatch.setenv("TIEDOLLA_CONFIG_FILE", str(path))


@pytest.mark.parametrize("kind", sorted(registry.BUILTIN_KINDS))
def test_every_builtin_kind_loads_an_adapter_class(kind):
    adapter_class = registry.load_kind(kind)
    assert isinstance(adapter_class, type)
    assert adapter_class.kind == kind
    assert callable(getattr(adapter_class, "describe", None))
    assert callable(getattr(adapter_class, "fetch", None))


CONFIGURED = sorted(load_settings().sources)


@pytest.mark.parametrize("name", CONFIGURED)
def test_every_configured_source_builds_an_adapter_satisfying_the_contract(name):
    settings = load_settings()
    adapter = registry.build_adapter(name, settings)
    assert isinstance(adapter, SourceAdapter)
    assert adapter.name == name
    assert adapter.kind == settings.sources[name].kind
    infos = adapter.describe()  # configuration-based (or the local snapshot): no network
    assert all(isinstance(info, SeriesInfo) for info in infos)
    for info in infos:
        assert {"fi", "sv", "en"} <= set(info.title), info.id
        assert all(info.title[lang].strip() for lang in ("fi", "sv", "en")), info.id
    configured = [series.id for series in settings.sources[name].series]
    if configured:
        assert [info.id for info in infos] == configured


def test_build_adapters_builds_all_enabled_sources_in_config_order():
    settings = load_settings()
    adapters = registry.build_adapters(settings)
    assert list(adapters) == [name for name, config in settings.sources.items() if config.enabled]


def test_unknown_kind_raises_config_error_listing_known_kinds():
    with pytest.raises(ConfigError) as excinfo:
        registry.load_kind("no_such_kind")
    message = str(excinfo.value)
    assert "no_such_kind" in message
    for kind in registry.BUILTIN_KINDS:
        assert kind in message


def test_configured_source_of_unknown_kind_raises_config_error(tmp_path, monkeypatch):
    plugin_config(tmp_path, monkeypatch, "no_such_kind")
    with pytest.raises(ConfigError, match="Known kinds: .*snapshot"):
        registry.build_adapter("mine", load_settings())


def test_unconfigured_source_name_raises_config_error():
    with pytest.raises(ConfigError, match=r"\[sources\.nowhere\]"):
        registry.build_adapter("nowhere", load_settings())


def test_third_party_kind_is_found_through_the_entry_point_group(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "entry_points", plugin_entry_points(("dummy", "tests.test_registry:DummyAdapter")))
    assert registry.available_kinds()["dummy"] == "tests.test_registry:DummyAdapter"
    assert registry.load_kind("dummy") is DummyAdapter
    plugin_config(tmp_path, monkeypatch, "dummy")
    adapter = registry.build_adapter("mine", load_settings())
    assert isinstance(adapter, DummyAdapter)
    assert isinstance(adapter, SourceAdapter)
    (series,) = adapter.fetch()
    validate_frame(series.frame, "dummy")


def test_plugin_cannot_shadow_a_builtin_kind(monkeypatch):
    monkeypatch.setattr(
        registry, "entry_points",
        plugin_entry_points(("snapshot", "tests.test_registry:DummyAdapter"),
                            ("dummy", "tests.test_registry:DummyAdapter")),
    )
    from sources.snapshot import SnapshotAdapter

    assert registry.available_kinds()["snapshot"] == registry.BUILTIN_KINDS["snapshot"]
    assert registry.load_kind("snapshot") is SnapshotAdapter
    assert registry.load_kind("dummy") is DummyAdapter


def test_broken_plugin_raises_config_error_naming_the_kind(monkeypatch):
    monkeypatch.setattr(registry, "entry_points", plugin_entry_points(("broken", "tests.test_registry:NoSuchClass")))
    with pytest.raises(ConfigError, match="'broken'.*cannot be loaded"):
        registry.load_kind("broken")


# --- the snapshot adapter --------------------------------------------------------------------------------------


def test_snapshot_adapter_fetches_valid_frames_with_provenance():
    adapter = registry.build_adapter("snapshot", load_settings())
    described = [info.id for info in adapter.describe()]
    assert len(described) > 0
    results = adapter.fetch()
    assert [series.info.id for series in results] == described
    for series in results:
        validate_frame(series.frame, series.info.id)
        assert (series.frame["series"] == series.info.id).all()
        assert isinstance(series.provenance, Provenance)
        assert series.provenance.source == "snapshot"
        assert series.provenance.licence
        assert series.provenance.attribution
        assert series.provenance.request_url.startswith("http")


def test_snapshot_adapter_filters_by_region_and_period():
    adapter = registry.build_adapter("snapshot", load_settings())
    (series,) = adapter.fetch(["snapshot.population"], regions=["KU091", "KU098"], periods=["2020", "2021"])
    assert set(series.frame["region"]) == {"KU091", "KU098"}
    assert set(series.frame["period"]) == {"2020", "2021"}
    assert len(series.frame) == 4
    assert pd.api.types.is_float_dtype(series.frame["value"])


def test_snapshot_adapter_unknown_series_raises_not_found():
    adapter = registry.build_adapter("snapshot", load_settings())
    with pytest.raises(NotFound, match="snapshot.nope"):
        adapter.fetch(["snapshot.nope"])

"""Settings: config.toml values, TIEDOLLA_ environment overrides, and readable ConfigErrors for broken files."""

from __future__ import annotations

from pathlib import Path

import pytest

from sources.settings import DEFAULT_CONFIG_FILE, REPO_ROOT, ConfigError, get_settings, load_settings

# Opens no warehouse (or only the bundled snapshot's files): the PostgreSQL run leaves it out.
pytestmark = pytest.mark.no_warehouse


def write_config(tmp_path: Path, text: str) -> Path:
    # Constructed config file for this test only.
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_repository_config_loads_with_the_sources_it_declares(monkeypatch):
    monkeypatch.delenv("TIEDOLLA_CONFIG_FILE", raising=False)
    settings = load_settings()
    assert settings.default_language == "fi"
    assert settings.default_region == "MK07"
    assert settings.default_municipalities == ["KU016", "KU111", "KU098", "KU560"]
    assert settings.sources["snapshot"].kind == "snapshot"
    assert settings.sources["snapshot"].licence == "CC BY 4.0"


def test_warehouse_dir_comes_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_DIR", str(tmp_path / "elsewhere"))
    assert load_settings().warehouse_dir == tmp_path / "elsewhere"


def test_relative_warehouse_dir_is_resolved_against_the_repository(monkeypatch):
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_DIR", "some/relative/dir")
    assert load_settings().warehouse_dir == REPO_ROOT / "some" / "relative" / "dir"


def test_nested_source_setting_is_overridden_with_double_underscore(monkeypatch):
    monkeypatch.setenv("TIEDOLLA_SOURCES__SNAPSHOT__BASE_URL", "http://127.0.0.1:8765/snap/")
    settings = load_settings()
    assert settings.sources["snapshot"].base_url == "http://127.0.0.1:8765/snap/"
    # The override is merged into the file's table, not a replacement of it.
    assert settings.sources["snapshot"].kind == "snapshot"
    assert settings.sources["snapshot"].licence == "CC BY 4.0"


def test_nested_override_keeps_the_series_declared_in_the_file(tmp_path, monkeypatch):
    path = write_config(
        tmp_path,
        '[sources.statfin]\nkind = "pxweb"\nbase_url = "https://pxdata.stat.fi/PxWeb/api/v1/fi/"\n'
        '[[sources.statfin.series]]\nid = "statfin.population"\n'
        'title = { fi = "Väestö", sv = "Befolkning", en = "Population" }\nunit = "henkilöä"\n'
        'table = "StatFin/vaerak/11re"\n',
    )
    monkeypatch.setenv("TIEDOLLA_CONFIG_FILE", str(path))
    monkeypatch.setenv("TIEDOLLA_SOURCES__STATFIN__BASE_URL", "http://127.0.0.1:8765/api/v1/")
    monkeypatch.setenv("TIEDOLLA_SOURCES__STATFIN__TIMEOUT_READ_S", "2.5")
    statfin = load_settings().sources["statfin"]
    assert statfin.base_url == "http://127.0.0.1:8765/api/v1/"
    assert statfin.timeout_read_s == 2.5
    assert statfin.kind == "pxweb"
    assert [series.id for series in statfin.series] == ["statfin.population"]
    assert statfin.series[0].model_extra["table"] == "StatFin/vaerak/11re"


def test_environment_wins_over_the_config_file(monkeypatch):
    monkeypatch.setenv("TIEDOLLA_DEFAULT_LANGUAGE", "sv")
    monkeypatch.setenv("TIEDOLLA_DEFAULT_MUNICIPALITIES", '["KU091", "KU049"]')
    settings = load_settings()
    assert settings.default_language == "sv"
    assert settings.default_municipalities == ["KU091", "KU049"]


def test_get_settings_is_cached_until_cache_clear(monkeypatch):
    first = get_settings()
    monkeypatch.setenv("TIEDOLLA_DEFAULT_LANGUAGE", "en")
    assert get_settings() is first
    get_settings.cache_clear()
    assert get_settings().default_language == "en"


def test_config_file_env_points_at_another_file(tmp_path, monkeypatch):
    path = write_config(tmp_path, 'default_language = "en"\ndefault_region = "MK01"\n')
    monkeypatch.setenv("TIEDOLLA_CONFIG_FILE", str(path))
    settings = load_settings()
    assert settings.default_language == "en"
    assert settings.default_region == "MK01"
    assert settings.sources == {}


def test_broken_toml_raises_config_error_naming_the_file(tmp_path, monkeypatch):
    path = write_config(tmp_path, 'default_language = "fi"\n[sources.snapshot\nkind = "snapshot"\n')
    monkeypatch.setenv("TIEDOLLA_CONFIG_FILE", str(path))
    with pytest.raises(ConfigError) as excinfo:
        load_settings()
    assert str(path) in str(excinfo.value)
    assert "TOML" in str(excinfo.value)


def test_missing_config_file_raises_config_error_naming_the_file(tmp_path, monkeypatch):
    path = tmp_path / "does-not-exist.toml"
    monkeypatch.setenv("TIEDOLLA_CONFIG_FILE", str(path))
    with pytest.raises(ConfigError, match="does-not-exist.toml"):
        load_settings()


def test_invalid_language_in_file_raises_config_error_naming_the_field(tmp_path, monkeypatch):
    path = write_config(tmp_path, 'default_language = "de"\n')
    monkeypatch.setenv("TIEDOLLA_CONFIG_FILE", str(path))
    with pytest.raises(ConfigError) as excinfo:
        load_settings()
    message = str(excinfo.value)
    assert "default_language" in message
    assert str(path) in message


def test_invalid_language_in_environment_raises_config_error_naming_the_field(monkeypatch):
    monkeypatch.setenv("TIEDOLLA_DEFAULT_LANGUAGE", "de")
    with pytest.raises(ConfigError, match="default_language"):
        load_settings()


def test_invalid_series_in_a_source_names_the_nested_field(tmp_path, monkeypatch):
    path = write_config(
        tmp_path,
        '[sources.x]\nkind = "snapshot"\n[[sources.x.series]]\nid = "x.a"\ntitle = { fi = "a" }\n'
        'unit = "kpl"\nfrequency = "weekly"\n',
    )
    monkeypatch.setenv("TIEDOLLA_CONFIG_FILE", str(path))
    # The series is named by its id, not by its place in the list.
    with pytest.raises(ConfigError,
                       match=r"\[sources\.x\] series x\.a\.frequency: Input should be 'annual' or 'monthly'"):
        load_settings()


def test_default_config_file_is_the_repository_config(monkeypatch):
    monkeypatch.delenv("TIEDOLLA_CONFIG_FILE", raising=False)
    assert DEFAULT_CONFIG_FILE == REPO_ROOT / "config.toml"
    assert DEFAULT_CONFIG_FILE.exists()


def test_a_duplicate_series_id_is_a_configuration_error_naming_both_places(tmp_path, monkeypatch):
    # Constructed configuration: two sources declare the same series id.
    config = tmp_path / "config.toml"
    config.write_text(
        '[sources.one]\nkind = "pxweb"\nbase_url = "http://127.0.0.1:9/"\n'
        '[[sources.one.series]]\nid = "test.same"\ntitle = { fi = "A" }\nunit = "%"\n'
        '[sources.two]\nkind = "pxweb"\nbase_url = "http://127.0.0.1:9/"\n'
        '[[sources.two.series]]\nid = "test.other"\ntitle = { fi = "B" }\nunit = "%"\n'
        '[[sources.two.series]]\nid = "test.same"\ntitle = { fi = "C" }\nunit = "%"\n', encoding="utf-8")
    monkeypatch.setenv("TIEDOLLA_CONFIG_FILE", str(config))
    with pytest.raises(ConfigError, match=r"test\.same is declared twice, in \[sources\.one\] series 1 and in "
                                          r"\[sources\.two\] series 2"):
        load_settings()


def test_an_unknown_kind_or_a_missing_title_guard_is_reported_when_the_configuration_is_loaded(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    monkeypatch.setenv("TIEDOLLA_CONFIG_FILE", str(config))
    config.write_text('[sources.mystery]\nkind = "csv_folder"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="Unknown source kind 'csv_folder'"):
        load_settings()
    # Constructed: a Sotkanet series without the Finnish title that guards its indicator id.
    config.write_text('[sources.sotkanet]\nkind = "sotkanet"\nbase_url = "http://127.0.0.1:9/"\n'
                      '[[sources.sotkanet.series]]\nid = "sotkanet.x"\nindicator = 127\ntitle = { fi = "X" }\n'
                      'unit = "%"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="sotkanet.x needs an integer `indicator` and its Finnish title"):
        load_settings()

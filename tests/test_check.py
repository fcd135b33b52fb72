"""`python -m sources check` and strict configuration: the mistakes an analyst makes, each said clearly, all at once.

Each test copies the repository's config.toml or theme files and makes one CONSTRUCTED mistake in the copy (a
misspelt key, a value outside its choices, a misspelt series id), then runs the check command as an analyst would,
and where it matters opens the app on the same files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from indicators.catalogue import THEMES_DIR, get_catalogue, load_catalogue
from indicators.checks import catalogue_problems
from sources.registry import declared_series
from sources.schedule import RHYTHM_DAYS
from sources.settings import DEFAULT_CONFIG_FILE, ConfigError, get_settings, load_settings
from tests.apptest_helpers import open_page, run_app

REPO = Path(__file__).resolve().parent.parent


def check(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sources", "check"], cwd=REPO, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def config_copy(tmp_path, monkeypatch):
    """A copy of config.toml that the test edits; the environment points at it."""
    path = tmp_path / "config.toml"

    def edit(*replacements: tuple[str, str]) -> Path:
        text = DEFAULT_CONFIG_FILE.read_text(encoding="utf-8")
        for old, new in replacements:
            assert old in text, old
            text = text.replace(old, new, 1)
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("TIEDOLLA_CONFIG_FILE", str(path))
        get_settings.cache_clear()
        return path

    return edit


@pytest.fixture
def themes_copy(tmp_path, monkeypatch):
    """A copy of the theme files that the test edits; TIEDOLLA_THEMES_DIR points at it."""
    folder = tmp_path / "themes"
    shutil.copytree(THEMES_DIR, folder)

    def edit(file: str, old: str, new: str) -> Path:
        path = folder / file
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        monkeypatch.setenv("TIEDOLLA_THEMES_DIR", str(folder))
        get_catalogue.cache_clear()
        return folder

    yield edit
    get_catalogue.cache_clear()


def test_the_repository_passes_the_check():
    result = check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: ") and "34 indicators in 4 themes" in result.stdout


def test_a_misspelt_series_key_is_refused_with_a_did_you_mean_in_the_check_and_at_load(config_copy):
    config_copy(('content = "Työttömät"', 'contnet = "Työttömät"'))
    result = check()
    assert result.returncode == 1
    assert ("[sources.statfin] series statfin.unemployed: unknown key 'contnet'; did you mean 'content'?"
            in result.stdout)
    with pytest.raises(ConfigError, match="unknown key 'contnet'; did you mean 'content'"):
        load_settings()


def test_every_problem_is_listed_not_only_the_first_and_a_series_is_named_by_its_id(config_copy):
    config_copy(('warehouse_dir = ".warehouse"', 'warehose_dir = ".warehouse"'),
                ('schedule = "06:00"', 'schedulle = "06:00"'),
                ('frequency = "annual"\nmeasure = "count"\ntable = "StatFin/vaerak/11re"',
                 'frequency = "yearly"\nmeasure = "count"\ntable = "StatFin/vaerak/11re"'))
    result = check()
    assert result.returncode == 1
    assert result.stdout.startswith("3 problems in ")
    assert "top level: unknown key 'warehose_dir'; did you mean 'warehouse_dir'?" in result.stdout
    assert "[refresh]: unknown key 'schedulle'; did you mean 'schedule'?" in result.stdout
    assert "[sources.statfin] series statfin.population.frequency: Input should be 'annual' or 'monthly'" \
        in result.stdout
    with pytest.raises(ConfigError, match=r"^3 problems: \(1\) "):
        load_settings()


def test_a_key_of_another_source_kind_is_unknown_here(config_copy):
    config_copy(('years_from = 2010', 'years_from = 2010\ntime_window_s = 10'))  # a PxWeb key in Sotkanet
    assert "[sources.sotkanet]: unknown key 'time_window_s'" in check().stdout


def test_a_misspelt_series_id_in_the_catalogue_is_a_definition_error_in_the_check_and_the_app(themes_copy):
    themes_copy("employment.toml", 'numerator = "statfin.unemployed | snapshot.unemployed"',
                'numerator = "statfin.unemployed | snapshot.unemploed"')
    result = check()
    assert result.returncode == 1
    assert ("indicators/themes/employment.toml: indicator 'unemployment_rate', formula.numerator: no configured "
            "source offers the series 'snapshot.unemploed'; did you mean 'snapshot.unemployed'?") in result.stdout

    at = open_page(run_app({"lang": "suomi"}), "employment")
    assert not at.exception, at.exception
    labels = [expander.label for expander in at.expander]
    assert any(label.startswith("Työttömyysaste · määrittelyvirhe") for label in labels), labels
    errors = [str(error.value) for error in at.error]
    assert any("Mittarin määrittelyssä on virhe" in error for error in errors)
    # What to fix (the series id, the check command) is in the analysts' details, not in the reader's text.
    details = [text.value for expander in at.expander if expander.label == "Tiedot analyytikolle"
               for text in expander.markdown]
    assert any("snapshot.unemploed" in text and "python -m sources check" in text for text in details), details
    assert not any("snapshot.unemploed" in error for error in errors)
    assert not any("ei vielä haettu" in label for label in labels if label.startswith("Työttömyysaste"))


def test_an_update_rhythm_outside_the_choices_is_refused_and_quarterly_has_its_texts(themes_copy):
    folder = themes_copy("employment.toml", 'update = "monthly"', 'update = "quarterly"')
    catalogue = load_catalogue(folder)
    assert [problem for problem in catalogue_problems(catalogue, declared_series(load_settings()))] == []

    themes_copy("employment.toml", 'update = "quarterly"', 'update = "yearly"')
    result = check()
    assert result.returncode == 1
    assert "field update: Input should be 'daily', 'weekly', 'monthly', 'quarterly' or 'annual'" in result.stdout


def test_every_problem_of_every_theme_file_is_listed(themes_copy):
    themes_copy("employment.toml", 'update = "monthly"', 'update = "yearly"')
    themes_copy("climate.toml", 'polarity = "lower_better"', 'polarity = "lower"')
    result = check()
    assert result.returncode == 1 and result.stdout.startswith("2 problems in ")
    assert "- employment.toml: " in result.stdout and "- climate.toml: " in result.stdout


def test_the_catalogues_rhythms_are_the_ones_the_schedule_knows():
    from indicators.catalogue import UPDATE_RHYTHMS

    assert set(UPDATE_RHYTHMS) == set(RHYTHM_DAYS)

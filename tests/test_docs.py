"""The documentation stays true: README's commands exist, CONTRIBUTING.md names every source kind and its examples
work (the indicator block computes, the configuration blocks build adapters, the adapter and its test pass), every
module starts with a docstring, and the layers import in one direction only.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pytest

from indicators.catalogue import THEMES_DIR, get_catalogue, load_catalogue
from indicators.formulas import Engine
from indicators.regions import get_registry
from sources.registry import BUILTIN_KINDS, ENTRY_POINT_GROUP, build_adapters
from sources.settings import DEFAULT_CONFIG_FILE, REPO_ROOT, load_settings
from sources.warehouse import open_warehouse
from tests.test_catalogue import reference_problems, translation_problems, unit_problems
from ui.i18n import LANGUAGES, LOCALES_DIR

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
CONTRIBUTING = (REPO_ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
SCRIPT = (REPO_ROOT / "tiedolla.sh").read_text(encoding="utf-8")
CI = REPO_ROOT / ".ci" / "run"
LAYERS = ("sources", "indicators", "ui", "pages")
LOWER_LAYERS = ("sources", "indicators")
FORBIDDEN_IN_LOWER_LAYERS = {"streamlit", "ui", "pages", "app"}
CACHE_MODULE = REPO_ROOT / "ui" / "loading.py"
# Files the guide tells the reader to create; they do not exist until then.
TO_BE_CREATED = {"sources/csv_table.py"}  # the guide's example of a built-in module name


def code_blocks(text: str, language: str) -> list[str]:
    """Fenced blocks of one language, also inside list items (indented fences), without their indentation."""
    pattern = re.compile(rf"^( *)```{language}\n(.*?)^\1```", re.MULTILINE | re.DOTALL)
    return [textwrap.dedent(match.group(2)) for match in pattern.finditer(text)]


def python_modules() -> list[Path]:
    modules = [path for layer in LAYERS for path in sorted((REPO_ROOT / layer).rglob("*.py"))]
    return [*modules, REPO_ROOT / "app.py"]


def relative(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


def configured_sources() -> dict:
    """The `[sources.NAME]` tables of the repository's config.toml, as written."""
    with DEFAULT_CONFIG_FILE.open("rb") as handle:
        return tomllib.load(handle)["sources"]


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


# --- README and the two commands ---------------------------------------------------------------------------------


def test_readme_commands_are_cases_of_tiedolla_sh():
    commands = set(re.findall(r"^\./tiedolla\.sh (\w+)", README, re.MULTILINE))
    cases = set(re.findall(r"^  (\w+)\)$", SCRIPT, re.MULTILINE))
    assert commands == {"run", "test"}
    assert commands <= cases
    test_case = re.search(r"^  test\)$(.*?)^    ;;$", SCRIPT, re.MULTILINE | re.DOTALL).group(1)
    assert '-m pytest "$@"' in test_case, "`./tiedolla.sh test -k regions` passes its arguments on to pytest"


def test_ci_calls_the_test_command():
    lines = [line.strip() for line in CI.read_text(encoding="utf-8").splitlines()]
    commands = [line for line in lines if line and not line.startswith("#")]
    assert any(re.search(r"(^|\s)\./tiedolla\.sh test$", line) for line in commands), commands
    for script in (CI, REPO_ROOT / "tiedolla.sh"):
        assert os.access(script, os.X_OK), f"{relative(script)} must be executable"


# --- CONTRIBUTING.md -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(BUILTIN_KINDS))
def test_contributing_names_every_builtin_kind(kind):
    assert f"`{kind}`" in CONTRIBUTING
    module = BUILTIN_KINDS[kind].partition(":")[0].replace(".", "/") + ".py"
    assert f"`{module}`" in CONTRIBUTING


def test_contributing_names_both_ways_to_register_a_kind():
    assert "`BUILTIN_KINDS`" in CONTRIBUTING
    assert f'"{ENTRY_POINT_GROUP}"' in CONTRIBUTING


def test_paths_named_in_contributing_exist():
    spans = set(re.findall(r"`([^`\s]+)`", CONTRIBUTING))
    paths = {span.rstrip("/") for span in spans if "/" in span and not re.search(r"[<>{}*=:#]|^/|^\.\.\.|NAME", span)}
    assert "indicators/themes" in paths
    missing = sorted(path for path in paths - TO_BE_CREATED if not (REPO_ROOT / path).exists())
    assert missing == []


def test_units_the_guide_lists_have_translations():
    listed = re.search(r"These units exist: (.*?)\. A new unit", CONTRIBUTING, re.DOTALL).group(1)
    units = re.findall(r"`([^`]+)`", listed)
    assert "%" in units
    with (LOCALES_DIR / "fi" / "app.toml").open("rb") as handle:
        keys = tomllib.load(handle)
    assert [unit for unit in units if f"unit.{unit}" not in keys] == []


def test_every_toml_example_is_valid_toml():
    blocks = code_blocks(CONTRIBUTING, "toml")
    assert len(blocks) >= 4
    for block in blocks:
        tomllib.loads(block)


def test_the_guides_indicator_example_loads_and_computes(tmp_path):
    (block,) = [block for block in code_blocks(CONTRIBUTING, "toml") if block.startswith("[[indicator]]")]
    themes = tmp_path / "themes"
    shutil.copytree(THEMES_DIR, themes)
    with (themes / "employment.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n" + block)
    new_id = tomllib.loads(block)["indicator"][0]["id"]
    assert new_id not in get_catalogue().indicators, "the example must be new, not a copy of a real indicator"

    indicator = load_catalogue(themes).indicators[new_id]
    assert reference_problems(indicator) == unit_problems(indicator) == translation_problems(indicator) == []
    snapshot = open_warehouse(load_settings().snapshot_dir)
    result = Engine(snapshot.read, get_registry()).compute(indicator, ["KU098", "MK07"])
    assert set(result["region"]) == {"KU098", "MK07"}
    assert np.isfinite(result["value"]).all()


def test_the_guides_configuration_examples_build_adapters(tmp_path, monkeypatch):
    blocks = [block for block in code_blocks(CONTRIBUTING, "toml") if re.search(r"^\[+sources\.", block, re.M)]
    assert len(blocks) >= 2
    config = tmp_path / "config.toml"
    config.write_text(DEFAULT_CONFIG_FILE.read_text(encoding="utf-8") + "\n" + "\n\n".join(blocks), encoding="utf-8")
    monkeypatch.setenv("TIEDOLLA_CONFIG_FILE", str(config))

    adapters = build_adapters(load_settings())  # validates every source and series, without network
    declared = {series["id"] for block in blocks for source in tomllib.loads(block)["sources"].values()
                for series in source.get("series", [])}
    described = {info.id for adapter in adapters.values() for info in adapter.describe()}
    assert declared and declared <= described
    new_sources = {name for block in blocks for name in tomllib.loads(block)["sources"]} - set(configured_sources())
    assert new_sources and new_sources <= set(adapters)


def test_refresh_commands_in_the_docs_name_configured_sources_and_series():
    sources = configured_sources()
    series = {entry["id"] for source in sources.values() for entry in source.get("series", [])}
    examples = {entry["id"] for block in code_blocks(CONTRIBUTING, "toml") if block.startswith("[[sources.")
                for source in tomllib.loads(block)["sources"].values() for entry in source["series"]}
    for text in (README, CONTRIBUTING):
        assert set(re.findall(r"--source (\w+)", text)) <= set(sources)
        assert set(re.findall(r"--series ([\w.]+)", text)) <= series | examples


def test_the_guides_example_plugin_is_an_installed_package_whose_kind_loads_from_anywhere(tmp_path):
    """The plugin in examples/csv_source, as the guide shows it: installed by the test command, found through its
    entry point, and importing the contract when run outside the repository (its own tests run with the suite)."""
    assert "examples/csv_source/tiedolla_csv_table/__init__.py" in CONTRIBUTING
    entry = tomllib.loads((REPO_ROOT / "examples/csv_source/pyproject.toml").read_text(encoding="utf-8"))
    (kind, target), = entry["project"]["entry-points"][ENTRY_POINT_GROUP].items()
    assert f'{kind} = "{target}"' in CONTRIBUTING
    code = ("from sources.registry import load_kind; import sources.contract as c; "
            f"print(load_kind({kind!r}).kind, c.__name__)")
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=environment, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == [kind, "sources.contract"]


# --- modules and layers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", python_modules(), ids=relative)
def test_every_module_starts_with_a_docstring(path):
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring and docstring.strip(), f"{relative(path)} needs a docstring saying what it is for"


def test_sources_and_indicators_never_import_streamlit_ui_or_pages():
    offenders = {}
    for layer in LOWER_LAYERS:
        for path in sorted((REPO_ROOT / layer).rglob("*.py")):
            forbidden = imported_roots(path) & FORBIDDEN_IN_LOWER_LAYERS
            if forbidden:
                offenders[relative(path)] = sorted(forbidden)
    assert offenders == {}


def test_pages_import_only_from_ui():
    # Pages draw; the data layers are reached through ui.loading (and its shared views), never directly.
    project = {"sources", "indicators", "pages", "app", "ui"}
    offenders = {relative(path): sorted(imported_roots(path) & project - {"ui"})
                 for path in sorted((REPO_ROOT / "pages").glob("*.py"))}
    assert {path: roots for path, roots in offenders.items() if roots} == {}


def test_streamlit_caching_lives_only_in_ui_loading():
    cached = set()
    for path in python_modules():
        nodes = ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if any(isinstance(node, ast.Attribute) and node.attr in ("cache_data", "cache_resource") for node in nodes):
            cached.add(relative(path))
    assert cached == {relative(CACHE_MODULE)}


def test_every_locale_file_has_the_same_keys_in_every_language():
    # ui/i18n.py: "a test keeps the three catalogues complete".
    for path in sorted((LOCALES_DIR / "fi").glob("*.toml")):
        texts = {}
        for lang in LANGUAGES:
            with (LOCALES_DIR / lang / path.name).open("rb") as handle:
                texts[lang] = tomllib.load(handle)
        for lang in LANGUAGES:
            assert texts[lang].keys() == texts["fi"].keys(), (lang, path.name)
            assert all(isinstance(text, str) and text.strip() for text in texts[lang].values()), (lang, path.name)

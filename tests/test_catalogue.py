"""The indicator catalogue as analysts edit it (indicators/themes/*.toml): every file loads, every indicator computes,
every series it names has a source, units agree, every text and unit is translated, every theme is complete, and a new
indicator needs nothing but TOML.

Indicators whose series are in the bundled snapshot are computed on that REAL data (data/snapshot/). Every indicator
is also computed on a CONSTRUCTED frame (`constructed_rows`: made-up numbers for the ten Päijät-Häme municipalities,
not data) covering all the series it references, so the formulas of indicators that only live sources fill (climate,
most of Sotkanet) run too.
"""

from __future__ import annotations

import shutil
from functools import cache

import numpy as np
import pandas as pd
import pytest

from indicators import checks
from indicators.catalogue import LANGS, THEMES_DIR, Indicator, load_catalogue, load_theme
from indicators.checks import locale_keys
from indicators.formulas import Engine
from indicators.regions import get_registry
from sources.registry import declared_series
from sources.settings import load_settings
from sources.warehouse import open_warehouse
from ui import i18n

# Opens no warehouse (or only the bundled snapshot's files): the PostgreSQL run leaves it out.
pytestmark = pytest.mark.no_warehouse

SETTINGS = load_settings()
SNAPSHOT = open_warehouse(SETTINGS.snapshot_dir)
CATALOGUE = load_catalogue()
INDICATORS = list(CATALOGUE.indicators.values())
PAIJAT_HAME = ["KU016", "KU081", "KU098", "KU111", "KU142", "KU316", "KU398", "KU560", "KU576", "KU781"]
MIN_INDICATORS_PER_THEME = 6
KINDS = ("structural", "situational")

DECLARED = declared_series(SETTINGS)
TEXTS = locale_keys()


def by_id(items) -> list:
    return [pytest.param(item, id=item.id) for item in items]


# --- rules shared by the real catalogue and the TOML-only example -----------------------------------------------------


def reference_problems(indicator: Indicator) -> list[tuple[str, str]]:
    return checks.reference_problems(indicator, DECLARED)


def unit_problems(indicator: Indicator) -> list[str]:
    return checks.unit_problems(indicator, DECLARED)


def translation_problems(indicator: Indicator) -> list[str]:
    return checks.translation_problems(indicator, TEXTS)


# --- constructed inputs -----------------------------------------------------------------------------------------------


def constructed_periods(frequency: str, count: int, base_period: str | None) -> list[str]:
    """The last `count` periods up to 2022 (or 2022-12), plus an index formula's base period."""
    if frequency == "monthly":
        periods = {f"{2022 - step // 12}-{12 - step % 12:02d}" for step in range(count)}
    else:
        periods = {str(2022 - step) for step in range(count)}
    return sorted(periods | ({base_period} if base_period else set()))


def constructed_rows(indicator: Indicator) -> pd.DataFrame:
    """CONSTRUCTED warehouse rows (made-up numbers, not data) for every series the indicator references.

    In a chain "a | b | c" the series at position p has values for the municipalities whose index k has k % 3 <= p,
    so each series of the chain is the one used somewhere (the fallback is exercised). Counts are in thousands,
    rates around ten; every series grows by 1 % a period.
    """
    formula = indicator.formula
    coverage: dict[str, set[str]] = {}
    for ids in formula.references().values():
        for position, series_id in enumerate(ids):
            served = {code for k, code in enumerate(PAIJAT_HAME) if k % len(ids) <= position}
            coverage[series_id] = coverage.get(series_id, set()) | served
    rows = []
    for rank, (series_id, codes) in enumerate(sorted(coverage.items())):
        declared = DECLARED[series_id]
        count = max(36 if declared.frequency == "monthly" else 4, formula.periods + 3)
        periods = constructed_periods(declared.frequency, count, formula.base_period)
        for k, code in enumerate(PAIJAT_HAME):
            if code not in codes:
                continue
            level = 1000.0 * (k + 1) * (1 + rank) if declared.measure == "count" else 10.0 + k + rank
            rows += [(series_id, code, period, level * 1.01**j) for j, period in enumerate(periods)]
    return pd.DataFrame(rows, columns=["series", "region", "period", "value"]).astype(
        {"series": "string", "region": "string", "period": "string", "value": "float64"})


def frame_loader(frame: pd.DataFrame):
    def load(series_ids: list[str]) -> pd.DataFrame:
        return frame[frame["series"].isin(series_ids)].reset_index(drop=True)

    return load


@cache
def snapshot_rows(series_ids: tuple[str, ...]) -> pd.DataFrame:
    return SNAPSHOT.read(list(series_ids))


def snapshot_engine() -> Engine:
    return Engine(lambda ids: snapshot_rows(tuple(ids)), get_registry())


def served_by_snapshot(indicator: Indicator) -> bool:
    snapshot = set(SNAPSHOT.series_ids())
    return all(set(ids) & snapshot for ids in indicator.formula.references().values())


def aggregates_to_areas(indicator: Indicator) -> bool:
    return indicator.formula.type == "ratio" or indicator.formula.aggregate in ("sum", "weighted")


def municipal(result: pd.DataFrame) -> pd.DataFrame:
    return result[result["region"].str.startswith("KU")]


# --- the files --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(THEMES_DIR.glob("*.toml")), ids=lambda path: path.name)
def test_every_theme_file_loads_on_its_own(path):
    theme = load_theme(path)
    assert theme.indicators, f"{path.name} has no [[indicator]]"


def test_every_indicator_id_is_unique_across_themes():
    ids = [indicator.id for theme in CATALOGUE.themes for indicator in theme.indicators]
    assert len(ids) == len(set(ids))
    assert len(CATALOGUE.themes) == len(list(THEMES_DIR.glob("*.toml")))


# --- sources and units ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("indicator", by_id(INDICATORS))
def test_every_series_reference_is_provided_by_a_source(indicator):
    assert reference_problems(indicator) == []


@pytest.mark.parametrize("indicator", by_id(INDICATORS))
def test_units_and_frequency_follow_from_the_formula_and_its_sources(indicator):
    assert unit_problems(indicator) == []


def test_unit_rules_catch_a_share_of_unlike_counts_and_a_wrong_value_unit():
    # Constructed slips on a real indicator: vacancies (kpl) as a % of the labour force (henkilöä), and a value in
    # the wrong unit.
    rate = CATALOGUE.indicators["unemployment_rate"]
    slipped = rate.model_copy(update={"formula": rate.formula.model_copy(
        update={"numerator": "statfin.vacancies | snapshot.vacancies"})})
    assert any("same unit" in problem for problem in unit_problems(slipped))
    population = CATALOGUE.indicators["population"]
    assert any("unit '%'" in problem for problem in unit_problems(population.model_copy(update={"unit": "%"})))
    rate = CATALOGUE.indicators["employment_rate"]
    summed_rate = rate.model_copy(update={"formula": rate.formula.model_copy(update={"aggregate": "sum"})})
    assert any("must be a count" in problem for problem in unit_problems(summed_rate))


def test_job_self_sufficiency_equals_the_published_key_figure():
    # Real data: jobs / employed residents x 100 against Statistics Finland's own (rounded to 0.1) key figure.
    computed = snapshot_engine().compute(CATALOGUE.indicators["job_self_sufficiency"], [])
    published = SNAPSHOT.read(["snapshot.kf.job_self_sufficiency"])[["region", "period", "value"]]
    joined = computed.merge(published, on=["region", "period"], suffixes=("", "_published"))
    assert len(joined) > 3000
    assert (joined["value"] - joined["value_published"]).abs().max() <= 0.05 + 1e-9


# --- computing --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("indicator", by_id(INDICATORS))
def test_every_indicator_computes_on_the_bundled_snapshot(indicator):
    areas = list(get_registry().areas.index)  # what the app asks for
    result = snapshot_engine().compute(indicator, areas)
    assert np.isfinite(result["value"]).all()
    if any(series.startswith("snapshot.syke.") for series in indicator.formula.series_ids()):
        # The bundled emissions cover the 13 North Karelia municipalities only: exactly their region, MK12.
        assert municipal(result)["region"].nunique() == 13
        assert set(result.loc[result["region"].str.startswith("MK"), "region"]) <= {"MK12"}
        assert "SSS" not in set(result["region"]), "13 of 308 municipalities are no whole country"
    elif served_by_snapshot(indicator):
        assert municipal(result)["region"].nunique() > 100, "the snapshot should give most municipalities a value"
        if aggregates_to_areas(indicator) and "region" in indicator.regions:
            assert result["region"].str.startswith("MK").any(), "regions come from summed municipal counts"
    else:
        assert result.empty, "a series only a refresh provides has no value offline ('not fetched yet')"


def test_the_snapshot_serves_every_theme():
    served = {theme.id: sum(served_by_snapshot(i) for i in theme.indicators) for theme in CATALOGUE.themes}
    # Climate: the emissions indicators (13 municipalities); the car indicators need a refresh from Traficom.
    assert all(count >= 3 for count in served.values()), served


@pytest.mark.parametrize("indicator", by_id(INDICATORS))
def test_every_indicator_computes_on_a_constructed_frame_of_its_series(indicator):
    rows = constructed_rows(indicator)  # CONSTRUCTED, see constructed_rows
    result = Engine(frame_loader(rows), get_registry()).compute(indicator, PAIJAT_HAME + ["MK07"])
    values = municipal(result)
    assert not values.empty and np.isfinite(values["value"]).all()
    assert np.isfinite(result["value"]).all()
    if aggregates_to_areas(indicator):
        assert np.isfinite(result.loc[result["region"] == "MK07", "value"]).any()
    # Each series of a chain "a | b" gives some value (where the preferred one has none, the next fills in).
    references = indicator.formula.references()
    positions = {}
    for ids in references.values():
        for position, series_id in enumerate(ids):
            positions.setdefault(series_id, set()).add(position)
    used = {series_id for lineage in result["origin"].unique() for series_id in lineage.series}
    for role, ids in references.items():
        if role == "weight" or any(len(positions[series_id]) > 1 for series_id in ids):
            continue
        assert set(ids) <= used, f"{role}: {set(ids) - used} never used"


# --- texts and themes -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("indicator", by_id(INDICATORS))
def test_every_indicator_text_and_unit_is_translated(indicator):
    assert translation_problems(indicator) == []


@pytest.mark.parametrize("theme", by_id(CATALOGUE.themes))
def test_every_theme_is_complete(theme):
    kinds = {indicator.kind for indicator in theme.indicators}
    assert len(theme.indicators) >= MIN_INDICATORS_PER_THEME
    assert kinds == set(KINDS), f"{theme.id} needs structural and situational indicators, has {sorted(kinds)}"
    sub_areas = [sub.id for sub in theme.sub_areas]
    assert {indicator.sub_area for indicator in theme.indicators} == set(sub_areas), "every sub-area is used"
    for texts in [theme.name, theme.description, *(sub.name for sub in theme.sub_areas)]:
        assert all(text.strip() for text in texts.as_dict().values())
    for kind in KINDS:
        assert all(i18n.catalogue(lang).get(f"kind.{kind}") for lang in LANGS)


@pytest.mark.parametrize("theme", by_id(CATALOGUE.themes))
def test_concept_map_shows_every_sub_area_and_indicator(theme):
    from ui.views import concept_map_dot  # imports streamlit; fine in a test, never in sources/ or indicators/

    dot = concept_map_dot(theme)
    for sub in theme.sub_areas:
        assert f'"sub_{sub.id}"' in dot
    for indicator in theme.indicators:
        assert f'"{indicator.id}" [label=' in dot
        assert f'"sub_{indicator.sub_area}" -> "{indicator.id}"' in dot


# --- a new indicator is TOML only -------------------------------------------------------------------------------------


NEW_INDICATOR = """
[[indicator]]
id = "jobs_per_1000_residents"
name.fi = "Työpaikat 1 000 asukasta kohden"
name.sv = "Arbetsplatser per 1 000 invånare"
name.en = "Jobs per 1,000 residents"
description.fi = "Alueella olevat työpaikat tuhatta asukasta kohden."
description.sv = "Arbetsplatserna i området per 1 000 invånare."
description.en = "Jobs located in the area per 1,000 residents."
need.fi = "Onko kunnassa paljon vai vähän työpaikkoja asukkaisiin nähden?"
need.sv = "Har kommunen många eller få arbetsplatser i förhållande till invånarna?"
need.en = "Does the municipality have many or few jobs for its population?"
kind = "structural"
sub_area = "labour_demand"
unit = "kpl / 1 000 asukasta"
decimals = 0
polarity = "neutral"
frequency = "annual"
update = "annual"
regions = ["municipality", "subregion", "region", "wellbeing_county", "municipality_group", "country"]
formula = { type = "ratio", numerator = "snapshot.kf.jobs", denominator = "snapshot.population", scale = 1000 }
"""


def test_a_new_indicator_needs_only_a_toml_block(tmp_path):
    themes = tmp_path / "themes"
    shutil.copytree(THEMES_DIR, themes)
    with (themes / "employment.toml").open("a", encoding="utf-8") as handle:
        handle.write(NEW_INDICATOR)

    catalogue = load_catalogue(themes)
    new = catalogue.indicators["jobs_per_1000_residents"]
    assert new.theme == "employment"
    assert "jobs_per_1000_residents" not in CATALOGUE.indicators
    assert reference_problems(new) == unit_problems(new) == translation_problems(new) == []

    result = snapshot_engine().compute(new, ["KU098", "MK07"])
    assert not result.empty and np.isfinite(result["value"]).all()
    jobs = SNAPSHOT.read(["snapshot.kf.jobs"]).set_index(["region", "period"])["value"]
    population = SNAPSHOT.read(["snapshot.population"]).set_index(["region", "period"])["value"]
    hollola = result[(result["region"] == "KU098") & (result["period"] == "2016")]["value"]
    assert hollola.tolist() == pytest.approx([jobs["KU098", "2016"] / population["KU098", "2016"] * 1000])
    assert (result["region"] == "MK07").any()

    from ui.views import concept_map_dot

    assert '"jobs_per_1000_residents"' in concept_map_dot(catalogue.theme("employment"))

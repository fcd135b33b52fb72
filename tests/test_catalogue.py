"""The indicator catalogue as analysts edit it (indicators/themes/*.toml): every file loads, every indicator computes,
every series it names has a source, units agree, every text and unit is translated, every theme is complete, and a new
indicator needs nothing but TOML.

Indicators whose series are in the bundled snapshot are computed on that REAL data (data/snapshot/). Every indicator
is also computed on a CONSTRUCTED frame (`constructed_rows`: made-up numbers for the ten Päijät-Häme municipalities,
not data) covering all the series it references, so the formulas of indicators that only live sources fill (climate,
most of Sotkanet) run too.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import pytest

from indicators.catalogue import LANGS, THEMES_DIR, Indicator, load_catalogue, load_theme, parse_series_ref
from indicators.formulas import Engine
from indicators.regions import get_registry
from sources.settings import load_settings
from sources.warehouse import open_warehouse
from ui import i18n

SETTINGS = load_settings()
SNAPSHOT = open_warehouse(SETTINGS.snapshot_dir)
CATALOGUE = load_catalogue()
INDICATORS = list(CATALOGUE.indicators.values())
PAIJAT_HAME = ["KU016", "KU081", "KU098", "KU111", "KU142", "KU316", "KU398", "KU560", "KU576", "KU781"]
MIN_INDICATORS_PER_THEME = 6
KINDS = ("structural", "situational")

# Spellings of one unit in two places. A source series keeps the unit text of its declaration (config.toml, or the
# snapshot's build script); the catalogue uses the text its `unit.<unit>` translations are keyed by.
SAME_UNIT = {
    "ei-työllisiä / 100 työllistä": "ei-työllistä / 100 työllistä",  # snapshot.kf.economic_dependency
    "/ 100 000": "/ 100 000 asukasta",  # sotkanet.mortality_per_100000 in config.toml
}
# Numerator and denominator of a % whose units are spelled differently but count the same thing. Jobs in the area
# (kpl) per employed residents (henkilöä): Statistics Finland publishes this quotient as a % itself, and
# test_job_self_sufficiency_equals_the_published_key_figure checks the computed one against it.
COMMENSURABLE = {("snapshot.kf.jobs", "snapshot.kf.employed_residents")}
# Words after "/ N" in a unit that name people: such a unit's denominator must be a count of persons.
PERSON_WORDS = ("asukas", "asukasta", "työtöntä", "työllistä")
PERSONS = "henkilöä"
UNIT_PREFIXES = {"": 1, "k": 1_000, "M": 1_000_000}  # "kt CO2e" over persons x 1000 = "t CO2e / asukas"


@dataclass(frozen=True)
class Declared:
    """What a source declares about a series (config.toml [[sources.NAME.series]] or the snapshot's SeriesInfo)."""

    id: str
    unit: str
    frequency: str
    measure: str
    where: str


def declared_series() -> dict[str, Declared]:
    declared = {}
    for name, source in SETTINGS.sources.items():
        for series in source.series:
            declared[series.id] = Declared(series.id, series.unit, series.frequency, series.measure,
                                           f"config.toml [sources.{name}]")
    for series_id in SNAPSHOT.series_ids():
        info = SNAPSHOT.metadata(series_id)["info"]
        declared[series_id] = Declared(series_id, info.unit, info.frequency, info.measure, "the bundled snapshot")
    return declared


DECLARED = declared_series()


def by_id(items) -> list:
    return [pytest.param(item, id=item.id) for item in items]


def canonical(unit: str) -> str:
    return SAME_UNIT.get(unit, unit)


def unit_of(reference: str) -> str:
    return canonical(DECLARED[parse_series_ref(reference)[0]].unit)


# --- rules shared by the real catalogue and the TOML-only example -----------------------------------------------------


def reference_problems(indicator: Indicator) -> list[str]:
    """Series no source provides, and fallback chains whose members differ in unit, frequency or measure."""
    problems = []
    for role, ids in indicator.formula.references().items():
        unknown = [series_id for series_id in ids if series_id not in DECLARED]
        if unknown:
            problems.append(f"{role}: no source provides {unknown} (config.toml series or the snapshot)")
            continue
        first = DECLARED[ids[0]]
        for other in (DECLARED[series_id] for series_id in ids[1:]):
            for field in ("unit", "frequency", "measure"):
                mine, theirs = getattr(first, field), getattr(other, field)
                if field == "unit":
                    mine, theirs = canonical(mine), canonical(theirs)
                if mine != theirs:
                    problems.append(f"{role}: {first.id} and its fallback {other.id} differ in {field} "
                                    f"({mine!r} vs {theirs!r})")
    return problems


def per_unit(unit: str) -> tuple[str, int, str] | None:
    """`"kpl / 1 000 asukasta"` -> ("kpl", 1000, "asukasta"); `"t CO2e / asukas"` -> ("t CO2e", 1, "asukas")."""
    match = re.fullmatch(r"(.*?)\s*/\s*([\d ]*\d)?\s*(\S.*)", unit)
    if not match:
        return None
    quantity, number, per = match.groups()
    return quantity, int(number.replace(" ", "")) if number else 1, per


def unit_problems(indicator: Indicator) -> list[str]:
    """The indicator's unit follows from its formula and the units its sources declare (see SAME_UNIT)."""
    formula, unit, problems = indicator.formula, indicator.unit, []
    if reference_problems(indicator):
        return problems  # reported by test_every_series_reference_is_provided_by_a_source
    roles = formula.references()
    measures = {role: DECLARED[ids[0]].measure for role, ids in roles.items()}
    inputs = [series_id for role, ids in roles.items() if role != "weight" for series_id in ids]
    frequencies = {DECLARED[series_id].frequency for series_id in inputs}
    if len(frequencies) > 1:
        problems.append(f"inputs mix frequencies {sorted(frequencies)}: their periods never match")
    elif formula.resample == "annual_mean" and frequencies != {"monthly"}:
        problems.append("resample = 'annual_mean' needs monthly inputs")
    else:
        expected = "annual" if formula.resample == "annual_mean" else frequencies.pop()
        if indicator.frequency != expected:
            problems.append(f"frequency {indicator.frequency!r}, but the inputs give {expected!r}")
    # Areas are sums of municipal values: only counts may be summed (a rate is never averaged or added up).
    summed = ["numerator", "denominator"] if formula.type == "ratio" else (
        [role for role in ("input", "minuend", "subtrahend") if role in roles] if formula.aggregate == "sum" else [])
    if formula.aggregate == "weighted":
        summed.append("weight")
    for role in summed:
        if measures[role] != "count":
            problems.append(f"{role} {roles[role][0]} is a {measures[role]!r}, but areas sum it: it must be a count")
    if formula.type == "value" and unit != unit_of(formula.input):
        problems.append(f"unit {unit!r}, but its input {formula.input} is in {unit_of(formula.input)!r}")
    if formula.type == "change":
        wanted = "%" if formula.relative else unit_of(formula.input)
        if unit != wanted:
            problems.append(f"unit {unit!r}, but a {'relative ' if formula.relative else ''}change is in {wanted!r}")
    if formula.type == "index" and unit != "indeksi":
        problems.append(f"unit {unit!r}, but an index is in 'indeksi'")
    if formula.type == "difference":
        units = {unit, unit_of(formula.minuend), unit_of(formula.subtrahend)}
        if len(units) > 1:
            problems.append(f"a difference needs one unit for minuend, subtrahend and indicator, not {sorted(units)}")
    if formula.type == "ratio":
        numerator, denominator = unit_of(formula.numerator), unit_of(formula.denominator)
        pair = (parse_series_ref(formula.numerator)[0], parse_series_ref(formula.denominator)[0])
        if unit in ("%", "‰"):
            scale = 100 if unit == "%" else 1000
            if formula.scale != scale:
                problems.append(f"unit {unit!r} needs scale = {scale}, not {formula.scale:g}")
            if numerator != denominator and pair not in COMMENSURABLE:
                problems.append(f"a {unit} of {numerator!r} over {denominator!r}: numerator and denominator must "
                                "count the same thing in the same unit")
        elif (parsed := per_unit(unit)) is not None:
            quantity, per_number, per = parsed
            if per in PERSON_WORDS and denominator != PERSONS:
                problems.append(f"unit {unit!r} is per person, but the denominator is in {denominator!r}")
            for prefix, factor in UNIT_PREFIXES.items():
                if quantity and numerator == prefix + quantity and formula.scale != per_number * factor:
                    problems.append(f"{numerator!r} per {denominator!r} in {unit!r} needs scale = "
                                    f"{per_number * factor:g}, not {formula.scale:g}")
    if indicator.interval != "none" and formula.type != "ratio":
        problems.append(f"interval {indicator.interval!r} needs a ratio (numerator and denominator counts)")
    if indicator.interval == "proportion" and unit != "%":
        problems.append("interval 'proportion' (part of a whole) needs unit '%'")
    return problems


def translation_problems(indicator: Indicator) -> list[str]:
    problems = []
    for field in ("name", "description", "need"):
        texts = getattr(indicator, field).as_dict()
        problems += [f"{field}.{lang} is empty" for lang in LANGS if not texts[lang].strip()]
    for lang in LANGS:
        text = i18n.catalogue(lang).get(f"unit.{indicator.unit}", "")
        if not text.strip():
            problems.append(f'ui/locales/{lang}/app.toml has no "unit.{indicator.unit}" text')
    return problems


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
    if served_by_snapshot(indicator):
        assert municipal(result)["region"].nunique() > 100, "the snapshot should give most municipalities a value"
        if aggregates_to_areas(indicator) and "region" in indicator.regions:
            assert result["region"].str.startswith("MK").any(), "regions come from summed municipal counts"
    else:
        assert result.empty, "a series only a refresh provides has no value offline ('not fetched yet')"


def test_the_snapshot_serves_every_theme_except_climate():
    served = {theme.id: sum(served_by_snapshot(i) for i in theme.indicators) for theme in CATALOGUE.themes}
    assert served.pop("climate") == 0  # README: no climate data could be bundled offline
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
    used = set(",".join(result["origin"].astype(str)).replace(" / ", ",").replace(" − ", ",").split(","))
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

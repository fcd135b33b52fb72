"""The formula engine on constructed frames, and the catalogue loader on the real and on broken theme files."""

from __future__ import annotations

import math
import shutil

import pandas as pd
import pytest

from indicators.catalogue import THEMES_DIR, CatalogueError, Indicator, load_catalogue, load_theme
from indicators.formulas import Engine
from indicators.regions import get_registry
from sources.settings import REPO_ROOT
from sources.warehouse import open_warehouse

# Opens no warehouse (or only the bundled snapshot's files): the PostgreSQL run leaves it out.
pytestmark = pytest.mark.no_warehouse

PAIJAT_HAME = ["KU016", "KU081", "KU098", "KU111", "KU142", "KU316", "KU398", "KU560", "KU576", "KU781"]
TEXT = {"fi": "x", "sv": "x", "en": "x"}


def indicator(**formula) -> Indicator:
    # Constructed indicator around the formula under test; only the formula matters to the engine.
    return Indicator.model_validate({
        "id": "test_indicator", "name": TEXT, "description": TEXT, "need": TEXT, "kind": "structural",
        "sub_area": "s", "unit": "%", "decimals": 1, "polarity": "neutral", "frequency": "annual",
        "update": "annual", "regions": ["municipality", "region"], "formula": formula,
    })


def engine(rows: list[tuple[str, str, str, float]]) -> Engine:
    """An engine over constructed warehouse rows (series, region, period, value): a small fake loader."""
    data = pd.DataFrame(rows, columns=["series", "region", "period", "value"]).astype(
        {"series": "string", "region": "string", "period": "string", "value": "float64"})

    def load(series_ids: list[str]) -> pd.DataFrame:
        return data[data["series"].isin(series_ids)].reset_index(drop=True)

    return Engine(load, get_registry())


def values(result: pd.DataFrame) -> dict[tuple[str, str], float]:
    return {(row.region, row.period): row.value for row in result.itertuples()}


def test_ratio_for_a_municipality():
    # Constructed: Hollola's unemployed and labour force in October 2020.
    result = engine([("t.unemployed", "KU098", "2020-10", 1106.0), ("t.labour_force", "KU098", "2020-10", 10723.0)]
                    ).compute(indicator(type="ratio", numerator="t.unemployed", denominator="t.labour_force",
                                        scale=100), ["KU098"])
    assert len(result) == 1
    row = result.iloc[0]
    assert (row["region"], row["period"]) == ("KU098", "2020-10")
    assert row["value"] == pytest.approx(1106 / 10723 * 100)
    assert (row["numerator"], row["denominator"]) == (1106.0, 10723.0)
    assert row["origin"].series == ("t.labour_force", "t.unemployed")  # both series of the ratio, as data


def test_area_ratio_comes_from_summed_counts_not_from_the_average_of_rates():
    # Constructed: Hollola 500 / 1000 (50 %), the nine other Päijät-Häme municipalities 10 / 100 (10 %) each.
    rows = []
    for code in PAIJAT_HAME:
        numerator, denominator = (500.0, 1000.0) if code == "KU098" else (10.0, 100.0)
        rows += [("t.num", code, "2020", numerator), ("t.den", code, "2020", denominator)]
    result = engine(rows).compute(indicator(type="ratio", numerator="t.num", denominator="t.den", scale=100),
                                  ["MK07", "KU098"])
    area = result[result["region"] == "MK07"].iloc[0]
    summed = (500 + 9 * 10) / (1000 + 9 * 100) * 100  # 31.05 %
    average_of_rates = (50 + 9 * 10) / 10  # 14 %
    assert area["value"] == pytest.approx(summed)
    assert area["value"] != pytest.approx(average_of_rates)
    assert (area["numerator"], area["denominator"]) == (590.0, 1900.0)
    assert values(result)[("KU098", "2020")] == pytest.approx(50.0)


def test_area_ratio_sums_numerator_and_denominator_over_the_same_members():
    # Constructed, as the audit found in Länsi-Uusimaa 2008-02: 9 of the 10 Päijät-Häme municipalities have both
    # counts (10 / 100 each); Hollola has a large denominator but a suppressed numerator. Both sums pass the 90 %
    # coverage rule on their own, yet a ratio of them would divide 9 members' numerators by 10 members' denominators.
    rows = []
    for code in PAIJAT_HAME:
        rows.append(("t.den", code, "2008-02", 5000.0 if code == "KU098" else 100.0))
        if code != "KU098":
            rows.append(("t.num", code, "2008-02", 10.0))
    result = engine(rows).compute(indicator(type="ratio", numerator="t.num", denominator="t.den", scale=100),
                                  ["MK07"])
    area = result.iloc[0]
    assert (area["numerator"], area["denominator"]) == (90.0, 900.0)  # the same nine members on both sides
    assert area["value"] == pytest.approx(10.0)  # not 90 / 5900 = 1.5 %


def test_area_ratio_with_too_few_matched_members_is_missing():
    # Constructed: every member has a denominator, but only 8 of 10 have a numerator: 80 % matched is too few.
    rows = [("t.den", code, "2020", 100.0) for code in PAIJAT_HAME]
    rows += [("t.num", code, "2020", 10.0) for code in PAIJAT_HAME[:8]]
    result = engine(rows).compute(indicator(type="ratio", numerator="t.num", denominator="t.den", scale=100),
                                  ["MK07"])
    assert result.empty


def test_area_ratio_uses_published_values_only_as_a_pair():
    # Constructed: the source publishes the area's numerator but not its denominator; mixing the published
    # numerator (999) with our summed denominator would be a ratio of two different things.
    rows = [("t.num", "MK07", "2020", 999.0)]
    for code in PAIJAT_HAME:
        rows += [("t.num", code, "2020", 10.0), ("t.den", code, "2020", 100.0)]
    result = engine(rows).compute(indicator(type="ratio", numerator="t.num", denominator="t.den", scale=100),
                                  ["MK07"])
    assert (result.iloc[0]["numerator"], result.iloc[0]["denominator"]) == (100.0, 1000.0)
    rows.append(("t.den", "MK07", "2020", 9990.0))
    published = engine(rows).compute(indicator(type="ratio", numerator="t.num", denominator="t.den", scale=100),
                                     ["MK07"])
    assert published.iloc[0]["value"] == pytest.approx(10.0) and published.iloc[0]["denominator"] == 9990.0


def test_area_value_published_by_the_source_wins_over_the_sum():
    # Constructed: the source publishes MK07 itself; our sum of members would be 10 x 10 = 100.
    rows = [("t.count", code, "2020", 10.0) for code in PAIJAT_HAME] + [("t.count", "MK07", "2020", 123.0)]
    result = engine(rows).compute(indicator(type="value", input="t.count", aggregate="sum"), ["MK07"])
    assert values(result) == {("MK07", "2020"): 123.0}


def test_area_sum_with_too_few_members_is_missing_not_partial():
    # Constructed: only 3 of the 10 Päijät-Häme municipalities have a count.
    rows = [("t.count", code, "2020", 10.0) for code in PAIJAT_HAME[:3]]
    result = engine(rows).compute(indicator(type="value", input="t.count", aggregate="sum"), ["MK07"])
    assert result.empty


def test_coalescing_prefers_the_first_series_and_falls_back_to_the_second():
    # Constructed: the live series has 2020 (and a missing 2021); the snapshot has 2019-2021.
    rows = [
        ("live.x", "KU091", "2020", 5.0),
        ("live.x", "KU091", "2021", float("nan")),
        ("snapshot.x", "KU091", "2019", 1.0),
        ("snapshot.x", "KU091", "2020", 2.0),
        ("snapshot.x", "KU091", "2021", 3.0),
    ]
    result = engine(rows).compute(indicator(type="value", input="live.x | snapshot.x"), ["KU091"])
    assert values(result) == {("KU091", "2019"): 1.0, ("KU091", "2020"): 5.0, ("KU091", "2021"): 3.0}
    assert {period: lineage.series for period, lineage in zip(result["period"], result["origin"])} == {
        "2019": ("snapshot.x",), "2020": ("live.x",), "2021": ("snapshot.x",)}


def test_annual_mean_needs_all_twelve_months():
    # Constructed: all 12 months of 2019 (1..12) but only 11 months of 2020.
    rows = [("t.monthly", "KU091", f"2019-{month:02d}", float(month)) for month in range(1, 13)]
    rows += [("t.monthly", "KU091", f"2020-{month:02d}", 100.0) for month in range(1, 12)]
    result = engine(rows).compute(indicator(type="value", input="t.monthly", resample="annual_mean"), ["KU091"])
    assert values(result) == {("KU091", "2019"): 6.5}


def test_annual_mean_ratio_divides_the_mean_counts():
    # Constructed: unemployed 100 in Jan-Jun and 200 in Jul-Dec of 2019, labour force 1000 throughout.
    rows = [("t.u", "KU098", f"2019-{m:02d}", 100.0 if m <= 6 else 200.0) for m in range(1, 13)]
    rows += [("t.lf", "KU098", f"2019-{m:02d}", 1000.0) for m in range(1, 13)]
    result = engine(rows).compute(indicator(type="ratio", numerator="t.u", denominator="t.lf", scale=100,
                                            resample="annual_mean"), ["KU098"])
    assert values(result) == {("KU098", "2019"): pytest.approx(15.0)}


def test_missing_input_gives_missing_never_zero():
    # Constructed: Helsinki's denominator is missing for 2021 (NaN) and absent for 2022; its numerator is NaN in 2023.
    rows = [
        ("t.num", "KU091", "2020", 10.0), ("t.den", "KU091", "2020", 100.0),
        ("t.num", "KU091", "2021", 10.0), ("t.den", "KU091", "2021", float("nan")),
        ("t.num", "KU091", "2022", 10.0),
        ("t.num", "KU091", "2023", float("nan")), ("t.den", "KU091", "2023", 100.0),
    ]
    result = engine(rows).compute(indicator(type="ratio", numerator="t.num", denominator="t.den", scale=100),
                                  ["KU091"])
    assert values(result) == {("KU091", "2020"): 10.0}
    difference = engine(rows).compute(indicator(type="difference", minuend="t.num", subtrahend="t.den"), ["KU091"])
    assert values(difference) == {("KU091", "2020"): -90.0}
    assert 0.0 not in set(difference["value"])


def test_zero_denominator_gives_missing():
    # Constructed: a municipality with no labour force in 2020.
    rows = [("t.num", "KU091", "2020", 5.0), ("t.den", "KU091", "2020", 0.0),
            ("t.num", "KU091", "2021", 5.0), ("t.den", "KU091", "2021", 50.0)]
    result = engine(rows).compute(indicator(type="ratio", numerator="t.num", denominator="t.den", scale=100),
                                  ["KU091"])
    assert values(result) == {("KU091", "2021"): 10.0}
    assert not result["value"].map(math.isinf).any()


CHANGE_ROWS = [  # constructed yearly values with a gap in 2022
    ("t.x", "KU091", "2019", 100.0),
    ("t.x", "KU091", "2020", 110.0),
    ("t.x", "KU091", "2021", 99.0),
    ("t.x", "KU091", "2023", 120.0),
]


def test_change_over_one_period():
    result = engine(CHANGE_ROWS).compute(indicator(type="change", input="t.x", periods=1), ["KU091"])
    # 2019 has no earlier year; 2023's previous year 2022 is missing, so the gap is not bridged to 2021.
    assert values(result) == {("KU091", "2020"): 10.0, ("KU091", "2021"): -11.0}


def test_relative_change_in_percent():
    result = engine(CHANGE_ROWS).compute(indicator(type="change", input="t.x", periods=1, relative=True), ["KU091"])
    assert values(result) == {("KU091", "2020"): pytest.approx(10.0), ("KU091", "2021"): pytest.approx(-10.0)}


def test_monthly_change_crosses_the_year_boundary():
    # Constructed monthly values December 2020 -> January 2021.
    rows = [("t.m", "KU091", "2020-12", 50.0), ("t.m", "KU091", "2021-01", 45.0)]
    result = engine(rows).compute(indicator(type="change", input="t.m", periods=1), ["KU091"])
    assert values(result) == {("KU091", "2021-01"): -5.0}


def test_index_is_100_in_the_base_period():
    # Constructed: base 80 in 2019 for Helsinki, 200 for Hollola.
    rows = [("t.x", "KU091", "2019", 80.0), ("t.x", "KU091", "2020", 88.0), ("t.x", "KU091", "2021", 60.0),
            ("t.x", "KU098", "2019", 200.0), ("t.x", "KU098", "2020", 100.0)]
    result = engine(rows).compute(indicator(type="index", input="t.x", base_period="2019"), ["KU091", "KU098"])
    assert values(result) == {
        ("KU091", "2019"): 100.0, ("KU091", "2020"): pytest.approx(110.0), ("KU091", "2021"): pytest.approx(75.0),
        ("KU098", "2019"): 100.0, ("KU098", "2020"): pytest.approx(50.0),
    }


def test_index_without_a_base_period_value_is_missing():
    # Constructed: Helsinki has no value in the base year.
    rows = [("t.x", "KU091", "2020", 88.0), ("t.x", "KU098", "2019", 200.0), ("t.x", "KU098", "2020", 100.0)]
    result = engine(rows).compute(indicator(type="index", input="t.x", base_period="2019"), ["KU091", "KU098"])
    assert set(result["region"]) == {"KU098"}


# --- the catalogue ------------------------------------------------------------------------------------------------


def test_the_real_catalogue_loads():
    catalogue = load_catalogue()
    assert catalogue.themes
    assert "unemployment_rate" in catalogue.indicators
    rate = catalogue.indicators["unemployment_rate"]
    assert rate.theme == "employment"
    assert rate.formula.references()["numerator"] == ["statfin.unemployed", "snapshot.unemployed"]


def test_every_snapshot_series_the_catalogue_names_exists_in_the_snapshot():
    snapshot_ids = set(open_warehouse(REPO_ROOT / "data" / "snapshot").series_ids())
    named = {series_id for series_id in load_catalogue().series_ids() if series_id.startswith("snapshot.")}
    assert named
    assert named - snapshot_ids == set()


@pytest.fixture
def theme_copy(tmp_path):
    # Constructed: a copy of the real employment theme that each test breaks in one place.
    directory = tmp_path / "themes"
    directory.mkdir()
    path = directory / "employment.toml"
    shutil.copy(THEMES_DIR / "employment.toml", path)
    return path


def test_wrong_polarity_names_the_file_the_indicator_and_the_field(theme_copy):
    text = theme_copy.read_text(encoding="utf-8")
    assert 'polarity = "lower_better"' in text
    theme_copy.write_text(text.replace('polarity = "lower_better"', 'polarity = "up"', 1), encoding="utf-8")
    with pytest.raises(CatalogueError) as excinfo:
        load_catalogue(theme_copy.parent)
    message = str(excinfo.value)
    assert "employment.toml" in message
    assert "unemployment_rate" in message
    assert "polarity" in message


def test_missing_translation_names_the_indicator_and_the_field(theme_copy):
    text = theme_copy.read_text(encoding="utf-8")
    broken = text.replace('sv = "Arbetslöshetsgrad", ', "", 1)
    assert broken != text
    theme_copy.write_text(broken, encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"employment\.toml.*'unemployment_rate'.*name\.sv"):
        load_theme(theme_copy)


def test_invalid_toml_names_the_file(theme_copy):
    theme_copy.write_text(theme_copy.read_text(encoding="utf-8") + "\n[[indicator]\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"employment\.toml.*not valid TOML"):
        load_catalogue(theme_copy.parent)


def test_bad_series_reference_names_the_indicator(theme_copy):
    text = theme_copy.read_text(encoding="utf-8")
    theme_copy.write_text(text.replace('numerator = "statfin.unemployed | snapshot.unemployed"',
                                       'numerator = "statfin.unemployed | Unemployed!"', 1), encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"'unemployment_rate'.*formula"):
        load_catalogue(theme_copy.parent)


def test_empty_theme_directory_raises_catalogue_error(tmp_path):
    with pytest.raises(CatalogueError, match="No theme files"):
        load_catalogue(tmp_path)

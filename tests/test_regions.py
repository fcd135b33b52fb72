"""The region registry (2026 division), mergers, carrying old divisions onto the current one, and area sums."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from indicators.regions import (
    AGGREGATE_MIN_COVERAGE,
    KEY_FILE,
    MERGERS,
    RAW_DIR,
    aggregate_counts,
    carry_to_current,
    get_registry,
    level_of,
    municipality_code,
)
from sources.contract import REGION_CODE

# Opens no warehouse (or only the bundled snapshot's files): the PostgreSQL run leaves it out.
pytestmark = pytest.mark.no_warehouse

KEY_2013 = RAW_DIR / "sotkanet-indicators-1990-2012" / "sotkanet_kunnat_2013_key.csv"
PAIJAT_HAME = ["KU016", "KU081", "KU098", "KU111", "KU142", "KU316", "KU398", "KU560", "KU576", "KU781"]


@pytest.fixture(scope="module")
def registry():
    return get_registry()


@pytest.fixture(scope="module")
def key_2013() -> pd.DataFrame:
    key = pd.read_csv(KEY_2013, dtype=str)
    return key.assign(code=key["region.code"].map(municipality_code)).set_index("code")


def frame(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    # Constructed tidy rows (series, region, period, value) in the warehouse's dtypes.
    result = pd.DataFrame(rows, columns=["series", "region", "period", "value"])
    return result.astype({"series": "string", "region": "string", "period": "string", "value": "float64"})


def value_of(result: pd.DataFrame, region: str, period: str) -> float:
    rows = result[(result["region"] == region) & (result["period"] == period)]
    assert len(rows) == 1, f"expected one row for {region} {period}, got {len(rows)}"
    return float(rows["value"].iloc[0])


# --- the registry ------------------------------------------------------------------------------------------------


def test_the_2026_division_has_308_municipalities(registry):
    codes = registry.codes("municipality")
    assert len(codes) == 308
    assert len(set(codes)) == 308
    assert len(registry.members("SSS")) == 308
    assert len(pd.read_csv(KEY_FILE)) == 308


def test_every_area_code_has_the_official_shape_and_a_known_level(registry):
    for code in registry.areas.index:
        assert REGION_CODE.match(code), code
        assert level_of(code) == registry.areas.at[code, "level"], code


def test_area_counts_of_each_level(registry):
    assert len(registry.codes("region")) == 19  # 18 mainland regions + Åland
    assert len(registry.codes("wellbeing_county")) == 23  # 21 counties + Helsinki (HV90) + Åland (HV91)
    assert sorted(registry.codes("municipality_group")) == ["KR1", "KR2", "KR3"]
    assert registry.codes("country") == ["SSS"]


def test_paijat_hame_contains_the_four_seed_municipalities(registry):
    members = registry.members("MK07")
    for code in ("KU016", "KU111", "KU098", "KU560"):
        assert code in members
    assert sorted(members) == PAIJAT_HAME
    assert registry.name("KU016") == "Asikkala"
    assert registry.name("KU111") == "Heinola"
    assert registry.name("KU098") == "Hollola"
    assert registry.name("KU560") == "Orimattila"
    assert registry.parent("KU098", "region") == "MK07"
    assert registry.parent("KU098", "country") == "SSS"


def test_names_in_finnish_swedish_and_english(registry):
    assert [registry.name("KU091", lang) for lang in ("fi", "sv", "en")] == ["Helsinki", "Helsingfors", "Helsinki"]
    assert [registry.name("MK07", lang) for lang in ("fi", "sv", "en")] == [
        "Päijät-Häme", "Päijänne-Tavastland", "Päijät-Häme"]
    assert registry.name("SSS", "sv") == "Hela landet"
    assert registry.name("SSS", "en") == "Whole country"
    assert registry.name("HV91", "sv") == "Åland"
    assert registry.name("HV90", "fi") == "Helsingin kaupunki"


def test_every_area_has_a_nonempty_name_in_each_language(registry):
    for column in ("name_fi", "name_sv", "name_en"):
        names = registry.areas[column]
        assert names.notna().all(), column
        assert (names.str.strip() != "").all(), column


def test_hv_sk_kr_codes_of_a_municipality(registry):
    # Hollola: Päijät-Häme wellbeing services county, Lahti sub-region, semi-urban municipality group.
    assert registry.parent("KU098", "wellbeing_county") == "HV09"
    assert registry.parent("KU098", "subregion") == "SK071"
    assert registry.parent("KU098", "municipality_group") == "KR2"
    assert registry.parent("KU091", "wellbeing_county") == "HV90"
    assert registry.parent("KU091", "municipality_group") == "KR1"
    assert "KU098" in registry.members("HV09")
    assert "KU098" in registry.members("SK071")
    assert registry.name("SK071") == "Lahti"
    assert registry.name("KR1", "en") == "Urban municipalities"


def test_every_municipality_belongs_to_exactly_one_area_of_each_level(registry):
    for level in ("region", "subregion", "wellbeing_county", "municipality_group"):
        total = sum(len(registry.members(code)) for code in registry.codes(level))
        assert total == 308, level


# --- mergers -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("merger", MERGERS, ids=lambda merger: merger.old_name)
def test_merged_code_is_gone_from_2026_and_its_target_present(registry, merger):
    assert not registry.is_known(merger.old_code)
    assert merger.old_code not in registry.codes("municipality")
    assert registry.is_known(merger.new_code)
    assert merger.new_code in registry.codes("municipality")
    assert registry.name(merger.old_code) == merger.old_name


def test_every_merger_is_checkable_against_the_2013_key(key_2013):
    assert [merger.old_code for merger in MERGERS if merger.old_code in key_2013.index] == [
        merger.old_code for merger in MERGERS]


@pytest.mark.parametrize("merger", MERGERS, ids=lambda merger: merger.old_name)
def test_merger_target_lies_in_the_same_region_per_the_2013_key(key_2013, merger):
    if merger.old_code not in key_2013.index:
        pytest.skip(f"{merger.old_code} is not in the 2013 key")
    old_row = key_2013.loc[merger.old_code]
    assert old_row["region.title.fi"] == merger.old_name
    assert merger.new_code in key_2013.index, f"target {merger.new_code} missing from the 2013 key"
    assert key_2013.loc[merger.new_code, "maakunta.title.fi"] == old_row["maakunta.title.fi"]


# --- carry_to_current ---------------------------------------------------------------------------------------------


def test_counts_of_merged_municipalities_are_summed():
    # Constructed: Pertunmaa (KU588) merged into Mäntyharju (KU507) in 2025; Helsinki is untouched.
    rows = frame([
        ("s.count", "KU507", "2020", 5800.0),
        ("s.count", "KU588", "2020", 1700.0),
        ("s.count", "KU507", "2021", 5700.0),
        ("s.count", "KU588", "2021", 1650.0),
        ("s.count", "KU091", "2020", 656000.0),
    ])
    result = carry_to_current(rows, "count")
    assert "KU588" not in set(result["region"])
    assert value_of(result, "KU507", "2020") == 7500.0
    assert value_of(result, "KU507", "2021") == 7350.0
    assert value_of(result, "KU091", "2020") == 656000.0
    assert len(result) == 3


def test_rates_with_weights_are_recombined_from_summed_numerators_and_denominators():
    # Constructed rates and their denominators (population) for the two parts of today's Mäntyharju.
    rows = frame([
        ("s.rate", "KU507", "2020", 20.0),
        ("s.rate", "KU588", "2020", 10.0),
        ("s.rate", "KU091", "2020", 7.5),
    ])
    weights = pd.DataFrame({"region": ["KU507", "KU588", "KU091"], "period": ["2020"] * 3,
                            "weight": [5800.0, 1700.0, 656000.0]})
    result = carry_to_current(rows, "rate", weights)
    # Hand-computed: (20 * 5800 + 10 * 1700) / (5800 + 1700) = 133000 / 7500 = 17.7333...
    assert value_of(result, "KU507", "2020") == pytest.approx(133000 / 7500)
    assert value_of(result, "KU507", "2020") != pytest.approx(15.0)  # not the plain average of the rates
    assert value_of(result, "KU091", "2020") == 7.5
    assert "KU588" not in set(result["region"])


def test_rate_with_a_missing_weight_of_one_part_becomes_missing():
    # Constructed: Pertunmaa's denominator is unknown, so no honest combined rate exists.
    rows = frame([("s.rate", "KU507", "2020", 20.0), ("s.rate", "KU588", "2020", 10.0)])
    weights = pd.DataFrame({"region": ["KU507"], "period": ["2020"], "weight": [5800.0]})
    result = carry_to_current(rows, "rate", weights)
    assert math.isnan(value_of(result, "KU507", "2020"))


def test_rates_without_weights_become_missing_for_merged_municipalities():
    # Constructed rates: 2020 had both parts, 2025 only the merged municipality.
    rows = frame([
        ("s.rate", "KU507", "2020", 20.0),
        ("s.rate", "KU588", "2020", 10.0),
        ("s.rate", "KU507", "2025", 18.0),
        ("s.rate", "KU091", "2020", 7.5),
    ])
    result = carry_to_current(rows, "rate")
    assert math.isnan(value_of(result, "KU507", "2020"))
    assert value_of(result, "KU507", "2025") == 18.0
    assert value_of(result, "KU091", "2020") == 7.5
    assert "KU588" not in set(result["region"])


def test_rows_without_mergers_are_returned_unchanged():
    # Constructed rows of municipalities that were never merged.
    rows = frame([("s.count", "KU091", "2020", 1.0), ("s.count", "KU098", "2020", np.nan)])
    result = carry_to_current(rows, "count")
    pd.testing.assert_frame_equal(result.reset_index(drop=True), rows)


# --- aggregate_counts ---------------------------------------------------------------------------------------------


def test_area_sum_equals_the_hand_sum_of_its_members(registry):
    # Constructed counts 1..10 for the ten Päijät-Häme municipalities, plus Helsinki outside the area.
    rows = frame([("s.count", code, "2020", float(i)) for i, code in enumerate(PAIJAT_HAME, start=1)]
                 + [("s.count", "KU091", "2020", 1000.0)])
    result = aggregate_counts(rows, ["MK07", "SSS"], registry)
    assert value_of(result, "MK07", "2020") == 55.0
    # The country has 308 members and only 11 values here: far below the coverage rule, so missing, never 55+1000.
    assert math.isnan(value_of(result, "SSS", "2020"))


def test_area_sum_is_missing_below_the_coverage_threshold(registry):
    assert AGGREGATE_MIN_COVERAGE == 0.9
    # Constructed: 9 of 10 members (90 %) have a value in 2020, 8 of 10 (80 %) in 2021.
    rows = frame(
        [("s.count", code, "2020", 10.0) for code in PAIJAT_HAME[:9]]
        + [("s.count", code, "2021", 10.0) for code in PAIJAT_HAME[:8]]
        + [("s.count", code, "2021", np.nan) for code in PAIJAT_HAME[8:]]
    )
    result = aggregate_counts(rows, ["MK07"], registry)
    assert value_of(result, "MK07", "2020") == 90.0
    assert math.isnan(value_of(result, "MK07", "2021"))


def test_country_sum_over_all_municipalities(registry):
    # Constructed: every municipality of the 2026 division counts 2.
    rows = frame([("s.count", code, "2020", 2.0) for code in registry.codes("municipality")])
    result = aggregate_counts(rows, ["SSS", "KR1"], registry)
    assert value_of(result, "SSS", "2020") == 616.0
    assert value_of(result, "KR1", "2020") == 2.0 * len(registry.members("KR1"))


def test_merged_count_with_a_missing_part_is_missing_not_a_partial_sum():
    # Constructed: Pertunmaa (KU588) has no vacancy figure for a month in which Mäntyharju (KU507) has one. The merged
    # Mäntyharju must not show Mäntyharju's own figure as if it were the whole new municipality.
    carried = carry_to_current(
        frame([("s", "KU588", "2019-01", np.nan), ("s", "KU507", "2019-01", 40.0),
               ("s", "KU588", "2019-02", 3.0), ("s", "KU507", "2019-02", 41.0)]),
        "count",
    ).set_index("period")["value"]
    assert np.isnan(carried["2019-01"])
    assert carried["2019-02"] == 44.0

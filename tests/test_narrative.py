"""Plain-language summaries: wording per case in Finnish, Swedish and English, and locale-correct numbers."""

from __future__ import annotations

import contextvars
import string
import tomllib

import pytest

from ui.i18n import LOCALES_DIR, set_language
from ui.narrative import (
    comparison_text,
    format_change,
    format_number,
    format_ordinal,
    format_period,
    format_value,
    ranking_text,
    trend_text,
)

# Opens no warehouse (or only the bundled snapshot's files): the PostgreSQL run leaves it out.
pytestmark = pytest.mark.no_warehouse

NBSP = "\u00a0"
UNEMPLOYMENT = {"fi": "työttömyysaste", "sv": "arbetslöshetsgrad", "en": "unemployment rate"}


def compare(comparison, lang, value=8.1, benchmark_value=10.2):
    return comparison_text(
        "Hollola", UNEMPLOYMENT[lang], value, "Päijät-Häme", benchmark_value, "%", 1, comparison, lang
    )


# --- numbers ------------------------------------------------------------------------------------------------------


def test_finnish_and_swedish_numbers_use_a_decimal_comma_and_a_non_breaking_space_between_thousands():
    assert format_number(12345.678, 1, "fi") == f"12{NBSP}345,7"
    assert format_number(12345.678, 1, "sv") == f"12{NBSP}345,7"
    assert format_number(12345.678, 1, "en") == "12,345.7"
    assert format_number(-3.25, 2, "fi") == "\u22123,25"  # a true minus sign


def test_numbers_round_half_up_as_shown_and_never_show_minus_zero():
    assert format_number(8.05, 1, "fi") == "8,1"  # binary 8.0499… must not round down
    assert format_number(0.25, 1, "en") == "0.3"  # not banker's rounding
    assert format_number(-0.04, 1, "fi") == "0,0"
    assert format_number(1234.5, 0, "fi") == f"1{NBSP}235"


def test_units_follow_each_language_and_percentage_changes_are_in_percentage_points():
    assert format_value(8.1, "%", 1, "fi") == f"8,1{NBSP}%"
    assert format_value(8.1, "%", 1, "sv") == f"8,1{NBSP}%"
    assert format_value(8.1, "%", 1, "en") == "8.1%"
    assert format_value(4.25, "per 1000", 2, "en") == f"4.25{NBSP}per 1000"
    assert format_value(3.0, "", 0, "fi") == "3"
    assert format_change(-2.3, "%", 1, "fi") == f"2,3{NBSP}prosenttiyksikköä"
    assert format_change(1, "%", 0, "en") == f"1{NBSP}percentage point"
    assert format_change(2.3, "%", 1, "sv") == f"2,3{NBSP}procentenheter"


def test_periods_and_ordinals_read_naturally():
    assert format_period("2023", "fi") == "2023"
    assert format_period("2023-05", "fi") == "toukokuu 2023"
    assert format_period("2023-05", "sv") == "maj 2023"
    assert format_period("2023-05", "en") == "May 2023"
    assert [format_ordinal(n, "fi") for n in (1, 12)] == ["1.", "12."]
    swedish = [format_ordinal(n, "sv") for n in (1, 2, 3, 11, 12, 21, 22)]
    assert swedish == ["1:a", "2:a", "3:e", "11:e", "12:e", "21:a", "22:a"]
    assert [format_ordinal(n, "en") for n in (1, 2, 3, 4, 11, 12, 13, 21, 112)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "112th",
    ]  # fmt: skip


# --- comparison ---------------------------------------------------------------------------------------------------


def test_finnish_comparison_keeps_names_uninflected_and_says_significant_and_better():
    assert compare("better", "fi") == (
        f"Hollola: työttömyysaste 8,1{NBSP}% on alempi kuin vertailualueella Päijät-Häme (10,2{NBSP}%). "
        "Ero on tilastollisesti merkitsevä, ja tilanne on vertailualuetta parempi."
    )


@pytest.mark.parametrize(
    ("comparison", "lang", "expected"),
    [
        ("better", "sv", "Hollola: arbetslöshetsgrad 8,1\u00a0% är lägre än i jämförelseområdet Päijät-Häme "
         "(10,2\u00a0%). Skillnaden är statistiskt signifikant, och läget är bättre än i jämförelseområdet."),
        ("better", "en", "Hollola: unemployment rate 8.1% is lower than in the comparison area Päijät-Häme (10.2%). "
         "The difference is statistically significant, and the situation is better than in the comparison area."),
        ("worse", "fi", "Hollola: työttömyysaste 8,1\u00a0% on alempi kuin vertailualueella Päijät-Häme (10,2\u00a0%). "
         "Ero on tilastollisesti merkitsevä, ja tilanne on vertailualuetta huonompi."),
        ("lower", "fi", "Hollola: työttömyysaste 8,1\u00a0% on alempi kuin vertailualueella Päijät-Häme (10,2\u00a0%). "
         "Ero on tilastollisesti merkitsevä."),
        ("lower", "sv", "Hollola: arbetslöshetsgrad 8,1\u00a0% är lägre än i jämförelseområdet Päijät-Häme "
         "(10,2\u00a0%). Skillnaden är statistiskt signifikant."),
        ("lower", "en", "Hollola: unemployment rate 8.1% is lower than in the comparison area Päijät-Häme (10.2%). "
         "The difference is statistically significant."),
        ("similar", "fi", "Hollola: työttömyysaste 8,1\u00a0% on alempi kuin vertailualueella Päijät-Häme "
         "(10,2\u00a0%). Ero ei ole tilastollisesti merkitsevä."),
        ("similar", "sv", "Hollola: arbetslöshetsgrad 8,1\u00a0% är lägre än i jämförelseområdet Päijät-Häme "
         "(10,2\u00a0%). Skillnaden är inte statistiskt signifikant."),
        ("similar", "en", "Hollola: unemployment rate 8.1% is lower than in the comparison area Päijät-Häme (10.2%). "
         "The difference is not statistically significant."),
        ("not_compared", "fi", "Hollola: työttömyysaste 8,1\u00a0% on alempi kuin vertailualueella Päijät-Häme "
         "(10,2\u00a0%). Luottamusväliä ei ole saatavilla, joten eron tilastollista merkitsevyyttä ei voi arvioida."),
        ("not_compared", "sv", "Hollola: arbetslöshetsgrad 8,1\u00a0% är lägre än i jämförelseområdet Päijät-Häme "
         "(10,2\u00a0%). Konfidensintervall saknas, så det går inte att bedöma om skillnaden är statistiskt "
         "signifikant."),
        ("not_compared", "en", "Hollola: unemployment rate 8.1% is lower than in the comparison area Päijät-Häme "
         "(10.2%). No confidence interval is available, so the statistical significance of the difference cannot "
         "be assessed."),
    ],
)
def test_comparison_wording_for_each_result_and_language(comparison, lang, expected):
    assert compare(comparison, lang) == expected


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("fi", "Hollola: työttömyysaste 12,0\u00a0% on korkeampi kuin vertailualueella Päijät-Häme (10,2\u00a0%)."),
        ("sv", "Hollola: arbetslöshetsgrad 12,0\u00a0% är högre än i jämförelseområdet Päijät-Häme (10,2\u00a0%)."),
        ("en", "Hollola: unemployment rate 12.0% is higher than in the comparison area Päijät-Häme (10.2%)."),
    ],
)
def test_comparison_says_higher_when_the_area_is_above_the_benchmark(lang, expected):
    assert compare("worse", lang, value=12.0).startswith(expected)


def test_comparison_calls_values_the_same_when_they_look_the_same_and_the_difference_is_not_significant():
    text = compare("similar", "fi", value=10.24, benchmark_value=10.16)
    assert "10,2\u00a0% on samalla tasolla kuin vertailualueella Päijät-Häme (10,2\u00a0%)" in text
    assert "at the same level" in compare("similar", "en", value=10.24, benchmark_value=10.16)
    assert "på samma nivå" in compare("similar", "sv", value=10.24, benchmark_value=10.16)


def test_a_significant_difference_that_vanishes_in_rounding_keeps_its_direction():
    text = compare("higher", "en", value=10.24, benchmark_value=10.16)
    assert "is higher than" in text and "statistically significant" in text


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("fi", "Hollola: työttömyysaste – tieto puuttuu, joten vertailua alueeseen Päijät-Häme ei voi tehdä."),
        ("sv", "Hollola: arbetslöshetsgrad – uppgift saknas, så någon jämförelse med Päijät-Häme kan inte göras."),
        ("en", "Hollola: unemployment rate – no value is available, so no comparison with Päijät-Häme can be made."),
    ],
)
def test_comparison_with_a_missing_value_says_so(lang, expected):
    assert compare("not_compared", lang, value=None) == expected
    assert compare("not_compared", lang, value=float("nan")) == expected


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("fi", "Hollola: työttömyysaste 8,1\u00a0%. Vertailualueelta Päijät-Häme ei ole tietoa, joten vertailua ei "
         "voi tehdä."),
        ("sv", "Hollola: arbetslöshetsgrad 8,1\u00a0%. Uppgift för jämförelseområdet Päijät-Häme saknas, så någon "
         "jämförelse kan inte göras."),
        ("en", "Hollola: unemployment rate 8.1%. There is no value for the comparison area Päijät-Häme, so no "
         "comparison can be made."),
    ],
)
def test_comparison_with_a_missing_benchmark_value_says_so(lang, expected):
    assert compare("not_compared", lang, benchmark_value=None) == expected


# --- trend --------------------------------------------------------------------------------------------------------


def trend(lang, start_value=10.4, end_value=8.1, polarity="lower_better", start="2015", end="2023"):
    return trend_text("Hollola", UNEMPLOYMENT[lang], start, start_value, end, end_value, "%", 1, polarity, lang)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("fi", "Hollola: työttömyysaste oli 8,1\u00a0% (2023). Se on laskenut 2,3\u00a0prosenttiyksikköä jaksolla "
         "2015–2023. Muutoksen suunta on myönteinen."),
        ("sv", "Hollola: arbetslöshetsgrad var 8,1\u00a0% (2023). Den har sjunkit med 2,3\u00a0procentenheter under "
         "perioden 2015–2023. Förändringen går i gynnsam riktning."),
        ("en", "Hollola: unemployment rate was 8.1% in 2023. It fell by 2.3\u00a0percentage points over 2015–2023. "
         "The change is in the favourable direction."),
    ],
)
def test_trend_gives_the_latest_value_the_change_in_percentage_points_and_its_direction(lang, expected):
    assert trend(lang) == expected


@pytest.mark.parametrize(
    ("lang", "rise", "unfavourable"),
    [
        ("fi", "Se on noussut 1,5\u00a0prosenttiyksikköä", "Muutoksen suunta on kielteinen."),
        ("sv", "Den har stigit med 1,5\u00a0procentenheter", "Förändringen går i ogynnsam riktning."),
        ("en", "It rose by 1.5\u00a0percentage points", "The change is in the unfavourable direction."),
    ],
)
def test_a_rise_in_a_lower_is_better_indicator_is_unfavourable(lang, rise, unfavourable):
    text = trend(lang, start_value=6.6, end_value=8.1)
    assert rise in text
    assert text.endswith(unfavourable)


def test_a_neutral_indicator_gets_no_judgement_and_other_units_are_kept():
    text = trend_text("Hollola", "väkiluku", "2015", 23_500, "2023", 23_320, "asukasta", 0, "neutral", "fi")
    assert text == (
        f"Hollola: väkiluku oli 23{NBSP}320{NBSP}asukasta (2023). Se on laskenut 180{NBSP}asukasta jaksolla 2015–2023."
    )


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("fi", "Se on pysynyt ennallaan jaksolla toukokuu 2022 – toukokuu 2023."),
        ("sv", "Den har legat kvar på samma nivå under perioden maj 2022 – maj 2023."),
        ("en", "It stayed at the same level over May 2022 – May 2023."),
    ],
)
def test_a_change_that_rounds_to_zero_is_unchanged_and_months_are_named(lang, expected):
    text = trend(lang, start_value=8.12, end_value=8.08, start="2022-05", end="2023-05")
    assert text.endswith(expected)


@pytest.mark.parametrize(
    ("lang", "no_start", "insufficient"),
    [
        ("fi", "Muutosta ei voi laskea, koska jakson alun tieto puuttuu.",
         "Hollola: työttömyysaste – tuoretta tietoa ei ole, joten kehitystä ei voi kuvata."),
        ("sv", "Förändringen kan inte beräknas eftersom uppgiften för periodens början saknas.",
         "Hollola: arbetslöshetsgrad – aktuell uppgift saknas, så utvecklingen kan inte beskrivas."),
        ("en", "The change cannot be calculated because the value for the start of the period is missing.",
         "Hollola: unemployment rate – no recent value is available, so the trend cannot be described."),
    ],
)
def test_trend_with_missing_values_says_what_is_missing(lang, no_start, insufficient):
    assert trend(lang, start_value=None).endswith(no_start)
    assert trend(lang, end_value=None) == insufficient


# --- ranking ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "position", "expected"),
    [
        ("fi", 12, "Hollola: työttömyysaste 8,1\u00a0% on 12. korkein 212 alueesta."),
        ("sv", 12, "Hollola: arbetslöshetsgrad 8,1\u00a0% är den 12:e högsta av 212 områden."),
        ("en", 12, "Hollola: unemployment rate 8.1% is the 12th highest of 212 areas."),
        ("fi", 1, "Hollola: työttömyysaste 8,1\u00a0% on korkein 212 alueesta."),
        ("sv", 1, "Hollola: arbetslöshetsgrad 8,1\u00a0% är den högsta av 212 områden."),
        ("en", 1, "Hollola: unemployment rate 8.1% is the highest of 212 areas."),
        ("fi", 212, "Hollola: työttömyysaste 8,1\u00a0% on matalin 212 alueesta."),
        ("sv", 212, "Hollola: arbetslöshetsgrad 8,1\u00a0% är den lägsta av 212 områden."),
        ("en", 212, "Hollola: unemployment rate 8.1% is the lowest of 212 areas."),
    ],
)
def test_ranking_gives_the_position_among_all_areas(lang, position, expected):
    assert ranking_text("Hollola", UNEMPLOYMENT[lang], 8.1, position, 212, "%", 1, lang) == expected


@pytest.mark.parametrize(
    ("lang", "missing", "only"),
    [
        ("fi", "tieto puuttuu, joten aluetta ei voi sijoittaa vertailuun.", "Vertailussa ei ole muita alueita."),
        ("sv", "uppgift saknas, så området kan inte rangordnas.", "Det finns inga andra områden i jämförelsen."),
        ("en", "no value is available, so the area cannot be ranked.", "There are no other areas in the comparison."),
    ],
)
def test_ranking_without_a_value_or_without_other_areas(lang, missing, only):
    assert ranking_text("Hollola", UNEMPLOYMENT[lang], None, None, 212, "%", 1, lang).endswith(missing)
    assert ranking_text("Hollola", UNEMPLOYMENT[lang], 8.1, 1, 1, "%", 1, lang).endswith(only)


def test_thousands_in_the_number_of_areas_are_grouped():
    assert "1\u00a0212 alueesta" in ranking_text("Hollola", "x", 8.1, 3, 1212, "%", 1, "fi")


# --- language and catalogues --------------------------------------------------------------------------------------


def test_the_current_language_is_used_when_none_is_given():
    def in_swedish():
        set_language("sv")
        return compare("similar", "sv"), comparison_text("Hollola", "x", 8.1, "Päijät-Häme", 10.2, "%", 1, "similar")

    explicit, implicit = contextvars.copy_context().run(in_swedish)  # keeps the language change out of other tests
    assert implicit.replace("x", UNEMPLOYMENT["sv"], 1) == explicit
    assert "Skillnaden är inte statistiskt signifikant." in implicit


def test_the_three_narrative_catalogues_have_the_same_keys_and_placeholders():
    def load(lang):
        with (LOCALES_DIR / lang / "narrative.toml").open("rb") as handle:
            return tomllib.load(handle)

    def placeholders(text):
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    finnish = load("fi")
    assert all(isinstance(text, str) for text in finnish.values()), "dotted keys must be quoted to stay flat"
    for lang in ("sv", "en"):
        other = load(lang)
        assert other.keys() == finnish.keys(), lang
        for key, text in finnish.items():
            assert placeholders(other[key]) == placeholders(text), (lang, key)

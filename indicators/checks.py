"""Checks of the indicator catalogue against what the sources declare and the texts the app has.

Loading a theme file (indicators/catalogue.py) checks each file on its own. These rules need more: the series the
configured sources offer (their unit, frequency and measure), and the translations in ui/locales. They find a series
id no source offers, units that do not follow from a formula (a share of unlike counts, a per-capita figure over
something other than persons, a missing scale), rates that areas would sum, and texts missing in a language.
`python -m sources check` runs them over the whole catalogue, the app shows an indicator's problems in its panel,
and the tests call them (tests/test_catalogue.py).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from indicators.catalogue import LANGS, LOCALES_DIR, Catalogue, Indicator, parse_series_ref


@dataclass(frozen=True)
class Declared:
    """What a source declares about a series: its unit, frequency and measure (config.toml or the snapshot)."""

    id: str
    unit: str
    frequency: str
    measure: str
    where: str = ""


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




def canonical(unit: str) -> str:
    return SAME_UNIT.get(unit, unit)


def unit_of(reference: str, declared: dict[str, Declared]) -> str:
    return canonical(declared[parse_series_ref(reference)[0]].unit)


def reference_problems(indicator: Indicator, declared: dict[str, Declared]) -> list[tuple[str, str]]:
    """`(role, message)` for every series no source offers (with the closest declared id), and for fallback chains
    whose members differ in unit, frequency or measure."""
    problems = []
    for role, ids in indicator.formula.references().items():
        unknown = [series_id for series_id in ids if series_id not in declared]
        for series_id in unknown:
            close = difflib.get_close_matches(series_id, sorted(declared), n=1, cutoff=0.8)
            hint = f"; did you mean '{close[0]}'?" if close else " (check config.toml and the snapshot)."
            problems.append((role, f"no configured source offers the series '{series_id}'{hint}"))
        if unknown:
            continue
        first = declared[ids[0]]
        for other in (declared[series_id] for series_id in ids[1:]):
            for field in ("unit", "frequency", "measure"):
                mine, theirs = getattr(first, field), getattr(other, field)
                if field == "unit":
                    mine, theirs = canonical(mine), canonical(theirs)
                if mine != theirs:
                    problems.append((role, f"{first.id} and its fallback {other.id} differ in {field} "
                                           f"({mine!r} vs {theirs!r})"))
    return problems


def per_unit(unit: str) -> tuple[str, int, str] | None:
    """`"kpl / 1 000 asukasta"` -> ("kpl", 1000, "asukasta"); `"t CO2e / asukas"` -> ("t CO2e", 1, "asukas")."""
    match = re.fullmatch(r"(.*?)\s*/\s*([\d ]*\d)?\s*(\S.*)", unit)
    if not match:
        return None
    quantity, number, per = match.groups()
    return quantity, int(number.replace(" ", "")) if number else 1, per


def unit_problems(indicator: Indicator, declared: dict[str, Declared]) -> list[str]:
    """The indicator's unit follows from its formula and the units its sources declare (see SAME_UNIT)."""
    formula, unit, problems = indicator.formula, indicator.unit, []
    if reference_problems(indicator, declared):
        return problems  # reported by reference_problems
    roles = formula.references()
    measures = {role: declared[ids[0]].measure for role, ids in roles.items()}
    inputs = [series_id for role, ids in roles.items() if role != "weight" for series_id in ids]
    frequencies = {declared[series_id].frequency for series_id in inputs}
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
    if formula.type == "value" and unit != unit_of(formula.input, declared):
        problems.append(f"unit {unit!r}, but its input {formula.input} is in {unit_of(formula.input, declared)!r}")
    if formula.type == "change":
        wanted = "%" if formula.relative else unit_of(formula.input, declared)
        if unit != wanted:
            problems.append(f"unit {unit!r}, but a {'relative ' if formula.relative else ''}change is in {wanted!r}")
    if formula.type == "index" and unit != "indeksi":
        problems.append(f"unit {unit!r}, but an index is in 'indeksi'")
    if formula.type == "difference":
        units = {unit, unit_of(formula.minuend, declared), unit_of(formula.subtrahend, declared)}
        if len(units) > 1:
            problems.append(f"a difference needs one unit for minuend, subtrahend and indicator, not {sorted(units)}")
    if formula.type == "ratio":
        numerator, denominator = unit_of(formula.numerator, declared), unit_of(formula.denominator, declared)
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


def translation_problems(indicator: Indicator, texts: dict[str, set[str]]) -> list[str]:
    """Texts the app would show as raw keys: the unit and the update rhythm, in every language (`texts`: the keys
    of each language's locale files). Names, descriptions and needs are required in all three by the catalogue."""
    problems = []
    for field in ("name", "description", "need"):
        texts_of = getattr(indicator, field).as_dict()
        problems += [f"{field}.{lang} is empty" for lang in LANGS if not texts_of[lang].strip()]
    for key in (f"unit.{indicator.unit}", f"frequency.{indicator.update}"):
        missing = [lang for lang in LANGS if key not in texts.get(lang, set())]
        if missing:
            problems.append(f'"{key}" has no text in ui/locales/{", ".join(missing)}')
    return problems


@dataclass(frozen=True)
class CatalogueProblem:
    """A mistake in the catalogue, saying the file, the indicator and the field."""

    file: str
    indicator: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: indicator '{self.indicator}', {self.field}: {self.message}"


def catalogue_problems(catalogue: Catalogue, declared: dict[str, Declared], locales_dir: Path = LOCALES_DIR
                       ) -> list[CatalogueProblem]:
    """Every problem of every indicator; an unknown series id comes with the closest declared one."""
    texts = locale_keys(locales_dir)
    problems: list[CatalogueProblem] = []
    for indicator in catalogue.indicators.values():
        path = catalogue.files.get(indicator.theme)
        file = f"indicators/themes/{path.name}" if path else f"theme {indicator.theme}"
        problems += [CatalogueProblem(file, indicator.id, f"formula.{role}", text)
                     for role, text in reference_problems(indicator, declared)]
        problems += [CatalogueProblem(file, indicator.id, "formula", text)
                     for text in unit_problems(indicator, declared)]
        problems += [CatalogueProblem(file, indicator.id, _field_of(text), text)
                     for text in translation_problems(indicator, texts)]
    return problems


def _field_of(text: str) -> str:
    return "unit" if text.startswith('"unit.') else "update" if text.startswith('"frequency.') else text.split(".")[0]


def locale_keys(locales_dir: Path = LOCALES_DIR) -> dict[str, set[str]]:
    """Language -> the keys of its locale files."""
    keys: dict[str, set[str]] = {}
    for lang in LANGS:
        keys[lang] = set()
        for path in sorted((locales_dir / lang).glob("*.toml")):
            with path.open("rb") as handle:
                keys[lang].update(tomllib.load(handle))
    return keys

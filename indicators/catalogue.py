"""The indicator catalogue: one TOML file per theme in `indicators/themes/`, validated at start-up.

Defining an indicator needs no programming: a theme file lists its sub-areas (for the concept map) and indicators,
each with names in fi/sv/en, kind (structural: long-term change; situational: what is happening now), unit, decimals,
polarity, the information need it answers, and a formula over source series (see indicators/formulas.py).
A mistake raises CatalogueError naming the file, the indicator and the field.
"""

from __future__ import annotations

import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

THEMES_DIR = Path(__file__).resolve().parent / "themes"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "ui" / "locales"
LANGS = ("fi", "sv", "en")
# How often a source updates an indicator or a series (the catalogue's `update`, config.toml's series `update`);
# sources/schedule.py knows each rhythm's length (a test keeps them equal).
UpdateRhythm = Literal["daily", "weekly", "monthly", "quarterly", "annual"]
UPDATE_RHYTHMS = get_args(UpdateRhythm)
SERIES_ID = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")


class CatalogueError(Exception):
    """The catalogue cannot be used; the message names the file, indicator and field."""


class Texts(BaseModel):
    """A text in all three languages; none may be empty."""

    model_config = ConfigDict(extra="forbid")
    fi: str = Field(min_length=1)
    sv: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def as_dict(self) -> dict[str, str]:
        return {"fi": self.fi, "sv": self.sv, "en": self.en}


def parse_series_ref(ref: str) -> list[str]:
    """`"statfin.unemployed | snapshot.unemployed"` -> ids in order of preference."""
    ids = [part.strip() for part in ref.split("|")]
    for series_id in ids:
        if not SERIES_ID.match(series_id):
            raise ValueError(f"'{series_id}' is not a series id (like 'statfin.unemployed')")
    return ids


class Formula(BaseModel):
    """How an indicator is computed from series. Inputs are series references ("a | b": a, or b where a is missing).

    type:
      value           the series itself (`input`)
      ratio           numerator / denominator x scale (shares: scale 100; per capita: denominator population,
                      scale 1000 or 100000); aggregates from summed numerator and denominator
      difference      minuend - subtrahend (same unit)
      change          input minus its value `periods` earlier (`relative = true`: in %)
      index           input / input in `base_period` x 100
    `resample = "annual_mean"` turns monthly inputs into annual averages (only complete years) first.
    `aggregate` for a value formula: "sum" (counts), "weighted" (rate weighted by `weight`), "none" (source only).
    """

    model_config = ConfigDict(extra="forbid")
    type: Literal["value", "ratio", "difference", "change", "index"]
    input: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    minuend: str | None = None
    subtrahend: str | None = None
    weight: str | None = None
    scale: float = 1.0
    periods: int = 1
    relative: bool = False
    base_period: str | None = None
    resample: Literal["none", "annual_mean"] = "none"
    aggregate: Literal["sum", "weighted", "none"] = "none"

    @model_validator(mode="after")
    def _inputs_present(self) -> Formula:
        needed = {
            "value": ["input"], "change": ["input"], "index": ["input", "base_period"],
            "ratio": ["numerator", "denominator"], "difference": ["minuend", "subtrahend"],
        }[self.type]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a '{self.type}' formula needs {', '.join(missing)}")
        if self.aggregate == "weighted" and not self.weight:
            raise ValueError("aggregate = 'weighted' needs weight (a series reference)")
        for name in ("input", "numerator", "denominator", "minuend", "subtrahend", "weight"):
            value = getattr(self, name)
            if value is not None:
                parse_series_ref(value)
        return self

    def references(self) -> dict[str, list[str]]:
        """Role -> series ids, e.g. {"numerator": ["statfin.unemployed", "snapshot.unemployed"], ...}."""
        roles = ("input", "numerator", "denominator", "minuend", "subtrahend", "weight")
        return {role: parse_series_ref(getattr(self, role)) for role in roles if getattr(self, role)}

    def series_ids(self) -> list[str]:
        return [series_id for ids in self.references().values() for series_id in ids]


class Indicator(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: Texts
    description: Texts
    need: Texts  # the information need it answers, one sentence for the people who set priorities
    kind: Literal["structural", "situational"]
    sub_area: str
    unit: str
    decimals: int = Field(ge=0, le=4)
    polarity: Literal["higher_better", "lower_better", "neutral"]
    frequency: Literal["annual", "monthly"]
    update: UpdateRhythm  # how often the source updates it
    formula: Formula
    regions: list[Literal["municipality", "subregion", "region", "wellbeing_county", "municipality_group",
                          "country"]]
    licence: str = "CC BY 4.0"
    # "proportion": the ratio is events/persons (Wilson interval); "rate": events per population (Byar interval).
    interval: Literal["proportion", "rate", "none"] = "none"
    theme: str = ""


class SubArea(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: Texts


class Theme(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z_]+$")
    name: Texts
    description: Texts
    icon: str = ""
    order: int = 0
    sub_areas: list[SubArea]
    indicators: list[Indicator] = Field(alias="indicator")

    @field_validator("indicators")
    @classmethod
    def _unique_ids(cls, indicators: list[Indicator]) -> list[Indicator]:
        ids = [indicator.id for indicator in indicators]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate indicator ids {duplicates}")
        return indicators

    @model_validator(mode="after")
    def _sub_areas_known(self) -> Theme:
        known = {sub.id for sub in self.sub_areas}
        for indicator in self.indicators:
            if indicator.sub_area not in known:
                raise ValueError(
                    f"indicator '{indicator.id}': sub_area '{indicator.sub_area}' is not one of {sorted(known)}")
            indicator.theme = self.id
        return self


def _describe_error(path: Path, raw: dict, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        location = list(error["loc"])
        where = ".".join(str(part) for part in location)
        if len(location) >= 2 and location[0] == "indicator" and isinstance(location[1], int):
            try:
                indicator_id = raw["indicator"][location[1]].get("id", f"#{location[1] + 1}")
            except (IndexError, KeyError, AttributeError):
                indicator_id = f"#{location[1] + 1}"
            where = f"indicator '{indicator_id}', field " + ".".join(str(part) for part in location[2:])
        lines.append(f"{where}: {error['msg']}")
    return f"{path.name}: " + "; ".join(lines)


def load_theme(path: Path) -> Theme:
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{path.name}: not valid TOML ({exc}).") from None
    try:
        return Theme.model_validate(raw.get("theme", {}) | {"indicator": raw.get("indicator", [])})
    except ValidationError as exc:
        raise CatalogueError(_describe_error(path, raw, exc)) from None


class Catalogue:
    def __init__(self, themes: list[Theme], files: dict[str, Path] | None = None) -> None:
        self.themes = sorted(themes, key=lambda theme: (theme.order, theme.id))
        self.files = files or {}  # theme id -> its file, for messages
        self.indicators = {indicator.id: indicator for theme in self.themes for indicator in theme.indicators}
        if len(self.indicators) != sum(len(theme.indicators) for theme in self.themes):
            raise CatalogueError("An indicator id is used in more than one theme file.")

    def theme(self, theme_id: str) -> Theme:
        for theme in self.themes:
            if theme.id == theme_id:
                return theme
        raise KeyError(theme_id)

    def series_ids(self) -> set[str]:
        return {series_id for indicator in self.indicators.values() for series_id in indicator.formula.series_ids()}


def themes_dir() -> Path:
    """Where the theme files are: `indicators/themes/`, or `TIEDOLLA_THEMES_DIR` (an analyst's draft, tests)."""
    return Path(os.environ.get("TIEDOLLA_THEMES_DIR") or THEMES_DIR)


def load_catalogue(directory: Path | None = None) -> Catalogue:
    directory = directory or themes_dir()
    paths = sorted(directory.glob("*.toml"))
    if not paths:
        raise CatalogueError(f"No theme files (*.toml) in {directory}.")
    themes = [(load_theme(path), path) for path in paths]
    return Catalogue([theme for theme, _ in themes], {theme.id: path for theme, path in themes})


def check_catalogue_files(directory: Path | None = None) -> tuple[Catalogue | None, list[str]]:
    """Load every theme file, collecting the errors of all of them (loading stops at the first)."""
    directory = directory or themes_dir()
    themes, problems = [], []
    for path in sorted(directory.glob("*.toml")):
        try:
            themes.append((load_theme(path), path))
        except CatalogueError as exc:
            problems.append(str(exc))
    if not themes and not problems:
        problems.append(f"No theme files (*.toml) in {directory}.")
    if problems:
        return None, problems
    try:
        return Catalogue([theme for theme, _ in themes], {theme.id: path for theme, path in themes}), []
    except CatalogueError as exc:
        return None, [str(exc)]


@lru_cache(maxsize=1)
def get_catalogue() -> Catalogue:
    return load_catalogue()

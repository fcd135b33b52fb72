"""The one region registry: municipalities of the current division and the areas they belong to, plus mergers.

Built from Statistics Finland's municipality classification (2026 division, 308 municipalities; via rOpenGov/geofi,
`data/raw/region-keys/`). Codes: `KU###` municipality, `SK###` sub-region (seutukunta), `MK##` region (maakunta),
`HV##` wellbeing services county (hyvinvointialue; 90 Helsinki, 91 Åland), `KR#` statistical municipality group
(kuntaryhmitys: 1 urban, 2 semi-urban, 3 rural), `SSS` whole country.

`MERGERS` carries data of older divisions onto the current one: counts are summed; a rate is recombined only from
summed numerators and denominators (the formula engine does that); a rate series alone cannot be carried, so a merged
municipality's rate for the years before its merger becomes missing rather than an average.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

RAW_DIR = Path(__file__).resolve().parent.parent / "data" / "raw"
KEY_FILE = RAW_DIR / "region-keys" / "municipality_key_2026.csv"
COUNTRY = "SSS"
LEVEL_PREFIX = {"KU": "municipality", "SK": "subregion", "MK": "region", "HV": "wellbeing_county",
                "KR": "municipality_group", "SSS": "country"}
# An aggregate is computed only when members covering this share of the member municipalities have a value;
# otherwise it is missing, because a sum over a part of the area would be read as the area's figure.
AGGREGATE_MIN_COVERAGE = 0.9


@dataclass(frozen=True)
class Merger:
    old_code: str
    new_code: str
    year: int  # the first year of the new division (1 January)
    old_name: str


# Municipal mergers since the 2013 division (320 municipalities) up to the 2026 division (308). Source: Statistics
# Finland's municipality classification changes; each pair is checked in tests against the 2013 key's regions.
MERGERS: tuple[Merger, ...] = (
    Merger("KU413", "KU609", 2015, "Lavia"),
    Merger("KU476", "KU297", 2015, "Maaninka"),
    Merger("KU838", "KU423", 2015, "Tarvasjoki"),
    Merger("KU164", "KU301", 2016, "Jalasjärvi"),
    Merger("KU283", "KU098", 2016, "Hämeenkoski"),
    Merger("KU319", "KU783", 2016, "Köyliö"),
    Merger("KU532", "KU398", 2016, "Nastola"),
    Merger("KU174", "KU297", 2017, "Juankoski"),
    Merger("KU442", "KU051", 2017, "Luvia"),
    Merger("KU911", "KU541", 2020, "Valtimo"),
    Merger("KU099", "KU214", 2021, "Honkajoki"),
    Merger("KU588", "KU507", 2025, "Pertunmaa"),
)
MERGER_MAP = {merger.old_code: merger.new_code for merger in MERGERS}


def municipality_code(number: object) -> str:
    """`20`, `'020'` or `20.0` -> `KU020`."""
    return f"KU{int(float(str(number))):03d}"


def level_of(code: str) -> str:
    return LEVEL_PREFIX.get(code[:2], LEVEL_PREFIX.get(code, "unknown"))


def normalise_name(name: str) -> str:
    """Fold a municipality name for matching: case, accents kept (ä ≠ a), bilingual suffix dropped."""
    name = unicodedata.normalize("NFC", str(name)).strip()
    name = re.split(r"\s+-\s+", name)[0]  # "Maarianhamina - Mariehamn" -> "Maarianhamina"
    return name.casefold()


class RegionRegistry:
    """Municipalities and their parent areas, with names in fi/sv/en."""

    def __init__(self, key_file: Path = KEY_FILE) -> None:
        key = pd.read_csv(key_file, dtype=str)
        self.municipalities = pd.DataFrame(
            {
                "code": key["kunta"].map(municipality_code),
                "name_fi": key["municipality_name_fi"],
                "name_sv": key["municipality_name_sv"],
                "name_en": key["municipality_name_en"],
                "region": "MK" + key["maakunta_code"].str.zfill(2),
                "subregion": "SK" + key["seutukunta_code"].str.zfill(3),
                "wellbeing_county": "HV" + key["hyvinvointialue_code"].str.zfill(2),
                "municipality_group": "KR" + key["kuntaryhmitys_code"],
            }
        )
        areas = [self.municipalities[["code", "name_fi", "name_sv", "name_en"]].assign(level="municipality")]
        for level, column in (("region", "maakunta"), ("subregion", "seutukunta"),
                              ("wellbeing_county", "hyvinvointialue"), ("municipality_group", "kuntaryhmitys")):
            names = key[[f"{column}_name_fi", f"{column}_name_sv", f"{column}_name_en"]]
            names.columns = ["name_fi", "name_sv", "name_en"]
            areas.append(names.assign(code=self.municipalities[level], level=level).drop_duplicates("code"))
        areas.append(pd.DataFrame([{"code": COUNTRY, "level": "country", "name_fi": "Koko maa",
                                    "name_sv": "Hela landet", "name_en": "Whole country"}]))
        self.municipalities = self.municipalities.sort_values("code", ignore_index=True)
        self.areas = pd.concat(areas, ignore_index=True).set_index("code")
        self._membership: pd.DataFrame | None = None
        self._names: dict[str, dict[str, str]] | None = None
        self._codes: dict[str, list[str]] = {}
        for column in ("name_fi", "name_sv", "name_en"):
            self.areas[column] = self.areas[column].str.strip()

    # --- look-ups ---------------------------------------------------------------------------------------------

    def name(self, code: str, lang: str = "fi") -> str:
        """The area's name in `lang` (Finnish where it has none); an old merged code gives its old name."""
        if self._names is None:
            self._names = {
                language: {code: str(name or finnish) for code, name, finnish in
                           zip(self.areas.index, self.areas[f"name_{language}"], self.areas["name_fi"])}
                for language in ("fi", "sv", "en")
            }
        found = self._names.get(lang, self._names["fi"]).get(code)
        if found is not None:
            return found
        merged = next((m for m in MERGERS if m.old_code == code), None)
        return merged.old_name if merged else code

    def codes(self, level: str) -> list[str]:
        if level not in self._codes:
            self._codes[level] = self.areas.index[self.areas["level"] == level].tolist()
        return list(self._codes[level])

    def members(self, area_code: str) -> list[str]:
        """Current municipalities of an area (`SSS` = all; a municipality is its own only member)."""
        if area_code == COUNTRY:
            return self.municipalities["code"].tolist()
        level = level_of(area_code)
        if level == "municipality":
            return [area_code]
        return self.municipalities.loc[self.municipalities[level] == area_code, "code"].tolist()

    def parent(self, municipality: str, level: str) -> str:
        if level == "country":
            return COUNTRY
        row = self.municipalities.loc[self.municipalities["code"] == municipality]
        return str(row.iloc[0][level]) if len(row) else ""

    def membership(self, area_codes: list[str]) -> pd.DataFrame:
        """Pairs (area, municipality) for the given areas; a municipality code is its own one-member area."""
        if self._membership is None:
            municipalities = self.municipalities
            pieces = [pd.DataFrame({"area": municipalities["code"], "municipality": municipalities["code"]})]
            for level in ("subregion", "region", "wellbeing_county", "municipality_group"):
                pieces.append(pd.DataFrame({"area": municipalities[level], "municipality": municipalities["code"]}))
            pieces.append(pd.DataFrame({"area": COUNTRY, "municipality": municipalities["code"]}))
            self._membership = pd.concat(pieces, ignore_index=True)
        return self._membership[self._membership["area"].isin(area_codes)]

    def is_known(self, code: str) -> bool:
        return code in self.areas.index

    def name_to_code(self) -> dict[str, str]:
        """Folded Finnish and Swedish municipality names of the current division -> code."""
        mapping: dict[str, str] = {}
        for column in ("name_sv", "name_fi"):  # Finnish last, so it wins where the two differ
            mapping.update(dict(zip(self.municipalities[column].map(normalise_name), self.municipalities["code"])))
        for merger in MERGERS:
            mapping[normalise_name(merger.old_name)] = merger.old_code
        return mapping


@lru_cache(maxsize=1)
def get_registry() -> RegionRegistry:
    return RegionRegistry()


# --- carrying data onto the current division ------------------------------------------------------------------


def carry_to_current(frame: pd.DataFrame, measure: str, weights: pd.DataFrame | None = None) -> pd.DataFrame:
    """Recode municipalities merged since the data was published onto the current division.

    `measure == "count"`: rows that now share a code, region and period are summed; missing if any part is.
    A rate with `weights` (its real denominator per old region and period, columns `region, period, weight`) is
    recombined as sum(rate x denominator) / sum(denominator), i.e. from summed numerators and denominators.
    A rate without its denominator cannot be recombined, so the current municipality gets a missing value for the
    periods where it had a partner: never an average of rates.
    """
    if frame.empty:
        return frame
    keys = ["series", "region", "period"]
    recoded = frame.assign(region=frame["region"].map(lambda code: MERGER_MAP.get(code, code)).astype("string"))
    touched = recoded.duplicated(keys, keep=False)
    if not touched.any():
        return recoded
    plain = recoded[~touched]
    if measure == "count":
        # A sum with a missing part would pass a fraction of the municipality off as the whole: missing instead.
        grouped = recoded[touched].groupby(keys, observed=True)["value"]
        sums = grouped.sum().where(grouped.count() == grouped.size())
        combined = sums.rename("value").reset_index()
    elif weights is not None:
        weighted = frame[touched.to_numpy()].merge(weights, on=["region", "period"], how="left")
        weighted = weighted.assign(
            region=weighted["region"].map(lambda code: MERGER_MAP.get(code, code)),
            numerator=weighted["value"] * weighted["weight"],
        )
        grouped = weighted.groupby(keys, observed=True)
        # min_count=len: one missing part makes the whole missing, not a partial sum.
        sums = grouped[["numerator", "weight"]].sum(min_count=1)
        complete = grouped["numerator"].count() == grouped.size()
        combined = (sums["numerator"] / sums["weight"]).where(complete).rename("value").reset_index()
    else:
        combined = recoded[touched].drop_duplicates(keys).assign(value=np.nan)
    result = pd.concat([plain, combined], ignore_index=True).sort_values(keys, ignore_index=True)
    return result.astype({"series": "string", "region": "string", "period": "string", "value": "float64"})


def aggregate_counts(frame: pd.DataFrame, area_codes: list[str],
                     registry: RegionRegistry | None = None) -> pd.DataFrame:
    """Sum municipal counts into the given areas per series and period (see AGGREGATE_MIN_COVERAGE).

    Only for count series; rates are formed afterwards from the summed numerator and denominator.
    """
    registry = registry or get_registry()
    membership = registry.membership(area_codes)
    if membership.empty or frame.empty:
        return frame.iloc[0:0][["series", "region", "period", "value"]]
    municipal = frame[frame["region"].str.startswith("KU")]
    joined = municipal.merge(membership, left_on="region", right_on="municipality")
    grouped = joined.groupby(["area", "series", "period"], observed=True)["value"]
    result = grouped.agg(value="sum", covered="count").reset_index()
    sizes = membership.groupby("area").size()
    # covered counts values present; with too few (or none: sum() gave 0) the area has no value, never zero.
    result.loc[result["covered"] < AGGREGATE_MIN_COVERAGE * result["area"].map(sizes), "value"] = np.nan
    result = result.rename(columns={"area": "region"})[["series", "region", "period", "value"]]
    return result.astype({"series": "string", "region": "string", "period": "string", "value": "float64"})

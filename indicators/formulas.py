"""The formula engine: computes a catalogue indicator for municipalities and larger areas from warehouse rows.

Rules, in the order they apply:
1. A series reference "a | b" takes a's value where a has one and b's otherwise (a live series over the snapshot).
2. Monthly inputs may be averaged into years (`resample = "annual_mean"`); a year needs all 12 months.
3. Areas (sub-region, region, wellbeing services county, municipality group, country) come from summed municipal
   counts (indicators.regions.aggregate_counts); a value the source publishes for the area itself wins over the sum.
   Rates are never averaged: a ratio sums its numerator and denominator first, over the same members (those with
   both), a rate series is weighted by its real denominator, or has no area value at all.
4. A missing input gives a missing value, never zero; a zero denominator gives a missing value.

`compute` returns `region, period, value, numerator, denominator` (numerator and denominator for ratios, used for
confidence intervals) and `origin`: a `Lineage`, the series ids that gave each value, as data (the source line looks
up each series' tables and vintages in the warehouse from them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from indicators.catalogue import Formula, Indicator, parse_series_ref
from indicators.regions import RegionRegistry, aggregate_counts, get_registry

Loader = Callable[[list[str]], pd.DataFrame]
RESULT_COLUMNS = ["region", "period", "value", "numerator", "denominator", "origin"]
KEYS = ["region", "period"]


@dataclass(frozen=True, order=True)
class Lineage:
    """The series behind a value, in id order: one for a plain value, both a numerator's and a denominator's for a
    ratio, every series an area's member municipalities drew on for a sum."""

    series: tuple[str, ...]

    @classmethod
    def of(cls, *series_ids: str) -> Lineage:
        return cls(tuple(sorted(set(series_ids))))

    @classmethod
    def union(cls, lineages: Iterable[Lineage]) -> Lineage:
        return cls.of(*(series_id for lineage in lineages for series_id in lineage.series))

    def __str__(self) -> str:
        return ", ".join(self.series)


def _joined(left: pd.Series, right: pd.Series) -> list[Lineage]:
    """Row by row, the lineage of a value made of two (a ratio, a difference); few distinct pairs, so memoised."""
    memo: dict[tuple[Lineage, Lineage], Lineage] = {}
    return [memo.get(pair) or memo.setdefault(pair, Lineage.union(pair)) for pair in zip(left, right)]


def empty_result() -> pd.DataFrame:
    return pd.DataFrame({"region": pd.Series(dtype="string"), "period": pd.Series(dtype="string"),
                         "value": pd.Series(dtype="float64"), "numerator": pd.Series(dtype="float64"),
                         "denominator": pd.Series(dtype="float64"), "origin": pd.Series(dtype="object")})


def coalesce(frame: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """Rows of the preferred series first; a later series fills only (region, period) pairs still missing."""
    pieces = []
    for rank, series_id in enumerate(ids):
        rows = frame[(frame["series"] == series_id) & frame["value"].notna()]
        pieces.append(rows.assign(rank=rank))
    if not pieces:
        return pd.DataFrame(columns=["region", "period", "value", "origin"])
    stacked = pd.concat(pieces, ignore_index=True).sort_values("rank", kind="stable")
    chosen = stacked.drop_duplicates(KEYS, keep="first")
    lineages = {series_id: Lineage.of(series_id) for series_id in ids}
    chosen = chosen.assign(origin=chosen["series"].astype(str).map(lineages))
    return chosen[["region", "period", "value", "origin"]].reset_index(drop=True)


def annual_mean(frame: pd.DataFrame) -> pd.DataFrame:
    """Average monthly values per year; a year with fewer than 12 months of values is left out."""
    if frame.empty:
        return frame
    monthly = frame.assign(year=frame["period"].str[:4])
    grouped = monthly.groupby(["region", "year"], observed=True)
    result = grouped.agg(value=("value", "mean"), months=("value", "count"), origin=("origin", "first")).reset_index()
    result = result[result["months"] == 12]
    return result.rename(columns={"year": "period"})[["region", "period", "value", "origin"]]


class Engine:
    def __init__(self, load: Loader, registry: RegionRegistry | None = None) -> None:
        self.load = load
        self.registry = registry or get_registry()

    # --- inputs ---------------------------------------------------------------------------------------------

    def values(self, ref: str, formula: Formula) -> pd.DataFrame:
        """Every row of one series reference (municipalities and areas the source publishes), after rules 1 and 2."""
        ids = parse_series_ref(ref)
        values = coalesce(self.load(ids), ids)
        return annual_mean(values) if formula.resample == "annual_mean" else values

    def resolve(self, ref: str, regions: list[str], aggregate: str, formula: Formula) -> pd.DataFrame:
        """The values of one series reference for `regions` (municipal rows plus aggregated areas)."""
        values = self.values(ref, formula)
        municipal = values[values["region"].str.startswith("KU")]
        areas = [region for region in regions if not region.startswith("KU")]
        published = values[values["region"].isin(areas)]
        computed = pd.DataFrame(columns=values.columns)
        # An area's origin is the set of series its member municipalities' values came from in that period.
        pairs = municipal[["period", "origin"]].drop_duplicates()
        origin_by_period = pairs.groupby("period", observed=True)["origin"].agg(Lineage.union)
        if areas and aggregate == "sum":
            summed = aggregate_counts(municipal.assign(series="x"), areas, self.registry)
            computed = summed.drop(columns="series")
            computed = computed.assign(origin=computed["period"].map(origin_by_period))
        elif areas and aggregate == "weighted":
            weight = self.resolve(formula.weight, [], "none", formula)[["region", "period", "value"]]
            joined = municipal.merge(weight.rename(columns={"value": "weight"}), on=KEYS, how="left")
            joined = joined.assign(series="x", value=joined["value"] * joined["weight"])
            numerators = aggregate_counts(joined[["series", "region", "period", "value"]], areas, self.registry)
            weights = aggregate_counts(joined.assign(value=joined["weight"])[["series", "region", "period", "value"]],
                                       areas, self.registry)
            merged = numerators.merge(weights, on=["series", "region", "period"], suffixes=("", "_w"))
            computed = merged.assign(value=merged["value"] / merged["value_w"].replace(0, np.nan),
                                     origin=merged["period"].map(origin_by_period))
            computed = computed[["region", "period", "value", "origin"]]
        wanted_municipal = municipal[municipal["region"].isin(regions)] if regions else municipal
        # Values the source publishes for an area win over our sums (the source may know more, e.g. Åland).
        areas_frame = pd.concat([published, computed], ignore_index=True).drop_duplicates(KEYS, keep="first")
        result = pd.concat([wanted_municipal, areas_frame], ignore_index=True)
        return result.astype({"region": "string", "period": "string", "value": "float64"})

    def ratio_parts(self, formula: Formula, regions: list[str]) -> pd.DataFrame:
        """Numerator and denominator side by side (`value_n`, `value_d`, `origin_n`, `origin_d`) per region and period.

        An area's two sums come from the same member municipalities: those with both a numerator and a denominator
        in that period (AGGREGATE_MIN_COVERAGE then applies to them). Summed separately, a member missing from one
        side only would put the sums over different municipalities. An area's published values win only as a pair.
        """
        pairs = self.values(formula.numerator, formula).merge(
            self.values(formula.denominator, formula), on=KEYS, suffixes=("_n", "_d"))
        municipal = pairs[pairs["region"].str.startswith("KU")]
        areas = [region for region in regions if not region.startswith("KU")]
        pieces = [municipal[municipal["region"].isin(regions)] if regions else municipal]
        if areas:
            pieces.append(pairs[pairs["region"].isin(areas)])  # published for the area itself, both sides
            sides = pd.concat([
                municipal[["region", "period", f"value_{side}"]].rename(columns={f"value_{side}": "value"})
                .assign(series=side) for side in ("n", "d")], ignore_index=True)
            summed = aggregate_counts(sides, areas, self.registry)
            computed = summed.pivot_table(index=KEYS, columns="series", values="value", dropna=False).reset_index()
            if not computed.empty:
                lineage = pd.Series(_joined(municipal["origin_n"], municipal["origin_d"]), index=municipal.index)
                by_period = lineage.groupby(municipal["period"], observed=True).agg(Lineage.union)
                origin = computed["period"].map(by_period)
                pieces.append(pd.DataFrame({"region": computed["region"], "period": computed["period"],
                                            "value_n": computed["n"], "value_d": computed["d"],
                                            "origin_n": origin, "origin_d": origin}))
        joined = pd.concat(pieces, ignore_index=True).drop_duplicates(KEYS, keep="first")
        return joined.astype({"region": "string", "period": "string", "value_n": "float64", "value_d": "float64"})

    # --- formulas -------------------------------------------------------------------------------------------

    def compute(self, indicator: Indicator, regions: list[str]) -> pd.DataFrame:
        formula = indicator.formula
        if formula.type == "ratio":
            joined = self.ratio_parts(formula, regions)
            denominators = joined["value_d"].where(joined["value_d"] != 0)
            result = pd.DataFrame({
                "region": joined["region"], "period": joined["period"],
                "value": joined["value_n"] / denominators * formula.scale,
                "numerator": joined["value_n"], "denominator": joined["value_d"],
                "origin": _joined(joined["origin_n"], joined["origin_d"]),
            })
        elif formula.type == "difference":
            minuend = self.resolve(formula.minuend, regions, formula.aggregate, formula)
            subtrahend = self.resolve(formula.subtrahend, regions, formula.aggregate, formula)
            joined = minuend.merge(subtrahend, on=KEYS, suffixes=("_a", "_b"))
            result = pd.DataFrame({
                "region": joined["region"], "period": joined["period"],
                "value": joined["value_a"] - joined["value_b"],
                "origin": _joined(joined["origin_a"], joined["origin_b"]),
            })
        else:
            values = self.resolve(formula.input, regions, formula.aggregate, formula)
            if formula.type == "change":
                values = values.sort_values(KEYS)
                earlier = values.groupby("region", observed=True)["value"].shift(formula.periods)
                periods_back = values.groupby("region", observed=True)["period"].shift(formula.periods)
                # Only compare with the period exactly n steps back (a gap in the data must not stretch the span).
                expected = _period_minus(values["period"], formula.periods)
                earlier = earlier.where(periods_back == expected)
                change = values["value"] - earlier
                if formula.relative:
                    change = change / earlier.where(earlier != 0) * 100
                values = values.assign(value=change)
            elif formula.type == "index":
                base = values[values["period"] == formula.base_period].set_index("region")["value"]
                values = values.assign(value=values["value"] / values["region"].map(base).where(lambda b: b != 0) * 100)
            result = values.assign(numerator=np.nan, denominator=np.nan)
        if regions:
            result = result[result["region"].isin(regions)]
        result = result.dropna(subset=["value"]) if not result.empty else result
        if result.empty:
            return empty_result()
        result = result.assign(numerator=result.get("numerator", np.nan), denominator=result.get("denominator", np.nan))
        result = result[RESULT_COLUMNS].sort_values(KEYS, ignore_index=True)
        # origin repeats a few lineages: a category halves the size of cached tables.
        return result.astype({"region": "string", "period": "string", "value": "float64",
                              "numerator": "float64", "denominator": "float64", "origin": "category"})


def _period_minus(periods: pd.Series, steps: int) -> pd.Series:
    """`2024` - 1 -> `2023`; `2024-01` - 1 -> `2023-12`."""
    monthly = periods.str.len() == 7
    years = periods.str[:4].astype(int)
    months = periods.str[5:7].where(monthly, "1").astype(int)
    index = years * 12 + (months - 1) - steps
    annual = (years - steps).astype(str)
    shifted_monthly = (index // 12).astype(str) + "-" + (index % 12 + 1).astype(str).str.zfill(2)
    return shifted_monthly.where(monthly, annual)

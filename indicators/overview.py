"""A theme overview: every indicator of a theme for the chosen municipalities and the benchmark, latest value each.

One row per indicator x area, in the order given (indicators, then municipalities, then the benchmark). Each area
shows its own latest period with a value, so an area whose data end earlier is shown with its own period and never
as missing. Each municipality is compared with the benchmark's value in that same period, as
indicators.comparison does for one period:

- an indicator with a numerator and a denominator and an `interval` (a proportion or a rate) gets a 95 % interval
  (Wilson or Byar) and the status "better" / "worse" / "similar" (or "higher" / "lower" for a neutral indicator) by
  whether the benchmark lies outside it (indicators.statistics.compare_to_benchmark);
- any other indicator gets its quintile among all municipalities in that period ("q1" lowest fifth ... "q5"
  highest fifth): a place, not a test, so it never says better or worse;
- the benchmark's own row has the status "benchmark"; an area without a value has "no_data".

The trend compares the value with the same period a year before (the previous year; for a monthly indicator the
same month of the previous year, twelve months back), as shown: a change that the indicator's decimals do not show
is "flat". Without a value a year before the trend is None.

Two steps, so that a new selection costs next to nothing: `summarise` reads each indicator's whole table once
(every area's latest cell, its value a year before, every municipality's quintile, and every area's value in the
periods that are some municipality's latest), and `select` picks the chosen areas from that summary and tests them
against the benchmark. `theme_overview` is both in one call. Pure: tables in, a table out; never imports
streamlit. ui.loading caches the summary per data version and the selection per choice; the PDF report calls
`theme_overview`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from indicators.catalogue import Indicator
from indicators.comparison import interval_method
from indicators.statistics import (
    NOT_COMPARED,
    byar_interval,
    compare_to_benchmark,
    quintiles,
    small_number,
    wilson_interval,
)

BENCHMARK, NO_DATA = "benchmark", "no_data"
UP, DOWN, FLAT = "up", "down", "flat"
COLUMNS = ["indicator", "region", "period", "value", "previous_period", "previous_value", "status", "trend",
           "method", "lower", "upper", "small", "benchmark_value"]
_CELL_COLUMNS = ["indicator", "region", "period", "value", "numerator", "denominator", "previous_period",
                 "previous_value", "trend", "quintile"]


@dataclass(frozen=True)
class Summary:
    """What `select` needs from a theme's tables, for every area: `cells` (each area's latest cell with its value a
    year before and, for a municipality, its quintile), `references` (every area's value in each period that is
    some municipality's latest: the benchmark values) and `methods` (indicator id -> "wilson", "byar", "quintile",
    in the order of the indicators)."""

    cells: pd.DataFrame
    references: pd.DataFrame
    methods: dict[str, str | None]


def theme_overview(indicators: list[Indicator], tables: Mapping[str, pd.DataFrame], municipalities: list[str],
                   benchmark: str) -> pd.DataFrame:
    """Rows `indicator, region, period, value, previous_period, previous_value, status, trend, method, lower, upper,
    small, benchmark_value`: one per indicator (in order) x area (the municipalities, then the benchmark).

    `tables` maps an indicator id to its table (`region, period, value`, and `numerator, denominator` for a ratio);
    an indicator without a table, or with an empty one, gets rows without values (status "no_data"). `method` is
    "wilson", "byar" or "quintile" (how the municipalities' status was found), None without data;
    `benchmark_value` is the benchmark's value in the row's period; `lower`, `upper` the 95 % interval (Wilson,
    Byar) and `small` whether it rests on fewer than ten events."""
    return select(summarise(indicators, tables), indicators, municipalities, benchmark)


def summarise(indicators: list[Indicator], tables: Mapping[str, pd.DataFrame]) -> Summary:
    cells, references, methods = [], [], {}
    for indicator in indicators:
        table = tables.get(indicator.id)
        if table is None or table.empty:
            methods[indicator.id] = None
            continue
        latest, reference, method = _summarise_one(indicator, table)
        cells.append(latest)
        references.append(reference)
        methods[indicator.id] = method
    cells_frame = pd.concat(cells, ignore_index=True) if cells else pd.DataFrame(columns=_CELL_COLUMNS)
    reference_frame = (pd.concat(references, ignore_index=True) if references
                       else pd.DataFrame(columns=["indicator", "region", "period", "value"]))
    return Summary(cells_frame, reference_frame, methods)


def select(summary: Summary, indicators: list[Indicator], municipalities: list[str], benchmark: str
           ) -> pd.DataFrame:
    """The chosen municipalities and the benchmark from a summary, each municipality tested against the benchmark
    (see the module docstring); one row per indicator x area, in order."""
    municipalities = [code for code in dict.fromkeys(municipalities) if code != benchmark]
    areas = [*municipalities, benchmark]
    # A dozen areas: pick their rows vectorised, then assemble the few cells as plain values (pandas' per-call cost
    # would otherwise be most of the time).
    cells = summary.cells
    chosen = cells[cells["region"].isin(areas).to_numpy()]
    found = {(row["indicator"], row["region"]): row for row in chosen.to_dict("records")}
    references = summary.references
    references = references[(references["region"] == benchmark).to_numpy()]
    reference = dict(zip(zip(references["indicator"].tolist(), references["period"].tolist()),
                         references["value"].tolist()))
    empty: dict = {}
    records = []
    for indicator in indicators:
        method = summary.methods.get(indicator.id)
        for code in areas:
            row = found.get((indicator.id, code), empty)
            value = row.get("value", np.nan)
            period = row.get("period") if not _missing(value) else None
            status = NO_DATA if _missing(value) else BENCHMARK if code == benchmark else None
            if status is None and method == "quintile":
                quintile = row.get("quintile", np.nan)
                status = NOT_COMPARED if _missing(quintile) else f"q{int(quintile)}"
            records.append({
                "indicator": indicator.id, "region": code, "period": period, "value": value,
                "previous_period": row.get("previous_period") if period else None,
                "previous_value": row.get("previous_value", np.nan), "status": status,
                "trend": row.get("trend") if row.get("trend") in (UP, DOWN, FLAT) else None, "method": method,
                "lower": np.nan, "upper": np.nan, "small": False,
                "benchmark_value": reference.get((indicator.id, period), np.nan) if period else np.nan,
                "numerator": row.get("numerator", np.nan), "denominator": row.get("denominator", np.nan),
            })
    by_id = {indicator.id: indicator for indicator in indicators}
    for method in ("wilson", "byar"):
        tested = [record for record in records if record["status"] is None and record["method"] == method]
        if not tested:
            continue
        scales = np.array([by_id[record["indicator"]].formula.scale for record in tested], dtype="float64")
        numerators = np.array([record["numerator"] for record in tested], dtype="float64")
        denominators = np.array([record["denominator"] for record in tested], dtype="float64")
        if method == "wilson":
            low, high = wilson_interval(numerators, denominators)
        else:  # Byar's limits scale linearly, so one call with scale 1 serves every indicator's own scale
            low, high = byar_interval(numerators, denominators, 1.0)
        low, high = np.asarray(low) * scales, np.asarray(high) * scales
        small = np.asarray(small_number(np.nan_to_num(numerators)), dtype=bool)
        for record, a, b, few in zip(tested, low.tolist(), high.tolist(), small.tolist()):
            record["lower"], record["upper"], record["small"] = a, b, few
            record["status"] = compare_to_benchmark(record["value"], a, b, record["benchmark_value"],
                                                    by_id[record["indicator"]].polarity)
    for record in records:  # a tested method without data for this area (cannot happen with a value) stays honest
        if record["status"] is None:
            record["status"] = NOT_COMPARED
    frame = pd.DataFrame.from_records(records, columns=[*COLUMNS, "numerator", "denominator"])
    for name in ("period", "previous_period"):
        frame[name] = frame[name].astype("string")
    frame["small"] = frame["small"].astype(bool)
    trend = frame["trend"].astype(object)
    frame["trend"] = trend.where(trend.isin([UP, DOWN, FLAT]), None)
    for name in ("value", "previous_value", "lower", "upper", "benchmark_value"):
        frame[name] = frame[name].astype("float64")
    return frame[COLUMNS]


def _missing(number: object) -> bool:
    return number is None or number is pd.NA or (isinstance(number, float) and np.isnan(number))


def previous_periods(periods: pd.Series) -> pd.Series:
    """The same period a year before: "2023" -> "2022", "2023-10" -> "2022-10"; missing stays missing."""
    text = periods.astype("string")
    years = pd.to_numeric(text.str.slice(0, 4), errors="coerce") - 1
    rest = text.str.slice(4)
    return (years.astype("Int64").astype("string") + rest).where(text.notna())


def shown(values: pd.Series | np.ndarray, decimals: int) -> np.ndarray:
    """Values rounded half away from zero to `decimals`, as a reader sees them (ui.format rounds so)."""
    numbers = np.asarray(values, dtype="float64")
    scale = 10.0 ** decimals
    return np.sign(numbers) * np.floor(np.abs(numbers) * scale + 0.5 + 1e-9) / scale


def trends(values: pd.Series, previous: pd.Series, decimals: int) -> np.ndarray:
    """"up", "down" or "flat" as shown at `decimals`; None where either value is missing."""
    now, before = shown(values, decimals), shown(previous, decimals)
    result = np.where(now > before, UP, np.where(now < before, DOWN, FLAT)).astype(object)
    result[np.isnan(now) | np.isnan(before)] = None
    return result


def _summarise_one(indicator: Indicator, table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    columns = [name for name in ("region", "period", "value", "numerator", "denominator") if name in table]
    rows = table.loc[table["value"].notna().to_numpy(), columns]
    rows = rows.assign(region=rows["region"].astype(str), period=rows["period"].astype(str))
    for name in ("numerator", "denominator"):
        if name not in rows:
            rows[name] = np.nan
    rows = rows.drop_duplicates(["region", "period"], keep="last")
    # Each area's latest period with a value (periods sort as text: "2023" < "2024", "2023-09" < "2023-10").
    latest = rows.sort_values("period", kind="stable").drop_duplicates("region", keep="last").reset_index(drop=True)
    latest["indicator"] = indicator.id
    latest["previous_period"] = previous_periods(latest["period"]).astype(object).where(
        lambda periods: periods.notna(), None)
    by_key = rows.set_index(["region", "period"])["value"]
    latest["previous_value"] = by_key.reindex(
        pd.MultiIndex.from_arrays([latest["region"], latest["previous_period"].astype(object)])).to_numpy()
    latest["trend"] = trends(latest["value"], latest["previous_value"], indicator.decimals)
    municipal = latest["region"].str.startswith("KU").to_numpy()
    method = interval_method(indicator, latest[municipal]) if municipal.any() else "quintile"
    latest["quintile"] = np.nan
    periods = list(dict.fromkeys(latest.loc[municipal, "period"].tolist()))
    if method == "quintile":
        # Each municipality's fifth among all municipalities with a value in its own latest period.
        in_periods = rows[rows["period"].isin(periods).to_numpy() & rows["region"].str.startswith("KU").to_numpy()]
        for period, group in in_periods.groupby("period", sort=False):
            labels = quintiles(pd.Series(group["value"].to_numpy(dtype="float64"), index=group["region"]))
            at = municipal & (latest["period"] == period).to_numpy()
            latest.loc[at, "quintile"] = labels.reindex(latest.loc[at, "region"]).to_numpy(dtype="float64")
    reference = rows[rows["period"].isin(periods).to_numpy()][["region", "period", "value"]]
    reference = reference.assign(indicator=indicator.id)
    return latest[_CELL_COLUMNS], reference, method

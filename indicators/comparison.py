"""Comparison of a group of municipalities with a benchmark for one indicator and period, and their ranking.

Where the indicator is a proportion or a rate with a known numerator and denominator (a ratio formula), each value gets
a 95 % confidence interval (Wilson score for proportions, Byar for rates per population) and is classed better / worse
/ similar by whether the benchmark value lies outside it. Otherwise values are classed by quintile among all
municipalities in that period. Small numerators are flagged, because their intervals are wide and unstable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicators.catalogue import Indicator
from indicators.statistics import (
    byar_interval,
    compare_to_benchmark,
    quintiles,
    round_half_up,
    small_number,
    wilson_interval,
)


def interval_method(indicator: Indicator, rows: pd.DataFrame) -> str:
    has_counts = rows["numerator"].notna().any() and rows["denominator"].notna().any()
    if indicator.formula.type == "ratio" and has_counts and indicator.interval in ("proportion", "rate"):
        return "wilson" if indicator.interval == "proportion" else "byar"
    return "quintile"


def compare_group(table: pd.DataFrame, indicator: Indicator, municipalities: list[str], benchmark: str,
                  period: str) -> tuple[pd.DataFrame, float | None, str]:
    """Rows `region, value, lower, upper, status, small` for the municipalities in `period`, the benchmark value,
    and the method used ("wilson", "byar" or "quintile")."""
    in_period = table[table["period"] == period]
    benchmark_rows = in_period[in_period["region"] == benchmark]
    benchmark_value = float(benchmark_rows["value"].iloc[0]) if len(benchmark_rows) else None
    group = in_period[in_period["region"].isin(municipalities)].set_index("region").reindex(municipalities)
    group = group[group["value"].notna()].reset_index()
    method = interval_method(indicator, group) if not group.empty else "quintile"
    scale = indicator.formula.scale
    if method == "wilson":
        lower, upper = wilson_interval(group["numerator"], group["denominator"])
        group["lower"], group["upper"] = np.asarray(lower) * scale, np.asarray(upper) * scale
    elif method == "byar":
        lower, upper = byar_interval(group["numerator"], group["denominator"], scale)
        group["lower"], group["upper"] = np.asarray(lower), np.asarray(upper)
    else:
        group["lower"] = group["upper"] = np.nan
    if method == "quintile":
        all_municipalities = in_period[in_period["region"].str.startswith("KU")].set_index("region")["value"]
        fifth = quintiles(all_municipalities)
        group["status"] = [f"q{int(fifth[code])}" if code in fifth.index and pd.notna(fifth[code]) else "not_compared"
                           for code in group["region"]]
        group["small"] = False
    else:
        group["status"] = [
            compare_to_benchmark(value, low, high, benchmark_value, indicator.polarity)
            for value, low, high in zip(group["value"], group["lower"], group["upper"])
        ]
        group["small"] = np.asarray(small_number(group["numerator"].fillna(0)), dtype=bool)
    return group[["region", "value", "lower", "upper", "status", "small"]], benchmark_value, method


def ranking(table: pd.DataFrame, indicator: Indicator, regions: list[str], period: str) -> pd.DataFrame:
    """Position of each region among `regions` in `period` (1 = highest value), with the group size. Values that
    are equal as shown (at the indicator's decimals) share a position: two areas both reading 6,8 % are both 2nd,
    and the next is 4th."""
    rows = table[(table["period"] == period) & table["region"].isin(regions) & table["value"].notna()]
    shown = rows["value"].map(lambda value: float(round_half_up(value, indicator.decimals)))
    ranked = rows.assign(position=shown.rank(ascending=False, method="min").astype(int), total=len(rows))
    return ranked.sort_values("position")[["region", "value", "position", "total"]].reset_index(drop=True)

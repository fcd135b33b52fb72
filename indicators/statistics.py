"""Statistics for comparing areas: 95 % confidence intervals, benchmark comparison, quintiles, small-number flags.

The methods follow the public-health practice documented by the UK Fingertips technical guidance (Wilson score for
proportions, Byar's approximation for counts and rates) so that a user of Tiedolla reads "better", "worse" or
"similar" in the same sense as in other indicator services. Everything here is pure: numbers in, numbers or labels out;
scalars, numpy arrays and pandas Series are all accepted, and a Series comes back with its index. Never imports
streamlit.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd

# Two-sided 95 %: the 97.5th percentile of the standard normal distribution, to the precision published tables use.
Z_95 = 1.959964

# Fewer events than this → the estimate is flagged as resting on small numbers. Ten is the threshold the Fingertips
# guidance uses to switch from Byar's approximation to the exact method and below which it does not publish
# standardised rates: under ten events Byar's lower limit drifts from the exact Poisson limit (0.7 % at 5 events,
# 48 % at 1 event; see tests/test_statistics.py) and the intervals become so wide that rankings mean little.
SMALL_NUMBER_THRESHOLD = 10

POLARITIES: tuple[str, ...] = ("higher_better", "lower_better", "neutral")

# Results of compare_to_benchmark. "higher"/"lower" are used instead of "better"/"worse" when the indicator has no
# good direction (polarity "neutral"), e.g. the share of over-65s.
BETTER, WORSE, SIMILAR, NOT_COMPARED, HIGHER, LOWER = "better", "worse", "similar", "not_compared", "higher", "lower"
COMPARISON_RESULTS: tuple[str, ...] = (BETTER, WORSE, SIMILAR, NOT_COMPARED, HIGHER, LOWER)


# --- confidence intervals -----------------------------------------------------------------------------------------


def wilson_interval(events: Any, total: Any, z: float = Z_95) -> tuple[Any, Any]:
    """Wilson score interval (without continuity correction) for the proportion `events / total`.

    Returns `(lower, upper)` as fractions in [0, 1], the same shape as the input: floats for scalars, arrays for
    arrays, Series (with the input's index) for Series. A total of 0 or a missing input gives NaN. Raises ValueError
    for negative events or events above the total, because those are data errors a user must not see as a result.
    """
    events_array, total_array, index = _as_float_arrays(events, total)
    _reject_negative(events_array, "events")
    with np.errstate(invalid="ignore"):
        if np.any(events_array > total_array):
            raise ValueError("wilson_interval: events exceed the total; a proportion cannot be above 1.")

    with np.errstate(divide="ignore", invalid="ignore"):
        proportion = events_array / total_array
        z_squared = z * z
        centre = proportion + z_squared / (2 * total_array)
        spread = z * np.sqrt(proportion * (1 - proportion) / total_array + z_squared / (4 * total_array**2))
        denominator = 1 + z_squared / total_array
        lower = (centre - spread) / denominator
        upper = (centre + spread) / denominator

    # At 0 events or 0 failures the exact bound is 0 or 1; floating point would leave ±1e-17 there.
    lower = np.where(events_array == 0, 0.0, np.clip(lower, 0.0, 1.0))
    upper = np.where(events_array == total_array, 1.0, np.clip(upper, 0.0, 1.0))
    invalid = ~(total_array > 0)  # also catches NaN totals
    lower = np.where(invalid, np.nan, lower)
    upper = np.where(invalid, np.nan, upper)
    return _shape_like(lower, events, index), _shape_like(upper, events, index)


def byar_interval(events: Any, person_base: Any, scale: float = 1.0, z: float = Z_95) -> tuple[Any, Any]:
    """Byar's approximation to the exact Poisson interval, for a rate `events / person_base * scale`.

    With O observed events: lower = O·(1 − 1/(9O) − z/(3√O))³, upper = (O+1)·(1 − 1/(9(O+1)) + z/(3√(O+1)))³,
    each divided by the person base (population or person-years) and multiplied by `scale` (e.g. 1000 for "per 1000
    inhabitants"). For O = 0 the lower limit is 0. Pass `person_base=1` for an interval around the count itself.
    Below SMALL_NUMBER_THRESHOLD events the approximation is rough; flag those values with `small_number`.
    """
    events_array, base_array, index = _as_float_arrays(events, person_base)
    _reject_negative(events_array, "events")

    with np.errstate(divide="ignore", invalid="ignore"):
        lower_count = events_array * (1 - 1 / (9 * events_array) - z / (3 * np.sqrt(events_array))) ** 3
        following = events_array + 1
        upper_count = following * (1 - 1 / (9 * following) + z / (3 * np.sqrt(following))) ** 3
        lower_count = np.where(events_array == 0, 0.0, np.maximum(lower_count, 0.0))
        lower = lower_count / base_array * scale
        upper = upper_count / base_array * scale

    invalid = ~(base_array > 0) | np.isnan(events_array)
    lower = np.where(invalid, np.nan, lower)
    upper = np.where(invalid, np.nan, upper)
    return _shape_like(lower, events, index), _shape_like(upper, events, index)


# --- comparison ---------------------------------------------------------------------------------------------------


def compare_to_benchmark(
    value: float | None,
    lower: float | None,
    upper: float | None,
    benchmark_value: float | None,
    polarity: str,
) -> str:
    """Compare an area's value with a benchmark (region, country) using the area's confidence interval.

    The difference is significant when the benchmark value lies outside [lower, upper]. Returns "better" or "worse"
    for a significant difference on an indicator with a good direction, "higher" or "lower" for one with polarity
    "neutral", "similar" when the benchmark lies inside the interval, and "not_compared" when the value, the interval
    or the benchmark is missing (no interval means no statistical statement, not "similar").
    """
    if polarity not in POLARITIES:
        raise ValueError(f"compare_to_benchmark: unknown polarity {polarity!r}; use one of {', '.join(POLARITIES)}.")
    if any(_is_missing(number) for number in (value, lower, upper, benchmark_value)):
        return NOT_COMPARED
    if lower <= benchmark_value <= upper:  # type: ignore[operator]
        return SIMILAR
    area_is_higher = benchmark_value < lower  # type: ignore[operator]
    if polarity == "neutral":
        return HIGHER if area_is_higher else LOWER
    higher_is_better = polarity == "higher_better"
    return BETTER if area_is_higher == higher_is_better else WORSE


def quintiles(values: Any) -> pd.Series:
    """Quintile labels 1 (lowest fifth) … 5 (highest fifth) for indicators without a denominator.

    Such indicators have no confidence interval, so areas are placed against each other instead of against a
    benchmark. Ties share a quintile (average rank); missing values stay missing (<NA>). Label = ⌈rank · 5 / n⌉ with
    n the number of non-missing values, which also works for fewer than five areas. Returns an Int64 Series with the
    input's index when a Series is given.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype="float64"))
    numbers = pd.to_numeric(series, errors="coerce").astype("float64")
    ranks = numbers.rank(method="average", ascending=True)
    count = int(numbers.notna().sum())
    if count == 0:
        return pd.Series(pd.NA, index=series.index, dtype="Int64")
    labels = np.ceil(ranks * 5 / count).clip(1, 5)
    return labels.astype("Int64")


def small_number(events: Any, threshold: int = SMALL_NUMBER_THRESHOLD) -> Any:
    """True where fewer than `threshold` events underlie the value (see SMALL_NUMBER_THRESHOLD for why ten).

    Missing event counts are not flagged (False): the absence of a count is shown elsewhere, not as "small".
    Returns a bool for a scalar, an array for an array, a Series for a Series.
    """
    events_array = np.asarray(events, dtype="float64")
    flags = np.where(np.isnan(events_array), False, events_array < threshold)
    if isinstance(events, pd.Series):
        return pd.Series(flags, index=events.index, dtype=bool)
    if flags.ndim == 0:
        return bool(flags)
    return flags


# --- helpers ------------------------------------------------------------------------------------------------------


def _is_missing(number: float | None) -> bool:
    return number is None or pd.isna(number) or (isinstance(number, float) and math.isinf(number))


def _as_float_arrays(first: Any, second: Any) -> tuple[np.ndarray, np.ndarray, pd.Index | None]:
    index = next((item.index for item in (first, second) if isinstance(item, pd.Series)), None)
    return _to_float_array(first), _to_float_array(second), index


def _to_float_array(values: Any) -> np.ndarray:
    if isinstance(values, pd.Series):
        values = pd.to_numeric(values, errors="coerce")
    return np.asarray(values, dtype="float64")


def _reject_negative(array: np.ndarray, name: str) -> None:
    with np.errstate(invalid="ignore"):
        if np.any(array < 0):
            raise ValueError(f"{name} must not be negative.")


def _shape_like(result: np.ndarray, template: Any, index: pd.Index | None) -> Any:
    if index is not None:
        return pd.Series(result, index=index, dtype="float64")
    if np.ndim(result) == 0:
        return float(result)
    return result


def round_half_up(number: float, decimals: int) -> Decimal:
    """A number rounded as statistical tables round what a reader sees: half up from its decimal form. repr() gives
    the shortest decimal that round-trips, so 8.05 is rounded as the 8.05 a reader sees, not as the binary 8.04999…
    that would round down."""
    return Decimal(repr(float(number))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)

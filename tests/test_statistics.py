"""Confidence intervals, benchmark comparison, quintiles and small-number flags against published worked examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, strategies as st

from indicators.statistics import (
    SMALL_NUMBER_THRESHOLD,
    byar_interval,
    compare_to_benchmark,
    quintiles,
    small_number,
    wilson_interval,
)

# Opens no warehouse (or only the bundled snapshot's files): the PostgreSQL run leaves it out.
pytestmark = pytest.mark.no_warehouse

# --- Wilson -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "total", "lower", "upper"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0000, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_matches_newcombe_1998_worked_examples(events, total, lower, upper):
    """Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of seven methods.
    Statistics in Medicine 1998;17:857-872, Table I, method 3 (score method without continuity correction).
    The paper's illustrative proportions with their limits to four decimals; 81/263 is also the example that SAS
    users reproduce with PROC FREQ binomial(all) (J. Hu, "Confidence intervals for binomial proportion using SAS",
    2012)."""
    computed_lower, computed_upper = wilson_interval(events, total)
    assert computed_lower == pytest.approx(lower, abs=5e-5)
    assert computed_upper == pytest.approx(upper, abs=5e-5)


def test_wilson_is_vectorised_and_keeps_the_series_index():
    events = pd.Series([81, 15, 0], index=["KU098", "KU109", "KU111"])
    totals = pd.Series([263, 148, 20], index=events.index)
    lower, upper = wilson_interval(events, totals)
    assert list(lower.index) == ["KU098", "KU109", "KU111"]
    assert lower.round(4).tolist() == [0.2553, 0.0624, 0.0]
    assert upper.round(4).tolist() == [0.3662, 0.1605, 0.1611]

    array_lower, _ = wilson_interval(np.array([81, 15]), np.array([263, 148]))
    assert isinstance(array_lower, np.ndarray)
    assert array_lower.round(4).tolist() == [0.2553, 0.0624]


def test_wilson_gives_nan_for_an_empty_or_missing_total_and_exact_bounds_at_the_edges():
    lower, upper = wilson_interval(np.array([0, 3, 5, np.nan]), np.array([0, np.nan, 5, 10]))
    assert np.isnan(lower[0]) and np.isnan(upper[0])
    assert np.isnan(lower[1]) and np.isnan(upper[1])
    assert upper[2] == 1.0  # all events: the upper bound is exactly 1
    assert np.isnan(lower[3])


def test_wilson_refuses_impossible_counts():
    with pytest.raises(ValueError, match="exceed"):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="negative"):
        wilson_interval(-1, 10)


@given(
    total=st.integers(min_value=1, max_value=10_000_000),
    share=st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
)
def test_wilson_interval_contains_the_proportion_and_stays_within_zero_and_one(total, share):
    events = round(share * total)
    lower, upper = wilson_interval(events, total)
    proportion = events / total
    assert 0.0 <= lower <= proportion <= upper <= 1.0


# --- Byar ---------------------------------------------------------------------------------------------------------


def exact_poisson_interval(observed: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) Poisson limits by inverting the Poisson CDF, written independently of the code under test.

    Equivalent to chi2(α/2, 2O)/2 and chi2(1−α/2, 2O+2)/2; computed in log space so that large counts do not
    underflow, and by bisection so no scipy is needed.
    """
    tail = (1 - confidence) / 2

    def cdf(k: int, mean: float) -> float:
        if k < 0:
            return 0.0
        return sum(math.exp(i * math.log(mean) - mean - math.lgamma(i + 1)) for i in range(k + 1))

    def solve(condition, high: float) -> float:
        low = 1e-12
        for _ in range(200):
            middle = (low + high) / 2
            if condition(middle):
                high = middle
            else:
                low = middle
        return (low + high) / 2

    ceiling = observed + 20 * math.sqrt(observed + 1) + 20
    lower = 0.0 if observed == 0 else solve(lambda mean: 1 - cdf(observed - 1, mean) >= tail, ceiling)
    upper = solve(lambda mean: cdf(observed, mean) <= tail, ceiling)
    return lower, upper


def test_reference_exact_interval_reproduces_published_poisson_limits():
    """Guard the reference itself before using it: the exact 95 % limits for 0 events (upper 3.689, printed in the
    documentation of R epitools::pois.exact) and for 10 events (4.795 to 18.390, the value tabulated in standard
    Poisson confidence-limit tables)."""
    assert exact_poisson_interval(0)[1] == pytest.approx(3.689, abs=5e-4)
    lower, upper = exact_poisson_interval(10)
    assert lower == pytest.approx(4.795, abs=5e-4)
    assert upper == pytest.approx(18.390, abs=5e-4)


def test_byar_stays_within_two_tenths_of_a_percent_of_the_exact_interval_from_ten_events():
    """PHE Public Health Data Science, "Technical Guide: Confidence Intervals" (2018): for 95 % intervals Byar's
    method is within 0.2 % of the exact value for numerators of 10 or more; the formula is the one on the Fingertips
    technical guidance page "Rates" (Breslow & Day 1987). Checked here against the independent exact computation."""
    for observed in [10, 11, 15, 20, 50, 65, 100, 250, 500]:
        lower, upper = byar_interval(observed, 1)
        exact_lower, exact_upper = exact_poisson_interval(observed)
        assert abs(lower - exact_lower) / exact_lower < 0.002, observed
        assert abs(upper - exact_upper) / exact_upper < 0.002, observed


def test_byar_for_five_events_gives_the_values_of_the_formula():
    """O = 5 worked through by hand from the Fingertips formula with z = 1.959964:
    5·(1 − 1/45 − z/(3√5))³ = 1.6113 and 6·(1 − 1/54 + z/(3√6))³ = 11.6682. The exact limits are 1.6235 and
    11.6683, so the upper limit agrees to four digits while the lower one is 0.75 % low, which is why counts under
    ten are flagged as small numbers."""
    lower, upper = byar_interval(5, 1)
    assert lower == pytest.approx(1.6113, abs=1e-4)
    assert upper == pytest.approx(11.6682, abs=1e-4)
    exact_lower, exact_upper = exact_poisson_interval(5)
    assert exact_lower == pytest.approx(1.6235, abs=1e-4)
    assert exact_upper == pytest.approx(11.6683, abs=1e-4)


def test_byar_scales_a_count_interval_to_a_rate_per_population():
    lower, upper = byar_interval(65, 40_000, scale=1000)  # 65 events among 40 000 inhabitants, per 1000
    count_lower, count_upper = byar_interval(65, 1)
    assert lower == pytest.approx(count_lower / 40_000 * 1000)
    assert upper == pytest.approx(count_upper / 40_000 * 1000)
    assert lower < 65 / 40_000 * 1000 < upper


def test_byar_lower_limit_is_zero_for_no_events_and_missing_bases_give_nan():
    lower, upper = byar_interval(np.array([0, 4, 4]), np.array([1000, 0, np.nan]), scale=1000)
    assert lower[0] == 0.0
    assert upper[0] == pytest.approx(3.668, abs=1e-3)  # Byar's upper for 0 events; exact is 3.689
    assert np.isnan(lower[1]) and np.isnan(upper[2])


def test_byar_keeps_the_series_index():
    events = pd.Series([12, 30], index=["KU098", "KU398"])
    lower, upper = byar_interval(events, pd.Series([23_000, 120_000], index=events.index), scale=1000)
    assert list(lower.index) == ["KU098", "KU398"]
    assert (lower < events / pd.Series([23_000, 120_000], index=events.index) * 1000).all()


@given(st.integers(min_value=0, max_value=1_000_000))
def test_byar_interval_contains_the_observed_count(observed):
    lower, upper = byar_interval(observed, 1)
    assert 0 <= lower <= observed < upper


# --- comparison ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "lower", "upper", "benchmark", "polarity", "expected"),
    [
        # Hollola 8.1 % (7.2–9.0) against Päijät-Häme 10.2 %: the benchmark is above the interval.
        (8.1, 7.2, 9.0, 10.2, "lower_better", "better"),
        (8.1, 7.2, 9.0, 10.2, "higher_better", "worse"),
        (8.1, 7.2, 9.0, 10.2, "neutral", "lower"),
        (12.0, 11.0, 13.0, 10.2, "lower_better", "worse"),
        (12.0, 11.0, 13.0, 10.2, "higher_better", "better"),
        (12.0, 11.0, 13.0, 10.2, "neutral", "higher"),
        # Benchmark inside the interval, including exactly on a limit: not significant.
        (9.5, 8.0, 11.0, 10.2, "lower_better", "similar"),
        (9.5, 8.0, 10.2, 10.2, "higher_better", "similar"),
        (9.5, 8.0, 11.0, 10.2, "neutral", "similar"),
        # Nothing to compare with: no interval, no value or no benchmark.
        (8.1, None, None, 10.2, "lower_better", "not_compared"),
        (8.1, float("nan"), 9.0, 10.2, "lower_better", "not_compared"),
        (None, 7.2, 9.0, 10.2, "higher_better", "not_compared"),
        (8.1, 7.2, 9.0, None, "neutral", "not_compared"),
    ],
)
def test_compare_to_benchmark_rules(value, lower, upper, benchmark, polarity, expected):
    assert compare_to_benchmark(value, lower, upper, benchmark, polarity) == expected


def test_compare_to_benchmark_refuses_an_unknown_polarity():
    with pytest.raises(ValueError, match="polarity"):
        compare_to_benchmark(1.0, 0.5, 1.5, 2.0, "up")


# --- quintiles and small numbers ----------------------------------------------------------------------------------


def test_quintiles_label_ten_areas_two_per_fifth_from_the_lowest():
    values = pd.Series([5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 10.0, 4.0, 8.0, 6.0], index=[f"KU{n:03d}" for n in range(10)])
    labels = quintiles(values)
    assert list(labels.index) == list(values.index)
    assert labels.tolist() == [3, 1, 5, 2, 4, 1, 5, 2, 4, 3]


def test_quintiles_keep_missing_values_missing_and_put_ties_together():
    labels = quintiles([1.0, 2.0, 2.0, None, 5.0, 6.0])
    assert labels.dtype == "Int64"
    assert pd.isna(labels.iloc[3])
    assert labels.iloc[1] == labels.iloc[2]
    assert labels.iloc[0] == 1 and labels.iloc[5] == 5


def test_quintiles_work_with_fewer_than_five_values_and_with_none():
    assert quintiles([4.0, 1.0]).tolist() == [5, 3]
    assert quintiles([None, None]).isna().all()


def test_small_number_flags_fewer_than_ten_events():
    assert SMALL_NUMBER_THRESHOLD == 10
    assert small_number(9) is True
    assert small_number(10) is False
    flags = small_number(pd.Series([0, 9, 10, None], index=list("abcd")))
    assert flags.tolist() == [True, True, False, False]
    assert small_number(np.array([3, 30]), threshold=5).tolist() == [True, False]

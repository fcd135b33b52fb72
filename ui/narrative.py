"""Plain-language summaries of the numbers on a page: a comparison, a trend and a ranking, in the user's language.

Pages hand over plain values (names, numbers, unit, decimals, polarity and the result of
`indicators.statistics.compare_to_benchmark`) and get back one or two sentences. All wording comes from the
`narrative.*` keys in `ui/locales/<lang>/narrative.toml` through `ui.i18n.t`; numbers are formatted with Babel for
`fi_FI`, `sv_FI` or `en_GB`. The Finnish sentences are built so that region and indicator names stay in the basic form
("Hollola: työttömyysaste 8,1 % on alempi kuin vertailualueella Päijät-Häme (10,2 %).") because names cannot be
inflected reliably by a program. Never imports streamlit.
"""

from __future__ import annotations

import math

from ui.format import (  # noqa: F401  (format_* are part of this module's interface for callers and tests)
    NBSP,
    PERCENT,
    format_change,
    format_number,
    format_ordinal,
    format_period,
    format_period_range,
    format_value,
    language_or_default as _lang,
    round_half_up as _round_half_up,
)
from ui.i18n import t

SIGNIFICANT_RESULTS = {"better", "worse", "higher", "lower"}


# --- summaries ----------------------------------------------------------------------------------------------------


def comparison_text(
    region_name: str,
    indicator_name: str,
    value: float | None,
    benchmark_name: str,
    benchmark_value: float | None,
    unit: str,
    decimals: int,
    comparison: str,
    lang: str | None = None,
) -> str:
    """Compare an area with a benchmark area in words.

    `comparison` is the result of `compare_to_benchmark`: "better", "worse", "higher", "lower" (significant),
    "similar" (not significant) or "not_compared" (no interval). The first sentence says which value is higher; the
    second says whether the difference is statistically significant and, for an indicator with a good direction,
    whether the area is better or worse off. A missing value or benchmark value gives a sentence saying so.
    """
    language = _lang(lang)
    names = {"region": region_name, "indicator": indicator_name, "benchmark": benchmark_name}
    if _missing(value):
        return t("narrative.comparison.value_missing", language, **names)
    shown_value = format_value(value, unit, decimals, language)  # type: ignore[arg-type]
    if _missing(benchmark_value):
        return t("narrative.comparison.benchmark_missing", language, value=shown_value, **names)

    significant = comparison in SIGNIFICANT_RESULTS
    direction = _direction(value, benchmark_value, decimals, significant=significant)  # type: ignore[arg-type]
    first = t(
        f"narrative.comparison.{direction}",
        language,
        value=shown_value,
        benchmark_value=format_value(benchmark_value, unit, decimals, language),  # type: ignore[arg-type]
        **names,
    )
    if comparison in ("better", "worse"):
        second = t(f"narrative.comparison.significant_{comparison}", language)
    elif comparison in ("higher", "lower"):
        second = t("narrative.comparison.significant", language)
    elif comparison == "similar":
        second = t("narrative.comparison.not_significant", language)
    else:
        second = t("narrative.comparison.no_interval", language)
    return f"{first} {second}"


def trend_text(
    region_name: str,
    indicator_name: str,
    start_period: str,
    start_value: float | None,
    end_period: str,
    end_value: float | None,
    unit: str,
    decimals: int,
    polarity: str = "neutral",
    lang: str | None = None,
) -> str:
    """The latest value and the change over the period, with the direction in words.

    The change is measured in the indicator's unit (percentage points for a percentage) and called unchanged when it
    rounds to zero at the indicator's decimals. For an indicator with a good direction ("higher_better",
    "lower_better") a last sentence says whether the change went the favourable way; this is a description, not a
    significance test.
    """
    language = _lang(lang)
    names = {"region": region_name, "indicator": indicator_name}
    if _missing(end_value):
        return t("narrative.trend.insufficient", language, **names)
    latest = t(
        "narrative.trend.latest",
        language,
        value=format_value(end_value, unit, decimals, language),  # type: ignore[arg-type]
        period=format_period(end_period, language),
        **names,
    )
    if _missing(start_value):
        return f"{latest} {t('narrative.trend.no_start', language)}"

    change = float(end_value) - float(start_value)  # type: ignore[arg-type]
    period_range = format_period_range(start_period, end_period, language)
    if _round_half_up(change, decimals) == 0:
        return f"{latest} {t('narrative.trend.unchanged', language, range=period_range)}"

    direction = "up" if change > 0 else "down"
    shown_change = format_change(change, unit, decimals, language)
    sentences = [latest, t(f"narrative.trend.{direction}", language, change=shown_change, range=period_range)]
    if polarity in ("higher_better", "lower_better"):
        favourable = (change > 0) == (polarity == "higher_better")
        sentences.append(t("narrative.trend.favourable" if favourable else "narrative.trend.unfavourable", language))
    return " ".join(sentences)


def ranking_text(
    region_name: str,
    indicator_name: str,
    value: float | None,
    position: int | None,
    total: int,
    unit: str,
    decimals: int,
    lang: str | None = None,
) -> str:
    """The area's place among `total` areas, counted from the highest value (position 1 = highest)."""
    language = _lang(lang)
    names = {"region": region_name, "indicator": indicator_name}
    if _missing(value) or position is None or total < 1:
        return t("narrative.ranking.missing", language, **names)
    values = {
        "value": format_value(value, unit, decimals, language),  # type: ignore[arg-type]
        "total": format_number(total, 0, language),
        "ordinal": format_ordinal(position, language),
        **names,
    }
    if total == 1:
        return t("narrative.ranking.only", language, **values)
    if position == 1:
        return t("narrative.ranking.highest", language, **values)
    if position == total:
        return t("narrative.ranking.lowest", language, **values)
    return t("narrative.ranking.position", language, **values)


# --- helpers ------------------------------------------------------------------------------------------------------


def _missing(number: float | None) -> bool:
    if number is None:
        return True
    try:
        return math.isnan(float(number))
    except (TypeError, ValueError):
        return True


def _direction(value: float, benchmark_value: float, decimals: int, *, significant: bool) -> str:
    """"higher", "lower" or "same" as the reader sees the rounded numbers; a significant difference that vanishes in
    rounding still takes its direction from the unrounded values, so the text never calls a significant gap "same"."""
    shown_difference = float(_round_half_up(value, decimals) - _round_half_up(benchmark_value, decimals))
    if shown_difference == 0 and significant:
        shown_difference = float(value) - float(benchmark_value)
    if shown_difference > 0:
        return "higher"
    if shown_difference < 0:
        return "lower"
    return "same"

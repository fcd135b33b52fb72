"""Peer municipalities: the municipalities most like a given one, by a rule a reader can check.

Three steps, each on published data:
1. the same statistical municipality group (Statistics Finland's urban / semi-urban / rural grouping, in the region
   key), because the group already separates cities from rural municipalities;
2. a population within a size band (half to double the municipality's own), because services scale with size;
3. of those, the nearest on a few key figures, each standardised over all municipalities (z-scores), so that no
   figure weighs more because of its unit.
Where the first two steps leave too few, the size band is dropped before the group is, and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Key figures for likeness: the labour market, the age structure's burden, and growth or decline.
PEER_FIGURES = ("unemployment_rate_annual", "economic_dependency", "population_change")
SIZE_BAND = 2.0  # population from 1/2 to 2 times the municipality's own
PEER_COUNT = 10  # the municipality itself and its nine nearest peers
MIN_CANDIDATES = 5


@dataclass(frozen=True)
class Peers:
    anchor: str
    members: list[str]  # the anchor first, then the peers from nearest
    group: str  # the statistical municipality group's code (KR…)
    population_band: tuple[float, float] | None  # None when the band was dropped for lack of candidates
    figures: pd.DataFrame  # the key figures of the members, index = region, one column per figure


def latest_values(table: pd.DataFrame) -> pd.Series:
    """Each municipality's value in the newest period that most municipalities have (so all are compared on the
    same year), index = region."""
    municipal = table[table["region"].astype(str).str.startswith("KU") & table["value"].notna()]
    if municipal.empty:
        return pd.Series(dtype=float)
    counts = municipal.groupby("period")["region"].nunique()
    period = counts[counts >= counts.max() * 0.9].index.max()
    return municipal[municipal["period"] == period].set_index("region")["value"]


def similar_municipalities(anchor: str, groups: pd.Series, population: pd.Series, figures: pd.DataFrame,
                           count: int = PEER_COUNT) -> Peers:
    """The `count` municipalities most like `anchor` (itself included, first). `groups`: municipality → group code;
    `population`: municipality → inhabitants; `figures`: municipality × key figure, for every municipality."""
    group = str(groups.get(anchor, ""))
    candidates = groups.index[groups == group] if group else groups.index
    band = None
    own_population = population.get(anchor)
    if own_population is not None and not pd.isna(own_population):
        band = (float(own_population) / SIZE_BAND, float(own_population) * SIZE_BAND)
        in_band = [code for code in candidates
                   if code in population.index and band[0] <= population[code] <= band[1]]
        if len(in_band) >= MIN_CANDIDATES:
            candidates = pd.Index(in_band)
        else:
            band = None
    complete = figures.dropna()
    scaled = (complete - complete.mean()) / complete.std(ddof=0).replace(0, np.nan)
    scaled = scaled.fillna(0.0)
    pool = [code for code in candidates if code in scaled.index and code != anchor]
    if anchor in scaled.index:
        distance = np.sqrt(((scaled.loc[pool] - scaled.loc[anchor]) ** 2).sum(axis=1))
        nearest = distance.sort_values(kind="stable").index.tolist()
    else:  # no key figures for the municipality itself: the nearest in size within the group
        nearest = sorted(pool, key=lambda code: abs(population.get(code, np.inf) - (own_population or 0)))
    members = [anchor, *nearest[: count - 1]]
    return Peers(anchor, members, group, band, figures.reindex(members))

"""Peer municipalities: the rule (same group, size band, nearest on standardised key figures) on constructed data,
and the compare page's "similar municipalities" group on the real bundled data, with its rule on screen."""

from __future__ import annotations

import pandas as pd
import pytest

from indicators.peers import latest_values, similar_municipalities
from tests.test_share import open_link

# Constructed fixture: eight municipalities in two groups; KU001's nearest by the figures is KU003, then KU002.
GROUPS = pd.Series({"KU001": "KR1", "KU002": "KR1", "KU003": "KR1", "KU004": "KR1", "KU005": "KR1",
                    "KU006": "KR1", "KU007": "KR2", "KU008": "KR1"})
POPULATION = pd.Series({"KU001": 10_000, "KU002": 12_000, "KU003": 9_000, "KU004": 8_000, "KU005": 15_000,
                        "KU006": 19_000, "KU007": 10_000, "KU008": 90_000})
FIGURES = pd.DataFrame({"a": [5.0, 7.0, 5.1, 9.0, 8.0, 6.0, 5.0, 5.0], "b": [50, 55, 51, 40, 60, 45, 50, 50]},
                       index=[f"KU00{n}" for n in range(1, 9)])


@pytest.mark.no_warehouse
def test_peers_share_the_group_and_the_size_band_and_come_nearest_first():
    peers = similar_municipalities("KU001", GROUPS, POPULATION, FIGURES, count=4)
    assert peers.members[0] == "KU001"
    # KU007 has identical figures but another group; KU008 identical figures but nine times the population.
    assert "KU007" not in peers.members and "KU008" not in peers.members
    assert peers.members[1] == "KU003"
    assert peers.population_band == (5_000, 20_000) and peers.group == "KR1"


@pytest.mark.no_warehouse
def test_too_few_in_the_size_band_drops_the_band_and_says_so():
    peers = similar_municipalities("KU008", GROUPS, POPULATION, FIGURES, count=3)
    assert peers.population_band is None
    assert peers.members[0] == "KU008" and "KU007" not in peers.members


def test_the_similar_group_on_the_compare_page_explains_its_rule_with_real_data():
    at = open_link({"municipalities": "Hollola", "group": "similar", "indicator": "unemployment_rate_annual"})
    assert not at.exception
    rule = next(info.value for info in at.info if "Samankaltaiset kunnat kuin Hollola" in info.value)
    assert "tilastollinen kuntaryhmä" in rule and "asukasluku" in rule
    from ui import loading  # the same peers the page drew, to check each member against the rule

    peers = loading.peers("KU098")
    assert peers.members[0] == "KU098" and len(peers.members) == 10
    registry = loading.regions()
    assert {registry.parent(code, "municipality_group") for code in peers.members} == {peers.group}
    assert registry.name(peers.group, "fi") in rule
    population = latest_values(loading.indicator_table(loading.catalogue().indicators["population"]))
    low, high = peers.population_band
    assert all(low <= population[code] <= high for code in peers.members)
    # The comparison covers the peers: the chart's header names the indicator and each peer shows in the ranking.
    ranking = " ".join(markdown.value for markdown in at.markdown)
    for code in peers.members[1:4]:
        assert registry.name(code, "fi") in ranking

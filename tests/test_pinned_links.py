"""Links that pin the data they show (`asof=<vintage>`), run through the real app with AppTest.

The warehouse is seeded from the bundled snapshot (real data, vintages 1..N), then a CONSTRUCTED revision changes one
value (Hollola's unemployed in October 2023, +100 persons), as a refresh would. A link pinned before the revision
must keep showing the original numbers, say so, and offer the latest; a plain link shows the revision.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from sources.contract import SeriesData
from sources.settings import get_settings
from sources.warehouse import open_warehouse
from tests.apptest_helpers import APP_FILE, APP_TIMEOUT_S, run_app

HOLLOLA, PERIOD, SERIES = "KU098", "2023-10", "snapshot.unemployed"


@pytest.fixture(scope="module")
def revised_warehouse(tmp_path_factory):
    """A seeded warehouse with one later, constructed revision; returns (location, pinned vintage, latest)."""
    from sources.snapshot import seed_warehouse

    location = str(tmp_path_factory.mktemp("pinned") / "warehouse")
    settings = get_settings().model_copy(update={"warehouse_dir": location, "warehouse_url": ""})
    with open_warehouse(location) as store:
        seed_warehouse(settings, store)
        pinned = store.latest_vintage_id()
        frame, meta = store.read([SERIES]), store.metadata(SERIES)
        row = (frame["region"] == HOLLOLA) & (frame["period"] == PERIOD)
        frame.loc[row, "value"] += 100  # constructed revision, not real data
        latest = store.write(SeriesData(meta["info"], frame, meta["provenance"])).vintage
    return location, pinned, latest


@pytest.fixture(autouse=True)
def use_revised_warehouse(isolated_settings, revised_warehouse, monkeypatch):
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_DIR", revised_warehouse[0])
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_URL", "")  # this module's own local warehouse, whatever the test backend
    get_settings.cache_clear()


def open_employment(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP_FILE, default_timeout=APP_TIMEOUT_S)
    for key, value in query.items():
        at.query_params[key] = value
    at._page_hash = calc_hash("employment")
    return at.run()


def hollola_rate(at: AppTest) -> str:
    return next(metric.value for metric in at.metric if metric.label == "Hollola")


def sidebar_captions(at: AppTest) -> list[str]:
    return [caption.value for caption in at.sidebar.caption]


def test_a_pinned_link_shows_the_numbers_of_its_vintage_and_says_so(revised_warehouse):
    _, pinned, latest = revised_warehouse
    plain, old = open_employment({}), open_employment({"asof": str(pinned)})
    assert not plain.exception and not old.exception
    # The key figure of Hollola differs: the pinned view keeps the number the link was shared with.
    assert hollola_rate(old) == "6,8\xa0%"  # a no-break space before the per cent sign
    assert hollola_rate(plain) != hollola_rate(old)
    notice = [info.value for info in old.info if "tietoversio" in info.value]
    assert notice and notice[0].startswith("Näytetään tiedot") and f"tietoversio {pinned}" in notice[0]
    assert not [info.value for info in plain.info if "Näytetään tiedot" in info.value]
    assert any(f"Tietoversio {pinned}" in caption and "kiinnittämä" in caption for caption in sidebar_captions(old))
    assert any(f"Tietoversio {latest}" in caption and "uusin" in caption for caption in sidebar_captions(plain))
    assert old.query_params["asof"] == str(pinned)  # the address keeps the pin


def test_a_pinned_panel_lists_the_values_revised_since(revised_warehouse):
    _, pinned, _ = revised_warehouse
    at = open_employment({"asof": str(pinned)})
    revised = [expander for expander in at.expander if "tarkentunut" in expander.label]
    assert revised, [expander.label for expander in at.expander]
    table = revised[0].dataframe[0].value
    assert "Hollola" in set(table.iloc[:, 0])
    assert "lokakuu 2023" in set(table.iloc[:, 1])


def test_show_latest_leaves_the_pin_and_the_address(revised_warehouse):
    _, pinned, latest = revised_warehouse
    at = open_employment({"asof": str(pinned)})
    at.button(key="show_latest").click().run()
    assert not at.exception
    assert "asof" not in at.query_params
    assert not [info.value for info in at.info if "Näytetään tiedot" in info.value]
    assert any(f"Tietoversio {latest}" in caption for caption in sidebar_captions(at))


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "99999999", "1e3", "3; DROP TABLE vintages", "[x](javascript:1)",
                                 "9" * 40])
def test_an_unknown_or_tampered_asof_gives_a_notice_and_the_latest_data(revised_warehouse, raw):
    _, _, latest = revised_warehouse
    at = open_employment({"asof": raw})
    assert not at.exception
    warnings = [warning.value for warning in at.warning]
    notice = [warning for warning in warnings if "tietoversiota" in warning and "uusimmat" in warning]
    assert notice, warnings
    assert "`" in notice[0]  # the link's value is shown inert, as a code span: no link or formatting renders
    assert any(f"Tietoversio {latest}" in caption for caption in sidebar_captions(at))
    assert "asof" not in at.query_params


def test_the_offered_share_link_pins_the_vintage_shown(revised_warehouse):
    _, pinned, latest = revised_warehouse
    at = run_app()
    at._page_hash = calc_hash("compare")
    at.run()
    assert f"asof={latest}" in at.code[-1].value
    pinned_view = open_employment({"asof": str(pinned)})
    pinned_view._page_hash = calc_hash("compare")
    pinned_view.run()
    assert f"asof={pinned}" in pinned_view.code[-1].value  # sharing a pinned view passes its pin on


def test_about_lists_the_vintages_with_what_changed(revised_warehouse):
    _, _, latest = revised_warehouse
    at = run_app()
    at._page_hash = calc_hash("about")
    at.run()
    assert not at.exception
    assert "Mitä tiedoissa on muuttunut" in [header.value for header in at.header]
    tables = [frame.value for frame in at.dataframe if "Tietoversio" in frame.value.columns]
    assert tables
    newest = tables[0].iloc[0]
    assert newest["Tietoversio"] == latest
    assert newest["Muuttuneita arvoja"] == 1 and newest["Poistuneet arvot"] == 0
    assert SERIES in newest["Tietosarja"]

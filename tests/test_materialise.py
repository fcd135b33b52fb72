"""Materialised indicators (indicators/materialise.py): computed once per data version when data change, kept with
the warehouse on both backends, and only read by a fresh process; a missing, corrupt or stale table is computed
again, never an error.

The warehouses hold the real bundled snapshot (or a part of it). Where a test changes data or stored tables, the
change is CONSTRUCTED and says so: a revised value, garbage bytes, a theme file with an edited formula.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pandas as pd
import psycopg
import pytest
import streamlit as st

from indicators import materialise
from indicators.catalogue import THEMES_DIR, get_catalogue, load_catalogue
from indicators.formulas import Engine
from indicators.overview import Summary, select, summarise, theme_overview
from sources.contract import SeriesData
from sources.settings import get_settings
from sources.snapshot import SnapshotAdapter, seed_warehouse
from sources.warehouse import WarehouseError, WarehouseReadOnly, open_warehouse
from tests.apptest_helpers import open_page, run_app
from tests.test_refresh import Service
from tests.test_warehouse_pg import as_role, login_role
from ui import loading

EMPLOYMENT_SERIES = ["snapshot.unemployed", "snapshot.labour_force", "snapshot.vacancies"]
HOLLOLA = "KU098"
DIGEST = "0123456789abcdef0123456789abcdef"
# Tests that choose their backends themselves: the PostgreSQL run of the suite has nothing to add to them.
ONE_BACKEND = pytest.mark.no_warehouse


# --- fixtures -------------------------------------------------------------------------------------------------------


@pytest.fixture
def computes(monkeypatch) -> list[str]:
    """The ids of the indicators the formula engine computes during the test."""
    seen: list[str] = []
    original = Engine.compute

    def counted(self, indicator, regions):
        seen.append(indicator.id)
        return original(self, indicator, regions)

    monkeypatch.setattr(Engine, "compute", counted)
    return seen


@pytest.fixture
def summarises(monkeypatch) -> list[str]:
    """The ids of the themes whose overview is summarised from the tables during the test."""
    seen: list[str] = []
    original = materialise.summarise
    by_indicators = {tuple(i.id for i in theme.indicators): theme.id for theme in get_catalogue().themes}

    def counted(indicators, tables):
        seen.append(by_indicators.get(tuple(i.id for i in indicators), "?"))
        return original(indicators, tables)

    monkeypatch.setattr(materialise, "summarise", counted)
    return seen


def fresh_process_caches() -> None:
    """What a new process starts with: no Streamlit caches, no open warehouse objects or memos of the old one."""
    st.cache_data.clear()
    st.cache_resource.clear()
    for store in loading._open.values():  # closed, so no connection pool is left to the garbage collector
        store.close()
    loading._open.clear()
    loading._seeded.clear()
    loading._version_memo.clear()


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory) -> Path:
    """The whole bundled snapshot seeded once into a local warehouse, materialised by the seeding."""
    location = tmp_path_factory.mktemp("materialised") / "warehouse"
    settings = get_settings().model_copy(update={"warehouse_dir": str(location), "warehouse_url": ""})
    with open_warehouse(location) as store:
        assert seed_warehouse(settings, store)
    return location


@pytest.fixture
def seeded(seeded_template, tmp_path, monkeypatch):
    """A copy of the seeded warehouse as this test's local warehouse, opened by a "fresh process"."""
    location = tmp_path / "seeded"
    shutil.copytree(seeded_template, location)
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_DIR", str(location))
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_URL", "")  # this module's own local copy, whatever the test backend
    get_settings.cache_clear()
    fresh_process_caches()
    with open_warehouse(location) as store:
        yield store
    fresh_process_caches()


@pytest.fixture(params=["local", "postgres"])
def backend(request, tmp_path):
    """An empty warehouse on each backend."""
    location = tmp_path / "backend" if request.param == "local" else request.getfixturevalue("postgres_url")
    with open_warehouse(location) as store:
        yield store


def write_snapshot_series(store, series_ids: list[str]) -> None:
    """Real bundled series, copied as the seeding copies them (only these, so a test computes little)."""
    adapter = SnapshotAdapter("snapshot", None, get_settings())
    for data in adapter.fetch(series_ids):
        store.write(data, merge=False)


def hollola_october(table: pd.DataFrame) -> float:
    """Hollola's value in October 2023, of an indicator or a series."""
    return float(table.loc[(table["region"] == HOLLOLA) & (table["period"] == "2023-10"), "value"].iloc[0])


def stored_table(store, indicator_id: str, version: int, catalogue=None) -> pd.DataFrame | None:
    indicator = (catalogue or get_catalogue()).indicators[indicator_id]
    digest = materialise.indicator_digest(indicator)
    payload = store.read_derived(version, materialise.table_name(indicator_id), digest)
    return None if payload is None else materialise.decode_table(payload, digest)


# --- the interface, on both backends --------------------------------------------------------------------------------


@ONE_BACKEND
def test_derived_tables_are_kept_by_version_name_and_digest_and_pruned_to_the_newest_versions(backend):
    assert backend.read_derived(1, "indicator.population", DIGEST) is None
    backend.write_derived(1, "indicator.population", DIGEST, b"first")
    backend.write_derived(1, "indicator.population", DIGEST, b"second")  # the same key is replaced
    other = DIGEST[::-1]
    backend.write_derived(1, "indicator.population", other, b"another release")  # kept beside it
    assert backend.read_derived(1, "indicator.population", DIGEST) == b"second"
    assert backend.read_derived(1, "indicator.population", other) == b"another release"
    assert backend.read_derived(2, "indicator.population", DIGEST) is None
    for version in (2, 3, 4):
        backend.write_derived(version, "coverage", DIGEST, f"coverage {version}".encode())
    assert backend.prune_derived(2) == 2  # versions 1 and 2 go, 3 and 4 stay
    assert backend.read_derived(1, "indicator.population", DIGEST) is None
    assert backend.read_derived(2, "coverage", DIGEST) is None
    assert backend.read_derived(4, "coverage", DIGEST) == b"coverage 4"
    with pytest.raises(ValueError, match="not a derived table's name"):
        backend.write_derived(1, "../series/x", DIGEST, b"")
    assert backend.latest_vintage_id() == 0 and backend.series_ids() == []  # never data, never a vintage


@ONE_BACKEND
def test_materialising_keeps_every_indicator_as_computed_and_reads_it_back_without_computing(backend, computes):
    write_snapshot_series(backend, EMPLOYMENT_SERIES)
    version = backend.latest_vintage_id()
    done = materialise.materialise(backend, version)
    catalogue = get_catalogue()
    assert done.computed == len(catalogue.indicators) and not done.present
    uses = {i.id for i in catalogue.indicators.values() if set(i.formula.series_ids()) & set(EMPLOYMENT_SERIES)}
    assert set(computes) == uses  # the others have no series here, so they are empty without the engine
    expected = {}
    for indicator in catalogue.indicators.values():
        expected[indicator.id] = materialise.compute_indicator(backend, indicator, version)
        pd.testing.assert_frame_equal(stored_table(backend, indicator.id, version), expected[indicator.id])
    computes.clear()
    for indicator in catalogue.indicators.values():
        table = materialise.indicator_table(backend, indicator, version)
        pd.testing.assert_frame_equal(table, expected[indicator.id])
    found = materialise.coverage(backend, version, lambda indicator: pytest.fail("computed the coverage"))
    assert found == materialise.coverage_of(expected)
    assert computes == []
    assert materialise.materialise(backend, version).present  # a second run finds it done


@ONE_BACKEND
def test_a_corrupt_or_mismatched_table_is_computed_again_replaced_and_logged(backend, computes, caplog):
    write_snapshot_series(backend, ["snapshot.unemployed", "snapshot.labour_force"])
    version = backend.latest_vintage_id()
    materialise.materialise(backend, version)
    catalogue = get_catalogue()
    rate, annual = catalogue.indicators["unemployment_rate"], catalogue.indicators["unemployment_rate_annual"]
    good = stored_table(backend, "unemployment_rate", version)
    # Constructed damage: garbage bytes for one, and another indicator's table under the other's key.
    backend.write_derived(version, "indicator.unemployment_rate", materialise.indicator_digest(rate), b"garbage")
    backend.write_derived(version, "indicator.unemployment_rate_annual", materialise.indicator_digest(annual),
                          materialise.encode_table(good, materialise.indicator_digest(rate)))
    computes.clear()
    with caplog.at_level(logging.WARNING, logger="indicators.materialise"):
        pd.testing.assert_frame_equal(materialise.indicator_table(backend, rate, version), good)
        annual_table = materialise.indicator_table(backend, annual, version)
    assert computes == ["unemployment_rate", "unemployment_rate_annual"]
    assert "indicator.unemployment_rate of data version" in caplog.text and "unusable" in caplog.text
    assert "indicator.unemployment_rate_annual" in caplog.text
    assert annual_table["period"].str.len().eq(4).all()  # the annual one, not the monthly table it was given
    pd.testing.assert_frame_equal(stored_table(backend, "unemployment_rate", version), good)  # replaced
    computes.clear()
    materialise.indicator_table(backend, annual, version)
    assert computes == []


# --- refresh and seeding --------------------------------------------------------------------------------------------


@ONE_BACKEND
def test_seeding_keeps_every_indicator_and_the_coverage_of_the_new_version(seeded):
    version = seeded.latest_vintage_id()
    catalogue = get_catalogue()
    tables = {}
    for indicator_id in catalogue.indicators:
        tables[indicator_id] = stored_table(seeded, indicator_id, version)
        assert tables[indicator_id] is not None, indicator_id
    # As the engine computes them from the series, with the lineage the source line reads.
    for indicator_id in ("unemployment_rate", "population", "emissions_per_resident"):
        computed = materialise.compute_indicator(seeded, catalogue.indicators[indicator_id], version)
        pd.testing.assert_frame_equal(tables[indicator_id], computed)
    assert "snapshot.unemployed" in str(tables["unemployment_rate"]["origin"].iloc[0])
    digest = materialise.coverage_digest(catalogue)
    stored = materialise.decode_coverage(seeded.read_derived(version, "coverage", digest), digest, catalogue)
    assert stored == materialise.coverage_of(tables)
    assert len(stored.municipalities["emissions_per_resident"]) == 13  # the bundled emissions: North Karelia only


@pytest.fixture
def service(replay_server, tmp_path, monkeypatch):
    return Service(replay_server, tmp_path, monkeypatch)


def test_a_refresh_keeps_the_indicators_of_the_version_it_stored_and_an_unchanged_one_computes_nothing(service,
                                                                                                      computes):
    report = service.refresh()
    store = service.warehouse
    version = store.latest_vintage_id()
    assert report.ok and report.materialised == version
    rate = stored_table(store, "unemployment_rate", version)
    assert set(rate["region"]) >= {HOLLOLA, "SSS"}
    assert "statfin.unemployed" in str(rate["origin"].iloc[0])
    pd.testing.assert_frame_equal(rate, materialise.compute_indicator(
        store, get_catalogue().indicators["unemployment_rate"], version))
    computes.clear()
    again = service.refresh()
    assert again.ok and again.materialised is None and store.latest_vintage_id() == version
    assert computes == []


def test_a_failed_materialisation_never_fails_the_refresh(service, monkeypatch, caplog):
    def refuse(*args):
        raise WarehouseError("constructed: the derived table is full")

    monkeypatch.setattr(type(service.warehouse), "write_derived", refuse)
    with caplog.at_level(logging.ERROR, logger="indicators.materialise"):
        report = service.refresh()
    assert report.ok and report.materialised is None
    assert "Materialising the indicators" in caplog.text
    assert {o.series for o in report.outcomes} == {"statfin.population", "statfin.unemployed",
                                                   "statfin.labour_force"}


# --- a fresh process only reads -------------------------------------------------------------------------------------


@ONE_BACKEND
def stored_summary(store, theme, version: int) -> Summary | None:
    digest = materialise.summary_digest(theme)
    cells_name, references_name = materialise.summary_names(theme.id)
    cells, references = (store.read_derived(version, name, digest) for name in (cells_name, references_name))
    return None if cells is None else materialise.decode_summary(cells, references, digest, theme)


@ONE_BACKEND
def test_seeding_keeps_each_themes_overview_summary_and_it_gives_the_overview_the_tables_give(seeded):
    version = seeded.latest_vintage_id()
    four = ["KU016", "KU111", HOLLOLA, "KU560"]  # Asikkala, Heinola, Hollola, Orimattila
    for theme in get_catalogue().themes:
        tables = {i.id: stored_table(seeded, i.id, version) for i in theme.indicators}
        summary = stored_summary(seeded, theme, version)
        assert summary is not None, theme.id
        expected = summarise(theme.indicators, tables)
        pd.testing.assert_frame_equal(summary.cells, expected.cells)
        pd.testing.assert_frame_equal(summary.references, expected.references)
        assert summary.methods == expected.methods
        for benchmark in ("MK07", "SSS"):  # Päijät-Häme, the whole country
            pd.testing.assert_frame_equal(select(summary, theme.indicators, four, benchmark),
                                          theme_overview(theme.indicators, tables, four, benchmark))
    employment = stored_summary(seeded, get_catalogue().theme("employment"), version)
    hollola = employment.cells[(employment.cells["indicator"] == "unemployment_rate")
                               & (employment.cells["region"] == HOLLOLA)].iloc[0]
    assert hollola["period"] == "2023-10" and hollola["previous_period"] == "2022-10"
    assert hollola["value"] == hollola_october(stored_table(seeded, "unemployment_rate", version))


@ONE_BACKEND
def test_a_corrupt_summary_is_summarised_again_replaced_and_logged(seeded, summarises, caplog):
    version = seeded.latest_vintage_id()
    theme = get_catalogue().theme("climate")
    good = stored_summary(seeded, theme, version)
    cells_name, _ = materialise.summary_names(theme.id)
    # Constructed damage: the cells cut short.
    seeded.write_derived(version, cells_name, materialise.summary_digest(theme),
                         seeded.read_derived(version, cells_name, materialise.summary_digest(theme))[:200])
    with caplog.at_level(logging.WARNING, logger="indicators.materialise"):
        found = materialise.theme_summary(seeded, theme, version,
                                          lambda indicator: materialise.indicator_table(seeded, indicator, version))
    assert summarises == ["climate"] and "summary of climate" in caplog.text and "unusable" in caplog.text
    pd.testing.assert_frame_equal(found.cells, good.cells)
    pd.testing.assert_frame_equal(stored_summary(seeded, theme, version).cells, good.cells)  # replaced


def test_the_first_theme_page_of_a_fresh_process_reads_the_kept_tables_and_computes_nothing(seeded, computes,
                                                                                              summarises):
    at = run_app()
    at = open_page(at, "employment")
    assert not at.exception
    assert computes == [] and summarises == []
    version = seeded.latest_vintage_id()
    # The key figure is the stored table's value (Hollola's unemployment rate, October 2023).
    table = stored_table(seeded, "unemployment_rate", version)
    value = table.loc[(table["region"] == HOLLOLA) & (table["period"] == "2023-10"), "value"].iloc[0]
    shown = next(metric.value for metric in at.metric if metric.label == "Hollola")
    assert shown.startswith(f"{value:.1f}".replace(".", ","))


@ONE_BACKEND
def test_a_pinned_older_version_is_computed_on_demand_kept_and_then_read(seeded, computes):
    pinned = seeded.latest_vintage_id()
    frame, meta = seeded.read(["snapshot.unemployed"]), seeded.metadata("snapshot.unemployed")
    frame.loc[(frame["region"] == HOLLOLA) & (frame["period"] == "2023-10"), "value"] += 100  # constructed
    latest = seeded.write(SeriesData(meta["info"], frame, meta["provenance"])).vintage
    rate = get_catalogue().indicators["unemployment_rate"]
    assert stored_table(seeded, "unemployment_rate", latest) is None  # a bare write does not materialise
    newer = materialise.indicator_table(seeded, rate, latest)
    assert computes == ["unemployment_rate"]
    pd.testing.assert_frame_equal(stored_table(seeded, "unemployment_rate", latest), newer)  # written back
    computes.clear()
    older = materialise.indicator_table(seeded, rate, pinned)
    assert computes == []
    labour_force = hollola_october(seeded.read(["snapshot.labour_force"], as_of=pinned))
    assert hollola_october(newer) == pytest.approx(hollola_october(older) + 100 * 100 / labour_force)


@pytest.fixture
def edited_catalogue(tmp_path, monkeypatch):
    """A copy of the theme files with one formula changed and one indicator added (CONSTRUCTED definitions)."""
    themes = tmp_path / "themes"
    shutil.copytree(THEMES_DIR, themes)
    path = themes / "employment.toml"
    text = path.read_text(encoding="utf-8")
    old = ('denominator = "statfin.labour_force | snapshot.labour_force", scale = 100 }\n\n'
           '[[indicator]]\nid = "unemployment_rate_published"')
    assert old in text
    text = text.replace(old, old.replace("scale = 100 }", "scale = 1000 }"))
    start = text.index('[[indicator]]\nid = "unemployment_rate"\n')
    block = text[start:text.index("[[indicator]]", start + 1)]
    text += "\n" + block.replace('id = "unemployment_rate"', 'id = "unemployment_rate_copy"')
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("TIEDOLLA_THEMES_DIR", str(themes))
    get_catalogue.cache_clear()
    yield get_catalogue()
    monkeypatch.undo()
    get_catalogue.cache_clear()


@ONE_BACKEND
def test_a_changed_definition_or_a_new_indicator_is_computed_never_read_stale(seeded, edited_catalogue, computes):
    version = seeded.latest_vintage_id()
    before = stored_table(seeded, "unemployment_rate", version, load_catalogue(THEMES_DIR))  # the original's
    changed = loading.indicator_table(edited_catalogue.indicators["unemployment_rate"])
    pd.testing.assert_series_equal(changed["value"], before["value"] * 10, check_exact=False)
    spans = loading.coverage()
    assert spans["unemployment_rate_copy"] == spans["unemployment_rate"] == (before["period"].min(),
                                                                              before["period"].max())
    # Only the changed and the new indicator were computed; the coverage was made from the others' stored tables.
    assert sorted(computes) == ["unemployment_rate", "unemployment_rate_copy"]


@ONE_BACKEND
def test_page_runs_leave_the_shared_tables_as_they_were(seeded):
    catalogue = get_catalogue()
    ids = ",".join(indicator.id for indicator in catalogue.theme("employment").indicators)
    tabs = ",".join(f"{indicator.id}:{tab}" for indicator, tab in
                    zip(catalogue.theme("employment").indicators, ["trend", "compare", "map", "table"] * 3))
    at = run_app({"open": f"overview,downloads,{ids}", "tabs": tabs})
    for page in ("employment", "wellbeing", "compare", "about"):
        at = open_page(at, page)
        assert not at.exception, page
    location, version = get_settings().warehouse_location, seeded.latest_vintage_id()
    for indicator in catalogue.indicators.values():
        shared = loading._indicator_table(indicator.id, location, version)
        assert shared is loading._indicator_table(indicator.id, location, version)  # one frame, not copies
        pd.testing.assert_frame_equal(shared, stored_table(seeded, indicator.id, version))
    table = loading._indicator_table("unemployment_rate", location, version)
    with pytest.raises(ValueError, match="read-only"):
        table.loc[table.index[0], "value"] = 0.0  # a mistake in a page fails loudly instead of spreading


# --- PostgreSQL roles -----------------------------------------------------------------------------------------------


@ONE_BACKEND
def test_a_read_only_postgres_role_reads_the_kept_tables_and_only_computes_what_is_missing(postgres_server,
                                                                                           postgres_url, computes,
                                                                                           caplog):
    with open_warehouse(postgres_url) as owner:
        write_snapshot_series(owner, ["snapshot.unemployed", "snapshot.labour_force"])
        version = owner.latest_vintage_id()
        materialise.materialise(owner, version)
    rate = get_catalogue().indicators["unemployment_rate"]
    reader_role = login_role(postgres_server, postgres_url, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    computes.clear()
    with open_warehouse(as_role(postgres_url, reader_role)) as reader:
        with pytest.raises(WarehouseReadOnly):
            reader.write_derived(version, "coverage", DIGEST, b"")
        kept = materialise.indicator_table(reader, rate, version)
        assert computes == []
        later = version + 1  # not kept: computed, and the refused write-back is only a log line
        with caplog.at_level(logging.INFO, logger="indicators.materialise"):
            pd.testing.assert_frame_equal(materialise.indicator_table(reader, rate, later), kept)
        assert computes == ["unemployment_rate"] and "Not keeping the computed" in caplog.text
    # A role granted SELECT before migration 3 cannot read the derived table at all: it computes everything.
    older_role = login_role(postgres_server, postgres_url, *(
        f"GRANT SELECT ON {table} TO {{role}}" for table in ("series", "vintages", "observations", "status",
                                                             "documents", "areas", "schema_version")))
    computes.clear()
    with open_warehouse(as_role(postgres_url, older_role)) as reader, caplog.at_level(logging.WARNING):
        pd.testing.assert_frame_equal(materialise.indicator_table(reader, rate, version), kept)
    assert computes == ["unemployment_rate"] and "Cannot read the materialised" in caplog.text
    with psycopg.connect(postgres_url) as connection:  # the owner's tables are as they were
        assert connection.execute("SELECT count(*) FROM derived WHERE version = %s", (version,)).fetchone()[0] \
            == len(get_catalogue().indicators) + 2 * len(get_catalogue().themes) + 1  # tables, summaries, coverage


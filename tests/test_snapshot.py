"""The bundled snapshot holds the real raw values, says where they came from, seeds a warehouse, and rebuilds."""

from __future__ import annotations

import re
import subprocess
import sys

import pandas as pd
import pytest

from sources.contract import Provenance, SeriesData, tidy_frame
from sources.settings import REPO_ROOT, get_settings
from sources.snapshot import seed_warehouse
from sources.warehouse import Warehouse, open_warehouse
from tests.warehouse_state import stored_state

RAW = REPO_ROOT / "data" / "raw"
SNAPSHOT = REPO_ROOT / "data" / "snapshot"


@pytest.fixture(scope="module")
def snapshot() -> Warehouse:
    return open_warehouse(SNAPSHOT)


def snapshot_value(store: Warehouse, series_id: str, region: str, period: str) -> float:
    frame = store.read([series_id])
    rows = frame[(frame["region"] == region) & (frame["period"] == period)]
    assert len(rows) == 1, f"{series_id} {region} {period}: {len(rows)} rows"
    return float(rows["value"].iloc[0])


# --- values equal the raw files ----------------------------------------------------------------------------------


def raw_r_object(path):
    import warnings

    import rdata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata names R classes it has no constructor for; the values are unaffected
        (value,) = rdata.conversion.convert(rdata.parser.parse_file(path)).values()
    return value


@pytest.fixture(scope="module")
def counts_12r5() -> pd.DataFrame:
    raw = raw_r_object(RAW / "unemployment-counts-12r5-2006-2023" / "tyonv_12r5.rda")
    return raw.assign(alue=raw["alue"].astype(str), tiedot=raw["tiedot"].astype(str),
                      month=pd.to_datetime(raw["time"], unit="D").dt.strftime("%Y-%m"))


def raw_count(counts: pd.DataFrame, code: str, month: str, what: str) -> float:
    rows = counts[(counts["alue"] == code) & (counts["month"] == month) & (counts["tiedot"] == what)]
    assert len(rows) == 1
    return float(rows["value"].iloc[0])


def test_hollola_october_2023_unemployment_equals_the_raw_file(snapshot, counts_12r5):
    # The values the PROVENANCE.txt quotes: 710 unemployed, 10 482 labour force, 80 vacancies.
    assert raw_count(counts_12r5, "KU098", "2023-10", "TYOTTOMATLOPUSSA") == 710
    assert snapshot_value(snapshot, "snapshot.unemployed", "KU098", "2023-10") == 710
    assert snapshot_value(snapshot, "snapshot.labour_force", "KU098", "2023-10") == 10482
    assert snapshot_value(snapshot, "snapshot.vacancies", "KU098", "2023-10") == 80
    assert snapshot.read(["snapshot.unemployed"])["period"].max() == "2023-10"


def test_mantyharju_unemployment_2023_includes_pertunmaa(snapshot, counts_12r5):
    expected = (raw_count(counts_12r5, "KU507", "2023-10", "TYOTTOMATLOPUSSA")
                + raw_count(counts_12r5, "KU588", "2023-10", "TYOTTOMATLOPUSSA"))
    assert snapshot_value(snapshot, "snapshot.unemployed", "KU507", "2023-10") == expected
    assert "KU588" not in set(snapshot.read(["snapshot.unemployed"])["region"])


def test_published_unemployment_rate_reaches_january_2025(snapshot):
    # Spot values from the PROVENANCE.txt of the raw PxWeb answer.
    assert snapshot_value(snapshot, "snapshot.unemployment_rate_published", "KU098", "2025-01") == 9.9
    assert snapshot_value(snapshot, "snapshot.unemployment_rate_published", "KU111", "2025-01") == 17.2
    assert snapshot_value(snapshot, "snapshot.unemployment_rate_published", "KU098", "2015-06") == 11.5
    provenance = snapshot.metadata("snapshot.unemployment_rate_published")["provenance"]
    assert provenance.data_updated == "2025-02-25"  # the table's own "updated", not a repository's commit date


def test_mantyharju_population_2023_is_mantyharju_plus_pertunmaa(snapshot):
    assert snapshot_value(snapshot, "snapshot.population", "KU507", "2023") == 5522 + 1577
    assert snapshot_value(snapshot, "snapshot.population", "KU098", "2023") == 22885
    assert snapshot_value(snapshot, "snapshot.population", "KU098", "2016") == 23791
    assert "KU588" not in set(snapshot.read(["snapshot.population"])["region"])
    assert snapshot.metadata("snapshot.population")["provenance"].data_updated == "2024-04-26"


def test_preliminary_population_and_net_migration(snapshot):
    assert snapshot_value(snapshot, "snapshot.population_preliminary", "KU098", "2025-01") == 22847
    assert snapshot_value(snapshot, "snapshot.population_preliminary", "KU507", "2024-01") == 7082
    migration = snapshot.read(["snapshot.net_migration_monthly"])
    hollola = migration[(migration["region"] == "KU098") & migration["period"].str.startswith("2023")]
    assert hollola["value"].sum() == 11
    # Inter-municipal moves cancel out over the whole country, month by month.
    assert (migration.groupby("period")["value"].sum() == 0).all()


def test_emissions_cover_the_13_north_karelia_municipalities(snapshot):
    total = snapshot.read(["snapshot.syke.hinku_total"])
    assert len(set(total["region"])) == 13
    assert snapshot_value(snapshot, "snapshot.syke.hinku_total", "KU167", "2024") == 275.4  # Joensuu
    assert snapshot_value(snapshot, "snapshot.syke.hinku_total", "KU276", "2007") == 94.2  # Kontiolahti
    provenance = snapshot.metadata("snapshot.syke.hinku_total")["provenance"]
    assert "third party" in provenance.table and "Syke" in provenance.attribution


def test_no_data_date_is_a_repository_commit_date(snapshot):
    # 2026-04-02 was rOpenGov/geofi's latest commit, once shown as "Tiedot päivitetty 2.4.2026" under population.
    for series_id in snapshot.series_ids():
        assert snapshot.metadata(series_id)["provenance"].data_updated != "2026-04-02", series_id


def test_helsinki_unemployed_share_2016_equals_the_key_figures(snapshot):
    raw = pd.read_csv(RAW / "municipal-key-figures-2006-2016" / "kuntien_avainluvut_2006_2016.csv")
    row = raw[(raw["Alue"] == "Helsinki") & (raw["vuosi"] == 2016)].iloc[0]
    assert row["Tyottomien_osuus_tyovoimasta"] == 11.9
    assert snapshot_value(snapshot, "snapshot.kf.unemployed_share", "KU091", "2016") == 11.9


def test_helsinki_child_poverty_2023_equals_the_sotkanet_export(snapshot):
    raw = pd.read_csv(RAW / "sotkanet-child-family-2023" / "sotkanet_child_family_indicators_1990_2023_wide.csv",
                      dtype={"municipality_code": str})
    row = raw[(raw["indicator_id"] == 228) & (raw["municipality_code"] == "091")].iloc[0]
    assert row["2023"] == 12.7
    assert snapshot_value(snapshot, "snapshot.sotkanet.child_poverty", "KU091", "2023") == 12.7


def test_snapshot_has_only_current_municipality_codes(snapshot):
    from indicators.regions import get_registry

    registry = get_registry()
    regions = set(snapshot.read()["region"])
    assert {code for code in regions if not registry.is_known(code)} == set()


# --- provenance ---------------------------------------------------------------------------------------------------


def test_every_snapshot_series_has_provenance_pointing_at_a_raw_folder(snapshot):
    ids = snapshot.series_ids()
    assert len(ids) >= 30
    for series_id in ids:
        metadata = snapshot.metadata(series_id)
        assert metadata is not None, series_id
        provenance = metadata["provenance"]
        assert provenance.licence, series_id
        assert provenance.attribution, series_id
        folders = {match for note in provenance.notes for match in re.findall(r"data/raw/[\w.-]+", note)}
        assert folders, f"{series_id}: notes name no data/raw folder ({provenance.notes})"
        for folder in folders:
            assert (REPO_ROOT / folder).is_dir(), f"{series_id}: {folder} does not exist"
            assert (REPO_ROOT / folder / "PROVENANCE.txt").is_file(), f"{series_id}: {folder} has no PROVENANCE.txt"
        info = metadata["info"]
        assert info.id == series_id
        assert {"fi", "sv", "en"} <= set(info.title), series_id


# --- seeding a warehouse ------------------------------------------------------------------------------------------


def test_seed_copies_every_snapshot_series_into_an_empty_warehouse(snapshot):
    settings = get_settings()
    warehouse = open_warehouse(settings.warehouse_location)
    assert warehouse.is_empty()
    copied = seed_warehouse(settings)
    assert sorted(copied) == snapshot.series_ids()
    assert warehouse.series_ids() == snapshot.series_ids()
    for series_id in ("snapshot.population", "snapshot.unemployed", "snapshot.sotkanet.child_poverty"):
        pd.testing.assert_frame_equal(warehouse.read([series_id]), snapshot.read([series_id]))
        assert warehouse.metadata(series_id)["provenance"] == snapshot.metadata(series_id)["provenance"]
    assert seed_warehouse(settings) == []  # nothing left to copy


def test_seed_does_not_overwrite_a_series_the_warehouse_already_has(snapshot):
    settings = get_settings()
    warehouse = open_warehouse(settings.warehouse_location)
    # Constructed: a refreshed population series, different from the snapshot's, already in the warehouse.
    info = snapshot.metadata("snapshot.population")["info"]
    fetched = Provenance(source="live", table="vaerak/11re", request_url="https://example.invalid/",
                         fetched_at="2026-05-01T00:00:00+00:00", data_updated="2026-04-30", licence="CC BY 4.0",
                         attribution="Statistics Finland")
    warehouse.write(SeriesData(info, tidy_frame(info.id, ["KU098"], ["2025"], [23000.0]), fetched))
    before = stored_state(warehouse)[info.id]
    copied = seed_warehouse(settings)
    assert info.id not in copied
    assert len(copied) == len(snapshot.series_ids()) - 1
    assert stored_state(warehouse)[info.id] == before
    assert warehouse.read([info.id])["value"].tolist() == [23000.0]
    assert warehouse.metadata(info.id)["provenance"] == fetched


def test_seed_brings_an_older_bundled_series_up_to_date_as_a_new_vintage(snapshot):
    settings = get_settings()
    warehouse = open_warehouse(settings.warehouse_location)
    seed_warehouse(settings)
    # Constructed: the warehouse holds the unemployed series of an earlier release of the app (to 2020-10 only).
    info = snapshot.metadata("snapshot.unemployed")["info"]
    old_release = Provenance(source="snapshot", table="StatFin tyonv 1001 (an earlier bundle)", request_url="",
                             fetched_at="2021-03-01", data_updated="2021-03-01", licence="CC BY 4.0",
                             attribution="TEM", notes=("data/raw/registered-unemployment",))
    warehouse.write(SeriesData(info, tidy_frame(info.id, ["KU098"], ["2020-10"], [1106.0]), old_release),
                    merge=False)
    old_vintage = warehouse.metadata(info.id)["vintage"]

    assert seed_warehouse(settings) == ["snapshot.unemployed"]

    assert warehouse.read([info.id])["period"].max() == "2023-10"
    assert warehouse.metadata(info.id)["provenance"] == snapshot.metadata(info.id)["provenance"]
    assert warehouse.read([info.id], as_of=old_vintage)["value"].tolist() == [1106.0]  # the old vintage is kept
    assert seed_warehouse(settings) == []


# --- rebuilding -------------------------------------------------------------------------------------------------


@pytest.mark.no_warehouse  # builds into a folder of its own, whatever the backend
def test_build_script_reproduces_the_committed_snapshot(snapshot, tmp_path):
    out = tmp_path / "rebuilt"
    result = subprocess.run([sys.executable, "data/build_snapshot.py", "--out", str(out)], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rebuilt = open_warehouse(out)
    assert rebuilt.series_ids() == snapshot.series_ids()
    for series_id in snapshot.series_ids():
        # assert_frame_equal treats NaN in the same place as equal.
        pd.testing.assert_frame_equal(rebuilt.read([series_id]), snapshot.read([series_id]), obj=series_id)
        new, old = rebuilt.metadata(series_id), snapshot.metadata(series_id)
        assert new["info"] == old["info"], series_id
        assert new["provenance"] == old["provenance"], series_id
    assert not (tmp_path / "rebuilt.building").exists()
    assert not (out / "status.json").exists()

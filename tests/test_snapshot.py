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


def test_hollola_october_2020_unemployment_equals_the_raw_file(snapshot):
    raw = pd.read_csv(RAW / "registered-unemployment" / "data_kunta_1001_monthly_unemployment.csv")
    row = raw[(raw["kunta"] == "Hollola") & (raw["month"] == "2020-10")].iloc[0]
    assert (row["Tyottomat"], row["Tyovoima"]) == (1106, 10723)
    assert snapshot_value(snapshot, "snapshot.unemployed", "KU098", "2020-10") == 1106
    assert snapshot_value(snapshot, "snapshot.labour_force", "KU098", "2020-10") == 10723


def test_mantyharju_unemployment_2020_includes_pertunmaa(snapshot):
    raw = pd.read_csv(RAW / "registered-unemployment" / "data_kunta_1001_monthly_unemployment.csv")
    october = raw[raw["month"] == "2020-10"].set_index("kunta")
    expected = october.at["Mäntyharju", "Tyottomat"] + october.at["Pertunmaa", "Tyottomat"]
    assert snapshot_value(snapshot, "snapshot.unemployed", "KU507", "2020-10") == expected
    assert "KU588" not in set(snapshot.read(["snapshot.unemployed"])["region"])


def test_mantyharju_population_2022_is_mantyharju_plus_pertunmaa(snapshot):
    raw = pd.read_csv(RAW / "sotkanet-population" / "sotkadata_population.csv")
    year = raw[raw["year"] == 2022].set_index("municipality_code")["primary.value"]
    expected = year[507] + year[588]
    assert expected == 5564 + 1600
    assert snapshot_value(snapshot, "snapshot.population", "KU507", "2022") == expected
    assert "KU588" not in set(snapshot.read(["snapshot.population"])["region"])


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


# --- rebuilding -------------------------------------------------------------------------------------------------


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

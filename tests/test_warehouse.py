"""The warehouse keeps good data safe and keeps every vintage, on both backends (local store and PostgreSQL).

Most tests take the `warehouse` fixture, parametrised over both backends: the same test, the same assertions, a
fresh empty warehouse each (a temporary folder, or a new database on the throwaway PostgreSQL server of
tests/pg_fixtures.py). Tests of the local store's own files (byte-identical files, temporary files, a damaged status
file) follow at the end. All series here are CONSTRUCTED fixtures of a made-up series, not real data.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sources.contract import Provenance, SchemaChanged, SeriesData, SeriesInfo, tidy_frame
from sources.copying import copy_warehouse
from sources.settings import REPO_ROOT
from sources.warehouse import Warehouse, WarehouseBusy, WarehouseError, open_warehouse
from sources.warehouse_local import LocalWarehouse

SERIES = "test.population"
# Constructed description and provenance of a made-up series, used by every test here.
INFO = SeriesInfo(id=SERIES, title={"fi": "Väestö", "sv": "Befolkning", "en": "Population"}, unit="henkilöä",
                  publisher="Test publisher", licence="CC BY 4.0", home_url="https://example.invalid/",
                  frequency="annual", measure="count", description={"fi": "Kuvaus"}, source="test")
PROVENANCE = Provenance(source="test", table="table 11re", request_url="https://example.invalid/api?x=1",
                        fetched_at="2026-01-02T03:04:05+00:00", data_updated="2025-12-31", licence="CC BY 4.0",
                        attribution="Statistics Finland", notes=("data/raw/somewhere", "a note"))


def series_data(rows: list[tuple[str, str, float]], provenance: Provenance = PROVENANCE) -> SeriesData:
    # Constructed rows (region, period, value) of the test series.
    regions, periods, values = zip(*rows) if rows else ((), (), ())
    return SeriesData(INFO, tidy_frame(SERIES, list(regions), list(periods), list(values)), provenance)


def as_dict(frame: pd.DataFrame) -> dict[tuple[str, str], float]:
    return {(row.region, row.period): row.value for row in frame.itertuples()}


BACKENDS = ["local", "postgres"]


def new_location(backend: str, request, tmp_path, name: str = "wh") -> str:
    if backend == "local":
        return str(tmp_path / name)
    return request.getfixturevalue("postgres_database")()


@pytest.fixture
def postgres_database(request):
    """A factory of fresh, migrated databases on the session's throwaway PostgreSQL server."""
    server = request.getfixturevalue("postgres_server")
    return lambda: server.create_database(f"wh_{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def location(backend, request, tmp_path) -> str:
    return new_location(backend, request, tmp_path)


@pytest.fixture
def warehouse(location):
    store = open_warehouse(location)
    store.migrate()
    yield store
    store.close()


# Constructed: two years of the test series.
FILLED = {("KU091", "2019"): 650000.0, ("KU098", "2019"): 23500.0, ("KU091", "2020"): 656000.0,
          ("KU098", "2020"): 23300.0}


@pytest.fixture
def filled(warehouse) -> Warehouse:
    warehouse.write(series_data([(region, period, value) for (region, period), value in FILLED.items()]))
    return warehouse


def test_write_then_read_keeps_values_and_provenance(warehouse):
    result = warehouse.write(series_data([("KU091", "2020", 656000.0), ("KU098", "2020", np.nan),
                                          ("SSS", "2020", 5533000.0)]))
    assert (result.rows, result.new, result.changed, result.withdrawn) == (3, 2, 0, 0)
    assert result.vintage == warehouse.latest_vintage_id() >= 1
    assert warehouse.series_ids() == [SERIES]
    frame = warehouse.read([SERIES])
    assert list(frame.columns) == ["series", "region", "period", "value"]
    assert (frame["series"] == SERIES).all()
    values = as_dict(frame)
    assert values[("KU091", "2020")] == 656000.0
    assert values[("SSS", "2020")] == 5533000.0
    assert np.isnan(values[("KU098", "2020")])
    metadata = warehouse.metadata(SERIES)
    assert metadata["info"] == INFO
    assert metadata["provenance"] == PROVENANCE
    assert metadata["written_at"]
    assert metadata["vintage"] == result.vintage


def test_read_of_unknown_series_is_empty_and_metadata_none(warehouse):
    assert warehouse.is_empty()
    assert warehouse.latest_vintage_id() == 0
    assert warehouse.read(["nope.nope"]).empty
    assert warehouse.metadata("nope.nope") is None
    assert warehouse.vintages() == []


def test_second_write_merges_keeps_old_periods_and_old_vintage(filled):
    first = filled.latest_vintage_id()
    newer = Provenance(**{**PROVENANCE.to_dict(), "notes": (), "fetched_at": "2026-02-01T00:00:00+00:00",
                          "data_updated": "2026-01-31"})
    result = filled.write(series_data([("KU091", "2020", 657000.0),  # changed
                                       ("KU098", "2020", 23300.0),  # same value
                                       ("KU091", "2021", 660000.0)],  # new
                                      newer))
    assert (result.rows, result.new, result.changed, result.withdrawn) == (5, 1, 1, 0)
    assert result.vintage > first
    values = as_dict(filled.read([SERIES]))
    assert values == {("KU091", "2019"): 650000.0, ("KU098", "2019"): 23500.0, ("KU091", "2020"): 657000.0,
                      ("KU098", "2020"): 23300.0, ("KU091", "2021"): 660000.0}
    # The earlier vintage still reads as it was: the old value is a revision, not overwritten.
    assert as_dict(filled.read([SERIES], as_of=first)) == FILLED
    assert filled.metadata(SERIES)["provenance"].fetched_at == "2026-02-01T00:00:00+00:00"
    assert filled.metadata(SERIES, as_of=first)["provenance"] == PROVENANCE
    latest = filled.vintages(SERIES)[0]
    assert (latest.id, latest.new, latest.changed, latest.withdrawn, latest.rows) == (result.vintage, 1, 1, 0, 5)
    assert latest.data_updated == "2026-01-31" and latest.fetched_at == "2026-02-01T00:00:00+00:00"
    assert latest.created_at and len(latest.content_hash) >= 16


def test_a_refetch_that_changes_nothing_creates_no_vintage_and_stores_no_rows(filled):
    before = filled.latest_vintage_id()
    history = len(filled.dump_series(SERIES).history)
    result = filled.write(series_data(list((region, period, value) for (region, period), value in FILLED.items())))
    assert result.vintage is None and (result.new, result.changed, result.withdrawn) == (0, 0, 0)
    assert filled.latest_vintage_id() == before
    assert len(filled.dump_series(SERIES).history) == history
    assert len(filled.vintages(SERIES)) == 1
    assert filled.status()[SERIES]["last_success"]


def test_a_value_the_source_withdraws_is_withdrawn_in_the_new_vintage_and_kept_in_the_old(filled):
    first = filled.latest_vintage_id()
    # 2020 is published again without KU098, and 2019's KU091 now comes as missing: both are withdrawn.
    result = filled.write(series_data([("KU091", "2019", np.nan), ("KU098", "2019", 23500.0),
                                       ("KU091", "2020", 656000.0)]))
    assert (result.new, result.changed, result.withdrawn) == (0, 0, 2)
    latest = filled.read([SERIES])
    assert ("KU098", "2020") not in as_dict(latest)
    assert np.isnan(as_dict(latest)[("KU091", "2019")])
    assert as_dict(filled.read([SERIES], as_of=first)) == FILLED
    assert filled.vintages(SERIES)[0].withdrawn == 2


def test_periods_outside_the_new_data_are_not_withdrawn(filled):
    # A source asked only for 2020 onwards has not withdrawn 2019.
    result = filled.write(series_data([("KU091", "2020", 656000.0), ("KU098", "2020", 23300.0),
                                       ("KU091", "2021", 1.0)]))
    assert (result.new, result.withdrawn) == (1, 0)
    assert as_dict(filled.read([SERIES]))[("KU091", "2019")] == 650000.0


def test_write_without_merge_replaces_the_series(filled):
    first = filled.latest_vintage_id()
    result = filled.write(series_data([("KU091", "2021", 1.0)]), merge=False)
    assert result.withdrawn == 4
    assert as_dict(filled.read([SERIES])) == {("KU091", "2021"): 1.0}
    assert as_dict(filled.read([SERIES], as_of=first)) == FILLED


def test_vintage_ids_grow_across_series_and_reads_as_of_any_vintage(warehouse):
    other = SeriesInfo(**{**INFO.__dict__, "id": "test.other"})
    ids = []
    for step in range(3):
        ids.append(warehouse.write(series_data([("KU091", "2020", float(step))])).vintage)
        ids.append(warehouse.write(SeriesData(other, tidy_frame(other.id, ["KU098"], ["2020"], [10.0 + step]),
                                              PROVENANCE)).vintage)
    assert ids == sorted(ids) and len(set(ids)) == 6
    assert [v.id for v in warehouse.vintages()] == sorted(ids, reverse=True)
    assert warehouse.vintage(ids[2]).series == SERIES
    assert warehouse.vintage(10**9) is None
    # As of the third vintage: the test series' second value and the other series' first.
    frame = warehouse.read([SERIES, other.id], as_of=ids[2])
    assert as_dict(frame) == {("KU091", "2020"): 1.0, ("KU098", "2020"): 10.0}
    assert warehouse.series_ids(as_of=ids[0]) == [SERIES]
    assert warehouse.read([other.id], as_of=ids[0]).empty


def test_successful_write_is_recorded_in_status(filled):
    entry = filled.status()[SERIES]
    assert entry["last_success"]
    assert entry["last_error"] is None
    assert entry["source_updated"] == "2025-12-31"


@pytest.mark.parametrize(
    "rows, problem",
    [
        ([("XX091", "2021", 1.0)], "unknown region codes XX091"),
        ([("KU91", "2021", 1.0)], "unknown region codes KU91"),
        ([("KU091", "2021-13", 1.0)], "unknown period codes 2021-13"),
        ([("KU091", "21", 1.0)], "unknown period codes 21"),
        ([("KU091\n", "2021", 1.0)], "unknown region codes KU091"),
        ([("KU091", "2021\n", 1.0)], "unknown period codes 2021"),
        ([("KU091", "2021", 1.0), ("KU091", "2021", 2.0)], "duplicate rows"),
        ([("KU091", "2021", np.inf)], "infinite"),
        ([], "no rows"),
    ],
    ids=["bad-region", "short-municipality-code", "month-13", "two-digit-year", "region-trailing-newline",
         "period-trailing-newline", "duplicates", "infinite", "empty"],
)
def test_invalid_frame_raises_schema_changed_and_stores_nothing(filled, rows, problem):
    before, version = filled.read([SERIES]), filled.latest_vintage_id()
    with pytest.raises(SchemaChanged, match=problem):
        filled.write(series_data(rows))
    pd.testing.assert_frame_equal(filled.read([SERIES]), before)
    assert filled.latest_vintage_id() == version
    assert filled.series_ids() == [SERIES]


def test_frame_with_rows_of_another_series_is_refused(filled):
    before = filled.read([SERIES])
    data = series_data([("KU091", "2021", 1.0)])
    data.frame["series"] = "other.series"
    with pytest.raises(ValueError, match=SERIES):
        filled.write(data)
    pd.testing.assert_frame_equal(filled.read([SERIES]), before)


def test_record_failure_keeps_the_data_and_stores_the_error_in_status(filled):
    before, version = filled.read([SERIES]), filled.latest_vintage_id()
    last_success = filled.status()[SERIES]["last_success"]
    message = "Statistics Finland did not answer within 30 s (vaerak/11re)."
    filled.record_failure(SERIES, "test", message)
    pd.testing.assert_frame_equal(filled.read([SERIES]), before)
    assert filled.latest_vintage_id() == version
    entry = filled.status()[SERIES]
    assert entry["last_error"] == message
    assert entry["last_error_at"]
    assert entry["last_success"] == last_success


def test_record_failure_for_a_series_never_fetched_creates_no_data(warehouse):
    warehouse.record_failure("never.fetched", "test", "HTTP 500")
    assert warehouse.series_ids() == []
    assert warehouse.status()["never.fetched"]["last_error"] == "HTTP 500"


def test_document_round_trip_keeps_bytes_and_provenance_and_a_vintage(warehouse):
    payload = '{"type": "FeatureCollection", "features": [], "name": "Hämeenlinna"}'.encode()
    warehouse.write_document("boundaries_test.geojson", payload, PROVENANCE)
    version = warehouse.latest_vintage_id()
    assert version >= 1  # a new document changes the data version, so maps are drawn anew
    stored, provenance = warehouse.read_document("boundaries_test.geojson")
    assert stored == payload
    assert provenance == PROVENANCE
    assert warehouse.status()["document:boundaries_test.geojson"]["last_success"]
    assert warehouse.series_ids() == []  # a document is not a series
    assert warehouse.documents() == ["boundaries_test.geojson"]
    assert warehouse.read_document("missing.geojson") is None
    warehouse.write_document("boundaries_test.geojson", payload, PROVENANCE)
    assert warehouse.latest_vintage_id() == version  # the same bytes again: no new vintage


def test_refresh_lock_lets_one_refresh_in_and_makes_the_second_wait_then_give_up(location):
    first, second = open_warehouse(location), open_warehouse(location)
    try:
        with first.refresh_lock(timeout_s=1):
            started = time.monotonic()
            with pytest.raises(WarehouseBusy, match="Another refresh"):
                with second.refresh_lock(timeout_s=0.5):
                    pass
            assert 0.4 < time.monotonic() - started < 5
        with second.refresh_lock(timeout_s=1):  # released: the next one gets in at once
            pass
    finally:
        first.close()
        second.close()


def test_backends_read_the_same_frames_and_a_copy_keeps_every_vintage(filled, request, tmp_path, backend):
    filled.write(series_data([("KU091", "2020", 657000.0), ("KU091", "2021", 660000.0)]))
    filled.write_document("boundaries_test.geojson", b'{"features": []}', PROVENANCE)
    # Copy into the other backend and back again: every vintage keeps its id and its numbers.
    other = "postgres" if backend == "local" else "local"
    with open_warehouse(new_location(other, request, tmp_path, "copy")) as copy:
        copy.migrate()
        counts = copy_warehouse(filled, copy)
        assert counts == {"series": 1, "vintages": 2, "documents": 1}
        for vintage in filled.vintages(SERIES):
            pd.testing.assert_frame_equal(copy.read([SERIES], as_of=vintage.id),
                                          filled.read([SERIES], as_of=vintage.id))
            assert copy.vintage(vintage.id) == vintage
        pd.testing.assert_frame_equal(copy.read(), filled.read())
        assert copy.read_document("boundaries_test.geojson")[0] == b'{"features": []}'
        with pytest.raises(WarehouseError, match="already holds series"):
            copy_warehouse(filled, copy)
        # A write after the copy continues the vintage numbering, never reusing an id.
        assert copy.write(series_data([("KU098", "2021", 1.0)])).vintage > filled.latest_vintage_id() - 1


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from sources.contract import SeriesData, tidy_frame
    from sources.warehouse import open_warehouse
    from tests.test_warehouse import INFO, PROVENANCE, killable_rows

    store = open_warehouse(sys.argv[1])
    regions, periods = killable_rows()
    step = 1
    print("ready", flush=True)
    while True:  # every write changes every value to `step`: a complete vintage holds one value only
        step += 1
        store.write(SeriesData(INFO, tidy_frame(INFO.id, regions, periods, [float(step)] * len(regions)), PROVENANCE))
    """
)


def killable_rows() -> tuple[list[str], list[str]]:
    """Constructed: 60 municipalities × 240 months, big enough that a write takes a while."""
    regions = [f"KU{number:03d}" for number in range(1, 61)]
    months = [f"{year}-{month:02d}" for year in range(2004, 2024) for month in range(1, 13)]
    return [region for region in regions for _ in months], months * len(regions)


@pytest.mark.parametrize("delay_s", [0.05, 0.3, 0.8, 1.5])
def test_kill_9_of_a_writer_at_any_moment_leaves_every_vintage_whole(warehouse, location, delay_s):
    regions, periods = killable_rows()
    warehouse.write(SeriesData(INFO, tidy_frame(INFO.id, regions, periods, [1.0] * len(regions)), PROVENANCE))
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, location], cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        assert writer.stdout.readline().strip() == b"ready", writer.stderr.read().decode()
        time.sleep(delay_s)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
    with open_warehouse(location) as after:
        vintages = after.vintages(SERIES)
        assert vintages and after.latest_vintage_id() == vintages[0].id
        for vintage in vintages:
            frame = after.read([SERIES], as_of=vintage.id)
            assert len(frame) == len(regions), vintage
            assert frame["value"].nunique() == 1, f"vintage {vintage.id} mixes two writes"
        # The next write works and becomes a newer vintage (PostgreSQL may skip the id a killed writer had drawn).
        result = after.write(series_data([("KU091", "2024-01", 5.0)]))
        assert result.vintage > vintages[0].id and after.latest_vintage_id() == result.vintage


# --- the local store's own files ----------------------------------------------------------------------------------


@pytest.fixture
def local_filled(tmp_path) -> LocalWarehouse:
    store = open_warehouse(tmp_path / "local")
    store.write(series_data([(region, period, value) for (region, period), value in FILLED.items()]))
    return store


@pytest.mark.parametrize("rows", [[("XX091", "2021", 1.0)], []], ids=["bad-region", "empty"])
def test_local_invalid_frame_leaves_the_file_byte_identical_and_no_temporary_file(local_filled, rows):
    path = local_filled.path_for(SERIES)
    before = path.read_bytes()
    with pytest.raises(SchemaChanged):
        local_filled.write(series_data(rows))
    assert path.read_bytes() == before
    assert [p.name for p in local_filled.series_dir.iterdir()] == [path.name]


def test_local_damaged_status_file_does_not_stop_reading(local_filled):
    local_filled.status_path.write_text("{not json", encoding="utf-8")
    assert local_filled.status() == {}
    assert len(local_filled.read([SERIES])) == 4


def test_local_index_lost_or_stale_is_rebuilt_from_the_series_files(local_filled):
    version = local_filled.latest_vintage_id()
    local_filled.index_path.unlink()  # as if a writer was killed before writing the index
    reader = open_warehouse(local_filled.root)
    assert reader.latest_vintage_id() == version
    assert [v.id for v in reader.vintages()] == [version]
    assert reader.write(series_data([("KU091", "2021", 1.0)])).vintage == version + 1
    assert local_filled.index_path.exists()


def test_local_series_files_without_revisions_read_as_vintage_zero(tmp_path):
    import json

    import pyarrow.parquet as pq

    # Constructed: a store written before vintages existed, i.e. series files without the revision columns and no
    # vintage index (made from the bundled population file by dropping those columns).

    bundled = pq.read_table(REPO_ROOT / "data" / "snapshot" / "series" / "snapshot.population.parquet")
    description = json.loads(bundled.schema.metadata[b"tiedolla"])
    description.pop("vintages")
    old_format = bundled.drop_columns(["valid_from", "valid_to"]).replace_schema_metadata(
        {b"tiedolla": json.dumps(description).encode()})
    (tmp_path / "series").mkdir()
    pq.write_table(old_format, tmp_path / "series" / "snapshot.population.parquet")
    old_store = open_warehouse(tmp_path)
    assert old_store.latest_vintage_id() == 0
    frame = old_store.read(["snapshot.population"])
    assert len(frame) == bundled.num_rows
    pd.testing.assert_frame_equal(old_store.read(["snapshot.population"], as_of=0), frame)


INTERRUPTED_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    from sources.contract import Provenance, SeriesData, SeriesInfo, tidy_frame
    from sources.warehouse import open_warehouse
    from tests.test_warehouse import INFO, PROVENANCE

    root, ready = Path(sys.argv[1]), Path(sys.argv[2])
    real_write_table = pq.write_table

    def write_half_then_hang(table, where, **kwargs):
        buffer = pa.BufferOutputStream()
        real_write_table(table, buffer, **kwargs)
        data = buffer.getvalue().to_pybytes()
        with open(where, "wb") as handle:
            handle.write(data[: len(data) // 2])
            handle.flush()
        ready.with_suffix(".tmp").write_text(str(where))
        os.replace(ready.with_suffix(".tmp"), ready)  # the test sees the path complete or not at all
        time.sleep(120)

    pq.write_table = write_half_then_hang
    frame = tidy_frame(INFO.id, ["KU091", "KU098"], ["2020", "2020"], [1.0, 2.0])
    open_warehouse(root).write(SeriesData(INFO, frame, PROVENANCE))
    """
)


def test_local_write_killed_midway_leaves_the_old_file_intact(local_filled, tmp_path):
    filled = local_filled
    path = filled.path_for(SERIES)
    before_bytes = path.read_bytes()
    before_frame = filled.read([SERIES])
    before_ids = filled.series_ids()
    ready = tmp_path / "writer-ready"
    # A separate process writes through the real Warehouse with a parquet writer that stops halfway.
    writer = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTED_WRITER, str(filled.root), str(ready)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        deadline = time.monotonic() + 20
        while not ready.exists():
            if writer.poll() is not None:
                pytest.fail(f"writer exited early: {writer.stderr.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail("writer never reached the write")
            time.sleep(0.02)
        partial = Path(ready.read_text())
        assert partial.parent == filled.series_dir
        assert partial != path
        assert partial.exists() and partial.stat().st_size > 0
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
    assert writer.returncode == -signal.SIGKILL
    assert path.read_bytes() == before_bytes
    pd.testing.assert_frame_equal(filled.read([SERIES]), before_frame)
    assert filled.series_ids() == before_ids
    pd.testing.assert_frame_equal(filled.read(), before_frame)  # the leftover is not read as a series
    # The next write works despite the leftover temporary file, and removes it.
    assert partial.exists()
    filled.write(series_data([("KU091", "2021", 660000.0)]))
    assert as_dict(filled.read([SERIES]))[("KU091", "2021")] == 660000.0
    assert not partial.exists()
    assert not list(filled.root.rglob("*.tmp"))


def run_sources(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sources", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=180, env={**os.environ, **(env or {})})


def test_migrate_fills_a_new_postgres_warehouse_and_copy_warehouse_moves_it_back_with_its_vintages(
        postgres_server, tmp_path):
    url = postgres_server.create_database(f"cli_{uuid.uuid4().hex[:10]}", migrated=False)
    first = run_sources("migrate", env={"TIEDOLLA_WAREHOUSE_URL": url})
    assert first.returncode == 0, first.stderr
    assert "Applied 3 migrations" in first.stdout and "Filled 40 series from the bundled snapshot" in first.stdout
    again = run_sources("migrate", env={"TIEDOLLA_WAREHOUSE_URL": url})
    assert again.returncode == 0 and "is up to date" in again.stdout and "Filled" not in again.stdout

    copied = run_sources("copy-warehouse", url, str(tmp_path / "local"))
    assert copied.returncode == 0, copied.stderr
    assert "Copied 40 series, 40 vintages and 0 documents" in copied.stdout
    with open_warehouse(url) as shared, open_warehouse(tmp_path / "local") as local:
        assert [v.id for v in local.vintages()] == [v.id for v in shared.vintages()]
        pd.testing.assert_frame_equal(local.read(), shared.read())
    refused = run_sources("copy-warehouse", url, str(tmp_path / "local"))
    assert refused.returncode == 1 and "already holds series" in refused.stderr and "Traceback" not in refused.stderr
    listed = run_sources("vintages", "--limit", "3", env={"TIEDOLLA_WAREHOUSE_URL": url})
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 3


def test_local_files_get_the_umask_mode_so_other_readers_can_read_them(local_filled):
    from sources.warehouse_local import FILE_MODE

    for path in [local_filled.path_for(SERIES), local_filled.status_path, local_filled.index_path]:
        assert path.stat().st_mode & 0o777 == FILE_MODE, path


def test_metadata_names_every_table_whose_values_are_shown(filled):
    # Constructed: 2019–2020 came from table 11re; a later fetch from another table adds 2021 only.
    first = filled.latest_vintage_id()
    other_table = Provenance(**{**PROVENANCE.to_dict(), "notes": (), "table": "table 142h"})
    filled.write(series_data([("KU091", "2021", 660000.0)], other_table))
    assert filled.metadata(SERIES)["tables"] == ["table 11re", "table 142h"]
    assert filled.metadata(SERIES)["provenance"].table == "table 142h"
    assert filled.metadata(SERIES, as_of=first)["tables"] == ["table 11re"]
    # Once the other table replaces every shown value, only it is named.
    filled.write(series_data([(region, period, value + 1) for (region, period), value in FILLED.items()]
                             + [("KU091", "2021", 660000.0)], other_table), merge=False)
    assert filled.metadata(SERIES)["tables"] == ["table 142h"]

"""The warehouse keeps good data safe: validated, merged, atomic writes; failures recorded beside the data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sources.contract import Provenance, SchemaChanged, SeriesData, SeriesInfo, tidy_frame
from sources.settings import REPO_ROOT
from sources.warehouse import Warehouse

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


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    return Warehouse(tmp_path / "wh")


@pytest.fixture
def filled(warehouse) -> Warehouse:
    # Constructed: the warehouse already holds two years of the test series.
    warehouse.write(series_data([("KU091", "2019", 650000.0), ("KU098", "2019", 23500.0),
                                 ("KU091", "2020", 656000.0), ("KU098", "2020", 23300.0)]))
    return warehouse


def test_write_then_read_keeps_values_and_provenance(warehouse):
    counts = warehouse.write(series_data([("KU091", "2020", 656000.0), ("KU098", "2020", np.nan),
                                          ("SSS", "2020", 5533000.0)]))
    assert counts == {"rows": 3, "new": 3, "changed": 0}
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


def test_read_of_unknown_series_is_empty_and_metadata_none(warehouse):
    assert warehouse.is_empty()
    assert warehouse.read(["nope.nope"]).empty
    assert warehouse.metadata("nope.nope") is None


def test_second_write_merges_keeps_old_periods_and_reports_new_and_changed(filled):
    before_provenance = filled.metadata(SERIES)["provenance"]
    newer = Provenance(**{**before_provenance.to_dict(), "notes": (), "fetched_at": "2026-02-01T00:00:00+00:00"})
    counts = filled.write(series_data([("KU091", "2020", 657000.0),  # changed
                                       ("KU098", "2020", 23300.0),  # same value
                                       ("KU091", "2021", 660000.0)],  # new
                                      newer))
    assert counts == {"rows": 5, "new": 1, "changed": 1}
    values = as_dict(filled.read([SERIES]))
    assert values == {("KU091", "2019"): 650000.0, ("KU098", "2019"): 23500.0, ("KU091", "2020"): 657000.0,
                      ("KU098", "2020"): 23300.0, ("KU091", "2021"): 660000.0}
    assert filled.metadata(SERIES)["provenance"].fetched_at == "2026-02-01T00:00:00+00:00"


def test_write_without_merge_replaces_the_series(filled):
    filled.write(series_data([("KU091", "2021", 1.0)]), merge=False)
    assert as_dict(filled.read([SERIES])) == {("KU091", "2021"): 1.0}


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
def test_invalid_frame_raises_schema_changed_and_leaves_old_file_byte_identical(filled, rows, problem):
    path = filled.path_for(SERIES)
    before = path.read_bytes()
    with pytest.raises(SchemaChanged, match=problem):
        filled.write(series_data(rows))
    assert path.read_bytes() == before
    assert filled.series_ids() == [SERIES]
    assert [p.name for p in filled.series_dir.iterdir()] == [path.name]  # no temporary file left behind


def test_frame_with_rows_of_another_series_is_refused(filled):
    path = filled.path_for(SERIES)
    before = path.read_bytes()
    data = series_data([("KU091", "2021", 1.0)])
    data.frame["series"] = "other.series"
    with pytest.raises(ValueError, match=SERIES):
        filled.write(data)
    assert path.read_bytes() == before


def test_record_failure_keeps_the_data_and_stores_the_error_in_status(filled):
    path = filled.path_for(SERIES)
    before = path.read_bytes()
    last_success = filled.status()[SERIES]["last_success"]
    message = "Statistics Finland did not answer within 30 s (vaerak/11re)."
    filled.record_failure(SERIES, "test", message)
    assert path.read_bytes() == before
    entry = filled.status()[SERIES]
    assert entry["last_error"] == message
    assert entry["last_error_at"]
    assert entry["last_success"] == last_success
    assert as_dict(filled.read([SERIES]))[("KU091", "2020")] == 656000.0


def test_record_failure_for_a_series_never_fetched_creates_no_data(warehouse):
    warehouse.record_failure("never.fetched", "test", "HTTP 500")
    assert warehouse.series_ids() == []
    assert warehouse.status()["never.fetched"]["last_error"] == "HTTP 500"


def test_damaged_status_file_does_not_stop_reading(filled):
    filled.status_path.write_text("{not json", encoding="utf-8")
    assert filled.status() == {}
    assert len(filled.read([SERIES])) == 4


def test_document_round_trip_keeps_bytes_and_provenance(warehouse):
    payload = '{"type": "FeatureCollection", "features": [], "name": "Hämeenlinna"}'.encode()
    warehouse.write_document("boundaries_test.geojson", payload, PROVENANCE)
    stored, provenance = warehouse.read_document("boundaries_test.geojson")
    assert stored == payload
    assert provenance == PROVENANCE
    assert warehouse.status()["document:boundaries_test.geojson"]["last_success"]
    assert warehouse.series_ids() == []  # a document is not a series
    assert warehouse.read_document("missing.geojson") is None


INTERRUPTED_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    from sources.contract import Provenance, SeriesData, SeriesInfo, tidy_frame
    from sources.warehouse import Warehouse
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
    Warehouse(root).write(SeriesData(INFO, frame, PROVENANCE))
    """
)


def test_write_killed_midway_leaves_the_old_data_intact(filled, tmp_path):
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
    # The next write works despite the leftover temporary file.
    filled.write(series_data([("KU091", "2021", 660000.0)]))
    assert as_dict(filled.read([SERIES]))[("KU091", "2021")] == 660000.0

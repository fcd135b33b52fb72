"""CSV tables over HTTP, a Tiedolla source kind in a package of its own: one `;`-separated file per series with the
columns `region;period;value`.

Service: `{base_url}{file}` (GET), UTF-8, decimal comma or point. Terms: as the publisher states; `licence` and
`attribution` in config.toml travel with every fetched series in its Provenance. Configure it as

    [sources.demo]
    kind = "csv_table"
    base_url = "https://data.example.fi/tables/"
    publisher = "Example publisher"
    licence = "CC BY 4.0"
    attribution = "Example publisher"

    [[sources.demo.series]]
    id = "demo.population"
    title = { fi = "Väestö", sv = "Befolkning", en = "Population" }
    unit = "henkilöä"
    file = "population.csv"
"""

from __future__ import annotations

import csv
import io
from typing import ClassVar
from urllib.parse import urljoin

import pandas as pd
import requests

from sources.base import ConfiguredAdapter
from sources.contract import Provenance, SchemaChanged, SeriesData, now_iso, tidy_frame, validate_frame
from sources.http import SourceClient, decode_text
from sources.settings import ConfigError, Settings, SourceConfig

COLUMNS = ("region", "period", "value")
MAX_CALLS_DEFAULT, WINDOW_S_DEFAULT = 10, 10.0  # polite defaults: ten requests per ten seconds


class CsvTableAdapter(ConfiguredAdapter):
    kind: ClassVar[str] = "csv_table"
    # The keys config.toml may give beyond the common ones; Tiedolla refuses others with a "did you mean".
    SOURCE_KEYS: ClassVar[frozenset[str]] = frozenset()
    SERIES_KEYS: ClassVar[frozenset[str]] = frozenset({"file"})

    def __init__(self, name: str, config: SourceConfig, settings: Settings,
                 session: requests.Session | None = None) -> None:
        super().__init__(name, config, settings, session)
        # Timeouts, retries, the shared rate limit and typed errors come with Tiedolla's HTTP client.
        self.client = SourceClient.from_config(config, settings, session, base_url=config.base_url,
                                               max_calls_default=MAX_CALLS_DEFAULT, window_s_default=WINDOW_S_DEFAULT)
        for series in config.series:  # fail at start-up, not halfway through a refresh
            if not (series.model_extra or {}).get("file"):
                raise ConfigError(f"[[sources.{name}.series]] {series.id} needs file = \"name.csv\".")

    def fetch(self, series_ids=None, regions=None, periods=None, progress=None) -> list[SeriesData]:
        results = []
        for series in self.select_series(series_ids):
            url = urljoin(self.config.base_url, series.model_extra["file"])
            context = f"{self.config.publisher or self.name} ({series.id})"
            response = self.client.get(url, context=context, progress=progress, message=series.id)
            frame = parse_table(decode_text(response), series.id, context)
            if regions is not None:
                frame = frame[frame["region"].isin(regions)]
            if periods is not None:
                frame = frame[frame["period"].isin(periods)]
            provenance = Provenance(
                source=self.name, table=series.model_extra["file"], request_url=url, fetched_at=now_iso(),
                data_updated=response.headers.get("Last-Modified"), licence=self.config.licence,
                attribution=self.config.attribution,
            )
            results.append(SeriesData(self.info_for(series), validate_frame(frame.reset_index(drop=True), context),
                                      provenance))
            if progress is not None:
                progress(cells=len(frame), message=series.id)
        return results


def parse_table(text: str, series_id: str, context: str) -> pd.DataFrame:
    """The CSV text as a tidy frame; SchemaChanged when the columns are not `region;period;value`."""
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    if not rows or set(COLUMNS) - set(rows[0]):
        raise SchemaChanged(f"{context}: expected the columns {', '.join(COLUMNS)}; the file format has changed.")
    return tidy_frame(series_id, [row["region"] for row in rows], [row["period"] for row in rows],
                      [row["value"].replace(",", ".") for row in rows])

"""A base class for adapters whose series are declared in configuration.

Most adapters (snapshot, PxWeb, Sotkanet, Syke) list their series under `[[sources.NAME.series]]` in config.toml;
this class turns those declarations into `SeriesInfo`s and resolves requested ids, so an adapter module holds only
what is particular to its service.
"""

from __future__ import annotations

from typing import ClassVar

import requests

from sources.contract import NotFound, SeriesInfo
from sources.settings import SeriesConfig, Settings, SourceConfig


class ConfiguredAdapter:
    kind: ClassVar[str] = ""

    def __init__(self, name: str, config: SourceConfig, settings: Settings,
                 session: requests.Session | None = None) -> None:
        self.name = name
        self.config = config
        self.settings = settings
        self.session = session

    def info_for(self, series: SeriesConfig) -> SeriesInfo:
        return SeriesInfo(
            id=series.id,
            title=series.title,
            unit=series.unit,
            publisher=self.config.publisher,
            licence=self.config.licence,
            home_url=self.config.home_url,
            frequency=series.frequency,
            measure=series.measure,
            description=series.description,
            source=self.name,
        )

    def describe(self) -> list[SeriesInfo]:
        return [self.info_for(series) for series in self.config.series]

    def select_series(self, series_ids: list[str] | None) -> list[SeriesConfig]:
        """The configured series named by `series_ids` (all when None); NotFound names unknown ids."""
        if series_ids is None:
            return list(self.config.series)
        by_id = {series.id: series for series in self.config.series}
        unknown = [series_id for series_id in series_ids if series_id not in by_id]
        if unknown:
            raise NotFound(f"Source '{self.name}' has no series {', '.join(unknown)}. Check config.toml.")
        return [by_id[series_id] for series_id in series_ids]

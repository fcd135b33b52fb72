"""A PxWeb v1 host for tests, served by the replay server: `?config`, table metadata and json-stat2 data answers.

Every answer here is CONSTRUCTED in the documented format (SOURCES.md: `?config` keys, metadata `{"title",
"variables": [{"code", "text", "values", "valueTexts", "elimination", "time", "map"}]}`, json-stat2 with `id`, `size`,
`dimension[code].category.index/label`, row-major `value`, `updated`, `role`, `extension.px.tableid`), with the
post-June-2026 variable codes (`alue_23_20260101`, `timeperiod_m`, `contentscode`). The one real answer, from
data/raw/statfin-json-stat2, is replayed by tests that load it explicitly (see `real_answer_path`).

The data answer is computed from the posted query, so the fake answers any selection the adapter builds: it
honours `item`, `all` and `top` filters, leaves out variables the query leaves out (eliminated), refuses queries over
its cell limit with HTTP 403 like the service, and records the cells of every query for the tests to check.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.replay_server import Answer, RecordedRequest, ReplayServer, json_answer

REPO_ROOT = Path(__file__).resolve().parent.parent
BASE_PATH = "/PxWeb/api/v1/fi/"
BOM = "\ufeff".encode("utf-8")

Value = Callable[[dict[str, str]], float | None]


def real_answer_path() -> Path:
    """The real json-stat2 answer of StatFin table 11re (three cities, 2025): data/raw first, shared copy second."""
    local = REPO_ROOT / "data" / "raw" / "statfin-json-stat2" / "api-query-three-cities.json"
    return local if local.exists() else Path("/work/shared/data/statfin-json-stat2/api-query-three-cities.json")


def variable(code, text, values, texts=None, *, elimination=False, time=False, map=None) -> dict:
    """One metadata variable in PxWeb v1's documented shape."""
    entry = {"code": code, "text": text, "values": list(values), "valueTexts": list(texts or values)}
    entry["elimination"] = elimination
    if time:
        entry["time"] = True
    if map:
        entry["map"] = map
    return entry


def months(first_year: int, last_year: int) -> list[str]:
    return [f"{year}M{month:02d}" for year in range(first_year, last_year + 1) for month in range(1, 13)]


def cell_value(codes: dict[str, str]) -> float:
    """A deterministic value per cell, so a test can recompute what any cell must hold."""
    text = "|".join(f"{key}={codes[key]}" for key in sorted(codes))
    return float(sum((index + 1) * ord(char) for index, char in enumerate(text)) % 100_000)


@dataclass
class FakeTable:
    path: str  # relative to the base, without .px, e.g. "StatFin/tyonv/12r5"
    title: str
    variables: list[dict]
    value: Value = cell_value
    updated: str = "2026-05-20T05:00:00Z"
    table_id: str = ""
    # Test hooks: replace the metadata or the data answer (faults), or delay the data answer (timeouts, kills).
    metadata_override: Callable[[RecordedRequest], Answer] | None = None
    data_override: Callable[[RecordedRequest], Answer] | None = None
    delay_s: float = 0.0
    bom: bool = False
    posted_cells: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.table_id = self.table_id or self.path.rsplit("/", 1)[-1]


class FakePxWeb:
    def __init__(self, server: ReplayServer, config: dict | None = None, base_path: str = BASE_PATH) -> None:
        self.server = server
        self.base_path = base_path
        self.config = config if config is not None else {
            "maxValues": 120000, "maxCells": 120000, "maxCalls": 40, "timeWindow": 60,
        }
        self.tables: dict[str, FakeTable] = {}
        # A host may enforce a cell limit without announcing it (its ?config answering 404): set this to do so.
        self.enforced_cells: int | None = None
        # With `enforce_calls`, more than maxCalls requests within timeWindow seconds (counted on arrival, from
        # every client) are refused with HTTP 429, as the service does; `refused` counts them.
        self.enforce_calls = False
        self.refused = 0
        self._arrivals: list[float] = []
        self._arrivals_lock = threading.Lock()
        server.route("GET", base_path, self._limited(self._config_answer))

    @property
    def base_url(self) -> str:
        return self.server.base + self.base_path

    def add(self, table: FakeTable) -> FakeTable:
        self.tables[table.path] = table
        url_path = f"{self.base_path}{table.path}.px"
        self.server.route("GET", url_path, self._limited(lambda request: self._metadata_answer(table, request)))
        self.server.route("POST", url_path, self._limited(lambda request: self._data_answer(table, request)))
        folder = table.path.rpartition("/")[0]
        self.server.route("GET", f"{self.base_path}{folder}/",
                          self._limited(lambda request: self._listing_answer(folder)))
        return table

    def _limited(self, handler):
        def answer(request: RecordedRequest) -> Answer:
            if self.enforce_calls and self.config:
                with self._arrivals_lock:
                    window = float(self.config["timeWindow"])
                    self._arrivals = [moment for moment in self._arrivals if request.at - moment < window]
                    if len(self._arrivals) >= int(self.config["maxCalls"]):
                        self.refused += 1
                        return 429, {"Content-Type": "text/plain", "Retry-After": str(int(window))}, b"Too many"
                    self._arrivals.append(request.at)
            return handler(request)
        return answer

    def posts(self, table: FakeTable) -> list[RecordedRequest]:
        return self.server.calls("POST", f"{self.base_path}{table.path}.px")

    def metadata_reads(self, table: FakeTable) -> list[RecordedRequest]:
        return self.server.calls("GET", f"{self.base_path}{table.path}.px")

    def listing_reads(self, folder: str) -> list[RecordedRequest]:
        return self.server.calls("GET", f"{self.base_path}{folder}/")

    def config_reads(self) -> list[RecordedRequest]:
        # "?config" has no value, so the recorded query is empty: every GET of the bare base is a limits read.
        return self.server.calls("GET", self.base_path)

    # --- answers ------------------------------------------------------------------------------------------------

    def _config_answer(self, request: RecordedRequest) -> Answer:
        if self.config is None:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        return json_answer(json.dumps(self.config))

    def _listing_answer(self, folder: str) -> Answer:
        """A folder listing as PxWeb v1 gives it: one entry per table, with the table's `updated`."""
        entries = [{"id": f"{table.path.rpartition('/')[2]}.px", "type": "t", "text": table.title,
                    "updated": table.updated} for table in self.tables.values()
                   if table.path.rpartition("/")[0] == folder]
        return json_answer(json.dumps(entries, ensure_ascii=False))

    def _metadata_answer(self, table: FakeTable, request: RecordedRequest) -> Answer:
        if table.metadata_override is not None:
            return table.metadata_override(request)
        body = json.dumps({"title": table.title, "variables": table.variables}, ensure_ascii=False).encode("utf-8")
        return json_answer(BOM + body if table.bom else body)

    def _data_answer(self, table: FakeTable, request: RecordedRequest) -> Answer:
        if table.delay_s:
            time.sleep(table.delay_s)
        if table.data_override is not None:
            return table.data_override(request)
        query = json.loads(request.body)
        payload = json_stat2_answer(table, query)
        cells = math.prod(payload["size"])
        table.posted_cells.append(cells)
        limits = self.config or {}
        limit = min(limits.get("maxValues", math.inf), limits.get("maxCells", math.inf),
                    self.enforced_cells or math.inf)
        if cells > limit:
            return 403, {"Content-Type": "text/plain"}, b"Too many values selected"
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return json_answer(BOM + body if table.bom else body)


def json_stat2_answer(table: FakeTable, query: dict) -> dict:
    """The json-stat2 dataset PxWeb would answer to `query` (constructed, documented format)."""
    assert query.get("response", {}).get("format") == "json-stat2", "the adapter must ask for json-stat2"
    selected: dict[str, list[str]] = {}
    by_code = {entry["code"]: entry for entry in query["query"]}
    for var in table.variables:
        entry = by_code.get(var["code"])
        if entry is None:
            assert var["elimination"], f"variable {var['code']} cannot be left out"
            continue
        selection = entry["selection"]
        if selection["filter"] == "all":
            values = list(var["values"])
        elif selection["filter"] == "top":
            values = list(var["values"])[-int(selection["values"][0]):]
        else:
            assert selection["filter"] == "item"
            unknown = set(selection["values"]) - set(var["values"])
            assert not unknown, f"unknown values {unknown} for {var['code']}"
            values = [value for value in var["values"] if value in set(selection["values"])]
        selected[var["code"]] = values
    assert set(by_code) <= {var["code"] for var in table.variables}, "query names a variable the table lacks"
    texts = {var["code"]: dict(zip(var["values"], var["valueTexts"])) for var in table.variables}
    ids = list(selected)
    dimension = {
        code: {
            "label": next(var["text"] for var in table.variables if var["code"] == code),
            "category": {
                "index": {value: position for position, value in enumerate(values)},
                "label": {value: texts[code][value] for value in values},
            },
        }
        for code, values in selected.items()
    }
    cells = [dict(zip(ids, combination)) for combination in itertools.product(*selected.values())]
    time_code = next(var["code"] for var in table.variables if var.get("time"))
    geo_code = next((var["code"] for var in table.variables if var.get("map")), None)
    return {
        "version": "2.0",
        "class": "dataset",
        "label": table.title,
        "source": "constructed test answer",
        "updated": table.updated,
        "role": {"time": [time_code], **({"geo": [geo_code]} if geo_code else {})},
        "id": ids,
        "size": [len(values) for values in selected.values()],
        "dimension": dimension,
        "extension": {"px": {"tableid": table.table_id}},
        "value": [table.value(cell) for cell in cells],
    }


# --- tables modelled on the ones config.toml uses (constructed metadata) --------------------------------------

REGIONS = ["SSS", "MK07", "KU016", "KU098", "KU111", "KU560"]
REGION_TEXTS = ["KOKO MAA", "Päijät-Häme", "Asikkala", "Hollola", "Heinola", "Orimattila"]
UNEMPLOYMENT_CONTENTS = {
    "tyonv_1001": "Työttömät työnhakijat (lkm.)",
    "tyonv_1002": "Työvoima (lkm.)",
    "tyonv_1003": "Avoimet työpaikat (lkm.)",
    "tyonv_1004": "Työttömien osuus työvoimasta (%)",
}


def unemployment_table(regions=REGIONS, region_texts=REGION_TEXTS, periods=None, **kwargs) -> FakeTable:
    """Modelled on StatFin tyonv/12r5: monthly unemployment by municipality (constructed)."""
    periods = periods or months(2024, 2025)
    return FakeTable(
        path="StatFin/tyonv/12r5",
        title="Työnhakijat kuukauden lopussa muuttujina Alue, Kuukausi ja Tiedot",
        variables=[
            variable("alue_23_20260101", "Alue", regions, region_texts, elimination=True, map="Alue 2026"),
            variable("timeperiod_m", "Kuukausi", periods, time=True),
            variable("contentscode", "Tiedot", UNEMPLOYMENT_CONTENTS, UNEMPLOYMENT_CONTENTS.values()),
        ],
        **kwargs,
    )


def population_table(**kwargs) -> FakeTable:
    """Modelled on StatFin vaerak/11re after the June 2026 change (codes as in the real answer; constructed)."""
    return FakeTable(
        path="StatFin/vaerak/11re",
        title="Väestö 31.12. muuttujina Alue, Ikä, Sukupuoli, Vuosi ja Tiedot",
        variables=[
            variable("alue_23_20260101", "Alue", ["SSS", "KU049", "KU091", "KU092", "KU098"],
                     ["KOKO MAA", "Espoo", "Helsinki", "Vantaa", "Hollola"], elimination=True, map="Alue 2026"),
            variable("ikaryhma_10_20180101", "Ikä", ["SSS", "000", "001"], ["Yhteensä", "0", "1"], elimination=True),
            variable("sukupuoli_9_20180101", "Sukupuoli", ["SSS", "1", "2"], ["Yhteensä", "Miehet", "Naiset"],
                     elimination=True),
            variable("timeperiod_y", "Vuosi", [str(year) for year in range(2020, 2026)], time=True),
            variable("contentscode", "Tiedot", ["vaerak-vaesto"], ["Väestö 31.12."]),
        ],
        table_id="11re",
        **kwargs,
    )


def pxweb_config(base_url: str, series: list[dict], name: str = "statfin", **options) -> str:
    """A config.toml with one pxweb source (short timeouts and retries so fault tests stay fast)."""
    settings = {
        "kind": "pxweb",
        "base_url": base_url,
        "publisher": "Statistics Finland",
        "licence": "CC BY 4.0",
        "attribution": "Statistics Finland",
        "home_url": "https://pxdata.stat.fi/",
        "timeout_connect_s": 1.0,
        "timeout_read_s": 2.0,
        "max_retries": 1,
        "backoff_base_s": 0.01,
        **options,
    }
    lines = [f"[sources.{name}]"] + [f"{key} = {toml_value(value)}" for key, value in settings.items()]
    for entry in series:
        lines.append(f"\n[[sources.{name}.series]]")
        lines += [f"{key} = {toml_value(value)}" for key, value in entry.items()]
    return "\n".join(lines) + "\n"


def series_entry(series_id: str, **keys) -> dict:
    entry = {"id": series_id, "title": {"fi": series_id, "sv": series_id, "en": series_id}, "unit": "n"}
    entry.update(keys)
    return entry


def toml_value(value) -> str:
    """A value as TOML text (strings, numbers, booleans, lists and inline tables), for test config files."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{json.dumps(key, ensure_ascii=False)} = {toml_value(item)}" for key, item in value.items())
        return "{ " + ", ".join(pairs) + " }"
    raise TypeError(value)

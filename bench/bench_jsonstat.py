"""Benchmark: decoding a large json-stat2 answer as the app does (`sources.http.decode_json`, orjson on the bytes,
then our vectorised `parse_json_stat2`), against a bare stdlib `json.loads` of the same text, a bare `orjson.loads`
of its bytes, and pyjstat.

Builds a CONSTRUCTED answer in StatFin's post-2026 shape (308 municipalities x 240 months x 3 contents = 221 760
cells, about 2 % nulls), then times answer -> DataFrame of codes and values:
    json.loads:    json.loads(text), the stdlib parse the target is stated against (given the text already decoded
                   from UTF-8, which the others do themselves; its result dropped, as the others drop theirs)
    orjson.loads:  orjson.loads(body), the bare parse the app pays now
    floor:         orjson.loads(body), then its list of values as float64 (np.array): what no decoder of the parsed
                   answer can avoid
    ours:          parse_json_stat2(decode_json(response)), with the answer's bytes as a requests.Response's body;
                   decode_json's checks (a byte-order mark, 19 digits in a row) included
    pyjstat:       pyjstat.Dataset.read(text).write("dataframe", naming="id")
The runs are interleaved (each round runs every decoder in turn), so a busy machine slows them all alike, and each
ratio is the median of the rounds' own ratios. Targets: ours within 1.5x of json.loads; at least 5x faster than
pyjstat.

Run: .venv/bin/python bench/bench_jsonstat.py [--rounds 7] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import orjson
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sources.http import decode_json  # noqa: E402
from sources.pxweb import parse_json_stat2  # noqa: E402

REGIONS = 308
MONTHS = 240
CONTENTS = ("tyonv_1001", "tyonv_1002", "tyonv_1003")
NULL_SHARE = 0.02  # PxWeb answers null for suppressed or not yet published cells


def build_answer(seed: int = 2026) -> str:
    """A json-stat2 dataset like StatFin's 12r5 answer, as the JSON text the service would send."""
    rng = np.random.default_rng(seed)
    regions = [f"KU{number:03d}" for number in range(1, REGIONS + 1)]
    months = [f"{2006 + index // 12}M{index % 12 + 1:02d}" for index in range(MONTHS)]
    dimensions = {
        "alue_23_20260101": regions,
        "timeperiod_m": months,
        "contentscode": list(CONTENTS),
    }
    cells = REGIONS * MONTHS * len(CONTENTS)
    values = rng.integers(0, 50_000, size=cells).astype(object)
    values[rng.random(cells) < NULL_SHARE] = None
    payload = {
        "version": "2.0",
        "class": "dataset",
        "label": "Constructed benchmark answer",
        "updated": "2026-06-08T05:00:00Z",
        "role": {"time": ["timeperiod_m"], "geo": ["alue_23_20260101"], "metric": ["contentscode"]},
        "id": list(dimensions),
        "size": [len(codes) for codes in dimensions.values()],
        "dimension": {
            dim_id: {
                "label": dim_id,
                "category": {
                    "index": {code: position for position, code in enumerate(codes)},
                    "label": {code: code for code in codes},
                },
            }
            for dim_id, codes in dimensions.items()
        },
        "value": values.tolist(),
    }
    return json.dumps(payload)


class Answer:
    """One answer in the forms the decoders take: the JSON text, its UTF-8 bytes and a response carrying them."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.body = text.encode("utf-8")
        self.response = requests.Response()
        self.response.status_code = 200
        self.response._content = self.body


def decode_ours(answer: Answer):
    return parse_json_stat2(decode_json(answer.response, "benchmark"))


def decode_pyjstat(answer: Answer):
    import pyjstat.pyjstat as pyjstat

    return pyjstat.Dataset.read(answer.text).write("dataframe", naming="id")


def seconds(function, answer: Answer) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(answer)
    return time.perf_counter() - started, result


# The parsed answers are dropped inside the timing, as the other decoders drop theirs: freeing their ~220 000
# objects is part of what parsing costs (about 7 % of it).
def decode_loads(answer: Answer) -> None:
    json.loads(answer.text)


def decode_orjson(answer: Answer) -> None:
    orjson.loads(answer.body)


def decode_floor(answer: Answer):
    return np.array(orjson.loads(answer.body)["value"], dtype="float64")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds, each with one pyjstat run (seconds each)")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each fast decoder per round")
    args = parser.parse_args()

    answer = Answer(build_answer())
    cells = REGIONS * MONTHS * len(CONTENTS)
    fast = {"json.loads": decode_loads, "orjson.loads": decode_orjson, "floor": decode_floor, "ours": decode_ours}
    times: dict[str, list[float]] = {name: [] for name in [*fast, "pyjstat"]}
    # Per-run ratios of one decoder's time to another's in the same repeat of the same round.
    pairs = {"ours / json.loads": ("ours", "json.loads"), "ours / orjson.loads": ("ours", "orjson.loads"),
             "floor / json.loads": ("floor", "json.loads"), "floor / orjson.loads": ("floor", "orjson.loads"),
             "orjson.loads / json.loads": ("orjson.loads", "json.loads")}
    ratios: dict[str, list[float]] = {pair: [] for pair in pairs}
    pyjstat_ratio = []
    ours = theirs = None
    for _ in range(args.rounds):
        round_times: dict[str, list[float]] = {name: [] for name in fast}
        for _ in range(args.repeats):
            for name, function in fast.items():
                elapsed, result = seconds(function, answer)
                round_times[name].append(elapsed)
                ours = result if name == "ours" else ours
        elapsed, theirs = seconds(decode_pyjstat, answer)
        times["pyjstat"].append(elapsed)
        for name, values in round_times.items():
            times[name] += values
        for pair, (top, bottom) in pairs.items():
            ratios[pair] += [t / b for t, b in zip(round_times[top], round_times[bottom])]
        pyjstat_ratio.append(elapsed / statistics.median(round_times["ours"]))

    # Both must have decoded the same cells before their times mean anything.
    assert len(ours) == len(theirs) == cells
    ours_values = ours["value"].to_numpy(dtype="float64")
    theirs_values = theirs["value"].to_numpy(dtype="float64", na_value=np.nan)
    assert np.array_equal(ours_values, theirs_values, equal_nan=True)
    assert (ours["alue_23_20260101"].astype(str).to_numpy() == theirs["alue_23_20260101"].astype(str).to_numpy()).all()

    def ms(name: str) -> str:
        return f"median {statistics.median(times[name]) * 1000:8.1f} ms over {len(times[name])} runs"

    print(f"json-stat2 answer: {cells:,} cells ({REGIONS} regions x {MONTHS} months x {len(CONTENTS)} contents), "
          f"{len(answer.body) / 1e6:.1f} MB of JSON; {args.rounds} interleaved rounds")
    print(f"json.loads alone (stdlib, of the text):   {ms('json.loads')}")
    print(f"orjson.loads alone (of the bytes):        {ms('orjson.loads')}")
    print(f"floor (orjson.loads + values float64):    {ms('floor')}")
    print(f"ours (decode_json + parse_json_stat2):    {ms('ours')}")
    print(f"pyjstat Dataset.read().write():           {ms('pyjstat')}")
    for pair, values in ratios.items():
        print(f"ratio {pair + ':':27s} {statistics.median(values):.2f}x")
    print(f"ratio {'pyjstat / ours:':27s} {statistics.median(pyjstat_ratio):.0f}x "
          f"(rounds: {min(pyjstat_ratio):.0f}x to {max(pyjstat_ratio):.0f}x)")


if __name__ == "__main__":
    main()

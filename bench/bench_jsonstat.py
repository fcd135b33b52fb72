"""Benchmark: decoding a large json-stat2 answer with our vectorised `parse_json_stat2` against pyjstat.

Builds a CONSTRUCTED answer in StatFin's post-2026 shape (308 municipalities x 240 months x 3 contents = 221 760
cells, about 2 % nulls), then times, in one run, JSON text -> DataFrame of codes and values:
    ours:     parse_json_stat2(json.loads(text))
    pyjstat:  pyjstat.Dataset.read(text).write("dataframe", naming="id")
and prints the median of a few repeats of each and their ratio (target: ours at least 5x faster).

Run: .venv/bin/python bench/bench_jsonstat.py [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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


def decode_ours(text: str):
    return parse_json_stat2(json.loads(text))


def decode_pyjstat(text: str):
    import pyjstat.pyjstat as pyjstat

    return pyjstat.Dataset.read(text).write("dataframe", naming="id")


def median_seconds(function, text: str, repeats: int) -> tuple[float, object]:
    timings, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function(text)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    text = build_answer()
    cells = REGIONS * MONTHS * len(CONTENTS)
    ours_s, ours = median_seconds(decode_ours, text, args.repeats)
    loaded = json.loads(text)
    parse_only_s, _ = median_seconds(lambda _: parse_json_stat2(loaded), text, args.repeats)
    pyjstat_repeats = max(3, args.repeats // 2)  # pyjstat takes seconds per run
    theirs_s, theirs = median_seconds(decode_pyjstat, text, pyjstat_repeats)

    # Both must have decoded the same cells before their times mean anything.
    assert len(ours) == len(theirs) == cells
    ours_values = ours["value"].to_numpy(dtype="float64")
    theirs_values = theirs["value"].to_numpy(dtype="float64", na_value=np.nan)
    assert np.array_equal(ours_values, theirs_values, equal_nan=True)
    assert (ours["alue_23_20260101"].astype(str).to_numpy() == theirs["alue_23_20260101"].astype(str).to_numpy()).all()

    print(f"json-stat2 answer: {cells:,} cells ({REGIONS} regions x {MONTHS} months x {len(CONTENTS)} contents), "
          f"{len(text) / 1e6:.1f} MB of JSON")
    print(f"parse_json_stat2 (incl. json.loads): median {ours_s * 1000:8.1f} ms over {args.repeats} runs")
    print(f"  of which parse_json_stat2 alone:   median {parse_only_s * 1000:8.1f} ms")
    print(f"pyjstat Dataset.read().write():      median {theirs_s * 1000:8.1f} ms over {pyjstat_repeats} runs")
    print(f"ratio pyjstat / ours: {theirs_s / ours_s:.1f}x")


if __name__ == "__main__":
    main()

"""`sources.http.decode_json`, which every adapter's JSON answer goes through: orjson parses the bytes, and what it
gives is what the stdlib `json.loads` gave before, for good answers and bad ones alike.

The bodies are CONSTRUCTED: a small json-stat2 answer in StatFin's shape and a few broken ones.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import requests
from hypothesis import given, settings, strategies as st

from sources.contract import SchemaChanged
from sources.http import decode_json
from sources.pxweb import parse_json_stat2

pytestmark = pytest.mark.no_warehouse

BOM = b"\xef\xbb\xbf"
CONTEXT = "Statistics Finland (12r5)"

# CONSTRUCTED: 2 municipalities x 3 months, with a null, a negative, a decimal, an exponent, a zero and a large
# integer among the values, Finnish and Swedish labels, and an integer beyond 64 bits in the extension.
ANSWER = """{
  "version": "2.0", "class": "dataset", "label": "Työttömät työnhakijat, Helsingfors–Espoo",
  "updated": "2026-06-08T05:00:00Z",
  "id": ["alue", "kuukausi"], "size": [2, 3],
  "dimension": {
    "alue": {"label": "Alue", "category": {"index": {"KU091": 0, "KU049": 1},
                                           "label": {"KU091": "Helsinki – Helsingfors", "KU049": "Espoo – Esbo"}}},
    "kuukausi": {"label": "Kuukausi", "category": {"index": ["2026M01", "2026M02", "2026M03"]}}
  },
  "value": [41250, null, -3.5, 1.25e3, 0, 9007199254740993],
  "extension": {"px": {"tableid": "12r5", "decimals": 0, "checksum": 123456789012345678901234567890}}
}"""
VALUES = [41250.0, np.nan, -3.5, 1250.0, 0.0, 9007199254740993.0]


def response(body: bytes) -> requests.Response:
    answer = requests.Response()
    answer.status_code = 200
    answer._content = body
    return answer


def test_an_answer_decodes_to_exactly_what_the_stdlib_gives_values_types_and_all():
    decoded = decode_json(response(ANSWER.encode("utf-8")), CONTEXT)
    # repr tells 1 from 1.0 and keeps key order, so this compares the types and the order too.
    assert repr(decoded) == repr(json.loads(ANSWER))
    assert decoded["value"][1] is None and type(decoded["value"][0]) is int and type(decoded["value"][3]) is float
    assert decoded["value"][5] == 9007199254740993  # an int, not rounded to the float 9007199254740992
    assert decoded["extension"]["px"]["checksum"] == 123456789012345678901234567890
    assert decoded["label"] == "Työttömät työnhakijat, Helsingfors–Espoo"
    frame = parse_json_stat2(decoded)
    assert list(frame["alue"].astype(str)) == ["KU091"] * 3 + ["KU049"] * 3
    assert np.array_equal(frame["value"].to_numpy(), np.array(VALUES), equal_nan=True)


def test_an_answer_with_a_byte_order_mark_decodes_like_one_without():
    assert decode_json(response(BOM + ANSWER.encode("utf-8")), CONTEXT) == json.loads(ANSWER)


def test_a_well_formed_answer_with_or_without_a_byte_order_mark_never_needs_the_slow_stdlib_parser(monkeypatch):
    def stdlib_loads(*args, **kwargs):
        raise AssertionError("json.loads ran on a well-formed answer")

    monkeypatch.setattr("sources.http.json.loads", stdlib_loads)
    body = ANSWER.replace("123456789012345678901234567890", "1234567").encode("utf-8")
    assert decode_json(response(body), CONTEXT)["size"] == [2, 3]
    assert decode_json(response(BOM + body), CONTEXT)["size"] == [2, 3]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{\n  "id": ["alue"],\n  oops\n}', "Expecting property name enclosed in double quotes at line 3"),
        (b"<html><body>Huoltokatko</body></html>", "Expecting value at line 1"),
        (b"", "Expecting value at line 1"),
        (b'{"value": [1, 2,]}', "Expecting value at line 1"),
        (BOM + BOM + b"[1]", "Unexpected UTF-8 BOM (decode using utf-8-sig) at line 1"),
    ],
)
def test_a_malformed_answer_is_schema_changed_with_the_stdlib_reason_and_its_line(body, reason):
    with pytest.raises(SchemaChanged) as raised:
        decode_json(response(body), CONTEXT)
    assert str(raised.value) == (
        f"{CONTEXT}: the answer is not valid JSON ({reason}). "
        "The service may be down for maintenance or have changed its format."
    )


def test_bytes_that_are_not_utf_8_inside_a_string_become_the_replacement_character_as_before():
    # A host that sends Latin-1 "ä" (one byte, 0xE4) in a label: the answer still decodes, the label shows U+FFFD.
    body = '{"label": "Työttömät", "value": [1, null]}'.encode("latin-1")
    assert decode_json(response(body), CONTEXT) == {"label": "Ty\ufffdtt\ufffdm\ufffdt", "value": [1, None]}


def test_what_only_the_stdlib_reads_still_decodes_as_it_did():
    # NaN and Infinity are not JSON, but the stdlib read them and some hosts write them; a number beyond float range
    # is infinity; a lone surrogate escape is kept.
    decoded = decode_json(response(b'{"value": [NaN, Infinity, -Infinity, 1e400], "label": "\\ud800"}'), CONTEXT)
    assert math.isnan(decoded["value"][0]) and decoded["value"][1:] == [math.inf, -math.inf, math.inf]
    assert decoded["label"] == "\ud800"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES, ensure_ascii=st.booleans(), bom=st.booleans())
def test_any_json_document_decodes_as_the_stdlib_decodes_it(value, ensure_ascii, bom):
    text = json.dumps(value, ensure_ascii=ensure_ascii)
    body = (BOM if bom else b"") + text.encode("utf-8", errors="surrogatepass")
    assert repr(decode_json(response(body), CONTEXT)) == repr(json.loads(body.decode("utf-8-sig", errors="replace")))

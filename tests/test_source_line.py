"""The source line under a chart names every table whose rows it shows (a series can mix years of two tables)."""

from __future__ import annotations

import pandas as pd

from ui.i18n import set_language
from ui.loading import SourceNote
from ui.views import source_line


def note(tables: list[str]) -> SourceNote:
    # Constructed note: one publisher, one or two tables.
    return SourceNote(publishers=["Statistics Finland"], tables=tables, licences=["CC BY 4.0"], first_period="2007",
                      last_period="2024", data_updated="2025-03-01", fetched_at=None, stale_errors=[])


def test_a_series_from_two_tables_names_both():
    set_language("fi")
    line = source_line(pd.DataFrame(), note(["115b", "142h"]))
    assert line.startswith("Lähde: Tilastokeskus (taulukot 115b, 142h). Ajanjakso: 2007 – 2024.")
    set_language("en")
    assert "Source: Statistics Finland (tables 115b, 142h)." in source_line(pd.DataFrame(), note(["115b", "142h"]))


def test_one_table_keeps_the_line_short():
    set_language("fi")
    assert source_line(pd.DataFrame(), note(["142h"])).startswith("Lähde: Tilastokeskus. Ajanjakso:")

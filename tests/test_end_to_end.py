"""From a refresh to the screen: live series fetched from a (fake, local) Statistics Finland host reach the
employment page, ahead of the bundled snapshot, with their own source line; a failed refresh shows a stale warning
and keeps the figures."""

from __future__ import annotations

from sources.refresh import refresh
from sources.settings import get_settings
from sources.warehouse import Warehouse
from tests.apptest_helpers import open_page, run_app
from tests.pxweb_fake import FakePxWeb, unemployment_table

LIVE_SERIES = ["statfin.unemployed", "statfin.labour_force", "statfin.vacancies"]


def point_statfin_at(fake: FakePxWeb, monkeypatch) -> None:
    # The real config.toml, with only the host and the patience changed by environment, as an operator would.
    monkeypatch.setenv("TIEDOLLA_SOURCES__STATFIN__BASE_URL", fake.base_url)
    monkeypatch.setenv("TIEDOLLA_SOURCES__STATFIN__TIMEOUT_READ_S", "2")
    monkeypatch.setenv("TIEDOLLA_SOURCES__STATFIN__MAX_RETRIES", "0")
    get_settings.cache_clear()


def test_refreshed_statfin_series_replace_the_snapshot_on_the_employment_page(replay_server, monkeypatch):
    fake = FakePxWeb(replay_server)
    fake.add(unemployment_table())  # constructed answers in the documented format, months 2024-01..2025-12
    point_statfin_at(fake, monkeypatch)
    report = refresh(get_settings(), sources=["statfin"], series=LIVE_SERIES)
    assert report.ok, report.summary_table()

    stored = Warehouse(get_settings().warehouse_dir).read(["statfin.unemployed", "statfin.labour_force"])
    hollola = stored[(stored["region"] == "KU098") & (stored["period"] == "2025-12")].set_index("series")["value"]
    expected = 100 * hollola["statfin.unemployed"] / hollola["statfin.labour_force"]

    at = open_page(run_app(), "employment")
    assert not at.exception
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Hollola"] == f"{expected:.1f}".replace(".", ",") + "\u00a0%"
    markdown = " ".join(element.value for element in at.markdown)
    assert "joulukuu 2025" in markdown  # the key figures now come from the newest live month
    captions = " ".join(caption.value for caption in at.caption)
    # The live months and the older snapshot months are both named, with the live host's attribution.
    assert "Statistics Finland" in captions and "tammikuu 2006 – joulukuu 2025" in captions


def test_a_failed_refresh_shows_a_stale_warning_and_keeps_the_figures(replay_server, monkeypatch):
    fake = FakePxWeb(replay_server)
    table = fake.add(unemployment_table())
    point_statfin_at(fake, monkeypatch)
    assert refresh(get_settings(), sources=["statfin"], series=LIVE_SERIES).ok
    before = open_page(run_app(), "employment")
    shown_before = {metric.label: metric.value for metric in before.metric}

    table.data_override = lambda request: (500, {"Content-Type": "text/plain"}, b"maintenance")
    report = refresh(get_settings(), sources=["statfin"], series=LIVE_SERIES)
    assert not report.ok

    after = open_page(run_app(), "employment")
    assert not after.exception
    assert {metric.label: metric.value for metric in after.metric} == shown_before
    sidebar_warnings = " ".join(warning.value for warning in after.sidebar.warning)
    assert "epäonnistui" in sidebar_warnings
    panel_warnings = " ".join(warning.value for warning in after.warning)
    assert "HTTP 500" in panel_warnings

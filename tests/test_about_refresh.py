"""About the data: the refresh status a manager or operator reads, and who may press "Refresh now".

AppTest runs the real page with the repository's config.toml on the test's own warehouse (seeded from the bundled
snapshot on the first run). The run records and failures the page shows are CONSTRUCTED here through the warehouse
interface, in the form the refresh engine writes them (the engine itself is tested in test_due_refresh.py).
"""

from __future__ import annotations

from sources.refresh import FAILED, UNCHANGED, RefreshReport, SeriesOutcome
from sources.settings import get_settings, load_settings
from sources.status import RUN_RECORD, WORKER_RECORD
from sources.warehouse import open_warehouse
from tests.apptest_helpers import open_page, run_app

FAILED_IDS = ["statfin.unemployed", "statfin.labour_force"]


def about_page(language: str = "suomi"):
    at = open_page(run_app({"lang": language}), "about")
    assert not at.exception, at.exception
    return at


def page_text(at) -> str:
    return "\n".join(str(element.value) for kind in ("markdown", "caption", "warning", "info")
                     for element in getattr(at, kind))


def button_labels(at) -> list[str]:
    return [button.label for button in at.button]


def record_failed_worker_run() -> None:
    """What a worker run leaves when Statistics Finland's 12r5 answers HTTP 500 (constructed, engine's form)."""
    reason = ("Statistics Finland (StatFin/tyonv/12r5): the service answered with a server error (HTTP 500) after "
              "5 attempts. Try the refresh again later; the warehouse keeps its previous data.")
    detail = {"code": "server_error", "params": {"context": "Statistics Finland (StatFin/tyonv/12r5)",
                                                 "status": 500, "attempts": 5}}
    report = RefreshReport(due_mode=True, checked=3, due=2, requests=3, finished_at="2026-12-02T04:00:05+00:00",
                           outcomes=[SeriesOutcome("statfin", "statfin.population", UNCHANGED)]
                           + [SeriesOutcome("statfin", series_id, FAILED, reason=reason) for series_id in FAILED_IDS])
    with open_warehouse(load_settings().warehouse_location) as warehouse:
        for series_id in FAILED_IDS:
            warehouse.record_failure(series_id, "statfin", reason, detail)
        warehouse.record_run(RUN_RECORD, report.record("worker"))
        warehouse.record_run(WORKER_RECORD, {"state": "waiting", "next_run": "2026-12-03T06:00:00+02:00"})


def test_before_any_refresh_the_page_says_the_snapshot_is_shown_and_no_worker_runs():
    text = page_text(about_page())
    assert "Tietoja ei ole vielä päivitetty lähteistä" in text
    assert "Ajastettua päivitystä ei ole käynnissä tällä palvelimella." in text
    assert "Päivitä nyt" in button_labels(about_page())


def test_the_last_run_failed_series_and_the_next_scheduled_run_are_shown():
    about_page()  # the first run seeds the warehouse from the snapshot
    record_failed_worker_run()
    at = about_page()
    text = page_text(at)
    assert ("Viimeisin päivitys 2.12.2026 6.00 (ajastettu): tarkistettiin 3 tietosarjaa, 2 oli päivitettävissä, "
            "1 haettiin, 3 pyyntöä; 2 epäonnistui.") in text
    assert "Seuraava ajastettu päivitys: 3.12.2026 6.00." in text
    assert "2 tietosarjan viimeisin haku epäonnistui" in text
    failed_table = at.dataframe[-1].value
    assert set(failed_table["Tietosarja"].str.extract(r"\((statfin\.[a-z_]+)\)")[0]) == set(FAILED_IDS)
    assert failed_table["Tietosarja"].str.startswith("Työ").all()  # named, not only by id
    # The reason in the reader's language, from the error's code.
    assert failed_table["Viimeisin virhe"].str.contains("palvelu vastasi palvelinvirheellä (HTTP 500)",
                                                        regex=False).all()

    english = page_text(about_page("English"))
    assert "(scheduled): 3 data series checked, 2 due, 1 fetched, 3 requests; 2 failed." in english


def test_on_a_public_deployment_there_is_no_refresh_button(monkeypatch):
    monkeypatch.setenv("TIEDOLLA_REFRESH__ALLOW_FROM_APP", "false")
    get_settings.cache_clear()
    at = about_page()
    assert "Päivitä nyt" not in button_labels(at)
    assert "päivitystä ei voi käynnistää käsin" in page_text(at)


def test_with_a_required_login_but_no_identity_provider_there_is_no_button_and_the_reason_is_said(
                                                                                                  monkeypatch):
    monkeypatch.setenv("TIEDOLLA_REFRESH__REQUIRE_LOGIN", "true")
    get_settings.cache_clear()
    at = about_page()
    assert "Päivitä nyt" not in button_labels(at) and "Kirjaudu sisään" not in button_labels(at)
    assert "kirjautumista ei ole määritetty" in page_text(at)


def test_with_a_required_login_a_visitor_sees_a_sign_in_button_instead(monkeypatch):
    monkeypatch.setenv("TIEDOLLA_REFRESH__REQUIRE_LOGIN", "true")
    get_settings.cache_clear()
    at = run_app({"lang": "suomi"})
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "constructed",
                          "client_id": "tiedolla", "client_secret": "constructed",
                          "server_metadata_url": "https://login.example.fi/.well-known/openid-configuration"}
    at = open_page(at, "about")
    assert not at.exception, at.exception
    assert "Päivitä nyt" not in button_labels(at)
    assert "Kirjaudu sisään" in button_labels(at)


def test_the_button_does_not_wait_for_a_refresh_running_elsewhere():
    at = about_page()
    with open_warehouse(load_settings().warehouse_location) as warehouse, warehouse.refresh_lock():
        next(button for button in at.button if button.label == "Päivitä nyt").click()
        at.run(timeout=30)
    assert not at.exception, at.exception
    assert any("Toinen päivitys on juuri käynnissä" in str(info.value) for info in at.info)

"""Every network fault becomes a typed SourceUnavailable with an honest message, retried where retrying helps.

The replay server (a real socket on 127.0.0.1) answers with CONSTRUCTED bodies and injects the faults: a host that
stalls halfway through its body, one that cuts the connection before the full body, one that closes without
answering, and a port nobody listens on.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from sources.contract import SourceUnavailable
from sources.http import SourceClient
from tests.replay_server import BodyFault, json_answer

BODY = '{"values": [' + ",".join(str(number) for number in range(2000)) + "]}"
RETRIES = 2


def client(read_timeout_s: float = 0.4) -> SourceClient:
    return SourceClient("Tiedolla tests", timeout=(1.0, read_timeout_s), max_retries=RETRIES, backoff_base_s=0.01)


def test_a_host_that_stalls_halfway_through_its_body_is_named_as_such_and_retried(replay_server):
    replay_server.route("GET", "/stall", lambda request: (*json_answer(BODY), BodyFault(0.5, stall_s=1.5)))
    started = time.monotonic()
    with pytest.raises(SourceUnavailable) as raised:
        client().get(f"{replay_server.base}/stall", context="Test host (table x)")
    message = str(raised.value)
    assert message.startswith("Test host (table x): the service stopped sending its answer halfway")
    assert "nothing arrived for 0.4 s" in message and f"after {RETRIES + 1} attempts" in message
    assert "cannot connect" not in message and "base_url" not in message
    assert len(replay_server.calls("GET", "/stall")) == RETRIES + 1
    assert time.monotonic() - started < 6


def test_a_connection_cut_before_the_full_body_is_named_as_such_and_retried(replay_server):
    replay_server.route("GET", "/cut", lambda request: (*json_answer(BODY), BodyFault(0.3)))
    with pytest.raises(SourceUnavailable) as raised:
        client().get(f"{replay_server.base}/cut", context="Test host")
    assert "the connection was cut before the whole answer arrived" in str(raised.value)
    assert "ChunkedEncodingError" not in str(raised.value)
    assert len(replay_server.calls("GET", "/cut")) == RETRIES + 1


def test_a_cut_followed_by_a_whole_answer_succeeds_on_the_retry(replay_server):
    answers = iter([(*json_answer(BODY), BodyFault(0.5)), json_answer(BODY)])
    replay_server.route("GET", "/flaky", lambda request: next(answers))
    response = client().get(f"{replay_server.base}/flaky", context="Test host")
    assert response.json()["values"][-1] == 1999
    assert len(replay_server.calls("GET", "/flaky")) == 2


def test_a_refused_connection_names_the_address_and_is_not_retried():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match=rf"cannot connect to http://127.0.0.1:{port}/x .*base_url"):
        client().get(f"http://127.0.0.1:{port}/x", context="Test host")
    assert time.monotonic() - started < 2


def test_a_malformed_address_is_a_source_failure_naming_the_setting():
    with pytest.raises(SourceUnavailable, match="not a valid URL; check the base_url setting"):
        client().get("http://[not-an-address/x", context="Test host")


def test_a_cut_answer_in_a_refresh_is_reported_per_series_without_a_traceback(replay_server, tmp_path, monkeypatch):
    from tests.pxweb_fake import FakePxWeb, population_table, pxweb_config, series_entry

    fake = FakePxWeb(replay_server)
    table = fake.add(population_table())
    table.data_override = lambda request: (*json_answer(BODY), BodyFault(0.5))  # constructed body, cut halfway
    config = tmp_path / "config.toml"
    config.write_text(pxweb_config(fake.base_url, [series_entry(
        "statfin.population", table="StatFin/vaerak/11re", content="Väestö 31.12.")]), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "sources", "refresh"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "TIEDOLLA_CONFIG_FILE": str(config)})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "FAILED statfin.population" in result.stdout
    assert "the connection was cut before the whole answer arrived" in result.stdout
    assert "Traceback" not in result.stderr and "unexpected" not in result.stdout


# --- bounded time on a failing or hung host ----------------------------------------------------------------------


def test_a_host_that_failed_its_retries_is_down_for_the_rest_of_the_refresh(replay_server):
    replay_server.route("GET", "/a", lambda request: (503, {"Content-Type": "text/plain"}, b"down"))
    replay_server.route("GET", "/b", lambda request: json_answer(BODY))
    shared = client()
    with pytest.raises(SourceUnavailable, match=r"HTTP 503\) after 3 attempts"):
        shared.get(f"{replay_server.base}/a", context="Test host (series a)")
    started = time.monotonic()
    with pytest.raises(SourceUnavailable) as raised:
        shared.get(f"{replay_server.base}/b", context="Test host (series b)")
    assert time.monotonic() - started < 0.1  # fails fast, with the first failure as its reason
    assert str(raised.value).startswith("Test host (series b): not tried, because the host failed earlier in this "
                                        "refresh (the service answered with a server error (HTTP 503)")
    assert replay_server.calls("GET", "/b") == []
    assert client().get(f"{replay_server.base}/b", context="Test host").ok  # the next refresh tries again


def test_a_slow_host_gets_no_more_than_its_time_budget(replay_server):
    def slow(request):
        time.sleep(0.3)
        return json_answer(BODY)

    replay_server.route("GET", "/slow", slow)
    budgeted = SourceClient("Tiedolla tests", timeout=(1.0, 2.0), max_retries=0, time_budget_s=0.5)
    answered = 0
    with pytest.raises(SourceUnavailable, match=r"more than its time_budget_s of 0.5 s"):
        for _ in range(10):
            budgeted.get(f"{replay_server.base}/slow", context="Test host")
            answered += 1
    assert answered == 2 and len(replay_server.calls("GET", "/slow")) == 2


def test_a_hung_sotkanet_fails_every_series_within_one_series_time(replay_server, tmp_path, monkeypatch):
    from sources.refresh import refresh
    from tests.test_sotkanet import config_text, serve_sotkanet

    def hang(request):
        time.sleep(1.0)
        return json_answer("[]")

    serve_sotkanet(replay_server, data=hang)  # metadata answers, every data request hangs past the timeout
    config = tmp_path / "config.toml"
    config.write_text(config_text(replay_server.base, timeout_read_s=0.2, max_retries=1), encoding="utf-8")
    monkeypatch.setenv("TIEDOLLA_CONFIG_FILE", str(config))
    from sources.settings import get_settings

    get_settings.cache_clear()
    started = time.monotonic()
    report = refresh(get_settings(), sources=["sotkanet"])
    took = time.monotonic() - started
    assert len(report.outcomes) >= 2 and all(outcome.status == "failed" for outcome in report.outcomes)
    assert "did not answer within 0.2 s" in report.outcomes[0].reason
    assert all("failed earlier in this refresh" in outcome.reason for outcome in report.outcomes[1:])
    assert took < 4, took  # one series' retries, not every series'

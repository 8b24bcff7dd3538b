"""The Export API client against the fault-injecting server: every fault is retried, split or reported."""

import base64
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from analytics_dagster.lib.amplitude import (
    AmplitudeExportClient,
    AmplitudeExportError,
    HourWindow,
    export_base_url,
)
from analytics_dagster_tests.ingest.fault_server import FaultPlan, FaultServer
from analytics_dagster_tests.ingest.helpers import FAST_BACKOFF, ListLog, amplitude_client

DAY = dt.date(2026, 3, 15)


def export_day(server: FaultServer, tmp_path, sleeps: list[float] | None = None):
    log = ListLog()
    with amplitude_client(server, log, sleeps) as client:
        result = client.export_day(DAY, tmp_path / "work")
    return result, log


def contents(result) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in result.files}


def test_a_moscow_day_is_the_window_from_21_utc_the_day_before_to_20_utc():
    window = HourWindow.for_moscow_day(DAY)
    assert window.params() == {"start": "20260314T21", "end": "20260315T20"} and window.hours == 24
    first, second = window.halves()
    assert (str(first), str(second)) == ("20260314T21-20260315T08", "20260315T09-20260315T20")
    odd_first, odd_second = HourWindow(dt.datetime(2026, 3, 15, 0), dt.datetime(2026, 3, 15, 2)).halves()
    assert (odd_first.hours, odd_second.hours) == (1, 2)


def test_region_hosts_and_the_url_override():
    assert export_base_url("us") == "https://amplitude.com"
    assert export_base_url("EU") == "https://analytics.eu.amplitude.com"
    assert export_base_url("us", "http://proxy:8080/amplitude/") == "http://proxy:8080/amplitude"
    assert export_base_url("eu", "https://proxy/api/2/export") == "https://proxy"
    with pytest.raises(ValueError, match="AMPLITUDE_REGION='apac'"):
        export_base_url("apac")


def test_a_clean_day_is_stored_byte_identical(tmp_path):
    with FaultServer(days=[DAY]) as server:
        result, _ = export_day(server, tmp_path)
        expected = server.expected_amplitude_day(str(DAY))
        (record,) = server.records
    assert contents(result) == expected and len(expected) > 10
    assert "start=20260314T21" in record.request and "end=20260315T20" in record.request
    assert (result.requests, result.retries, result.splits) == (1, 0, 0)


@pytest.mark.parametrize("fault", ["429", "500", "502", "cut_zip", "drop_connection", "corrupt_gzip", "stall"])
def test_each_fault_is_retried_and_its_bad_data_never_returned(tmp_path, fault):
    sleeps: list[float] = []
    with FaultServer(FaultPlan(script=(fault,)), days=[DAY]) as server:
        result, log = export_day(server, tmp_path, sleeps)
        expected = server.expected_amplitude_day(str(DAY))
        statuses = [r.status for r in server.records]
    assert contents(result) == expected
    assert (result.requests, result.retries) == (2, 1) and len(statuses) == 2
    assert "retry 1/5" in log.text()
    if fault == "stall":  # never answered: the client's read timeout ended it
        assert "timed out (ReadTimeout" in log.text()
    if fault == "429":
        assert sleeps == [1.0]  # the server's Retry-After, although the backoff alone would wait <= 0.05 s
    secret = server.state.secret_key
    assert secret not in log.text() and base64.b64encode(f"x:{secret}".encode()).decode()[4:] not in log.text()


def test_504_splits_the_window_in_halves(tmp_path):
    with FaultServer(FaultPlan(script=("504",)), days=[DAY]) as server:
        result, log = export_day(server, tmp_path)
        expected = server.expected_amplitude_day(str(DAY))
    assert contents(result) == expected
    assert (result.splits, result.requests) == (1, 3)
    assert "HTTP 504, the export timed out" in log.text()
    assert "splitting the window into 20260314T21-20260315T08 and 20260315T09-20260315T20" in log.text()


def test_over_4gb_windows_are_split_down_to_what_the_api_accepts(tmp_path):
    with FaultServer(FaultPlan(max_export_hours=5), days=[DAY]) as server:
        result, log = export_day(server, tmp_path)
        expected = server.expected_amplitude_day(str(DAY))
        accepted = [r for r in server.records if r.status != 400]
    assert contents(result) == expected
    assert result.splits == 7  # 24 -> 2 x 12 -> 4 x 6 -> 8 x 3 hours
    assert len(accepted) == 8 and "over the 4 GB export limit" in log.text()


def test_an_hour_over_4gb_fails_pointing_to_the_s3_export(tmp_path):
    plan = FaultPlan(oversize_hours=frozenset({dt.datetime(2026, 3, 15, 10)}))
    with FaultServer(plan, days=[DAY]) as server, pytest.raises(AmplitudeExportError) as failure:
        export_day(server, tmp_path)
    message = str(failure.value)
    assert "20260315T10-20260315T10: HTTP 400" in message and "Raw data files were too large" in message
    assert "S3 export" in message and "AMPLITUDE_S3_EXPORT_PREFIX" in message


def test_an_hour_that_keeps_timing_out_fails_pointing_to_the_s3_export(tmp_path):
    plan = FaultPlan(rate=1.0, amplitude_faults=("504",), max_faults_per_request=99)
    with FaultServer(plan, days=[DAY]) as server, pytest.raises(AmplitudeExportError) as failure:
        export_day(server, tmp_path)
        assert server.records  # unreachable: export_day raises
    assert "gave up after 6 attempts" in str(failure.value) and "S3 export" in str(failure.value)


def test_404_is_an_empty_day_not_an_error(tmp_path):
    with FaultServer(FaultPlan(empty_days=frozenset({str(DAY)})), days=[DAY]) as server:
        result, log = export_day(server, tmp_path)
    assert result.files == [] and result.empty_windows == 1 and result.requests == 1
    assert "no data (HTTP 404)" in log.text()


def test_rejected_credentials_fail_at_once_without_retries(tmp_path):
    with FaultServer(days=[DAY]) as server:
        client = AmplitudeExportClient(server.state.api_key, "wrong-secret", base_url=server.url, backoff=FAST_BACKOFF)
        with client, pytest.raises(AmplitudeExportError, match="AMPLITUDE_SECRET_KEY") as failure:
            client.export_day(DAY, tmp_path / "work")
        assert len(server.records) == 1
    assert "wrong-secret" not in str(failure.value)


def test_concurrent_requests_stay_within_the_limit(tmp_path):
    days = [DAY - dt.timedelta(days=n) for n in range(4)]
    # The server holds the first requests until two are in flight together (at most 30 s). The client's read timeout
    # is longer, so a client that never overlapped would get its answers late, never retry into a false overlap.
    with FaultServer(FaultPlan(max_export_hours=3, overlap=2), days=days) as server:
        client = AmplitudeExportClient(
            server.state.api_key, server.state.secret_key, base_url=server.url, max_concurrent_requests=2,
            backoff=FAST_BACKOFF, timeout=httpx.Timeout(120.0), log=ListLog(),
        )  # fmt: skip
        with client, ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda d: client.export_day(d, tmp_path / str(d)), days))
        assert server.state.max_in_flight["amplitude"] == 2
        for day, result in zip(days, results):
            assert contents(result) == server.expected_amplitude_day(str(day))

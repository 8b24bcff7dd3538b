"""Alerts end to end: runs on a real Dagster instance, the alert sensors evaluated on them, and a local webhook
recording what was posted. A failed run, a failed ERROR check and a late day each give exactly one message; a
re-run that succeeds gives one recovery message; no posted body ever carries a secret."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest
from dagster._core.test_utils import freeze_time

from analytics_dagster.defs.ops.alerts import alert_on_failed_checks_and_recovery, alert_on_run_failure
from analytics_dagster.defs.ops.freshness import freshness_checks, freshness_checks_sensor
from analytics_dagster.defs.ops.groups import GROUP_ASSETS
from analytics_dagster.defs.ops.resources import AlertChannelsResource
from analytics_dagster.lib.ops.alerts import DeliveryError

PARTITION = "2026-03-15"
UI = "http://dagster.test:3000"
TELEGRAM_TOKEN = "123456789:AAF-telegram-secret-token"
SLACK_SECRET_PATH = "/services/T000/B000/slack-secret-path"
GENERIC_SECRET_PATH = "/hooks/generic-secret-9f8e7d"
AMPLITUDE_SECRET = "amplitude-secret-key-0123"
DSN_PASSWORD = "pg-password-4567"
MSK = dt.timezone(dt.timedelta(hours=3))
partitions = dg.DailyPartitionsDefinition(start_date="2026-03-01", timezone="Europe/Moscow")


class Switch(dg.ConfigurableResource):
    fail: bool = False


@dg.asset(partitions_def=partitions)
def flaky_day(switch: Switch) -> None:
    if switch.fail:
        # An error message that carries secrets, as a driver's or an HTTP client's might.
        raise ValueError(
            f"warehouse refused postgresql://loader:{DSN_PASSWORD}@db/analytics key {AMPLITUDE_SECRET}\n"
            "second line that the alert leaves out"
        )


@dg.asset(
    partitions_def=partitions,
    check_specs=[
        dg.AssetCheckSpec("rows_match", asset="checked_day"),
        dg.AssetCheckSpec("few_nulls", asset="checked_day"),
    ],
)
def checked_day() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        check_results=[
            dg.AssetCheckResult(check_name="rows_match", passed=False, description="3 rows differ from the raw day"),
            dg.AssetCheckResult(check_name="few_nulls", passed=False, severity=dg.AssetCheckSeverity.WARN),
        ]
    )


def _run(instance: dg.DagsterInstance, asset: dg.AssetsDefinition, fail: bool = False) -> dg.ExecuteInProcessResult:
    """Materializes the asset as the UI does: the code location's asset job with an asset selection."""
    definitions = dg.Definitions(assets=[asset], resources={"switch": Switch(fail=fail)})
    job = definitions.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        instance=instance, partition_key=PARTITION, asset_selection=[asset.key], raise_on_error=False
    )


def _evaluate(sensor, result: dg.ExecuteInProcessResult, instance: dg.DagsterInstance, channels) -> None:
    event = result.get_run_failure_event() if not result.success else result.get_run_success_event()
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"alert_channels": channels},
    )
    sensor(context.for_run_failure() if not result.success else context)


@pytest.fixture
def instance():
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def json_channel(webhook) -> AlertChannelsResource:
    return AlertChannelsResource(webhook_url=webhook.url + GENERIC_SECRET_PATH, ui_base_url=UI)


def test_failed_run_then_successful_rerun(instance, webhook, json_channel, monkeypatch):
    monkeypatch.setenv("AMPLITUDE_SECRET_KEY", AMPLITUDE_SECRET)
    failed = _run(instance, flaky_day, fail=True)
    assert not failed.success
    _evaluate(alert_on_run_failure, failed, instance, json_channel)

    (post,) = webhook.posts
    message = post.json()
    assert message["kind"] == "run_failed" and message["partition"] == PARTITION
    assert "flaky_day" in message["subject"]
    assert message["detail"].startswith("ValueError: warehouse refused postgresql://loader:[redacted]@db/analytics")
    assert message["detail"].endswith("key [redacted]") and "second line" not in message["text"]
    assert message["run_url"] == f"{UI}/runs/{failed.run_id}"

    rerun = _run(instance, flaky_day)
    assert rerun.success
    _evaluate(alert_on_failed_checks_and_recovery, rerun, instance, json_channel)
    assert len(webhook.posts) == 2
    recovery = webhook.posts[1].json()
    assert recovery["kind"] == "recovered" and recovery["partition"] == PARTITION
    assert failed.run_id[:8] in recovery["subject"] and recovery["run_url"] == f"{UI}/runs/{rerun.run_id}"

    # Once recovered, the next success is news to nobody.
    _evaluate(alert_on_failed_checks_and_recovery, _run(instance, flaky_day), instance, json_channel)
    assert len(webhook.posts) == 2


def test_failed_error_check_gives_one_message_and_warn_checks_none(instance, webhook, json_channel):
    result = _run(instance, checked_day)
    assert result.success
    _evaluate(alert_on_failed_checks_and_recovery, result, instance, json_channel)

    (post,) = webhook.posts
    message = post.json()
    assert message["kind"] == "check_failed" and message["partition"] == PARTITION
    assert message["items"] == ["checked_day:rows_match: 3 rows differ from the raw day"]
    assert "few_nulls" not in post.body


def test_late_day_gives_one_message(instance, webhook, json_channel):
    """The real freshness checks and sensor: at 10:31 Moscow on the 16th, the 15th is due for ingest and DWH."""
    definitions = dg.Definitions(
        assets=[dg.AssetSpec(key, partitions_def=partitions) for keys in GROUP_ASSETS.values() for key in keys],
        asset_checks=freshness_checks,
        sensors=[freshness_checks_sensor],
    )
    with freeze_time(dt.datetime(2026, 3, 16, 9, 40, tzinfo=MSK)):
        for key in [key for keys in GROUP_ASSETS.values() for key in keys]:
            instance.report_runless_asset_event(dg.AssetMaterialization(key, partition="2026-03-14"))
        for key in GROUP_ASSETS["ingest"]:  # ingest delivered the 15th; the DWH did not load it
            instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=PARTITION))

    with freeze_time(dt.datetime(2026, 3, 16, 10, 31, tzinfo=MSK)):
        request = freshness_checks_sensor(dg.build_sensor_context(instance=instance, definitions=definitions))
        assert isinstance(request, dg.RunRequest)
        job = dg.define_asset_job("freshness", selection=dg.AssetSelection.checks(*request.asset_check_keys))
        result = (
            dg.Definitions.merge(definitions, dg.Definitions(jobs=[job]))
            .resolve_job_def("freshness")
            .execute_in_process(instance=instance)
        )
        assert result.success
        _evaluate(alert_on_failed_checks_and_recovery, result, instance, json_channel)

        # The failed checks are not evaluated again until their assets are updated: no second message.
        again = freshness_checks_sensor(dg.build_sensor_context(instance=instance, definitions=definitions))
        assert isinstance(again, dg.SkipReason)

    (post,) = webhook.posts
    message = post.json()
    assert message["kind"] == "late" and message["partition"] == PARTITION
    assert sorted(message["items"]) == sorted(k.to_user_string() for k in GROUP_ASSETS["dwh"])


def test_every_channel_gets_its_format_and_no_secret(instance, webhook, monkeypatch):
    monkeypatch.setenv("AMPLITUDE_SECRET_KEY", AMPLITUDE_SECRET)
    monkeypatch.setenv("POSTGRES_DSN", f"postgresql://loader:{DSN_PASSWORD}@db/analytics")
    channels = AlertChannelsResource(
        slack_webhook_url=webhook.url + SLACK_SECRET_PATH,
        telegram_bot_token=TELEGRAM_TOKEN,
        telegram_chat_id="-100123",
        telegram_api_url=webhook.url,
        webhook_url=webhook.url + GENERIC_SECRET_PATH,
        ui_base_url=UI,
    )
    failed = _run(instance, flaky_day, fail=True)
    _evaluate(alert_on_run_failure, failed, instance, channels)

    by_path = {post.path: post for post in webhook.posts}
    assert set(by_path) == {SLACK_SECRET_PATH, f"/bot{TELEGRAM_TOKEN}/sendMessage", GENERIC_SECRET_PATH}
    slack, telegram, generic = (
        by_path[path].json() for path in (SLACK_SECRET_PATH, f"/bot{TELEGRAM_TOKEN}/sendMessage", GENERIC_SECRET_PATH)
    )
    assert set(slack) == {"text"} and slack["text"].startswith("[analytics_dagster] FAILED: run of flaky_day")
    assert telegram["chat_id"] == "-100123" and telegram["text"] == slack["text"]
    assert generic["text"] == slack["text"] and generic["kind"] == "run_failed"
    assert f"{UI}/runs/{failed.run_id}" in slack["text"]
    for post in webhook.posts:
        for secret in (TELEGRAM_TOKEN, SLACK_SECRET_PATH, GENERIC_SECRET_PATH, AMPLITUDE_SECRET, DSN_PASSWORD):
            assert secret not in post.body


def test_no_channel_means_logged_only(instance, webhook, capfd):
    failed = _run(instance, flaky_day, fail=True)
    capfd.readouterr()
    _evaluate(alert_on_run_failure, failed, instance, AlertChannelsResource(ui_base_url=UI))
    assert webhook.posts == []
    logged = capfd.readouterr().err
    assert "Alert (no channel configured, logged only)" in logged and f"{UI}/runs/{failed.run_id}" in logged


def test_a_refusing_webhook_fails_the_tick_without_showing_its_url(instance, webhook, json_channel):
    webhook.status = 500
    failed = _run(instance, flaky_day, fail=True)
    with pytest.raises(DeliveryError) as raised:
        _evaluate(alert_on_run_failure, failed, instance, json_channel)
    assert "HTTP 500" in str(raised.value) and GENERIC_SECRET_PATH not in str(raised.value)

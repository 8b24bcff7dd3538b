"""The S3 export sensor against moto_server: 1,500 keys in batches across restarts, each requested exactly once."""

import datetime as dt
import gzip
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import pytest

from analytics_dagster.defs.ingest.resources import AmplitudeResource
from analytics_dagster.defs.ingest.sensors import amplitude_s3_export_sensor
from analytics_dagster.lib.s3_export import parse_export_name

PREFIX = "amplitude/export"
# "1000/" sorts before "100001/", so the second project's keys land in the middle of earlier listings
PROJECTS = ("100001", "1000")
DAYS = [dt.date(2026, 3, 10) + dt.timedelta(days=n) for n in range(7)]


def export_keys() -> list[str]:
    keys = []
    for day in DAYS:
        for hour in range(24):
            utc = dt.datetime.combine(day, dt.time()) - dt.timedelta(hours=3) + dt.timedelta(hours=hour)
            for project in PROJECTS:
                for part in range(5):
                    keys.append(f"{PREFIX}/{project}/{project}_{utc:%Y-%m-%d}_{utc.hour}#{part}.json.gz")
    random.Random(7).shuffle(keys)  # later batches hold early hours, late parts and the other project
    return keys[:1500]


def put_objects(s3_client, bucket: str, keys: list[str]) -> None:
    def put(key: str) -> None:
        s3_client.put_object(Bucket=bucket, Key=key, Body=gzip.compress(f'{{"key":"{key}"}}\n'.encode(), mtime=0))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, keys))


def evaluate(bucket: str, endpoint: str, cursor: str | None):
    """A fresh context per tick, as after a daemon restart: only the saved cursor carries over."""
    resource = AmplitudeResource(s3_export_prefix=f"s3://{bucket}/{PREFIX}", s3_endpoint_url=endpoint)
    context = dg.build_sensor_context(cursor=cursor, resources={"amplitude": resource})
    return amplitude_s3_export_sensor(context)


def requested_keys(result) -> list[tuple[str, str]]:
    pairs = []
    for request in result.run_requests:
        config = request.run_config["ops"]["amplitude_raw_events"]["config"]
        assert config["source"] == "s3_export"
        pairs.extend((request.partition_key, key) for key in config["s3_keys"])
    return pairs


def test_1500_keys_in_batches_across_restarts_are_each_requested_exactly_once(moto_endpoint, s3_bucket, s3_client):
    keys = export_keys()
    markers = [f"{PREFIX}/100001/100001_2026-03-12_{h}_complete" for h in range(24)]
    batches = [keys[:600], keys[600:1100] + markers[:12], keys[1100:] + markers[12:]]
    s3_client.put_object(Bucket=s3_bucket, Key=f"{PREFIX}/README.txt", Body=b"not an export file")

    cursor = None
    requested: list[tuple[str, str]] = []
    run_keys: list[str] = []
    for number, batch in enumerate(batches):
        put_objects(s3_client, s3_bucket, batch)
        result = evaluate(s3_bucket, moto_endpoint, cursor)
        replay = evaluate(s3_bucket, moto_endpoint, cursor)  # the daemon died before saving the cursor
        assert [r.run_key for r in replay.run_requests] == [r.run_key for r in result.run_requests]
        assert {key for _, key in requested_keys(result)} == set(batch), f"batch {number}"
        requested += requested_keys(result)
        run_keys += [r.run_key for r in result.run_requests]
        cursor = result.cursor
        idle = evaluate(s3_bucket, moto_endpoint, cursor)
        assert idle.run_requests == [] and "no new export objects" in idle.skip_reason.skip_message
        cursor = idle.cursor

    counts = Counter(key for _, key in requested)
    assert set(counts) == set(keys) | set(markers) and set(counts.values()) == {1}
    for partition, key in requested:
        assert partition == str(parse_export_name(key).moscow_day)
    assert len(run_keys) == len(set(run_keys))
    assert {partition for partition, _ in requested} == {str(d) for d in DAYS}


def test_a_rewritten_object_is_requested_again(moto_endpoint, s3_bucket, s3_client):
    key = f"{PREFIX}/100001/100001_2026-03-15_4#0.json.gz"
    s3_client.put_object(Bucket=s3_bucket, Key=key, Body=gzip.compress(b'{"v":1}\n'))
    first = evaluate(s3_bucket, moto_endpoint, None)
    s3_client.put_object(Bucket=s3_bucket, Key=key, Body=gzip.compress(b'{"v":2}\n'))
    second = evaluate(s3_bucket, moto_endpoint, first.cursor)
    assert requested_keys(first) == requested_keys(second) == [("2026-03-15", key)]
    assert first.run_requests[0].run_key != second.run_requests[0].run_key


@pytest.mark.parametrize("prefix", [None, ""])
def test_without_an_export_prefix_the_sensor_skips(prefix):
    context = dg.build_sensor_context(resources={"amplitude": AmplitudeResource(s3_export_prefix=prefix)})
    result = amplitude_s3_export_sensor(context)
    assert "AMPLITUDE_S3_EXPORT_PREFIX is not set" in result.skip_message

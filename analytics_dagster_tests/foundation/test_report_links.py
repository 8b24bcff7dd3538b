"""Links in asset metadata open in a browser: the local report server, and presigned S3 URLs."""

import http.client
import threading
import urllib.parse

import httpx
import pytest
from dagster_aws.s3 import S3Resource

from analytics_dagster.defs.resources import ObjectStoreResource, object_store_from_env
from analytics_dagster.lib.object_store import MAX_PRESIGNED_URL_SECONDS, LocalObjectStore, S3ObjectStore
from analytics_dagster.lib.report_server import make_server

REPORT = b"<!doctype html><title>Dashboard 2026-03-15</title><p>DAU 42</p>"
OBJECTS = {
    "reports/metrics/2026-03-15/dashboard.html": (REPORT, "text/html; charset=utf-8"),
    "reports/replays/2026-03-15/report.md": (b"# Replays\n- one", "text/plain; charset=utf-8"),
    "reports/metrics/2026-03-15/metrics_2026-03-15.xlsx": (
        b"PK\x03\x04",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    "reports/metrics/2026-03-15/activity.csv": (b"a,b\n1,2\n", "text/csv; charset=utf-8"),
    "reports/metrics/2026-03-15/activity.parquet": (b"PAR1", "application/vnd.apache.parquet"),
    "raw/amplitude/2026-03-15/_manifest.json": (b"{}", "application/json; charset=utf-8"),
    "raw/amplitude/2026-03-15/100_2026-03-14_21#0.json.gz": (b"\x1f\x8b", "application/gzip"),
    "reports/replays/2026-03-15/a b+c.png": (b"\x89PNG", "image/png"),
}


@pytest.fixture
def report_server(tmp_path):
    """The report server on a free port of 127.0.0.1, serving ``tmp_path / "objects"``; yields its base URL."""
    root = tmp_path / "objects"
    root.mkdir()
    server = make_server(root)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        base_url = request.getfixturevalue("report_server")
        return ObjectStoreResource(local_dir=str(tmp_path / "objects"), reports_base_url=base_url).store()
    return ObjectStoreResource(
        local_dir=str(tmp_path / "unused"),
        s3_bucket=request.getfixturevalue("s3_bucket"),
        s3_prefix="analytics",
        s3=S3Resource(endpoint_url=request.getfixturevalue("moto_endpoint"), region_name="us-east-1"),
    ).store()


def test_public_urls_open_with_the_right_content_type(store):
    for key, (body, _) in OBJECTS.items():
        store.put_bytes(key, body)
    for key, (body, content_type) in OBJECTS.items():
        url = store.public_url(key)
        assert url.startswith("http://"), url
        response = httpx.get(url, timeout=30)
        assert response.status_code == 200, (key, response.text[:300])
        assert response.content == body, key
        assert response.headers["content-type"] == content_type, key


def test_s3_links_are_presigned_for_the_configured_time(moto_endpoint, s3_bucket, s3_client):
    default = S3ObjectStore(s3_client, s3_bucket)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(default.public_url("reports/r.html")).query)
    assert query["X-Amz-Expires"] == [str(MAX_PRESIGNED_URL_SECONDS)]
    assert "X-Amz-Signature" in query
    one_day = S3ObjectStore(s3_client, s3_bucket, url_expiry_seconds=86400)
    assert "X-Amz-Expires=86400" in one_day.public_url("reports/r.html")
    with pytest.raises(ValueError, match="7 days"):
        S3ObjectStore(s3_client, s3_bucket, url_expiry_seconds=MAX_PRESIGNED_URL_SECONDS + 1)


def test_expiry_and_base_url_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("S3_BUCKET", raising=False)
    monkeypatch.setenv("REPORTS_BASE_URL", "https://reports.example.com/analytics/")
    store = object_store_from_env().store()
    assert store.public_url("reports/metrics/2026-03-15/dashboard.html") == (
        "https://reports.example.com/analytics/reports/metrics/2026-03-15/dashboard.html"
    )
    for bad in ("0", "604801", "7d"):
        monkeypatch.setenv("S3_PRESIGNED_URL_EXPIRY_SECONDS", bad)
        with pytest.raises(ValueError, match="S3_PRESIGNED_URL_EXPIRY_SECONDS"):
            object_store_from_env()


def test_local_links_need_an_http_base_url_and_a_key_inside_the_store(tmp_path):
    with pytest.raises(ValueError, match="http"):
        LocalObjectStore(tmp_path, "file:///srv/reports")
    with pytest.raises(ValueError, match="escapes"):
        LocalObjectStore(tmp_path).public_url("../secret.txt")
    assert LocalObjectStore(tmp_path).public_url("reports/a b#1.html").endswith("/reports/a%20b%231.html")


def test_report_server_is_read_only_and_stays_inside_the_folder(report_server, tmp_path):
    root = tmp_path / "objects"
    (root / "reports").mkdir()
    (root / "reports" / "r.html").write_bytes(REPORT)
    (root / "reports" / ".r.html.0123.tmp").write_bytes(b"half-written")
    (tmp_path / "secret.txt").write_text("outside the store")
    (root / "reports" / "link-out").symlink_to(tmp_path / "secret.txt")
    with httpx.Client(base_url=report_server, timeout=30) as client:
        page = client.get("/reports/r.html")
        assert page.status_code == 200 and page.content == REPORT
        assert page.headers["cache-control"] == "no-cache"
        assert client.head("/reports/r.html").status_code == 200
        for path in ("/reports/", "/", "/reports/.r.html.0123.tmp", "/reports/link-out", "/reports/missing.html"):
            response = client.get(path)
            assert response.status_code == 404, path
            assert b"outside the store" not in response.content
        for method in ("PUT", "POST", "DELETE"):
            assert client.request(method, "/reports/r.html", content=b"overwritten").status_code == 501, method
    assert (root / "reports" / "r.html").read_bytes() == REPORT
    host, port = urllib.parse.urlsplit(report_server).netloc.split(":")
    escapes = ("/../secret.txt", "/reports/../../secret.txt", "/%2e%2e/secret.txt", "/reports/%2E%2E/%2e%2E/secret.txt")
    for raw in escapes:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)  # sends the path as is, unnormalised
        connection.request("GET", raw)
        response = connection.getresponse()
        assert response.status == 404, raw
        assert b"outside the store" not in response.read()
        connection.close()

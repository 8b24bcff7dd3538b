""".env.example shows the defaults the code uses, so copying it changes nothing by accident."""

import re

import pytest

from analytics_dagster.lib.appmetrica import DEFAULT_BASE_URL as APPMETRICA_DEFAULT_URL
from analytics_dagster.lib.object_store import LOCAL_REPORTS_BASE_URL, MAX_PRESIGNED_URL_SECONDS
from analytics_dagster.lib.settings import PROJECT_ROOT


@pytest.mark.parametrize(
    ("name", "default"),
    [
        ("APPMETRICA_API_URL", APPMETRICA_DEFAULT_URL),
        ("REPORTS_BASE_URL", LOCAL_REPORTS_BASE_URL),
        ("S3_PRESIGNED_URL_EXPIRY_SECONDS", str(MAX_PRESIGNED_URL_SECONDS)),
    ],
)
def test_env_example_shows_the_code_default(name, default):
    text = (PROJECT_ROOT / ".env.example").read_text()
    (value,) = re.findall(rf"^#?\s*{name}=(\S+)", text, flags=re.MULTILINE)
    assert value == default

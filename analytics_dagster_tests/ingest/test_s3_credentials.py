"""The S3 export without AWS credentials: a message naming what to set, not boto's bare "Unable to locate
credentials"."""

import dagster as dg
import pytest

from analytics_dagster.defs.ingest.resources import AmplitudeResource, IngestConfigurationError
from analytics_dagster.defs.ingest.sensors import amplitude_s3_export_sensor

AWS_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)  # fmt: skip


@pytest.fixture
def no_aws_credentials(monkeypatch, tmp_path):
    """Nothing in the whole AWS chain: no variables, no ~/.aws files, no instance metadata."""
    for name in AWS_CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_a_sensor_tick_without_aws_credentials_names_the_variables_to_set(no_aws_credentials):
    resource = AmplitudeResource(s3_export_prefix="s3://amplitude-export/exports", s3_endpoint_url="http://127.0.0.1:9")
    context = dg.build_sensor_context(resources={"amplitude": resource})
    with pytest.raises(IngestConfigurationError) as raised:
        amplitude_s3_export_sensor(context)
    message = str(raised.value)
    assert "AMPLITUDE_S3_EXPORT_PREFIX=s3://amplitude-export/exports" in message
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "IAM role"):
        assert name in message
    assert "Unable to locate credentials" not in message

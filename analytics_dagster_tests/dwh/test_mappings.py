"""field_mappings/: the shipped files load, and every kind of mistake is a clear error naming the file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analytics_dagster.lib.dwh.mappings import MappingError, load_field_mappings
from analytics_dagster.lib.settings import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "field_mappings"


def mappings_dir(tmp_path: Path, amplitude: str) -> Path:
    folder = tmp_path / "mappings"
    folder.mkdir()
    shutil.copy(SHIPPED / "appmetrica.yaml", folder / "appmetrica.yaml")
    (folder / "amplitude.yaml").write_text(amplitude)
    return folder


def test_shipped_mappings_load_with_columns_in_ddl_order():
    mappings = load_field_mappings(SHIPPED)
    assert [c for c, _, _ in mappings.changeable_columns] == ["plan", "city", "country", "language", "app_version"]
    keep = {column: rule for column, _, rule in mappings.permanent_columns}
    assert keep["first_source"] == "first" and keep["gender"] == "latest"
    assert "[Experiment] new-onboarding" not in mappings["amplitude"].user_property_keys
    assert mappings["appmetrica"].user_property_keys == frozenset()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            "source: amplitude\npermanent_user_properties:\n  shoe_size: user_properties.shoe_size\n",
            r"table permanent_user_properties has no column 'shoe_size'",
        ),
        (
            "source: amplitude\nchangeable_user_properties:\n  plan: event.plan_name\n",
            r"'event.plan_name' names no column of events_part or technical_data",
        ),
        (
            "source: amplitude\npermanent_user_properties:\n  gender: {from: user_properties.gender, keep: oldest}\n",
            r"keep must be one of latest, first",
        ),
        (
            "source: amplitude\nchangeable_user_properties:\n  plan: {from: user_properties.plan, keep: first}\n",
            r"`keep` applies to permanent_user_properties only",
        ),
        (
            "source: amplitude\npermanent_user_properties:\n  updated_at: event.event_time\n",
            r"filled by the ETL itself",
        ),
        ("source: amplitude\nchangeable_user_properties:\n  plan: plan\n", r"must start with 'event.'"),
        ("source: appmetrica\n", r"`source` must be 'amplitude'"),
        (
            "source: amplitude\npermanent_user_properties:\n  first_source: event.source\n",
            r"first_source is `keep: latest` in .*amplitude.yaml but `keep: first` in .*appmetrica.yaml",
        ),
    ],
)
def test_mistakes_are_clear_errors(tmp_path, document, message):
    with pytest.raises(MappingError, match=message):
        load_field_mappings(mappings_dir(tmp_path, document))


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(MappingError, match="amplitude.yaml is missing"):
        load_field_mappings(tmp_path)


def test_definitions_fail_to_load_on_an_unknown_column(tmp_path):
    folder = mappings_dir(tmp_path, "source: amplitude\nchangeable_user_properties:\n  shoe_size: user_properties.x\n")
    env = {**os.environ, "DWH_FIELD_MAPPINGS_DIR": str(folder), "ANALYTICS_DATA_DIR": str(tmp_path / "data")}
    loaded = subprocess.run(
        [sys.executable, "-c", "from analytics_dagster.definitions import defs; defs()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert loaded.returncode != 0
    assert "table changeable_user_properties has no column 'shoe_size'" in loaded.stderr

"""The DWH: one multi-asset turns a day's raw Amplitude and AppMetrica events into the eight warehouse tables.

The work is in :mod:`analytics_dagster.lib.dwh` (no Dagster there); this module wires it to partitions, resources,
run config, metadata and asset checks. field_mappings/ is read when definitions load, so a mapping that names a
column the DDL lacks stops the code location from loading with a message naming the file and the column.
"""

import dagster as dg
from pydantic import Field

from analytics_dagster.defs.automation import FOLLOWS_UPSTREAM
from analytics_dagster.defs.partitions import RANGE_BACKFILL_POLICY, daily_partitions
from analytics_dagster.defs.reporting import combined_checks, record_days
from analytics_dagster.defs.resources import WAREHOUSE_POOL, ObjectStoreResource, WarehouseResource
from analytics_dagster.defs.scratch import run_scratch
from analytics_dagster.lib.dwh.checks import COVERAGE_TABLE, MAPPING_COVERAGE, NON_EMPTY, UNIQUE_KEY, check_partition
from analytics_dagster.lib.dwh.etl import DayLoadResult, LoadSettings, MissingRawDay, load_day
from analytics_dagster.lib.dwh.mappings import load_field_mappings
from analytics_dagster.lib.dwh.quarantine import QuarantineLimitExceeded
from analytics_dagster.lib.dwh.sources import RawFormatError
from analytics_dagster.lib.dwh.tables import DWH_TABLES, TABLE_KEYS, table_columns
from analytics_dagster.lib.dwh.targets import StageSettings
from analytics_dagster.settings import DwhSettings, WarehouseSettings, configured_sources

FIELD_MAPPINGS = load_field_mappings(DwhSettings.read().dwh_field_mappings_dir)
# The imported events are an upstream too: a day re-imported from the landing zone reloads its DWH partition.
RAW_ASSETS = [dg.AssetKey("amplitude_raw_events"), dg.AssetKey("appmetrica_raw_events"), dg.AssetKey("imported_events")]

TABLE_DESCRIPTIONS = {
    "events_part": "One row per event (key uuid), web and mobile; partition = Moscow upload day.",
    "mobile_devices": "Mobile devices seen on the upload day, with their last reported attributes.",
    "permanent_user_properties": "One row per user, upserted: properties field_mappings/ marks permanent.",
    "changeable_user_properties": "History of the properties field_mappings/ marks changeable: a row per change.",
    "technical_data": "One row per event: delivery, SDK and device fields, and the raw file it came from.",
    "tmp_event_properties": "One row per event: its full event-property bag as JSON.",
    "tmp_user_properties": "One row per event: its raw user-property bag as JSON, and how much the mappings cover.",
    "user_locations": "Where each user was seen on the upload day (country, region, city), with event counts.",
}


class DwhLoadConfig(dg.Config):
    max_quarantine_share: float = Field(
        default_factory=lambda: DwhSettings.read().dwh_max_quarantine_share,
        ge=0.0,
        le=1.0,
        description="Fail (writing nothing) when a source's malformed records exceed this share of its records.",
    )
    min_mapping_coverage: float = Field(
        default_factory=lambda: DwhSettings.read().dwh_min_mapping_coverage,
        ge=0.0,
        le=1.0,
        description="Warn when field_mappings/ names less than this share of the day's user-property keys.",
    )
    duckdb_memory_limit: str = Field(
        default_factory=lambda: DwhSettings.read().dwh_duckdb_memory_limit,
        description="Memory DuckDB may use while parsing; beyond it, it spills to the run's scratch directory.",
    )


def _table_spec(table: str) -> dg.AssetSpec:
    columns = dg.TableSchema(columns=[dg.TableColumn(c.name, c.type) for c in table_columns(table)])
    return dg.AssetSpec(
        table,
        deps=RAW_ASSETS,
        group_name="dwh",
        automation_condition=FOLLOWS_UPSTREAM,
        description=TABLE_DESCRIPTIONS[table],
        kinds={WarehouseSettings.read().warehouse},
        metadata={
            "dagster/column_schema": columns,
            "key": ", ".join(TABLE_KEYS[table]),
            "ddl": f"sql/dwh/ddl/{table}.sql",
        },
    )


CHECK_SPECS = [
    *(
        dg.AssetCheckSpec(
            NON_EMPTY,
            asset=table,
            description="Rows where the partition's events call for them (events_part: exactly the "
            "events the raw day yields)",
        )
        for table in DWH_TABLES
    ),
    *(
        dg.AssetCheckSpec(UNIQUE_KEY, asset=table, description=f"Key ({', '.join(TABLE_KEYS[table])}) is unique")
        for table in DWH_TABLES
    ),
    dg.AssetCheckSpec(
        MAPPING_COVERAGE, asset=COVERAGE_TABLE, description="Share of user-property keys that field_mappings/ names"
    ),
]


@dg.multi_asset(
    name="dwh_tables",
    specs=[_table_spec(table) for table in DWH_TABLES],
    check_specs=CHECK_SPECS,
    partitions_def=daily_partitions,
    backfill_policy=RANGE_BACKFILL_POLICY,
    pool=WAREHOUSE_POOL,
    can_subset=False,
    description="One pass over the day's raw events of both sources into the eight DWH tables, in one transaction "
    "per day. A day whose raw data of a configured source (ANALYTICS_SOURCES) is missing fails, naming it.",
)
def dwh_tables(
    context: dg.AssetExecutionContext,
    config: DwhLoadConfig,
    object_store: ObjectStoreResource,
    warehouse: WarehouseResource,
):
    target, store = warehouse.get(), object_store.store()
    failures: dict[str, Exception] = {}
    metadata: dict[str, dict[str, dict]] = {table: {} for table in DWH_TABLES}
    outcomes: dict[str, dict] = {}
    with run_scratch(context) as scratch:
        settings = LoadSettings(
            max_quarantine_share=config.max_quarantine_share,
            stage=StageSettings(memory_limit=config.duckdb_memory_limit),
            workdir=str(scratch),
            required_sources=configured_sources(),
        )
        # Days load one after another (DuckDB has one writer); a failed day does not stop the others.
        for day in context.partition_keys:
            try:
                result = load_day(store, target, day, FIELD_MAPPINGS, settings, log=context.log.info)
            except (MissingRawDay, QuarantineLimitExceeded, RawFormatError) as error:
                context.log.error(str(error))
                failures[day] = error
                continue
            if result.is_demo:
                context.log.warning(f"Partition {day} holds DEMO data (see the ingest assets)")
            for table in DWH_TABLES:
                metadata[table][day] = _table_metadata(result, table)
            outcomes[day] = {
                (o.table, o.name): o for o in check_partition(target, day, result.events, config.min_mapping_coverage)
            }
    for table in DWH_TABLES:
        yield from record_days(context, metadata[table], asset_key=dg.AssetKey(table), run_fails=bool(failures))
    if failures:
        raise _failure(failures, loaded=sorted(outcomes))
    for table in DWH_TABLES:
        yield dg.MaterializeResult(asset_key=table)
    yield from combined_checks(outcomes)


def _failure(failures: dict[str, Exception], loaded: list[str]) -> dg.Failure:
    metadata: dict[str, object] = {
        "failed_days": ", ".join(sorted(failures)),
        "loaded_days": ", ".join(loaded) or "none",
    }
    for error in failures.values():
        if isinstance(error, QuarantineLimitExceeded):
            metadata.update(
                {
                    "quarantined": error.report.total,
                    "loaded_with_fields_as_null": error.report.total_repaired,
                    "invalid_fields": error.report.field_problems or "none",
                    "quarantine_by_file": error.report.files,
                    "quarantine_by_reason": error.report.reasons,
                    "quarantine": dg.MetadataValue.url(error.report.url) if error.report.url else None,
                }
            )
    summary = "; ".join(str(failures[day]) for day in sorted(failures))
    return dg.Failure(
        description=f"{len(failures)} of {len(failures) + len(loaded)} days failed: {summary}", metadata=metadata
    )


def _table_metadata(result: DayLoadResult, table: str) -> dict[str, object]:
    metadata: dict[str, object] = {
        "dagster/row_count": result.rows[table],
        "preview": dg.MetadataValue.md(result.previews[table]),
        "demo_data": result.is_demo,
    }
    if table == "events_part":
        for source, summary in result.sources.items():
            metadata[f"{source}_origin"] = summary.origin or "missing (no raw data for the day)"
            metadata[f"{source}_records_read"] = summary.records
            metadata[f"{source}_loaded"] = summary.loaded
            metadata[f"{source}_quarantined"] = summary.quarantined
            metadata[f"{source}_loaded_with_fields_as_null"] = summary.repaired
            metadata[f"{source}_conflicting_versions"] = summary.conflicting_versions
            metadata[f"{source}_duplicates_in_day"] = summary.duplicates_in_day
            metadata[f"{source}_duplicates_of_earlier_days"] = summary.duplicates_of_earlier_days
        metadata["missing_sources"] = ", ".join(s for s, r in result.sources.items() if r.missing) or "none"
        metadata["quarantined"] = result.quarantine.total
        metadata["invalid_fields"] = result.quarantine.field_problems or "none"  # '<source> <column>: <reason>'
        if result.quarantine.url:
            metadata["quarantine"] = dg.MetadataValue.url(result.quarantine.url)
            metadata["quarantine_by_reason"] = result.quarantine.reasons
            metadata["quarantine_by_file"] = result.quarantine.files
        metadata["taken_over_from_later_partitions"] = result.taken_over
        metadata["timings_s"] = result.timings
    if table == "tmp_user_properties":
        metadata["property_keys"] = result.property_keys
        metadata["mapped_property_keys"] = result.mapped_property_keys
        metadata["unmapped_keys"] = result.unmapped_keys or "none"
    if table in ("changeable_user_properties", "mobile_devices", "user_locations"):
        metadata["recomputed_later_partitions"] = ", ".join(result.recomputed_partitions) or "none"
    if table == "permanent_user_properties":
        metadata["users_rebuilt_from_history"] = result.rebuilt_users
    return metadata

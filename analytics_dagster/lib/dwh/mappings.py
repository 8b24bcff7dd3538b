"""field_mappings/<source>.yaml: which raw values fill the columns of the two user-property tables.

A mapping names a column of ``permanent_user_properties`` or ``changeable_user_properties`` (as defined by their
DDL) and where its value comes from: ``user_properties.<key>`` (a key of the event's user-property bag) or
``event.<column>`` (a column of ``events_part`` or ``technical_data``). Every mistake — an unknown column, an
unknown event column, a bad ``keep`` — raises :class:`MappingError` naming the file, so definitions fail to load
instead of a run silently dropping a property.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from analytics_dagster.lib.dwh.tables import (
    CHANGEABLE_BOOKKEEPING,
    PERMANENT_BOOKKEEPING,
    column_names,
    table_columns,
)
from analytics_dagster.lib.settings import PROJECT_ROOT

SOURCES = ("amplitude", "appmetrica", "import")
# Sources whose mapping file may be absent (then none of their values fill the user-property tables).
OPTIONAL_SOURCES = ("import",)
KEEP_RULES = ("latest", "first")
USER_PROPERTIES_PREFIX = "user_properties."
EVENT_PREFIX = "event."
# The tables an `event.<column>` value may come from: both are built from the raw record before the mappings run.
EVENT_COLUMN_TABLES = ("events_part", "technical_data")


class MappingError(ValueError):
    """A field mapping file is invalid."""


@dataclass(frozen=True)
class FieldMapping:
    column: str  # target column of the user-property table
    column_type: str  # its DuckDB type from the DDL
    origin: str  # 'event' or 'user_properties'
    field: str  # the event column or the user-property key
    keep: str | None  # 'latest' / 'first' for permanent_user_properties, None for the changeable history


@dataclass(frozen=True)
class SourceMappings:
    source: str
    path: Path
    permanent: tuple[FieldMapping, ...]
    changeable: tuple[FieldMapping, ...]

    @cached_property
    def user_property_keys(self) -> frozenset[str]:
        """The user-property keys some mapping of this source reads (the rest stay only in the JSON table)."""
        return frozenset(m.field for m in (*self.permanent, *self.changeable) if m.origin == "user_properties")


@dataclass(frozen=True)
class FieldMappings:
    by_source: dict[str, SourceMappings]

    def __getitem__(self, source: str) -> SourceMappings:
        return self.by_source[source]

    @cached_property
    def permanent_columns(self) -> tuple[tuple[str, str, str], ...]:
        """(column, type, keep) of every permanent column some source fills, in DDL order."""
        return _columns_in_ddl_order(
            "permanent_user_properties", {m.column: m for s in self.by_source.values() for m in s.permanent}
        )

    @cached_property
    def changeable_columns(self) -> tuple[tuple[str, str, str], ...]:
        """(column, type, '') of every changeable column some source fills, in DDL order."""
        return _columns_in_ddl_order(
            "changeable_user_properties", {m.column: m for s in self.by_source.values() for m in s.changeable}
        )


def _columns_in_ddl_order(table: str, mapped: dict[str, FieldMapping]) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (column.name, column.type, mapped[column.name].keep or "")
        for column in table_columns(table)
        if column.name in mapped
    )


DEFAULT_MAPPINGS_DIR = PROJECT_ROOT / "field_mappings"


def load_field_mappings(directory: str | os.PathLike | None = None) -> FieldMappings:
    """Reads and validates ``<directory>/<source>.yaml`` for every source."""
    directory = Path(directory) if directory else DEFAULT_MAPPINGS_DIR
    by_source = {source: _load_source(directory / f"{source}.yaml", source) for source in SOURCES}
    _check_keep_rules_agree(by_source)
    return FieldMappings(by_source)


def _load_source(path: Path, source: str) -> SourceMappings:
    if not path.is_file() and source in OPTIONAL_SOURCES:
        return SourceMappings(source, path, (), ())
    if not path.is_file():
        required = ", ".join(s for s in SOURCES if s not in OPTIONAL_SOURCES)
        raise MappingError(f"field mapping file {path} is missing (one file per source: {required})")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise MappingError(f"{path}: not valid YAML ({error})") from error
    if not isinstance(document, dict):
        raise MappingError(
            f"{path}: expected a mapping with keys source, permanent_user_properties, changeable_user_properties"
        )
    unknown = set(document) - {"source", "permanent_user_properties", "changeable_user_properties"}
    if unknown:
        raise MappingError(f"{path}: unknown top-level keys {sorted(unknown)}")
    if document.get("source") != source:
        raise MappingError(f"{path}: `source` must be {source!r}, found {document.get('source')!r}")
    return SourceMappings(
        source=source,
        path=path,
        permanent=_parse_table(path, document, "permanent_user_properties", PERMANENT_BOOKKEEPING, permanent=True),
        changeable=_parse_table(path, document, "changeable_user_properties", CHANGEABLE_BOOKKEEPING, permanent=False),
    )


def _parse_table(
    path: Path, document: dict[str, Any], table: str, bookkeeping: tuple[str, ...], *, permanent: bool
) -> tuple[FieldMapping, ...]:
    entries = document.get(table) or {}
    if not isinstance(entries, dict):
        raise MappingError(f"{path}: `{table}` must map column names to values")
    types = {column.name: column.type for column in table_columns(table)}
    mappings = []
    for column, spec in entries.items():
        where = f"{path}: {table}.{column}"
        if column not in types:
            raise MappingError(
                f"{where}: table {table} has no column {column!r} (sql/dwh/ddl/{table}.sql defines "
                f"{', '.join(c for c in types if c not in bookkeeping)})"
            )
        if column in bookkeeping:
            raise MappingError(f"{where}: column {column!r} is filled by the ETL itself and cannot be mapped")
        value, keep = _value_and_keep(where, spec, permanent=permanent)
        origin, field = _parse_value(where, value)
        mappings.append(FieldMapping(column, types[column], origin, field, keep))
    return tuple(mappings)


def _value_and_keep(where: str, spec: Any, *, permanent: bool) -> tuple[str, str | None]:
    if isinstance(spec, str):
        return spec, "latest" if permanent else None
    if not isinstance(spec, dict) or "from" not in spec or set(spec) - {"from", "keep"}:
        raise MappingError(f"{where}: expected 'event.<column>', 'user_properties.<key>' or {{from: ..., keep: ...}}")
    if not permanent:
        if "keep" in spec:
            raise MappingError(
                f"{where}: `keep` applies to permanent_user_properties only (history keeps every change)"
            )
        return str(spec["from"]), None
    keep = spec.get("keep", "latest")
    if keep not in KEEP_RULES:
        raise MappingError(f"{where}: keep must be one of {', '.join(KEEP_RULES)}, found {keep!r}")
    return str(spec["from"]), keep


def _parse_value(where: str, value: str) -> tuple[str, str]:
    if value.startswith(USER_PROPERTIES_PREFIX) and len(value) > len(USER_PROPERTIES_PREFIX):
        return "user_properties", value[len(USER_PROPERTIES_PREFIX) :]
    if value.startswith(EVENT_PREFIX):
        field = value[len(EVENT_PREFIX) :]
        available = {name for table in EVENT_COLUMN_TABLES for name in column_names(table)}
        if field not in available:
            raise MappingError(
                f"{where}: {value!r} names no column of {' or '.join(EVENT_COLUMN_TABLES)} "
                f"(known: {', '.join(sorted(available))})"
            )
        return "event", field
    raise MappingError(f"{where}: {value!r} must start with {EVENT_PREFIX!r} or {USER_PROPERTIES_PREFIX!r}")


def _check_keep_rules_agree(by_source: dict[str, SourceMappings]) -> None:
    seen: dict[str, tuple[str, Path]] = {}
    for mappings in by_source.values():
        for mapping in mappings.permanent:
            other = seen.setdefault(mapping.column, (mapping.keep or "", mappings.path))
            if other[0] != mapping.keep:
                raise MappingError(
                    f"permanent_user_properties.{mapping.column} is `keep: {other[0]}` in {other[1]} but "
                    f"`keep: {mapping.keep}` in {mappings.path}; one column has one rule"
                )

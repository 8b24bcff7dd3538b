"""SQL of ``sql/dwh/``: Jinja templates (for names and the mapped columns) in DuckDB's dialect."""

from __future__ import annotations

from functools import lru_cache

import jinja2
from sqlglot import exp

from analytics_dagster.lib.dwh.mappings import FieldMapping, FieldMappings
from analytics_dagster.lib.dwh.tables import Column, table_columns
from analytics_dagster.lib.sql import read_sql


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    environment.globals.update(
        typed_columns=typed_columns, raw_field_columns=raw_field_columns, field_checks=field_checks
    )
    return environment


def render(relative_path: str, **context: object) -> str:
    return _environment().from_string(read_sql(relative_path)).render(**context)


def quote_identifier(name: str) -> str:
    """A quoted DuckDB identifier, whatever characters the name holds (sqlglot's quoting)."""
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def sql_string(text: str) -> str:
    """A DuckDB string literal (sqlglot's quoting)."""
    return exp.Literal.string(text).sql("duckdb")


def json_path(key: str) -> str:
    """A DuckDB JSON path selecting one top-level key, whatever characters it holds."""
    return sql_string('$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"')


# How a field's text becomes the value of its column (macros of sql/dwh/stage/macros.sql), and the kind that
# field_problem() names when it does not fit.
_TYPED_VALUE = {
    "BIGINT": ("int_of({text})", "integer"),
    "INT": ("TRY_CAST(int_of({text}) AS INTEGER)", "integer"),
    "DOUBLE": ("finite_of({text})", "number"),
    "BOOLEAN": ("TRY_CAST({text} AS BOOLEAN)", "boolean"),
    "TIMESTAMP": ("utc_timestamp({text})", "timestamp"),
}


def _raw_field(column: str) -> str:
    return quote_identifier(f"raw:{column}")


def typed_columns(fields: list[tuple[str, str]]) -> str:
    """SELECT items typing each ``(column, text expression)`` of a source's record to its column's DDL type, plus
    the text itself as ``"raw:<column>"`` for :func:`field_checks` (which a source SQL excludes at the end)."""
    items = []
    for column, text in fields:
        template, _ = _TYPED_VALUE[_event_column_type(column)]
        items.append(f"{template.format(text=text)} AS {quote_identifier(column)}, {text} AS {_raw_field(column)}")
    return ",\n        ".join(items)


def raw_field_columns(fields: list[tuple[str, str]]) -> str:
    return ", ".join(_raw_field(column) for column, _ in fields)


def field_checks(fields: list[tuple[str, str]]) -> str:
    """``invalid_fields`` (JSON {column: raw text} of the fields whose non-empty text did not fit the column's type,
    loaded NULL) and ``field_problems`` (['<column>: <reason>'], for the counts), both NULL when all fitted.
    Evaluated over a relation carrying the columns of :func:`typed_columns`."""
    conditions, entries, problems = [], [], []
    for column, _ in fields:
        raw = _raw_field(column)
        condition = f"({quote_identifier(column)} IS NULL AND NULLIF(trim({raw}), '') IS NOT NULL)"
        _, kind = _TYPED_VALUE[_event_column_type(column)]
        conditions.append(condition)
        entries.append(f"CASE WHEN {condition} THEN {{'k': {sql_string(column)}, 'v': {raw}}} END")
        problems.append(
            f"CASE WHEN {condition} THEN {sql_string(column + ': ')} || field_problem({raw}, {sql_string(kind)}) END"
        )
    failed = " OR ".join(conditions)
    return (
        f"CASE WHEN {failed} THEN to_json(map_from_entries(list_filter([{', '.join(entries)}], "
        "entry -> entry IS NOT NULL))) END AS invalid_fields,\n    "
        f"CASE WHEN {failed} THEN list_filter([{', '.join(problems)}], problem -> problem IS NOT NULL) END "
        "AS field_problems"
    )


def _event_column_type(name: str) -> str:
    for table in ("events_part", "technical_data"):
        for column in table_columns(table):
            if column.name == name:
                return column.type
    raise KeyError(name)


def mapping_value(mapping: FieldMapping, bag_index: dict[str, int]) -> str:
    """The expression of one mapping over a relation of records, cast to the target column's type (NULL when the
    value is missing, empty or does not fit the type). User properties are read from ``bag``, the list of the
    bag's values at :func:`bag_keys` (so the bag is parsed once per record)."""
    if mapping.origin == "event":
        expression = quote_identifier(mapping.field)
        if _event_column_type(mapping.field) == mapping.column_type:
            return expression if mapping.column_type != "VARCHAR" else f"NULLIF({expression}, '')"
        text = f"CAST({expression} AS VARCHAR)"
    else:
        text = f"bag[{bag_index[mapping.field]}]"
    if mapping.column_type == "VARCHAR":
        return f"NULLIF({text}, '')"
    return f"TRY_CAST(NULLIF({text}, '') AS {mapping.column_type})"


def bag_keys(mappings: FieldMappings) -> list[str]:
    """Every user-property key some mapping reads, in a fixed order."""
    return sorted({key for source in mappings.by_source.values() for key in source.user_property_keys})


def snapshot_context(mappings: FieldMappings) -> dict[str, object]:
    """What sql/dwh/stage/user_snapshots.sql needs: (column, expression) per mapped column of both tables, each
    expression one CASE over the sources, and the JSON paths of the bag keys."""
    keys = bag_keys(mappings)
    bag_index = {key: position for position, key in enumerate(keys, start=1)}
    context: dict[str, object] = {"bag_paths": "[" + ", ".join(json_path(k) for k in keys) + "]" if keys else ""}
    for name in ("permanent", "changeable"):
        columns = mappings.permanent_columns if name == "permanent" else mappings.changeable_columns
        expressions = []
        for column, _, _ in columns:
            branches = [
                f"WHEN {sql_string(source)} THEN {mapping_value(mapping, bag_index)}"
                for source, source_mappings in mappings.by_source.items()
                for mapping in (source_mappings.permanent if name == "permanent" else source_mappings.changeable)
                if mapping.column == column
            ]
            expressions.append((column, f"CASE source {' '.join(branches)} END"))
        context[name] = expressions
    return context


def projection(table: str, relation: str, available: set[str]) -> str:
    """SELECT of ``table``'s columns, in DDL order, from ``relation``; columns it lacks are typed NULLs."""
    parts = []
    for column in table_columns(table):
        name = quote_identifier(column.name)
        parts.append(name if column.name in available else f"CAST(NULL AS {column.type}) AS {name}")
    return f"SELECT {', '.join(parts)} FROM {relation}"


def column_definitions(columns: list[Column]) -> str:
    return ", ".join(f"{quote_identifier(c.name)} {c.type}" for c in columns)

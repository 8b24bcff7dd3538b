"""Deterministic demo source: realistic Amplitude / AppMetrica raw data for any Moscow day.

Plain Python (numpy + orjson), no Dagster, and not part of the production path: the ingest assets reach it
only through the demo day source.  The output is byte-for-byte what the real APIs hand over,
so it goes through exactly the same parsing code as production data:

* :func:`write_amplitude_export_zip` (``amplitude_export``) -- the ZIP the Amplitude Export API returns for the window
  ``start=(D-1)T21, end=DT20`` (Moscow day ``D``): members ``<pid>/<pid>_<YYYY-MM-DD>_<H>#0.json.gz``,
  one per UTC hour of ``server_upload_time``, each a gzip of JSON lines.
* :func:`write_appmetrica_events_json` (``appmetrica_logs``) -- the body of ``GET /logs/v1/export/events.json`` for the
  Moscow day ``D`` of ``event_receive_datetime`` (``{"data":[{...}, ...]}``, every value a string).
* :func:`write_appmetrica_table_json` -- ``installations.json`` / ``sessions_starts.json`` bodies.

Model (see docs/demo_source.md; ``population`` and ``plan``):

* Users are born in daily *cohorts* since :data:`EPOCH`; cohort ``a`` has ``~lambda`` users, ``lambda``
  being derived from ``events_per_day``.  A user acquired ``g`` days ago is active on a day with probability
  :func:`retention` ``(g)``; the set of active users of a cohort is an exactly-sized, randomly placed block
  of a fixed per-cohort permutation, so DAU is stable from day to day.
* Everything that describes a user (device, ids, stable properties, experiment variant, when he upgrades
  or moves) is a hash of ``(seed, cohort, index)`` -- identical on every day without any state file.
* Each day is *planned* cheaply (active users, sessions, their lengths, times and upload delays) with a
  numpy generator seeded by ``hash(seed, day)``.  The archive of day ``D`` holds the sessions planned for
  ``D`` with delay 0 plus the sessions planned for ``D-k`` with delay ``k`` (k = 1..3); only the planning
  of the earlier days is repeated.  Event content of a session is generated from a per-session seed.
"""

from analytics_dagster.demo.amplitude_export import write_amplitude_export_zip
from analytics_dagster.demo.appmetrica_logs import write_appmetrica_events_json, write_appmetrica_table_json
from analytics_dagster.demo.catalog import (
    AMPLITUDE_CONVERSION_EVENT,
    AMPLITUDE_EVENT_TYPES,
    AMPLITUDE_EXPOSURE_EVENT,
    AMPLITUDE_LIBRARY,
    AMPLITUDE_SERVER_LIBRARY,
    APPMETRICA_CONVERSION_EVENT,
    APPMETRICA_EVENT_NAMES,
    APPMETRICA_EXPOSURE_EVENT,
    CONVERSION_EVENT,
    EXPERIMENT_CONVERSION_RATES,
    EXPERIMENT_FLAG,
    EXPERIMENT_START,
    EXPERIMENT_USER_PROPERTY,
    EXPERIMENT_VARIANTS,
    REPLAY_PROPERTY,
)
from analytics_dagster.demo.days import EPOCH, MSK, amplitude_member_name, amplitude_window
from analytics_dagster.demo.plan import plan_new_users, user_variant
from analytics_dagster.demo.population import retention
from analytics_dagster.demo.summary import DemoSummary

__all__ = [
    "AMPLITUDE_CONVERSION_EVENT",
    "AMPLITUDE_EVENT_TYPES",
    "AMPLITUDE_EXPOSURE_EVENT",
    "AMPLITUDE_LIBRARY",
    "AMPLITUDE_SERVER_LIBRARY",
    "APPMETRICA_CONVERSION_EVENT",
    "APPMETRICA_EVENT_NAMES",
    "APPMETRICA_EXPOSURE_EVENT",
    "CONVERSION_EVENT",
    "EPOCH",
    "EXPERIMENT_CONVERSION_RATES",
    "EXPERIMENT_FLAG",
    "EXPERIMENT_START",
    "EXPERIMENT_USER_PROPERTY",
    "EXPERIMENT_VARIANTS",
    "MSK",
    "REPLAY_PROPERTY",
    "DemoSummary",
    "amplitude_member_name",
    "amplitude_window",
    "plan_new_users",
    "retention",
    "user_variant",
    "write_amplitude_export_zip",
    "write_appmetrica_events_json",
    "write_appmetrica_table_json",
]

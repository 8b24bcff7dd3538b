"""Which daily-partitioned assets make up each stage's group, found in the stage's package.

Freshness checks, the Prometheus figures and ``make status`` all work per group; reading the groups from the stage
packages means an asset added to a stage is watched without touching this folder.
"""

from __future__ import annotations

import types

import dagster as dg

from analytics_dagster.defs import dwh, ingest, metrics, replays

STAGES: dict[str, types.ModuleType] = {"ingest": ingest, "dwh": dwh, "metrics": metrics, "replays": replays}


def daily_assets_by_group() -> dict[str, list[dg.AssetKey]]:
    groups: dict[str, list[dg.AssetKey]] = {}
    for group, package in STAGES.items():
        keys = {
            key
            for assets_def in dg.load_assets_from_package_module(package)
            if isinstance(assets_def, dg.AssetsDefinition)
            and isinstance(assets_def.partitions_def, dg.TimeWindowPartitionsDefinition)
            for key in assets_def.keys
            if assets_def.group_names_by_key.get(key) == group
        }
        groups[group] = sorted(keys, key=lambda key: key.to_user_string())
    return groups


GROUP_ASSETS = daily_assets_by_group()
GROUP_OF_ASSET = {key: group for group, keys in GROUP_ASSETS.items() for key in keys}

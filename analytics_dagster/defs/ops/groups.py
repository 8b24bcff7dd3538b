"""Which daily-partitioned assets make up each stage's group, found in the stage's package.

Freshness checks, the Prometheus figures and ``make status`` all work per group; reading the groups from the stage
packages means an asset added to a stage is watched without touching this folder.
"""

from __future__ import annotations

import types

import dagster as dg

from analytics_dagster.defs import dwh, ingest, metrics, replays

STAGES: dict[str, types.ModuleType] = {"ingest": ingest, "dwh": dwh, "metrics": metrics, "replays": replays}


def _daily_assets_defs(package: types.ModuleType) -> list[dg.AssetsDefinition]:
    return [
        assets_def
        for assets_def in dg.load_assets_from_package_module(package)
        if isinstance(assets_def, dg.AssetsDefinition)
        and isinstance(assets_def.partitions_def, dg.TimeWindowPartitionsDefinition)
    ]


def _by_group() -> tuple[dict[str, list[dg.AssetKey]], dict[str, list[dg.AssetCheckKey]]]:
    assets: dict[str, list[dg.AssetKey]] = {}
    checks: dict[str, list[dg.AssetCheckKey]] = {}
    for group, package in STAGES.items():
        defs = _daily_assets_defs(package)
        keys = {key for d in defs for key in d.keys if d.group_names_by_key.get(key) == group}
        assets[group] = sorted(keys, key=lambda key: key.to_user_string())
        checks[group] = sorted(
            {c for d in defs for c in d.check_keys if c.asset_key in keys}, key=lambda c: c.to_user_string()
        )
    return assets, checks


# The daily assets of each group, and the asset checks their definitions declare.
GROUP_ASSETS, GROUP_CHECKS = _by_group()
GROUP_OF_ASSET = {key: group for group, keys in GROUP_ASSETS.items() for key in keys}

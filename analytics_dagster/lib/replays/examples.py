"""Every cluster gets an example screenshot, within the day's screenshot budget.

Screenshots are taken before clustering (clustering reads what the screens say), so the sessions left without
one tend to cluster together, and such a cluster would show no example. When the day has more replays than the
budget, the first pass therefore keeps part of the budget back; after clustering, the best representative of
each cluster that has no screenshotted session is screenshotted from that reserve, largest clusters first.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from analytics_dagster.lib.replays.storage import ClusterMembers


def first_pass_size(available: int, budget: int, reserve: int) -> int:
    """Replays to screenshot before clustering: all of them when the budget covers the day, else the budget less
    the reserve for cluster examples (at most a quarter of the budget)."""
    if available <= budget:
        return available
    return budget - min(reserve, budget // 4)


def replays_needing_examples(
    clusters: Sequence[ClusterMembers], screenshotted: Collection[str], remaining_budget: int
) -> list[str]:
    """The representative to screenshot for each cluster none of whose sessions has a screenshot yet, largest
    cluster first, at most ``remaining_budget`` of them."""
    missing = [c for c in clusters if c.replay_ids and not any(r in screenshotted for r in c.replay_ids)]
    missing.sort(key=lambda c: (-c.size, c.cluster_id))
    return [c.replay_ids[0] for c in missing[: max(remaining_budget, 0)]]

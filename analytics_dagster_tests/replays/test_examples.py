"""The screenshot budget is split so that every cluster can show an example (lib/replays/examples.py)."""

from __future__ import annotations

from analytics_dagster.lib.replays.examples import first_pass_size, replays_needing_examples
from analytics_dagster.lib.replays.storage import ClusterMembers


def test_the_first_pass_keeps_a_reserve_only_when_the_day_exceeds_the_budget():
    assert first_pass_size(available=40, budget=50, reserve=8) == 40  # everyone fits: no reserve needed
    assert first_pass_size(available=50, budget=50, reserve=8) == 50
    assert first_pass_size(available=165, budget=50, reserve=8) == 42
    assert first_pass_size(available=165, budget=12, reserve=8) == 9  # at most a quarter of the budget
    assert first_pass_size(available=165, budget=50, reserve=0) == 50


def test_clusters_without_a_screenshot_get_their_best_representative_largest_first():
    clusters = [
        ClusterMembers(0, 30, ["a1", "a2", "a3"]),  # has a screenshotted member
        ClusterMembers(1, 5, ["b1", "b2"]),
        ClusterMembers(2, 12, ["c1", "c2"]),
        ClusterMembers(3, 12, ["d1"]),
        ClusterMembers(4, 0, []),
    ]
    assert replays_needing_examples(clusters, {"a3"}, remaining_budget=10) == ["c1", "d1", "b1"]
    assert replays_needing_examples(clusters, {"a3"}, remaining_budget=2) == ["c1", "d1"]
    assert replays_needing_examples(clusters, {"a3", "b2", "c2", "d1"}, remaining_budget=5) == []
    assert replays_needing_examples(clusters, set(), remaining_budget=-3) == []

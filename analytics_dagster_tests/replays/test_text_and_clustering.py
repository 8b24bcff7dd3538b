from __future__ import annotations

import pytest
from sklearn.metrics import adjusted_rand_score

from analytics_dagster.lib.replays.clustering import NOISE, cluster_documents
from analytics_dagster.lib.replays.synthetic import GROUPS, synthetic_sessions
from analytics_dagster.lib.replays.text import StemmingAnalyzer, event_text, session_document

SIGNATURES = {  # a word each group's sessions say and the others do not
    "payment_failure": "payment",
    "signup_errors": "password",
    "search_no_results": "search",
    "profile_save_ru": "сохранить",
}


def test_analyzer_drops_stopwords_and_stems_russian_and_english():
    analyzer = StemmingAnalyzer()
    terms = analyzer("The payments were declined и платежи не прошли, платежами 404 times: order x")
    assert "the" not in terms and "were" not in terms and "и" not in terms and "не" not in terms
    assert terms.count("payment") == 1 and terms.count(StemmingAnalyzer().terms("платежи")[0]) == 2
    assert "declin" in terms and "404" not in terms and "x" not in terms
    assert "order" in terms  # a product word the generic English list would drop
    assert analyzer.readable("declin") == "declined" and analyzer.readable("unknown") == "unknown"


def test_event_text_folds_repeats_but_documents_keep_them():
    [(_, session)] = [pair for pair in synthetic_sessions(1) if pair[0] == "payment_failure"]
    text = event_text(session)
    assert "Payment Failed on /checkout" in text and "(x" in text
    document = session_document(session, "Screen: Checkout | Shop")
    assert document.count("Payment Failed") >= 2 and document.endswith("Screen: Checkout | Shop")


@pytest.mark.parametrize("method", ["kmeans", "hdbscan"])
def test_constructed_groups_are_recovered(method):
    data = synthetic_sessions(48, seed=5)
    result = cluster_documents([session_document(s) for _, s in data], method=method)
    truth = [group for group, _ in data]
    assert adjusted_rand_score(truth, result.labels) >= 0.8
    assert sum(c.size for c in result.clusters) == len(data)
    assert [c.size for c in result.clusters if c.cluster_id != NOISE] == sorted(
        (c.size for c in result.clusters if c.cluster_id != NOISE), reverse=True
    )
    for cluster in result.clusters:
        members = [truth[i] for i, label in enumerate(result.labels) if label == cluster.cluster_id]
        majority = max(set(members), key=members.count)
        assert SIGNATURES[majority] in cluster.top_terms
        assert all(result.labels[i] == cluster.cluster_id for i in cluster.representatives)
        assert cluster.silhouette is not None and -1 <= cluster.silhouette <= 1
    assert result.silhouette > 0.3


def test_kmeans_picks_k_by_silhouette_and_is_deterministic():
    documents = [session_document(s) for _, s in synthetic_sessions(32, seed=9)]
    first = cluster_documents(documents, max_clusters=7)
    second = cluster_documents(documents, max_clusters=7)
    assert first.labels == second.labels and first.clusters == second.clusters
    assert sorted(first.k_scores) == [2, 3, 4, 5, 6, 7]
    best_k = max(first.k_scores, key=lambda k: first.k_scores[k])
    assert len(first.clusters) == best_k >= len(GROUPS)


@pytest.mark.parametrize("count", [0, 1, 2])
def test_tiny_days_give_at_most_one_cluster(count):
    documents = [session_document(s) for _, s in synthetic_sessions(count)]
    result = cluster_documents(documents)
    assert len(result.labels) == count and len(result.clusters) == min(count, 1)
    assert result.silhouette is None and result.sample_silhouettes == [None] * count
    if count:
        assert result.clusters[0].size == count and result.clusters[0].top_terms


def test_three_sessions_can_split_and_identical_or_empty_texts_cannot():
    documents = [session_document(s) for _, s in synthetic_sessions(3)]
    assert len(cluster_documents(documents).clusters) == 2
    same = cluster_documents([documents[0]] * 5)
    assert same.labels == [0] * 5 and same.k_scores == {}
    empty = cluster_documents(["", "42 17", "..."], method="hdbscan")
    assert empty.labels == [0, 0, 0] and empty.clusters[0].top_terms == []


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="REPLAY_CLUSTERING"):
        cluster_documents(["a"], method="dbscan")

"""End to end on planted synthetic data: tuned baselines, reports, an extra recommender, the CLI."""

import json

import numpy as np
import pytest

from ikg.eval import Dataset, Method, run_evaluation, synthetic_dataset
from ikg.eval.baselines import Popularity
from ikg.eval.cli import main
from kg.synthetic import make_cross_domain


@pytest.fixture(scope="module")
def data():
    return synthetic_dataset(0, n_users=300, items_per_domain=240, events_per_user=60, noise=0.1)


@pytest.fixture(scope="module")
def report(data):
    return run_evaluation(
        data,
        "cold-start",
        ["popularity", "item-knn", "rp3beta"],
        k=20,
        source_domain="books",
        target_domain="films",
        n_valid=60,
        n_test=75,
    )


def test_planted_interests_carry_across_domains_at_least_twice_as_well_as_popularity(report):
    popularity = report.result("popularity").per_user["recall"].mean()
    for method in ("item-knn", "rp3beta"):
        assert report.result(method).per_user["recall"].mean() >= 2 * popularity, method
    comparison = report.compare("item-knn", "popularity", "recall")
    assert comparison.p_win > 0.99 and comparison.diff.low > 0


def test_each_method_is_tuned_on_validation_users_only(report):
    knn = report.result("item-knn")
    assert len(knn.grid) > 1
    assert knn.valid_score == max(g["valid_ndcg"] for g in knn.grid)
    assert knn.params == next(g["params"] for g in knn.grid if g["valid_ndcg"] == knn.valid_score)


def test_report_renders_a_table_json_and_a_plot(report, tmp_path):
    table = report.table()
    assert "Recall@20" in table and "item-knn" in table and "paired bootstrap" in table
    data = json.loads(report.to_json(tmp_path / "r.json"))
    assert data["protocol"] == "cold-start" and data["n_test_users"] == 75
    ndcg = data["methods"][1]["metrics"]["ndcg"]
    assert ndcg["low"] <= ndcg["mean"] <= ndcg["high"]
    assert report.plot(tmp_path / "r.png").stat().st_size > 1000
    assert report.markdown().startswith("| method")


class Oracle:
    """Knows the planted themes: scores items of the user's themes highest."""

    name = "oracle"

    def __init__(self, data):
        self.data = data

    def fit(self, train, items):
        self.fitted_on = train

    def score(self, user_ids, item_ids):
        themes = self.data.item_theme
        return np.array([[float(themes[i] in self.data.user_themes[u]) for i in item_ids] for u in user_ids])


def test_an_extra_recommender_is_compared_on_the_same_users():
    truth = make_cross_domain(n_users=200, items_per_domain=120, seed=1)
    data = Dataset("synthetic", truth.items, truth.events)
    report = run_evaluation(
        data,
        "cold-start",
        ["popularity"],
        k=20,
        source_domain="books",
        target_domain="music",
        n_valid=30,
        n_test=40,
        extra=[Oracle(truth)],
    )
    assert [r.name for r in report.results] == ["popularity", "oracle"]
    assert report.compare("oracle", "popularity", "ndcg").p_win > 0.99


def test_a_method_with_a_custom_grid_is_tuned():
    data = synthetic_dataset(2, n_users=150, items_per_domain=60)
    method = Method("pop", Popularity, [{"recent_share": 1.0}, {"recent_share": 0.5}])
    report = run_evaluation(data, "leave-last-out", [method], k=10, n_valid=20, n_test=30)
    assert len(report.result("pop").grid) == 2


def test_cli_writes_the_report_files(tmp_path, capsys):
    assert (
        main(
            [
                "--synthetic",
                "--protocol",
                "cold-start",
                "--methods",
                "popularity,item-knn",
                "--k",
                "10",
                "--n-valid",
                "30",
                "--n-test",
                "40",
                "--out",
                str(tmp_path),
                "--quiet",
            ]
        )
        == 0
    )
    assert "item-knn" in capsys.readouterr().out
    for name in ("report.json", "report.txt", "report.md", "report.png"):
        assert (tmp_path / name).exists()
    assert "ikg eval --synthetic" in (tmp_path / "report.txt").read_text()


def test_splits_sharing_a_training_frame_are_fitted_once_and_match_separate_runs():
    from ikg.eval import given_split
    from ikg.eval.baselines import ItemKNN
    from ikg.eval.runner import evaluate_split, evaluate_splits

    base = synthetic_dataset(3, n_users=160, items_per_domain=60)
    last = base.events.sort_values("ts").groupby("user_id").tail(1).head(120)
    split_df = last[["user_id", "item_id"]].assign(split=["valid", "test"] * 60)
    data = Dataset("given-toy", base.items, base.events, split_df)
    fits = []

    class CountingKNN(ItemKNN):
        def fit(self, train, items):
            fits.append(1)
            super().fit(train, items)

    method = Method("item-knn", CountingKNN, [{"neighbors": 20}, {"neighbors": None}])
    splits = [given_split(data, "films"), given_split(data, "music")]
    shared = evaluate_splits(splits, data.items, [method], k=10)
    assert len(fits) == 2
    for split, report in zip(splits, shared):
        alone = evaluate_split(split, data.items, [method], k=10)
        np.testing.assert_array_equal(alone.results[0].per_user["ndcg"], report.results[0].per_user["ndcg"])
        assert report.target_domain == split.target_domain


def test_a_stored_report_gets_the_system_row_added_later(report, data, tmp_path):
    from ikg.eval import EvalReport, add_to_report

    report.to_json(tmp_path / "baselines.json", per_user=True)
    assert EvalReport.from_json(tmp_path / "baselines.json").table() == report.table()
    extended = add_to_report(tmp_path / "baselines.json", data, Popularity())
    assert [r.name for r in extended.results][-1] == "popularity" and len(extended.results) == 4
    np.testing.assert_array_equal(
        extended.results[-1].per_user["ndcg"], report.result("popularity").per_user["ndcg"]
    )

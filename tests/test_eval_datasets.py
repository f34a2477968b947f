"""Dataset adapters read each source format into the ingest columns; pickles are read safely."""

import gzip
import json
import pickle

import pandas as pd
import pytest

from ikg.eval.datasets import (
    RestrictedUnpickler,
    load_amazon,
    load_dataset,
    load_food_kitchen,
    load_movielens,
    safe_pickle_load,
    save_dataset,
    synthetic_dataset,
)


def test_generic_folder_round_trip(tmp_path):
    data = synthetic_dataset(0, n_users=20, items_per_domain=16)
    save_dataset(data, tmp_path)
    again = load_dataset(tmp_path)
    assert len(again.events) == len(data.events) and again.domains == data.domains
    assert again.items["categories"].iloc[0] == data.items["categories"].iloc[0]
    assert again.split is None


def test_generic_jsonl_with_a_split(tmp_path):
    (tmp_path / "items.jsonl").write_text(
        '{"item_id": 1, "domain": "d", "title": "one"}\n{"item_id": 2, "domain": "d", "title": "two"}\n'
    )
    (tmp_path / "events.jsonl").write_text('{"user_id": "u", "item_id": 1}\n{"user_id": "u", "item_id": 2}\n')
    pd.DataFrame({"user_id": ["u"], "split": ["test"], "item_id": ["2"]}).to_csv(
        tmp_path / "split.csv", index=False
    )
    data = load_dataset(tmp_path)
    assert data.items["item_id"].tolist() == ["1", "2"] and data.split["item_id"].tolist() == ["2"]


def test_missing_columns_are_reported(tmp_path):
    pd.DataFrame({"item_id": [1], "title": ["x"]}).to_csv(tmp_path / "items.csv", index=False)
    pd.DataFrame({"user_id": [1], "item_id": [1]}).to_csv(tmp_path / "events.csv", index=False)
    with pytest.raises(ValueError, match="domain"):
        load_dataset(tmp_path)


def test_amazon_reviews_and_metadata_in_json_lines_gzip_and_python_literals(tmp_path):
    reviews = tmp_path / "reviews.json.gz"
    with gzip.open(reviews, "wt") as f:
        f.write(json.dumps({"reviewerID": "A1", "asin": "B1", "overall": 5.0, "unixReviewTime": 100}) + "\n")
        f.write(json.dumps({"reviewerID": "A1", "asin": "B9", "overall": 4.0, "unixReviewTime": 200}) + "\n")
    meta = tmp_path / "meta.json"
    meta.write_text(
        "{'asin': 'B1', 'title': 'Green tea', 'categories': [['Grocery', 'Tea']], "
        "'description': 'Loose leaf'}\n"
    )
    movies = tmp_path / "movies.jsonl"
    movies.write_text(
        json.dumps({"asin": "M1", "title": "Alien", "category": ["Sci-Fi"], "main_cat": "Movies"}) + "\n"
    )
    mreviews = tmp_path / "movie_reviews.jsonl"
    mreviews.write_text(
        json.dumps({"reviewerID": "A1", "asin": "M1", "overall": 3.0, "unixReviewTime": 50}) + "\n"
    )
    data = load_amazon({"food": (reviews, meta), "movies": (mreviews, movies)})
    assert sorted(data.events["item_id"]) == ["B1", "M1"]  # B9 has no metadata
    food = data.items.set_index("item_id").loc["B1"]
    assert food["domain"] == "food" and food["categories"] == ["Grocery", "Tea"]
    assert data.items.set_index("item_id").loc["M1", "categories"] == ["Movies", "Sci-Fi"]


def test_movielens_ratings_movies_and_tags(tmp_path):
    pd.DataFrame({"userId": [1, 1], "movieId": [10, 20], "rating": [4.0, 2.0], "timestamp": [5, 6]}).to_csv(
        tmp_path / "ratings.csv", index=False
    )
    pd.DataFrame(
        {
            "movieId": [10, 20],
            "title": ["Heat (1995)", "Up (2009)"],
            "genres": ["Action|Crime", "(no genres listed)"],
        }
    ).to_csv(tmp_path / "movies.csv", index=False)
    pd.DataFrame({"userId": [1], "movieId": [10], "tag": ["Heist"], "timestamp": [7]}).to_csv(
        tmp_path / "tags.csv", index=False
    )
    data = load_movielens(tmp_path, min_rating=3.0)
    assert data.events["item_id"].tolist() == ["10"]
    items = data.items.set_index("item_id")
    assert items.loc["10", "categories"] == ["Action", "Crime"] and items.loc["10", "tags"] == ["heist"]
    assert items.loc["20", "categories"] == []


class NotAllowed:
    pass


def test_restricted_unpickler_admits_plain_containers_only(tmp_path):
    ok = tmp_path / "ok.pkl"
    ok.write_bytes(pickle.dumps({"a": [1, 2.0, ("x",)], "b": {3}}))
    assert safe_pickle_load(ok) == {"a": [1, 2.0, ("x",)], "b": {3}}
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(pickle.dumps(NotAllowed()))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        safe_pickle_load(bad)
    assert issubclass(RestrictedUnpickler, pickle.Unpickler)


def test_food_kitchen_release_format(tmp_path):
    (tmp_path / "num.txt").write_text("2\n3\n")
    (tmp_path / "item_set_A.pkl").write_bytes(pickle.dumps({"F0": 0, "F1": 1}))
    (tmp_path / "item_set_B.pkl").write_bytes(pickle.dumps({"K0": 0, "K1": 1, "K2": 2}))
    (tmp_path / "text_A.pkl").write_bytes(pickle.dumps({"F0": "tea", "F1": "coffee"}))
    (tmp_path / "text_B.pkl").write_bytes(pickle.dumps({"K0": "kettle", "K1": "mug", "K2": "pan"}))
    (tmp_path / "train_A.txt").write_text("1\t0,1\n")
    (tmp_path / "train_B.txt").write_text("1\t2,3\n")
    (tmp_path / "train_overlap.txt").write_text("1\t0,2,3\n")
    (tmp_path / "valid.txt").write_text("1\t1,2\n")
    (tmp_path / "test.txt").write_text("1\t0,3,4\n")
    data = load_food_kitchen(tmp_path)
    assert dict(zip(data.items["item_id"], data.items["domain"])) == {
        "F0": "food",
        "F1": "food",
        "K0": "kitchen",
        "K1": "kitchen",
        "K2": "kitchen",
    }
    t1 = data.events[data.events["user_id"] == "t1"]
    assert t1["item_id"].tolist() == ["F0", "K1", "K2"] and t1["ts"].tolist() == [0.0, 1.0, 2.0]
    assert set(data.events["user_id"]) == {"a1", "b1", "o1", "v1", "t1"}
    assert data.split.to_dict("records") == [
        {"user_id": "v1", "split": "valid", "item_id": "K0"},
        {"user_id": "t1", "split": "test", "item_id": "K2"},
    ]


def _tiny_release(folder):
    folder.mkdir()
    (folder / "num.txt").write_text("1\n1\n")
    for tag, asin in (("A", "F0"), ("B", "K0")):
        (folder / f"item_set_{tag}.pkl").write_bytes(pickle.dumps({asin: 0}))
        (folder / f"text_{tag}.pkl").write_bytes(pickle.dumps({asin: asin.lower()}))
    for stem in ("train_A", "train_B", "train_overlap", "valid", "test"):
        (folder / f"{stem}.txt").write_text("1\t0,1\n")
    return folder


def test_prepare_script_writes_generic_csvs_outside_the_repository_only(tmp_path):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "prepare_food_kitchen.py"
    spec = importlib.util.spec_from_file_location("prepare_food_kitchen", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    src = _tiny_release(tmp_path / "src")
    assert module.main(["--src", str(src), "--out", str(tmp_path / "out")]) == 0
    assert load_dataset(tmp_path / "out").split["split"].tolist() == ["valid", "test"]
    assert module.main(["--src", str(src), "--out", str(script.parents[1] / "data-leak")]) == 2
    assert not (script.parents[1] / "data-leak").exists()

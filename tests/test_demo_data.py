"""The shipped demo catalog and the synthetic demo users (`ikg.demo_data`)."""

from __future__ import annotations

import json
from importlib import resources

import pandas as pd
import pytest

from ikg import demo_data
from ikg.demo_data import (
    COLD_USER,
    DOMAINS,
    THEMES,
    demo_users,
    item_themes,
    load_catalog,
    make_demo_events,
)


@pytest.fixture(scope="module")
def catalog() -> pd.DataFrame:
    return load_catalog()


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return make_demo_events()


def test_catalog_file_parses_line_by_line():
    text = resources.files("ikg").joinpath("data/catalog.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert len(rows) >= 150
    for row in rows:
        assert {"item_id", "domain", "title", "description", "categories", "tags"} <= set(row)


def test_catalog_columns_and_unique_ids(catalog):
    for col in ("item_id", "domain", "title", "description", "categories", "tags", "year", "creator"):
        assert col in catalog.columns
    assert catalog["item_id"].is_unique
    for item_id, domain in zip(catalog["item_id"], catalog["domain"]):
        prefix = {"books": "book:", "films": "film:", "music": "music:"}[domain]
        assert item_id.startswith(prefix)
        assert item_id == item_id.lower() and " " not in item_id


def test_three_domains_with_enough_items(catalog):
    counts = catalog["domain"].value_counts().to_dict()
    assert set(counts) == set(DOMAINS)
    assert all(counts[d] >= 50 for d in DOMAINS), counts


def test_every_item_is_described(catalog):
    for row in catalog.itertuples():
        assert isinstance(row.title, str) and row.title.strip(), row.item_id
        assert isinstance(row.description, str) and len(row.description.split()) >= 8, row.item_id
        assert isinstance(row.categories, list) and row.categories, row.item_id
        assert all(isinstance(c, str) and c.strip() for c in row.categories), row.item_id
        assert isinstance(row.tags, list) and row.tags, row.item_id


def test_themes_cover_the_catalog_and_span_all_domains(catalog):
    domain_of = dict(zip(catalog["item_id"], catalog["domain"]))
    assert len(THEMES) >= 8
    for theme, ids in THEMES.items():
        assert all(i in domain_of for i in ids), theme
        assert {domain_of[i] for i in ids} == set(DOMAINS), theme
    assigned = [i for ids in THEMES.values() for i in ids]
    assert len(assigned) == len(set(assigned)), "an item is in two themes"
    assert set(assigned) == set(domain_of), "every catalog item has a theme"


def test_events_reference_catalog_items_only(catalog, events):
    assert list(events.columns) == ["user_id", "item_id", "kind", "ts", "rating", "text"]
    assert set(events["item_id"]) <= set(catalog["item_id"])
    assert set(events["kind"]) <= {"view", "click", "purchase", "rating", "review"}


def test_event_fields(events):
    assert events["user_id"].nunique() == 121
    assert events["ts"].max() - events["ts"].min() <= 181 * 86_400
    rated = events[events["kind"].isin(["rating", "review"])]
    assert rated["rating"].between(1, 5).all()
    assert events.loc[~events["kind"].isin(["rating", "review"]), "rating"].isna().all()
    reviews = events[events["kind"] == "review"]
    assert len(reviews) > 0
    assert all(isinstance(t, str) and t.strip() for t in reviews["text"])
    assert events.loc[events["kind"] != "review", "text"].isna().all()


def test_users_engage_mostly_within_their_themes(events):
    theme_of = item_themes()
    planted = {u.user_id: set(u.themes) for u in demo_users()}
    in_theme = [theme_of[i] in planted[u] for u, i in zip(events["user_id"], events["item_id"])]
    share = sum(in_theme) / len(in_theme)
    assert 0.85 <= share <= 0.97, share


def test_planted_themes_cross_domains(catalog, events):
    domain_of = dict(zip(catalog["item_id"], catalog["domain"]))
    regular = events[events["user_id"] != COLD_USER]
    per_user = regular.groupby("user_id")["item_id"].agg(lambda s: {domain_of[i] for i in s})
    assert (per_user.map(len) >= 2).mean() > 0.9


def test_drifting_users_move_from_early_to_late_theme(events):
    theme_of = item_themes()
    drifters = [u for u in demo_users() if u.drift]
    assert len(drifters) >= 10
    moved = 0
    for user in drifters:
        mine = events[events["user_id"] == user.user_id].sort_values("ts")
        half = len(mine) // 2
        early = [theme_of[i] for i in mine["item_id"].iloc[:half]]
        late = [theme_of[i] for i in mine["item_id"].iloc[half:]]
        moved += early.count(user.themes[0]) > late.count(user.themes[0]) and (
            late.count(user.themes[1]) > early.count(user.themes[1])
        )
    assert moved / len(drifters) > 0.8


def test_cold_user_has_books_and_films_but_no_music(catalog, events):
    domain_of = dict(zip(catalog["item_id"], catalog["domain"]))
    cold = events[events["user_id"] == COLD_USER]
    domains = {domain_of[i] for i in cold["item_id"]}
    assert domains == {"books", "films"}
    theme_of = item_themes()
    themes = [theme_of[i] for i in cold["item_id"]]
    assert sum(t in ("space", "cyberpunk") for t in themes) / len(themes) >= 0.8


def test_same_seed_same_events_other_seed_differs():
    a = make_demo_events(n_users=30, seed=11)
    b = make_demo_events(n_users=30, seed=11)
    pd.testing.assert_frame_equal(a, b)
    c = make_demo_events(n_users=30, seed=12)
    assert not a.equals(c)


def test_catalog_ships_as_package_data():
    assert demo_data.CATALOG_RESOURCE == "data/catalog.jsonl"
    assert resources.files("ikg").joinpath("data/catalog.jsonl").is_file()

"""The planted generator: themes cross domains, and only a chosen share of users bridge domains."""

from __future__ import annotations

from kg.synthetic import make_cross_domain


def _domains_per_user(data) -> dict[str, int]:
    domain = dict(zip(data.items["item_id"], data.items["domain"]))
    events = data.events.assign(domain=data.events["item_id"].map(domain))
    return events.groupby("user_id")["domain"].nunique().to_dict()


def test_by_default_every_user_spans_every_domain():
    data = make_cross_domain(n_users=60, items_per_domain=24, events_per_user=24, seed=1)
    assert set(_domains_per_user(data).values()) == {3}


def test_bridge_users_sets_the_share_of_users_active_in_several_domains():
    data = make_cross_domain(n_users=400, items_per_domain=24, events_per_user=24, seed=1, bridge_users=0.2)
    spans = _domains_per_user(data)
    bridging = sum(n > 1 for n in spans.values()) / len(spans)
    assert 0.12 < bridging < 0.28
    assert set(spans.values()) == {1, 3}, "the others stay in one domain, noise included"


def test_users_keep_their_planted_themes_in_every_domain_they_use():
    data = make_cross_domain(n_users=200, items_per_domain=24, events_per_user=24, seed=2, bridge_users=0.2)
    on_theme = [
        data.item_theme[i] in data.user_themes[u]
        for u, i in zip(data.events["user_id"], data.events["item_id"])
    ]
    assert sum(on_theme) / len(on_theme) > 0.8

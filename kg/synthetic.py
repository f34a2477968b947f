"""Synthetic cross-domain data with planted interests, for tests, benchmarks and evaluation.

Every item belongs to one planted theme (its title, description and categories use that
theme's words, whatever the domain), and every user likes one or two themes and engages
mostly with items of those themes in every domain. A method that carries interests
across domains should therefore find a held-out user's target-domain items from their
source-domain history; popularity cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

THEMES: dict[str, dict[str, list[str]]] = {
    "space": {
        "words": [
            "space exploration",
            "astronaut",
            "distant galaxy",
            "starship",
            "alien contact",
            "mars colony",
        ],
        "genres": ["science fiction", "space opera"],
    },
    "crime": {
        "words": [
            "detective",
            "murder investigation",
            "serial killer",
            "police procedural",
            "heist",
            "mafia family",
        ],
        "genres": ["crime", "mystery thriller"],
    },
    "romance": {
        "words": ["love story", "wedding", "first kiss", "heartbreak", "summer romance", "second chance"],
        "genres": ["romance", "romantic comedy"],
    },
    "war": {
        "words": ["world war", "soldier", "battlefield", "resistance fighter", "submarine", "army general"],
        "genres": ["war history", "military drama"],
    },
    "fantasy": {
        "words": [
            "dragon",
            "wizard",
            "magic kingdom",
            "enchanted forest",
            "sword and sorcery",
            "elven queen",
        ],
        "genres": ["fantasy", "epic fantasy"],
    },
    "cooking": {
        "words": [
            "french cuisine",
            "pastry chef",
            "baking bread",
            "street food",
            "family recipe",
            "wine tasting",
        ],
        "genres": ["food and cooking", "culinary"],
    },
    "sports": {
        "words": [
            "football team",
            "boxing champion",
            "marathon runner",
            "olympic games",
            "basketball coach",
            "cycling race",
        ],
        "genres": ["sports", "sports drama"],
    },
    "nature": {
        "words": [
            "wildlife",
            "ocean reef",
            "rainforest",
            "mountain climbing",
            "arctic expedition",
            "national park",
        ],
        "genres": ["nature documentary", "outdoor adventure"],
    },
}

DOMAIN_FORMS: dict[str, list[str]] = {
    "books": [
        "A novel about {a} and {b}.",
        "The story of {a}, told through {b}.",
        "A memoir of {a} and {b}.",
    ],
    "films": [
        "A film about {a} and {b}.",
        "On screen: {a} meets {b}.",
        "A feature film following {a} and {b}.",
    ],
    "music": [
        "An album inspired by {a} and {b}.",
        "Songs about {a} and {b}.",
        "A soundtrack of {a} and {b}.",
    ],
    "games": [
        "A video game about {a} and {b}.",
        "Play through {a} and {b}.",
        "A strategy game of {a} and {b}.",
    ],
}

_TITLE_WORDS = [
    "Echoes",
    "Shadows",
    "Light",
    "Road",
    "Secrets",
    "Return",
    "Song",
    "Edge",
    "Heart",
    "Winter",
    "Fire",
    "River",
    "Last",
    "Silent",
    "Golden",
    "Broken",
    "Hidden",
    "Wild",
    "Long",
    "Dark",
]


@dataclass
class SyntheticData:
    """Items and events as DataFrames with the columns of the ingest contract, plus the truth."""

    items: pd.DataFrame
    events: pd.DataFrame
    item_theme: dict[str, str]
    user_themes: dict[str, list[str]]


def make_cross_domain(
    n_users: int = 300,
    items_per_domain: int = 120,
    domains: tuple[str, ...] = ("books", "films", "music"),
    events_per_user: int = 24,
    noise: float = 0.15,
    seed: int = 0,
    start_ts: float = 1_700_000_000.0,
    bridge_users: float = 1.0,
) -> SyntheticData:
    """Generate items in `domains` and users with planted cross-domain themes.

    Each user picks 1-2 themes; a fraction `noise` of their events go to random items.
    Item popularity within a theme follows a Zipf-like law so popularity is a real baseline.
    A share `bridge_users` of the users engage in every domain; the others stay in one
    domain (as in real cross-domain data, where few users bridge the domains), so a
    theme's items in two domains are then linked through few co-engagements and through
    the shared words of their texts.
    """
    rng = np.random.default_rng(seed)
    themes = list(THEMES)
    items: list[dict[str, Any]] = []
    item_theme: dict[str, str] = {}
    for domain in domains:
        forms = DOMAIN_FORMS.get(domain, ["A {domain} work about {a} and {b}."])
        for j in range(items_per_domain):
            theme = themes[j % len(themes)]
            words = THEMES[theme]["words"]
            a, b = rng.choice(len(words), size=2, replace=False)
            title = f"{rng.choice(_TITLE_WORDS)} {rng.choice(_TITLE_WORDS)}: {words[a].title()}"
            item_id = f"{domain[:2]}{j:04d}"
            items.append(
                {
                    "item_id": item_id,
                    "domain": domain,
                    "title": title,
                    "description": forms[j % len(forms)].format(a=words[a], b=words[b], domain=domain),
                    "categories": list(THEMES[theme]["genres"][: 1 + j % 2]),
                }
            )
            item_theme[item_id] = theme
    items_df = pd.DataFrame(items)
    by_domain_theme: dict[tuple[str, str], list[str]] = {}
    for row in items:
        by_domain_theme.setdefault((row["domain"], item_theme[row["item_id"]]), []).append(row["item_id"])
    all_ids = items_df["item_id"].to_numpy()

    events, user_themes = [], {}
    kinds = ["view", "view", "click", "purchase", "rating"]
    for u in range(n_users):
        user_id = f"u{u:04d}"
        liked = list(rng.choice(themes, size=1 + int(rng.random() < 0.5), replace=False))
        user_themes[user_id] = liked
        ts = start_ts + rng.random() * 86_400 * 30
        own_domains = (
            domains if bridge_users >= 1.0 or rng.random() < bridge_users else (str(rng.choice(domains)),)
        )
        noise_pool = (
            all_ids if own_domains == domains else all_ids[items_df["domain"].to_numpy() == own_domains[0]]
        )
        for _ in range(events_per_user):
            if rng.random() < noise:
                item_id = str(rng.choice(noise_pool))
            else:
                pool = by_domain_theme[(str(rng.choice(own_domains)), str(rng.choice(liked)))]
                rank = min(int(rng.zipf(1.6)) - 1, len(pool) - 1)
                item_id = pool[rank]
            kind = str(rng.choice(kinds))
            ts += rng.random() * 86_400
            events.append(
                {
                    "user_id": user_id,
                    "item_id": item_id,
                    "kind": kind,
                    "ts": float(ts),
                    "rating": float(rng.integers(3, 6)) if kind == "rating" else None,
                }
            )
    return SyntheticData(items_df, pd.DataFrame(events), item_theme, user_themes)

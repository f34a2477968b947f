"""Shipped sample data for `ikg demo`: a real-world catalog in three domains and synthetic users.

The catalog (`ikg/data/catalog.jsonl`) holds well-known books, films and music albums. Titles,
years and creators are facts; every description, category list and tag list was written for
this project in its own words. Each item is hand-assigned to one of ten taste themes that run
through all three domains (space, cyberpunk, crime, ...), listed in `THEMES`.

`make_demo_events` plants those themes in synthetic users: each user likes one or two themes
and engages mostly with items of those themes in every domain (about 10% noise). Some users
drift: an early theme gives way to a later one over the ~180 days of history. A planted
cold-start user, `demo-cold`, has books and films history only (space and cyberpunk) and no
music at all, so the demo can carry their interests into music. Everything is deterministic
for a seed.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from importlib import resources

import pandas as pd

CATALOG_RESOURCE = "data/catalog.jsonl"
DOMAINS: tuple[str, ...] = ("books", "films", "music")
CATALOG_COLUMNS = ["item_id", "domain", "title", "description", "categories", "tags", "year", "creator"]
EVENT_COLUMNS = ["user_id", "item_id", "kind", "ts", "rating", "text"]

COLD_USER = "demo-cold"
COLD_USER_THEMES: tuple[str, ...] = ("space", "cyberpunk")
COLD_USER_DOMAINS: tuple[str, ...] = ("books", "films")

START_TS = 1_735_689_600  # 2025-01-01T00:00:00Z
SPAN_DAYS = 180
_DAY = 86_400

# Theme name -> item ids (hand-assigned; every theme has items in all three domains).
THEMES: dict[str, list[str]] = {
    "space": [
        "book:dune",
        "book:foundation",
        "book:the-left-hand-of-darkness",
        "book:hyperion",
        "book:the-martian",
        "book:rendezvous-with-rama",
        "film:interstellar",
        "film:2001-a-space-odyssey",
        "film:solaris",
        "film:arrival",
        "film:star-wars",
        "film:gravity",
        "music:the-rise-and-fall-of-ziggy-stardust-and-the-spiders-from-mars",
        "music:apollo-atmospheres-and-soundtracks",
        "music:ladies-and-gentlemen-we-are-floating-in-space",
        "music:space-is-the-place",
        "music:space-ritual",
        "music:interstellar-zimmer",
    ],
    "cyberpunk": [
        "book:neuromancer",
        "book:nineteen-eighty-four",
        "book:brave-new-world",
        "book:do-androids-dream-of-electric-sheep",
        "book:snow-crash",
        "book:the-handmaids-tale",
        "film:blade-runner",
        "film:the-matrix",
        "film:ghost-in-the-shell",
        "film:akira",
        "film:brazil",
        "film:children-of-men",
        "music:blade-runner-vangelis",
        "music:ok-computer",
        "music:computer-world",
        "music:the-archandroid",
        "music:tron-legacy",
        "music:the-resistance",
    ],
    "crime": [
        "book:the-big-sleep",
        "book:the-maltese-falcon",
        "book:the-girl-with-the-dragon-tattoo",
        "book:in-cold-blood",
        "book:the-talented-mr-ripley",
        "book:gone-girl",
        "film:chinatown",
        "film:the-godfather",
        "film:pulp-fiction",
        "film:double-indemnity",
        "film:se7en",
        "film:heat",
        "music:ascenseur-pour-lechafaud",
        "music:sunset-mission",
        "music:murder-ballads",
        "music:dummy",
        "music:mezzanine",
        "music:the-music-from-peter-gunn",
    ],
    "fantasy": [
        "book:the-hobbit",
        "book:a-wizard-of-earthsea",
        "book:a-game-of-thrones",
        "book:the-name-of-the-wind",
        "book:american-gods",
        "book:circe",
        "film:the-lord-of-the-rings-the-fellowship-of-the-ring",
        "film:spirited-away",
        "film:pans-labyrinth",
        "film:the-princess-bride",
        "film:excalibur",
        "film:princess-mononoke",
        "music:led-zeppelin-iv",
        "music:the-lord-of-the-rings-the-fellowship-of-the-ring-shore",
        "music:runaljod-gap-var-ginnunga",
        "music:nightfall-in-middle-earth",
        "music:the-mask-and-mirror",
        "music:the-myths-and-legends-of-king-arthur-and-the-knights-of-the-round-table",
    ],
    "romance": [
        "book:pride-and-prejudice",
        "book:persuasion",
        "book:jane-eyre",
        "book:love-in-the-time-of-cholera",
        "book:normal-people",
        "book:the-notebook",
        "film:casablanca",
        "film:before-sunrise",
        "film:in-the-mood-for-love",
        "film:when-harry-met-sally",
        "film:roman-holiday",
        "film:amelie",
        "music:lets-get-it-on",
        "music:21",
        "music:rumours",
        "music:lets-stay-together",
        "music:lover",
        "music:love-deluxe",
    ],
    "war": [
        "book:all-quiet-on-the-western-front",
        "book:war-and-peace",
        "book:catch-22",
        "book:slaughterhouse-five",
        "book:the-things-they-carried",
        "book:wolf-hall",
        "film:saving-private-ryan",
        "film:apocalypse-now",
        "film:schindlers-list",
        "film:das-boot",
        "film:dunkirk",
        "film:lawrence-of-arabia",
        "music:let-england-shake",
        "music:the-art-of-war",
        "music:symphony-no-7-leningrad",
        "music:dunkirk-zimmer",
        "music:paranoid",
        "music:the-final-cut",
    ],
    "horror": [
        "book:dracula",
        "book:frankenstein",
        "book:the-shining",
        "book:the-haunting-of-hill-house",
        "book:rebecca",
        "book:mexican-gothic",
        "film:the-exorcist",
        "film:psycho",
        "film:the-shining",
        "film:alien",
        "film:get-out",
        "film:nosferatu",
        "music:in-the-flat-field",
        "music:disintegration",
        "music:juju",
        "music:suspiria",
        "music:bram-stokers-dracula-kilar",
        "music:heresy",
    ],
    "coming_of_age": [
        "book:the-catcher-in-the-rye",
        "book:to-kill-a-mockingbird",
        "book:the-perks-of-being-a-wallflower",
        "book:norwegian-wood",
        "book:little-women",
        "book:the-outsiders",
        "film:stand-by-me",
        "film:boyhood",
        "film:lady-bird",
        "film:the-400-blows",
        "film:moonlight",
        "film:the-breakfast-club",
        "music:the-suburbs",
        "music:pure-heroine",
        "music:born-to-run",
        "music:blonde",
        "music:the-queen-is-dead",
        "music:sour",
    ],
    "nature": [
        "book:into-the-wild",
        "book:the-call-of-the-wild",
        "book:moby-dick",
        "book:life-of-pi",
        "book:walden",
        "book:into-thin-air",
        "film:the-revenant",
        "film:into-the-wild",
        "film:march-of-the-penguins",
        "film:cast-away",
        "film:free-solo",
        "film:grizzly-man",
        "music:into-the-wild-vedder",
        "music:for-emma-forever-ago",
        "music:fleet-foxes",
        "music:takk",
        "music:the-four-seasons",
        "music:homogenic",
    ],
    "jazz_melancholy": [
        "book:the-great-gatsby",
        "book:on-the-road",
        "book:jazz",
        "book:invisible-man",
        "book:coming-through-slaughter",
        "book:tender-is-the-night",
        "film:whiplash",
        "film:la-la-land",
        "film:round-midnight",
        "film:bird",
        "film:lost-in-translation",
        "film:paris-texas",
        "music:kind-of-blue",
        "music:a-love-supreme",
        "music:chet-baker-sings",
        "music:lady-in-satin",
        "music:in-the-wee-small-hours",
        "music:sunday-at-the-village-vanguard",
    ],
}

THEME_LABELS: dict[str, str] = {
    "space": "space and science fiction",
    "cyberpunk": "cyberpunk and dystopia",
    "crime": "crime and noir",
    "fantasy": "fantasy and myth",
    "romance": "romance and love songs",
    "war": "war and history",
    "horror": "horror and gothic",
    "coming_of_age": "coming of age",
    "nature": "nature, wilderness and adventure",
    "jazz_melancholy": "jazz and melancholy",
}

# Review snippets, written for this project. Positive ones are per theme; `{title}` is filled in.
_REVIEW_POSITIVE: dict[str, list[str]] = {
    "space": [
        "Loved the sense of scale; it made the stars feel close and frightening at once.",
        "{title} is exactly my kind of space story: lonely, vast and full of wonder.",
        "The cosmic mood stayed with me for days. More of this, please.",
        "Great mix of exploration and quiet dread about how small we are out there.",
    ],
    "cyberpunk": [
        "Neon, rain and paranoia about machines; {title} nails that dystopian feeling.",
        "Loved the cold, wired atmosphere and the questions about what makes us human.",
        "A sharp look at surveillance and control that felt uncomfortably current.",
        "Hackers, megacities and a bleak future. Exactly what I was after.",
    ],
    "crime": [
        "Smoky, twisty and morally grey; {title} kept me guessing until the end.",
        "Loved the late-night noir mood and the tired detective energy.",
        "Tense, dark and full of double-crosses. A great crime fix.",
        "The shadowy atmosphere is the real star here. Perfect for a rainy night.",
    ],
    "fantasy": [
        "A proper quest with real myth behind it; {title} swept me away.",
        "Loved the old-legend feeling, the magic and the sense of a huge world.",
        "Dragons, wizards or old gods, I am in. This one delivered.",
        "Epic and enchanting; felt like a story told around a fire.",
    ],
    "romance": [
        "Such a tender love story; {title} made my heart ache in the best way.",
        "Loved the slow-burning longing between the two of them.",
        "Warm, romantic and a little heartbreaking. Exactly my mood.",
        "All about love, regret and second chances. I adored it.",
    ],
    "war": [
        "Harrowing and honest about what war does to ordinary soldiers.",
        "{title} brought the history alive; the battle scenes hit hard.",
        "Grim but important. Loved the attention to historical detail.",
        "A powerful picture of courage and loss in wartime.",
    ],
    "horror": [
        "Creepy, gothic and full of slow dread; {title} kept me up at night.",
        "Loved the haunted atmosphere and the sense that something is very wrong.",
        "Dark and unsettling in all the right ways.",
        "Shadows, old houses and monsters. A proper chill.",
    ],
    "coming_of_age": [
        "So true about growing up; {title} took me straight back to being a teenager.",
        "Loved the awkward, hopeful feeling of youth in this one.",
        "Funny and sad about friendship and finding yourself.",
        "Captures that restless adolescent summer feeling perfectly.",
    ],
    "nature": [
        "Makes me want to head for the mountains; {title} is wild and beautiful.",
        "Loved the wilderness and the sense of survival against nature.",
        "Big landscapes, solitude and adventure. Exactly my thing.",
        "A breath of fresh air, full of forests, ice and open sky.",
    ],
    "jazz_melancholy": [
        "Late-night, bluesy and melancholy; {title} is perfect with the lights low.",
        "Loved the jazz feeling and the quiet sadness running under it.",
        "Wistful and cool, like a smoky club at two in the morning.",
        "Beautifully lonely. The kind of thing I return to on rainy evenings.",
    ],
}
_REVIEW_NEGATIVE: list[str] = [
    "Not really my thing; {title} never grabbed me.",
    "Gave it a go but found it slow and hard to care about.",
    "I can see why people like it, but it left me cold.",
    "Bought it on a whim. Probably should not have.",
]

_KINDS = ["view", "click", "purchase", "rating", "review"]
_KIND_WEIGHTS = [0.42, 0.22, 0.12, 0.14, 0.10]
_POP_WEIGHTS = [1.0 / (rank + 1) ** 0.8 for rank in range(64)]  # Zipf-like within a theme pool


@dataclass(frozen=True)
class DemoUser:
    """The planted truth for one synthetic user."""

    user_id: str
    themes: tuple[str, ...]  # liked themes, in the order the user came to them
    drift: bool  # True: themes[0] early in the history, themes[1] later
    domains: tuple[str, ...] = DOMAINS


def load_catalog() -> pd.DataFrame:
    """The shipped catalog as a DataFrame (item_id, domain, title, description, categories,
    tags, year, creator), in file order."""
    text = resources.files("ikg").joinpath(CATALOG_RESOURCE).read_text(encoding="utf-8")
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:  # a shipped-file bug; say where
            raise ValueError(f"{CATALOG_RESOURCE}: line {lineno}: invalid JSON ({exc.msg})") from exc
    df = pd.DataFrame(rows)
    return df[CATALOG_COLUMNS + [c for c in df.columns if c not in CATALOG_COLUMNS]]


def item_themes() -> dict[str, str]:
    """Item id -> the theme it was assigned to."""
    return {item_id: theme for theme, ids in THEMES.items() for item_id in ids}


def demo_users(n_users: int = 120, seed: int = 7) -> list[DemoUser]:
    """The planted users behind `make_demo_events(n_users, seed)` (the cold user last)."""
    rng = random.Random(f"ikg-demo-users:{seed}")
    names = list(THEMES)
    users = []
    for u in range(1, n_users + 1):
        r = rng.random()
        if r < 0.25:  # drifter: one theme early, another later
            themes, drift = tuple(rng.sample(names, 2)), True
        elif r < 0.55:  # two themes at once
            themes, drift = tuple(rng.sample(names, 2)), False
        else:
            themes, drift = (rng.choice(names),), False
        users.append(DemoUser(f"demo-u{u:03d}", themes, drift))
    users.append(DemoUser(COLD_USER, COLD_USER_THEMES, False, COLD_USER_DOMAINS))
    return users


def make_demo_events(n_users: int = 120, seed: int = 7, noise: float = 0.1) -> pd.DataFrame:
    """Behaviour events for `n_users` synthetic users plus `demo-cold`.

    Columns: user_id, item_id, kind (view/click/purchase/rating/review), ts (epoch seconds over
    ~180 days from 2025-01-01), rating (1-5 for rating and review, else None) and text (a short
    review for kind == "review", else None). Sorted by user then time; deterministic for a seed.
    """
    rng = random.Random(f"ikg-demo-events:{seed}")
    catalog = load_catalog()
    domain_of = dict(zip(catalog["item_id"], catalog["domain"]))
    title_of = dict(zip(catalog["item_id"], catalog["title"]))
    theme_of = item_themes()
    pools: dict[tuple[str, str], list[str]] = {}
    for theme, ids in THEMES.items():
        for item_id in ids:
            pools.setdefault((theme, domain_of[item_id]), []).append(item_id)
    # A fixed popularity order inside each pool, so popularity is a (weak) real baseline.
    pop_rng = random.Random(f"ikg-demo-popularity:{seed}")
    for pool in pools.values():
        pop_rng.shuffle(pool)

    events: list[dict] = []
    for user in demo_users(n_users, seed):
        cold = user.user_id == COLD_USER
        n_events = 26 if cold else rng.randint(14, 36)
        if cold:
            dom_weights = [1.0, 1.0]
        else:  # each user leans on some domains, but touches all three
            dom_weights = [0.3 + rng.random() for _ in user.domains]
        noise_ids = [i for i in catalog["item_id"] if domain_of[i] in user.domains]
        for _ in range(n_events):
            frac = rng.random()  # position in the user's history
            ts = START_TS + int(frac * SPAN_DAYS * _DAY) + rng.randrange(_DAY)
            if user.drift:
                # early theme in the first ~55% of the history, later theme after ~45%
                early = frac < 0.45 or (frac < 0.55 and rng.random() < 0.5)
                theme = user.themes[0] if early else user.themes[1]
            else:
                theme = rng.choice(user.themes)
            is_noise = rng.random() < noise
            if is_noise:
                item_id = rng.choice(noise_ids)
            else:
                domain = rng.choices(user.domains, weights=dom_weights)[0]
                pool = pools[(theme, domain)]
                item_id = rng.choices(pool, weights=_POP_WEIGHTS[: len(pool)])[0]
            liked = theme_of[item_id] in user.themes
            kind = rng.choices(_KINDS, weights=_KIND_WEIGHTS)[0]
            rating = text = None
            if kind in ("rating", "review"):
                rating = float(rng.choice([4, 5, 5]) if liked else rng.choice([1, 2, 2, 3]))
            if kind == "review":
                bank = _REVIEW_POSITIVE[theme_of[item_id]] if liked else _REVIEW_NEGATIVE
                text = rng.choice(bank).format(title=title_of[item_id])
            events.append(
                {
                    "user_id": user.user_id,
                    "item_id": item_id,
                    "kind": kind,
                    "ts": int(ts),
                    "rating": rating,
                    "text": text,
                }
            )
    df = pd.DataFrame(events, columns=EVENT_COLUMNS)
    return df.sort_values(["user_id", "ts"], kind="stable").reset_index(drop=True)

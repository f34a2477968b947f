"""Canonical concept keys and the generic-phrase filter.

A concept key is a deterministic slug of a phrase: NFKD-folded to ASCII, lower case,
"&" -> "and", possessive "'s" dropped, every run of other characters -> "-". The head noun
is lemmatised by the caller (spaCy) so "movies" and "movie" share the key "movie". A small
alias table maps common abbreviations onto one key ("sci-fi" -> "science-fiction").
Keys depend only on the phrase, never on run order or on other items.
"""

from __future__ import annotations

import re
import unicodedata

ALIASES: dict[str, str] = {
    "sci-fi": "science-fiction",
    "scifi": "science-fiction",
    "sf-novel": "science-fiction-novel",
    "sci-fi-novel": "science-fiction-novel",
    "sci-fi-film": "science-fiction-film",
    "sci-fi-movie": "science-fiction-movie",
    "ya": "young-adult",
    "ya-fiction": "young-adult-fiction",
    "rom-com": "romantic-comedy",
    "romcom": "romantic-comedy",
    "ww2": "world-war-ii",
    "wwii": "world-war-ii",
    "world-war-2": "world-war-ii",
    "second-world-war": "world-war-ii",
    "ww1": "world-war-i",
    "wwi": "world-war-i",
    "first-world-war": "world-war-i",
    "world-war-1": "world-war-i",
    "hiphop": "hip-hop",
    "rock-n-roll": "rock-and-roll",
    "r-and-b": "rnb",
    "randb": "rnb",
    "bbq": "barbecue",
    "barbeque": "barbecue",
}
"""Surface slug -> canonical slug for spellings that embeddings alone do not merge reliably."""

ALIAS_NAMES: dict[str, str] = {
    "science-fiction": "science fiction",
    "science-fiction-novel": "science fiction novel",
    "science-fiction-film": "science fiction film",
    "science-fiction-movie": "science fiction movie",
    "young-adult": "young adult",
    "young-adult-fiction": "young adult fiction",
    "romantic-comedy": "romantic comedy",
    "world-war-ii": "World War II",
    "world-war-i": "World War I",
    "hip-hop": "hip hop",
    "rock-and-roll": "rock and roll",
    "rnb": "R&B",
    "barbecue": "barbecue",
}
"""Display names for alias targets."""

GENERIC_WORDS = frozenset(
    [
        "thing",
        "things",
        "stuff",
        "product",
        "item",
        "book",
        "books",
        "one",
        "ones",
        "lot",
        "lots",
        "way",
        "ways",
        "time",
        "times",
        "bit",
        "kind",
        "sort",
        "type",
        "everything",
        "something",
        "anything",
        "nothing",
        "someone",
        "anyone",
        "everyone",
        "use",
        "quality",
        "price",
        "value",
        "purchase",
        "order",
        "review",
        "reviews",
        "star",
        "stars",
        "fan",
        "fans",
        "reader",
        "readers",
        "author",
        "writer",
        "buyer",
        "customer",
        "seller",
        "day",
        "days",
        "year",
        "years",
        "week",
        "month",
        "people",
        "person",
        "guy",
        "man",
        "woman",
        "part",
        "piece",
        "end",
        "beginning",
        "page",
        "pages",
        "chapter",
        "chapters",
        "copy",
        "edition",
        "version",
        "volume",
        "title",
        "series",
        "set",
        "pack",
        "package",
        "box",
        "size",
        "color",
        "colour",
        "amount",
        "number",
        "list",
        "example",
        "fact",
        "reason",
        "point",
        "place",
        "case",
        "world",
        "life",
        "job",
        "work",
        "result",
        "idea",
        "word",
        "words",
        "question",
        "problem",
        "side",
        "area",
        "lot",
        "deal",
        "experience",
        "feature",
        "features",
        "gift",
        "present",
        "money",
        "dollar",
        "dollars",
        "hour",
        "hours",
        "minute",
        "minutes",
        "second",
        "seconds",
        "genre",
        "genres",
        "style",
        "styles",
        "collection",
        "feel",
        "look",
        "accessory",
        "accessories",
        "gadget",
        "gadgets",
        "category",
        "categories",
        "general",
        "misc",
        "miscellaneous",
        "featured",
        "other",
        "others",
        "bag",
        "bags",
        "bottle",
        "bottles",
        "jar",
        "jars",
        "pouch",
        "tin",
        "container",
    ]
)
"""A phrase is dropped when all its content words are in this list ("this book", "great product")."""

GENERIC_MODIFIERS = frozenset(
    [
        "great",
        "good",
        "best",
        "better",
        "perfect",
        "nice",
        "excellent",
        "amazing",
        "awesome",
        "wonderful",
        "fantastic",
        "favorite",
        "favourite",
        "new",
        "other",
        "many",
        "much",
        "own",
        "several",
        "various",
        "whole",
        "entire",
        "real",
        "very",
        "really",
        "lovely",
        "terrible",
        "bad",
        "worst",
        "poor",
        "fine",
        "overall",
        "certain",
        "such",
        "same",
        "different",
        "same",
        "main",
        "few",
        "more",
        "most",
        "last",
        "next",
        "first",
        "single",
        "double",
        "full",
        "high",
        "low",
        "top",
        "little",
        "quite",
        "lot",
        "lots",
    ]
)
"""Leading evaluative or quantifying modifiers stripped from phrases ("great recipes" -> "recipes")."""

KEEP_PLURAL = frozenset(
    [
        "blues",
        "news",
        "series",
        "species",
        "glasses",
        "clothes",
        "goods",
        "electronics",
        "mathematics",
        "physics",
        "politics",
        "economics",
        "athletics",
        "gymnastics",
        "graphics",
        "ethics",
        "analytics",
        "arts",
        "sports",
        "pandas",
        "jeans",
        "shorts",
        "data",
        "media",
        "binoculars",
        "scissors",
        "pliers",
        "tongs",
        "tweezers",
        "trousers",
        "pants",
        "leggings",
        "tights",
        "pajamas",
        "pyjamas",
        "goggles",
        "sunglasses",
        "overalls",
        "earmuffs",
        "clippers",
        "headquarters",
        "olympics",
    ]
)
"""Plural nouns whose singular means something else ("delta blues" is not "delta blue") or that
have no singular a person would write ("binoculars", "scissors")."""

MASS_ICS = (
    "physics",
    "matics",
    "nomics",
    "istics",
    "netics",
    "tronics",
    "ethics",
    "letics",
    "nastics",
    "litics",
    "lytics",
    "aphics",
    "robotics",
    "optics",
    "acoustics",
    "semantics",
    "aerobics",
    "forensics",
    "dynamics",
    "nautics",
)
"""Endings of fields and mass nouns in -ics ("astrophysics", "linguistics"), never singularised;
other -ics words are plurals ("fabrics", "comics")."""

IRREGULAR_PLURALS: dict[str, str] = {
    "children": "child",
    "men": "man",
    "women": "woman",
    "people": "person",
    "feet": "foot",
    "teeth": "tooth",
    "mice": "mouse",
    "geese": "goose",
    "dice": "die",
    "oxen": "ox",
}
"""English plurals that do not end in -s, the only ones whose lemma is taken without an -s."""

UNITS = frozenset(
    [
        "oz",
        "ounce",
        "ounces",
        "fl",
        "lb",
        "lbs",
        "pound",
        "pounds",
        "g",
        "gram",
        "grams",
        "kg",
        "kilogram",
        "kilograms",
        "mg",
        "ml",
        "milliliter",
        "milliliters",
        "l",
        "liter",
        "liters",
        "litre",
        "litres",
        "gal",
        "gallon",
        "gallons",
        "qt",
        "quart",
        "quarts",
        "pt",
        "pint",
        "pints",
        "cup",
        "cups",
        "tbsp",
        "tsp",
        "inch",
        "inches",
        "in",
        "cm",
        "mm",
        "m",
        "meter",
        "meters",
        "ft",
        "foot",
        "feet",
        "yd",
        "pack",
        "packs",
        "count",
        "ct",
        "pc",
        "pcs",
        "pieces",
        "piece",
        "dozen",
        "pair",
        "pairs",
        "set",
        "sets",
        "x",
        "mins",
        "min",
        "hr",
        "hrs",
        "sec",
        "w",
        "watt",
        "watts",
        "v",
        "volt",
        "volts",
        "mah",
        "gb",
        "tb",
        "mb",
    ]
)
"""Unit and pack-size words; phrases made only of numbers and units are dropped."""

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_POSSESSIVE = re.compile(r"['\u2019]s\b")
_NUMBERISH = re.compile(r"^[\d.,/x%-]+$")


def slugify(text: str) -> str:
    """Deterministic slug of a phrase (no lemmatisation, no aliases)."""
    s = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    s = s.replace("&", " and ")
    s = _POSSESSIVE.sub("", s)
    return _NON_ALNUM.sub("-", s).strip("-")


def canonical_key(phrase: str) -> str:
    """slugify + alias table: the key under which a (lemmatised) phrase is stored."""
    slug = slugify(phrase)
    return ALIASES.get(slug, slug)


def display_name(key: str, surface: str) -> str:
    """The display name of a key: the alias target's name, else the cleaned surface phrase."""
    if key in ALIAS_NAMES:
        return ALIAS_NAMES[key]
    return " ".join(surface.split())


def key_text(key: str) -> str:
    """The text a concept is embedded as: its alias target's name, else the key's words.

    Keys hold the lemma ("board-game" for "board games"), so "movies" and "movie" get one vector
    and the plural a label was written in ("Thrillers") does not move it; the name shown to people
    stays the surface form.
    """
    return ALIAS_NAMES.get(key) or key.replace("-", " ")


def singular_of(word: str, lemma: str) -> str:
    """The lemma of a plural head noun when it is a plausible English singular of it, else the word.

    spaCy's lemmatiser also "singularises" words that are not English plurals: "ramen" ->
    "raman", "astrophysics" -> "astrophysic", "binoculars" -> "binocular". A lemma is kept only
    when the word ends in -s (and is not a field in -ics, MASS_ICS, or in KEEP_PLURAL) and the lemma
    is the word minus -s / -es, -ies -> -y, -ves -> -f(e); or the word is an irregular plural
    ("children", "fishermen").
    """
    w, lem = word.lower(), lemma.lower()
    if not lem or lem == w or w in KEEP_PLURAL:
        return word
    if w in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[w] if lem == IRREGULAR_PLURALS[w] else word
    if w.endswith("men") and lem == w[:-3] + "man" and len(w) >= 7:
        return lemma
    if not w.endswith("s") or w.endswith(("ss", "us", "is", *MASS_ICS)):
        return word
    stems = {w[:-1], w[:-2]}
    if w.endswith("ies"):
        stems.add(w[:-3] + "y")
    if w.endswith("ves"):
        stems |= {w[:-3] + "f", w[:-3] + "fe"}
    return lemma if lem in stems else word


def is_numberish(word: str) -> bool:
    """True for numbers, sizes and pack counts such as "12", "3.5", "2x", "50%", "4-pack"."""
    w = word.lower()
    if _NUMBERISH.match(w):
        return True
    head = re.match(r"^\d[\d.,]*[- ]?([a-z]+)$", w)
    return bool(head and head.group(1) in UNITS)


def is_generic(words: list[str]) -> bool:
    """True when a phrase (lower-cased words) carries no concept: empty, numbers, units, generic nouns."""
    content = [w for w in words if w not in GENERIC_MODIFIERS and w not in ("-", "'s", "and", "of")]
    if not content:
        return True
    if all(w in GENERIC_WORDS or w in UNITS or is_numberish(w) for w in content):
        return True
    letters = sum(c.isalpha() for w in content for c in w)
    return letters < 2

"""Candidate phrases of one text: spaCy noun chunks, entities, given categories and tags.

Each phrase is cleaned (leading determiners, pronouns, numbers, pack sizes and evaluative
words stripped), its head noun lemmatised, filtered for generic content
(encoders.canonical.is_generic) and keyed with encoders.canonical.canonical_key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from encoders.canonical import (
    ALIAS_NAMES,
    ALIASES,
    GENERIC_MODIFIERS,
    UNITS,
    canonical_key,
    display_name,
    is_generic,
    is_numberish,
    singular_of,
    slugify,
)

MAX_PHRASE_WORDS = 4
"""Longer noun chunks are not candidates themselves; their head compound is (see head_compound)."""
ENTITY_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "NORP", "WORK_OF_ART", "EVENT", "LOC", "FAC", "PRODUCT", "LANGUAGE"}
)
SOURCE_PRIORITY = {"category": 0, "tag": 1, "entity": 2, "noun_chunk": 3, "review": 4, "llm": 5}
"""When one key comes from several sources, the lowest number names its provenance."""

_LEAD_POS = frozenset({"DET", "PRON", "NUM", "PUNCT", "CCONJ", "ADP", "PART", "SYM", "AUX", "INTJ"})
_TRAIL_POS = frozenset({"PUNCT", "PART", "CCONJ", "ADP", "DET", "SYM"})
FORMAT_NOUNS = frozenset(
    [
        "novel",
        "book",
        "epic",
        "saga",
        "story",
        "tale",
        "series",
        "trilogy",
        "memoir",
        "album",
        "record",
        "ep",
        "lp",
        "song",
        "track",
        "film",
        "movie",
        "show",
        "collection",
        "anthology",
        "cookbook",
        "guide",
    ]
)
"""Nouns that name the form of a work rather than what it is about."""
_ROMAN = frozenset({"i", "ii", "iii", "iv", "v", "vi"})
"""A trailing Roman numeral after a noun is part of the name ("World War I", "Rocky II")."""
_LABEL_SPLIT = re.compile(r"\s*(?:>|\||/|›|»|;|,)\s*")
_AMP_SPLIT = re.compile(r"\s*&\s*|\s+and\s+")


@dataclass
class Candidate:
    """One distinct concept candidate of a text, with what ranking needs to know about it."""

    key: str
    name: str
    source: str
    count: int = 1
    first_pos: float = 1.0
    in_title: bool = False
    sources: set[str] = field(default_factory=set)
    specificity: float = 1.0
    """For category levels: 1.0 for the leaf of a path, down to 0.0 for its root."""
    spans: list[tuple[int, int]] = field(default_factory=list)
    """Character spans of the phrase's occurrences in the text (empty for labels)."""


def _is_function_stop(token) -> bool:
    """A stop word that is not a content word ("back" in "back pain" stays)."""
    return token.is_stop and token.pos_ not in ("NOUN", "PROPN", "ADJ")


def _follows_number(token) -> bool:
    """True when the token comes right after a number in its doc ("12-inch", "2 x", "500 ml")."""
    doc, i = token.doc, token.i
    if i > 0 and doc[i - 1].like_num:
        return True
    return i > 1 and doc[i - 1].text in ("-", "x") and doc[i - 2].like_num


def _clean_span(tokens) -> list:
    """Strip leading and trailing tokens that are not part of a concept."""
    toks = list(tokens)
    prev_number = False
    while toks:
        t = toks[0]
        low = t.lower_
        number = t.like_num or is_numberish(low)
        unit_after_number = low in UNITS and (prev_number or _follows_number(t))
        if (
            t.pos_ in _LEAD_POS
            or number
            or unit_after_number
            or low in GENERIC_MODIFIERS
            or _is_function_stop(t)
        ):
            prev_number = number or (prev_number and low in ("-", "x"))
            toks.pop(0)
            continue
        break
    while toks and (
        toks[-1].pos_ in _TRAIL_POS
        or _is_function_stop(toks[-1])
        or toks[-1].lower_ in ("-", "'s")
        or toks[-1].like_num
        or is_numberish(toks[-1].lower_)
        or (
            toks[-1].lower_ in UNITS
            and len(toks) > 1
            and (toks[-2].like_num or toks[-2].lower_ in ("-", "x"))
        )
    ):
        if len(toks) > 1 and toks[-1].lower_ in _ROMAN and toks[-2].pos_ in ("NOUN", "PROPN"):
            break
        toks.pop()
    return toks


def _n_words(toks) -> int:
    return sum(1 for t in toks if not t.is_punct) - sum(
        1 for t in toks[:-1] if not t.whitespace_ and not t.is_punct
    )


def head_compound(tokens) -> list:
    """The head noun with the compound nouns right before it ("modal jazz album" -> "jazz album")."""
    toks = list(tokens)
    if not toks:
        return []

    def nominal(t) -> bool:
        return t.dep_ == "compound" or t.pos_ in ("NOUN", "PROPN")

    i = len(toks) - 1
    while i > 0 and (nominal(toks[i - 1]) or (toks[i - 1].tag_ == "HYPH" and i > 1 and nominal(toks[i - 2]))):
        i -= 1
    return toks[i:]


def modifier_of_format(tokens) -> list:
    """The modifier of a format noun ("sci-fi epic" -> "sci-fi", "jazz album" -> "jazz").

    The genre or subject in front of a word such as novel, film or album is the concept
    that is shared across domains (a "science fiction novel" and a "science fiction film").
    """
    toks = list(tokens)
    if len(toks) < 2 or toks[-1].lemma_.lower() not in FORMAT_NOUNS:
        return []
    head = toks[:-1]
    return head if any(t.pos_ in ("NOUN", "PROPN") for t in head) else []


def without_adjectives(tokens) -> list:
    """The phrase without its leading adjectives ("brutal war movie" -> "war movie")."""
    toks = list(tokens)
    i = 0
    while i < len(toks) - 1 and (toks[i].pos_ in ("ADJ", "NUM", "PUNCT") or toks[i].like_num):
        i += 1
    return toks[i:]


def phrase_from_tokens(tokens) -> tuple[str, str] | None:
    """(key, name) of a cleaned token run; None when generic or too long.

    The key has the head noun lemmatised (encoders.canonical.singular_of), so "movies" and
    "movie" share it; the name is the phrase as written ("ramen", "binoculars", "board games").
    """
    toks = _clean_span(tokens)
    if not toks or _n_words(toks) > MAX_PHRASE_WORDS:
        return None
    if all(t.pos_ in ("PRON", "DET") for t in toks):
        return None
    words = [t.lower_ for t in toks]
    if is_generic(words):
        return None
    doc = toks[0].doc
    last = toks[-1]
    head = singular_of(last.text, last.lemma_) if last.tag_ == "NNS" else last.text
    key = canonical_key(doc.text[toks[0].idx : last.idx] + head)
    if not key or len(key) < 2:
        return None
    surface = doc.text[toks[0].idx : last.idx + len(last.text)]
    proper = any(t.pos_ == "PROPN" for t in toks) and not surface.isupper()
    name = display_name(key, surface if proper else surface.lower())
    return key, name


def split_label(label: str) -> list[tuple[str, float]]:
    """A category path or "A & B" label -> (part, specificity) pairs, the leaf level scoring 1.0.

    The root of a path with three or more levels is a store department ("Books",
    "Home & Kitchen", "CDs & Vinyl") and is skipped.
    "Books > Fiction > Sci-Fi & Fantasy" -> [("Fiction", 0.5), ("Sci-Fi", 1.0), ("Fantasy", 1.0)].
    """
    levels = [lv.strip() for lv in _LABEL_SPLIT.split(label or "") if lv.strip()]
    parts: list[tuple[str, float]] = []
    for depth, level in enumerate(levels):
        if depth == 0 and len(levels) > 2:
            continue
        spec = 1.0 if len(levels) == 1 else depth / (len(levels) - 1)
        if slugify(level) in ALIASES or slugify(level) in ALIAS_NAMES:
            parts.append((level, spec))
            continue
        parts.extend((p.strip(), spec) for p in _AMP_SPLIT.split(level) if p.strip())
    return parts


def add_candidate(
    found: dict[str, Candidate],
    key: str,
    name: str,
    source: str,
    pos: float,
    in_title: bool,
    specificity: float = 1.0,
    span: tuple[int, int] | None = None,
) -> None:
    """Record one occurrence of a phrase in found (key -> Candidate)."""
    cand = found.get(key)
    if cand is None:
        found[key] = Candidate(
            key, name, source, 1, pos, in_title, {source}, specificity, [span] if span else []
        )
        return
    if span:
        cand.spans.append(span)
    cand.specificity = max(cand.specificity, specificity)
    cand.count += 1
    cand.in_title = cand.in_title or in_title
    cand.sources.add(source)
    if SOURCE_PRIORITY[source] < SOURCE_PRIORITY[cand.source]:
        cand.source = source
        cand.name = name


def _uncovered_noun_runs(doc, chunks) -> list:
    """Runs of adjectives / nouns ending in a noun that no noun chunk covers.

    The parser sometimes misreads a phrase ("a sweeping sci-fi epic set on ..." parses
    "epic" as a modifier), so the noun chunks miss it; the part-of-speech pattern does not.
    """
    covered = {t.i for c in chunks for t in c}
    runs, start = [], None
    for t in doc:
        inside = t.i not in covered and (
            t.pos_ in ("ADJ", "NOUN", "PROPN") or (t.tag_ == "HYPH" and start is not None)
        )
        if inside and start is None:
            start = t.i
        if not inside and start is not None:
            runs.append((start, t.i))
            start = None
    if start is not None:
        runs.append((start, len(doc)))
    out = []
    for a, b in runs:
        while b > a and doc[b - 1].pos_ not in ("NOUN", "PROPN"):
            b -= 1
        if b > a:
            out.append(doc[a:b])
    return out


def doc_candidates(
    doc, title_chars: int, source: str = "noun_chunk", use_entities: bool = False, exclude: str = ""
) -> dict[str, Candidate]:
    """Candidates from a parsed doc: noun chunks, their head compounds, entities when parsed.

    exclude: a key never returned (the item's own title: a name, not an interest).
    """
    found: dict[str, Candidate] = {}
    n = max(len(doc.text), 1)
    chunks = list(doc.noun_chunks)
    spans: list[tuple[Any, str]] = [(c, source) for c in chunks]
    spans += [(r, source) for r in _uncovered_noun_runs(doc, chunks)]
    if use_entities and doc.has_annotation("ENT_IOB"):
        spans += [(e, "entity") for e in doc.ents if e.label_ in ENTITY_LABELS]
    for span, src in spans:
        toks = _clean_span(span)
        variants = {(toks[0].i, toks[-1].i): toks} if toks else {}
        for v in (without_adjectives(toks), head_compound(toks), modifier_of_format(head_compound(toks))):
            if not v:
                continue
            variants.setdefault((v[0].i, v[-1].i), v)
        seen: set[str] = set()
        for tokens in variants.values():
            phrase = phrase_from_tokens(tokens)
            if phrase is None or phrase[0] == exclude or phrase[0] in seen:
                continue
            seen.add(phrase[0])
            char_span = (tokens[0].idx, tokens[-1].idx + len(tokens[-1].text))
            add_candidate(
                found,
                phrase[0],
                phrase[1],
                src,
                span.start_char / n,
                span.start_char < title_chars,
                1.0,
                char_span,
            )
    return found


def label_candidates(
    labels: Iterable[tuple[str, float, str]], label_phrases: dict[str, tuple[str, str] | None]
) -> dict[str, Candidate]:
    """Candidates from (label part, specificity, source) triples, using precomputed part -> (key, name)."""
    found: dict[str, Candidate] = {}
    for part, spec, src in labels:
        phrase = label_phrases.get(part)
        if phrase is not None:
            add_candidate(found, phrase[0], phrase[1], src, 0.0, False, spec)
    return found

"""Concept resolution: surface keys seen across the corpus -> one canonical concept each.

The rule (applied in this order):
1. Lexical: a key is folded onto its alias target (encoders.canonical.ALIASES, e.g.
   "sci-fi" -> "science-fiction") and a plural key onto its singular when both were seen
   ("movies" -> "movie", "stories" -> "story").
2. Embedding: the MiniLM vectors of the display names are compared by cosine. Keys are
   visited in a fixed order -- existing canonicals first (they never change), then new keys
   by (count desc, word count, length, key) -- and each key joins the most similar earlier
   canonical whose cosine is >= threshold (MERGE_THRESHOLD = 0.86); otherwise it becomes a
   canonical itself. Joining only canonicals (never another member) prevents chains.

Why 0.86: measured on all-MiniLM-L6-v2, true near-duplicates score above it ("horror movie" /
"horror film" 0.98, "kids" / "children" 0.88, "romance novel" / "romantic novel" 0.90,
"world war ii" / "second world war" 0.88) while related but distinct concepts score below
("vegan recipes" / "vegetarian recipes" 0.85, "cast iron skillet" / "cast iron pan" 0.84,
"hip hop" / "rap" 0.81, "red wine" / "white wine" 0.78, "python snake" / "python
programming" 0.57, "apple pie" / "apple watch" 0.38).

The result depends only on the set of keys, names and counts, never on input order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from encoders.canonical import ALIAS_NAMES, canonical_key
from encoders.text_encoder import get_text_encoder

MERGE_THRESHOLD = 0.86
_BLOCK = 2048


@dataclass
class ConceptVocabulary:
    """The canonical concepts of a corpus: sorted keys, names, merged aliases and name vectors."""

    keys: list[str]
    names: dict[str, str]
    aliases: dict[str, list[str]]
    vectors: np.ndarray
    _lookup: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._lookup = {k: k for k in self.keys}
        for canon, surface in self.aliases.items():
            for s in surface:
                self._lookup[s] = canon

    def canonical(self, key: str) -> str:
        """The canonical key of any known surface key (identity for canonicals and unknown keys)."""
        if key in self._lookup:
            return self._lookup[key]
        return self._lookup.get(canonical_key(key), key)

    def index(self, key: str) -> int:
        """Row of a key (surface or canonical) in keys / vectors."""
        return self.keys.index(self.canonical(key))

    def __len__(self) -> int:
        return len(self.keys)


def most_frequent_names(keys: Iterable[str], names: Iterable[str]) -> dict[str, str]:
    """Surface key -> the name it was written as most often (ties: the name that sorts first).

    The name a person reads is the form the texts use ("ramen", "board games"); the key
    (lemmatised) only groups the forms.
    """
    seen = Counter(zip(keys, names))
    best: dict[str, tuple[int, str]] = {}
    for (key, name), n in seen.items():
        if not isinstance(name, str) or not name:
            continue
        if key not in best or (-n, name) < (-best[key][0], best[key][1]):
            best[key] = (n, name)
    return {k: name for k, (_, name) in sorted(best.items())}


def _plural_root(key: str, known: set[str]) -> str:
    """The singular of a plural key when that singular is itself known, else the key."""
    if key.endswith("ies") and key[:-3] + "y" in known:
        return key[:-3] + "y"
    if key.endswith("es") and key[:-2] in known and key[:-2].endswith(("s", "x", "ch", "sh")):
        return key[:-2]
    if key.endswith("s") and not key.endswith("ss") and key[:-1] in known:
        return key[:-1]
    return key


def _neighbours(queries: np.ndarray, pool: np.ndarray, threshold: float) -> list[list[tuple[int, float]]]:
    """For each query row, the (pool index, cosine) pairs with cosine >= threshold, in blocks."""
    out: list[list[tuple[int, float]]] = []
    for start in range(0, len(queries), _BLOCK):
        sims = queries[start : start + _BLOCK] @ pool.T
        for row in sims:
            idx = np.nonzero(row >= threshold)[0]
            out.append([(int(j), float(row[j])) for j in idx])
    return out


def resolve_concepts(
    names: Mapping[str, str],
    counts: Mapping[str, int] | None = None,
    existing: ConceptVocabulary | None = None,
    threshold: float = MERGE_THRESHOLD,
) -> ConceptVocabulary:
    """Merge near-duplicate surface keys into canonical concepts (rule in the module docstring).

    names: surface key -> display name for every concept seen this run; counts: how often
    each was seen (decides which spelling becomes canonical); existing: the previous
    vocabulary for an incremental refresh -- its canonicals, names and vectors are kept and
    new keys map onto them when near-duplicate.
    """
    counts = counts or {}
    old_keys = list(existing.keys) if existing is not None else []
    old_set = set(old_keys)
    alias_map: dict[str, str] = {}
    if existing is not None:
        for canon, surface in existing.aliases.items():
            for s in surface:
                alias_map[s] = canon

    surface_keys = sorted(k for k in names if k)
    known = set(surface_keys) | old_set | alias_map.keys()
    lexical: dict[str, str] = {}
    for key in surface_keys:
        if key in alias_map:
            lexical[key] = alias_map[key]
            continue
        root = _plural_root(canonical_key(key), known)
        lexical[key] = alias_map.get(root, root)

    group_count: dict[str, int] = {}
    group_name: dict[str, str] = {}
    for key in surface_keys:
        root = lexical[key]
        group_count[root] = group_count.get(root, 0) + int(counts.get(key, 1))
        if root == key or root not in group_name:
            group_name[root] = ALIAS_NAMES.get(root) or names.get(root) or names[key]

    new_roots = sorted(
        (r for r in group_count if r not in old_set),
        key=lambda r: (-group_count[r], r.count("-"), len(r), r),
    )
    encoder = get_text_encoder()
    new_vecs = (
        encoder.encode([group_name[r] for r in new_roots])
        if new_roots
        else np.zeros((0, encoder.dim), np.float32)
    )
    old_vecs = existing.vectors if existing is not None else np.zeros((0, encoder.dim), np.float32)
    order = old_keys + new_roots
    vecs = np.vstack([old_vecs, new_vecs]).astype(np.float32)
    n_old = len(old_keys)

    neighbours = _neighbours(new_vecs, vecs, threshold)
    is_canon = np.zeros(len(order), dtype=bool)
    is_canon[:n_old] = True
    target: dict[str, str] = {}
    for i, root in enumerate(new_roots):
        pos = n_old + i
        best = [(s, j) for j, s in neighbours[i] if j < pos and is_canon[j]]
        if best:
            _, j = max(best, key=lambda t: (t[0], -t[1]))
            target[root] = order[j]
        else:
            is_canon[pos] = True
            target[root] = root

    canon_keys = sorted(order[j] for j in range(len(order)) if is_canon[j])
    row = {k: j for j, k in enumerate(order)}
    out_names = dict(existing.names) if existing is not None else {}
    aliases: dict[str, set[str]] = (
        {k: set(v) for k, v in existing.aliases.items()} if existing is not None else {}
    )
    for root in new_roots:
        if target[root] == root:
            out_names[root] = group_name[root]
    for key in surface_keys:
        canon = target.get(lexical[key], lexical[key])
        if key != canon:
            aliases.setdefault(canon, set()).add(key)
        if lexical[key] != canon:
            aliases.setdefault(canon, set()).add(lexical[key])
    return ConceptVocabulary(
        keys=canon_keys,
        names={k: out_names[k] for k in canon_keys},
        aliases={k: sorted(v) for k, v in sorted(aliases.items()) if v},
        vectors=vecs[[row[k] for k in canon_keys]] if canon_keys else np.zeros((0, encoder.dim), np.float32),
    )

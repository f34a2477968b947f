"""The local extractor: spaCy candidates ranked and diversified with MiniLM. The default.

Per batch of items (batch_size, default 256): one nlp.pipe call (ner disabled unless
use_entities) and one MiniLM pass over the item texts. That same pass yields the vectors of
the candidate phrases found in the text (mean of their contextual word-piece vectors, see
TextEncoder.encode_with_spans), so extraction costs about one encode of the texts plus the
parse. Category and tag labels are encoded on their own, once, in their lemma form
(`encoders.canonical.key_text`: "thriller" for "Thrillers"; the name keeps the surface form),
through a phrase -> vector cache (they recur across items). Measured: benchmarks/bench_extraction.py.

Texts are cleaned first (encoders.textclean: HTML stripped, truncated to 2,000 characters,
non-English texts give no phrase candidates, only their categories and tags).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from tqdm.auto import tqdm

from encoders.candidates import (
    FORMAT_NOUNS,
    Candidate,
    doc_candidates,
    label_candidates,
    phrase_from_tokens,
    split_label,
)
from encoders.canonical import canonical_key, key_text
from encoders.nlp import load_spacy
from encoders.ranking import calibrated_sims, mark_nested_variants, mmr, relevance, to_weight
from encoders.text_encoder import get_text_encoder
from encoders.textclean import clean_text, looks_english
from encoders.types import ExtractedConcept, ItemText

TITLE_ONLY_MIN_WORDS = 8
"""With a description of at least this many words, phrases seen only in the title are
dropped: a title names the item ("The Salt Road Cartographer"), the description and
categories say what it is about (and repeat the product type for goods)."""

_LABEL_CACHE: dict[str, tuple[str, str] | None] = {}
_LABEL_CACHE_SIZE = 200_000


def label_phrases(labels: Iterable[str]) -> dict[str, tuple[str, str] | None]:
    """Short labels (category parts, tags, LLM concept names) -> (key, name), None when generic.

    Labels are lower-cased (title case would make spaCy tag "Movies" as a proper noun and
    skip its lemma) and tagged without parser or NER in one pipe call; results are cached.
    """
    wanted = set(labels)
    new = sorted(wanted - _LABEL_CACHE.keys())
    if new:
        if len(_LABEL_CACHE) + len(new) > _LABEL_CACHE_SIZE:
            _LABEL_CACHE.clear()
        docs = load_spacy().pipe((p.lower() for p in new), batch_size=256, disable=["parser", "ner"])
        for part, doc in zip(new, docs):
            _LABEL_CACHE[part] = phrase_from_tokens(doc)
    return {p: _LABEL_CACHE[p] for p in wanted}


class LocalExtractor:
    """ConceptExtractor built on the local spaCy pipeline and all-MiniLM-L6-v2.

    max_concepts / max_review_concepts: list lengths; use_entities: also run spaCy NER
    (about 1.5x slower spaCy, measured little gain since noun chunks cover most entities);
    min_relevance / review_min_relevance: candidates less relevant to their text are dropped,
    except leaf categories and tags (reviews use a higher bar so that "great product, fast
    shipping" yields nothing); min_relevance=0.3 and lam=0.7 were chosen on the eval set;
    lam: MMR trade-off between relevance (1.0) and diversity (0.0);
    phrase_vectors: "context" (default, phrase vectors from the text's own model pass) or
    "standalone" (each phrase encoded alone: about the same quality, several times slower).
    """

    def __init__(
        self,
        max_concepts: int = 8,
        max_review_concepts: int = 5,
        use_entities: bool = False,
        min_relevance: float = 0.3,
        review_min_relevance: float = 0.35,
        lam: float = 0.7,
        batch_size: int = 256,
        spacy_batch_size: int = 64,
        phrase_cache_size: int = 200_000,
        phrase_vectors: str = "context",
    ) -> None:
        if phrase_vectors not in ("context", "standalone"):
            raise ValueError("phrase_vectors must be 'context' or 'standalone'")
        self.phrase_vectors = phrase_vectors
        self.max_concepts = max_concepts
        self.max_review_concepts = max_review_concepts
        self.use_entities = use_entities
        self.min_relevance = min_relevance
        self.review_min_relevance = review_min_relevance
        self.lam = lam
        self.batch_size = batch_size
        self.spacy_batch_size = spacy_batch_size
        self.phrase_cache_size = phrase_cache_size
        self._phrase_vecs: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Any texts -> (n, 384) L2-normalised vectors, after HTML stripping and truncation."""
        return get_text_encoder().encode([clean_text(t) for t in texts], show_progress=show_progress)

    def clear_cache(self) -> None:
        """Forget cached phrase vectors and label parses."""
        self._phrase_vecs.clear()
        _LABEL_CACHE.clear()

    def extract_items(
        self, items: Sequence[ItemText], show_progress: bool = False
    ) -> list[list[ExtractedConcept]]:
        """Top max_concepts concepts per item, best first."""
        out: list[list[ExtractedConcept]] = []
        with tqdm(total=len(items), desc="extract items", unit="item", disable=not show_progress) as bar:
            for start in range(0, len(items), self.batch_size):
                chunk = items[start : start + self.batch_size]
                out.extend(self._extract_item_batch(chunk))
                bar.update(len(chunk))
        return out

    def extract_reviews(
        self, texts: Sequence[str], show_progress: bool = False
    ) -> list[list[ExtractedConcept]]:
        """Up to max_review_concepts interest points per review (source "review"); [] when empty or generic."""
        out: list[list[ExtractedConcept]] = []
        with tqdm(total=len(texts), desc="extract reviews", unit="text", disable=not show_progress) as bar:
            for start in range(0, len(texts), self.batch_size):
                chunk = [clean_text(t) for t in texts[start : start + self.batch_size]]
                cands = self._text_candidates(chunk, [0] * len(chunk), source="review")
                out.extend(
                    self._rank(chunk, cands, self.max_review_concepts, self.review_min_relevance, review=True)
                )
                bar.update(len(chunk))
        return out

    def _extract_item_batch(self, items: Sequence[ItemText]) -> list[list[ExtractedConcept]]:
        titles = [clean_text(it.title, 300) for it in items]
        texts = [
            f"{t}. {clean_text(it.description)}".strip(". ") if it.description else t
            for t, it in zip(titles, items)
        ]
        cands = self._text_candidates(
            texts, [len(t) + 1 for t in titles], exclude=[canonical_key(t) for t in titles]
        )
        label_cands = self._item_label_candidates(items)
        merged: list[dict[str, Candidate]] = []
        for found, labels, it in zip(cands, label_cands, items):
            if len(it.description.split()) >= TITLE_ONLY_MIN_WORDS:
                found = {k: c for k, c in found.items() if not (c.in_title and c.count == 1)}
            for key, lab in labels.items():
                if key in found:
                    found[key].sources |= lab.sources
                    found[key].source = lab.source
                    found[key].count += lab.count
                    found[key].specificity = lab.specificity
                else:
                    found[key] = lab
            merged.append(found)
        doc_texts = [
            t
            if t and looks_english(t)
            else ", ".join(key_text(c.key) for c in sorted(m.values(), key=lambda c: c.key))
            for t, m in zip(texts, merged)
        ]
        return self._rank(doc_texts, merged, self.max_concepts, self.min_relevance)

    def _text_candidates(
        self,
        texts: list[str],
        title_chars: list[int],
        source: str = "noun_chunk",
        exclude: list[str] | None = None,
    ) -> list[dict[str, Candidate]]:
        """Parse the English texts in one nlp.pipe call; candidates per text ({} for others)."""
        nlp = load_spacy()
        disable = [] if self.use_entities else ["ner"]
        todo = [i for i, t in enumerate(texts) if t and looks_english(t)]
        result: list[dict[str, Candidate]] = [{} for _ in texts]
        docs = nlp.pipe((texts[i] for i in todo), batch_size=self.spacy_batch_size, disable=disable)
        for i, doc in zip(todo, docs):
            result[i] = doc_candidates(
                doc,
                title_chars[i],
                source=source,
                use_entities=self.use_entities,
                exclude=exclude[i] if exclude else "",
            )
        return result

    def _item_label_candidates(self, items: Sequence[ItemText]) -> list[dict[str, Candidate]]:
        """Category and tag candidates; new label parts are parsed in one tagger-only pipe call."""
        per_item = [
            [(p, spec, "category") for c in it.categories for p, spec in split_label(clean_text(c, 200))]
            + [(p, spec, "tag") for t in it.tags for p, spec in split_label(clean_text(t, 200))]
            for it in items
        ]
        phrases = label_phrases({p for labels in per_item for p, _, _ in labels})
        return [label_candidates(labels, phrases) for labels in per_item]

    def _vectors(self, names: list[str]) -> np.ndarray:
        """Phrase vectors through the cache; all uncached phrases in one encode call."""
        missing = sorted({n.lower() for n in names} - self._phrase_vecs.keys())
        if missing:
            if len(self._phrase_vecs) + len(missing) > self.phrase_cache_size:
                self._phrase_vecs.clear()
            vecs = get_text_encoder().encode(missing)
            self._phrase_vecs.update(zip(missing, vecs))
        if not names:
            return np.zeros((0, get_text_encoder().dim), dtype=np.float32)
        return np.stack([self._phrase_vecs[n.lower()] for n in names])

    def _candidate_vectors(
        self, texts: list[str], ordered: list[list[Candidate]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Text vectors and, per text, one vector per candidate (rows follow ordered[i]).

        phrase_vectors="context": phrases found in the text get the mean of their contextual
        word-piece vectors from the same model pass that encodes the text (no extra model
        call); labels and phrases cut off by truncation are encoded on their own (cached).
        phrase_vectors="standalone": every phrase is encoded on its own (slower).
        """
        encoder = get_text_encoder()
        if self.phrase_vectors == "standalone":
            doc_vecs = encoder.encode(texts)
            flat = self._vectors([key_text(c.key) for cs in ordered for c in cs])
            out, offset = [], 0
            for cs in ordered:
                out.append(flat[offset : offset + len(cs)])
                offset += len(cs)
            return doc_vecs, out
        spans = [[sp for c in cs for sp in c.spans] for cs in ordered]
        doc_vecs, span_vecs = encoder.encode_with_spans(texts, spans)
        out = []
        missing: list[str] = []
        for cs, sv in zip(ordered, span_vecs):
            vecs = np.zeros((len(cs), encoder.dim), dtype=np.float32)
            offset = 0
            for j, c in enumerate(cs):
                v = sv[offset : offset + len(c.spans)].sum(axis=0) if c.spans else vecs[j]
                offset += len(c.spans)
                norm = float(np.linalg.norm(v))
                if norm > 0:
                    vecs[j] = v / norm
                else:
                    missing.append(key_text(c.key))
            out.append(vecs)
        if missing:
            self._vectors(missing)
            for cs, vecs in zip(ordered, out):
                for j, c in enumerate(cs):
                    if not vecs[j].any():
                        vecs[j] = self._phrase_vecs[key_text(c.key).lower()]
        return doc_vecs, out

    def _rank(
        self,
        texts: list[str],
        cands: list[dict[str, Candidate]],
        k: int,
        min_rel: float,
        review: bool = False,
    ) -> list[list[ExtractedConcept]]:
        has = [i for i, c in enumerate(cands) if c and texts[i]]
        ordered_all = [sorted(cands[i].values(), key=lambda c: c.key) for i in has]
        doc_vecs, cand_vecs = self._candidate_vectors([texts[i] for i in has], ordered_all)
        out: list[list[ExtractedConcept]] = [[] for _ in texts]
        for row, i in enumerate(has):
            ordered = ordered_all[row]
            vecs = cand_vecs[row]
            contextual = np.array([bool(c.spans) for c in ordered]) & (self.phrase_vectors == "context")
            to_doc, pair = calibrated_sims(doc_vecs[row], vecs, contextual)
            mark_nested_variants(pair, [c.spans for c in ordered])
            rel = relevance(
                to_doc,
                [c.source for c in ordered],
                [c.count for c in ordered],
                [c.in_title for c in ordered],
                [c.specificity for c in ordered],
                [c.key.count("-") + 1 for c in ordered],
                [c.key.count("-") > 0 and c.key.rsplit("-", 1)[-1] in FORMAT_NOUNS for c in ordered],
            )
            exempt = np.array([c.source in ("category", "tag") and c.specificity >= 1.0 for c in ordered])
            picked = mmr(rel, pair, k, self.lam, min_rel, exempt)
            out[i] = [
                ExtractedConcept(
                    ordered[j].key,
                    ordered[j].name,
                    to_weight(float(rel[j])),
                    "review" if review else ordered[j].source,
                )
                for j in picked
            ]
        return out

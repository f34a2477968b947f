"""Item concept extraction throughput next to raw MiniLM encoding of the same texts.

    python benchmarks/bench_extraction.py [--items 512] [--repeats 3] [--phrase-vectors context|standalone] [--entities]

Items are built from the hand-written eval set (encoders/data/extraction_eval.jsonl): item i
takes eval item i mod 64 and appends a sentence of another item's description, so every
text is distinct while categories and phrases recur as they do in a real catalogue.
Both measurements run in the same process, alternately, `repeats` times on warm models; the
best run of each is reported (the machine may be shared). Raw encode = get_text_encoder().encode
of exactly the texts the extractor reads ("title. description"). Extraction starts each
run with empty phrase and label caches. Target: extraction >= 0.5x raw encode.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from encoders.evaluation import load_eval
from encoders.local import LocalExtractor
from encoders.nlp import load_spacy
from encoders.text_encoder import get_text_encoder
from encoders.textclean import clean_text
from encoders.types import ItemText


def build_items(n: int) -> list[ItemText]:
    """n distinct items derived from the eval set (see module docstring)."""
    base = [d.item for d in load_eval()]
    out = []
    for i in range(n):
        it = base[i % len(base)]
        other = base[(i * 7 + 3) % len(base)]
        extra = other.description.split(". ")[0].rstrip(".") + "."
        out.append(
            ItemText(
                f"{it.item_id}-{i}", it.title, f"{it.description} {extra}", it.categories, it.tags, it.domain
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--phrase-vectors", default="context", choices=["context", "standalone"])
    ap.add_argument("--entities", action="store_true")
    args = ap.parse_args(argv)

    items = build_items(args.items)
    texts = [f"{clean_text(it.title, 300)}. {clean_text(it.description)}" for it in items]
    encoder = get_text_encoder()
    nlp = load_spacy()
    extractor = LocalExtractor(phrase_vectors=args.phrase_vectors, use_entities=args.entities)
    extractor.extract_items(items[:8])
    encoder.encode(texts[:8])

    raw_times, ext_times, spacy_times = [], [], []
    for _ in range(args.repeats):
        t = time.perf_counter()
        encoder.encode(texts)
        raw_times.append(time.perf_counter() - t)
        extractor.clear_cache()
        t = time.perf_counter()
        result = extractor.extract_items(items)
        ext_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        for _doc in nlp.pipe(texts, batch_size=64, disable=[] if args.entities else ["ner"]):
            pass
        spacy_times.append(time.perf_counter() - t)

    n = len(items)
    raw, ext, sp = n / min(raw_times), n / min(ext_times), n / min(spacy_times)
    per_item = sum(len(r) for r in result) / n
    print(
        f"items: {n} (distinct texts, mean {sum(map(len, texts)) / n:.0f} chars); torch threads: {torch.get_num_threads()}; "
        f"phrase_vectors={args.phrase_vectors} entities={args.entities}; best of {args.repeats}"
    )
    print(f"raw MiniLM encode      : {raw:8.1f} items/s")
    print(f"spaCy pipe (reference) : {sp:8.1f} items/s")
    print(f"concept extraction     : {ext:8.1f} items/s  ({per_item:.1f} concepts/item)")
    print(f"ratio extraction / raw : {ext / raw:8.2f}x  (target >= 0.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

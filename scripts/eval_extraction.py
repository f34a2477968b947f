"""Precision / recall of concept extraction on the hand-written eval set.

    python scripts/eval_extraction.py [--kind local|llm] [--k 8] [--entities]

Matching rule and threshold: see encoders/evaluation.py (same canonical key, or MiniLM
cosine of the lemma forms >= 0.75). Prints overall and per-domain micro precision / recall / F1.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict

from encoders import get_extractor
from encoders.evaluation import EVAL_PATH, MATCH_SIM, load_eval, score
from encoders.local import label_phrases


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--path", default=str(EVAL_PATH))
    ap.add_argument("--kind", default="local", choices=["local", "llm"])
    ap.add_argument("--k", type=int, default=8, help="concepts per item")
    ap.add_argument("--entities", action="store_true", help="local: also run spaCy NER")
    ap.add_argument(
        "--phrase-vectors", default="context", choices=["context", "standalone"], help="local: phrase vectors"
    )
    ap.add_argument("--base-url", default="http://127.0.0.1:8000")
    ap.add_argument("--model", default="")
    ap.add_argument("--show", action="store_true", help="print predictions per item")
    args = ap.parse_args(argv)

    data = load_eval(args.path)
    if args.kind == "local":
        ex = get_extractor(
            "local", max_concepts=args.k, use_entities=args.entities, phrase_vectors=args.phrase_vectors
        )
    else:
        ex = get_extractor("llm", base_url=args.base_url, model=args.model, max_concepts=args.k)
    t0 = time.perf_counter()
    predicted = ex.extract_items([d.item for d in data])
    elapsed = time.perf_counter() - t0
    exp_phrases = label_phrases({e for d in data for e in d.expected})
    preds = [[(c.key, c.name) for c in p] for p in predicted]
    exps = [[exp_phrases[e] or (e, e) for e in d.expected] for d in data]

    by_domain: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(data):
        by_domain[d.item.domain].append(i)
    print(
        f"eval set: {args.path} ({len(data)} items, {len(by_domain)} domains); extractor={args.kind} k={args.k}"
        + (f" phrase_vectors={args.phrase_vectors} entities={args.entities}" if args.kind == "local" else "")
    )
    print(
        f"match: same canonical key or MiniLM cosine of lemma forms >= {MATCH_SIM}; extraction took {elapsed:.1f}s"
    )
    print(f"{'domain':<10} {'items':>5} {'precision':>9} {'recall':>7} {'f1':>6}")
    for dom in sorted(by_domain):
        idx = by_domain[dom]
        s = score([preds[i] for i in idx], [exps[i] for i in idx])
        print(f"{dom:<10} {len(idx):>5} {s['precision']:>9.3f} {s['recall']:>7.3f} {s['f1']:>6.3f}")
    s = score(preds, exps)
    print(f"{'ALL':<10} {len(data):>5} {s['precision']:>9.3f} {s['recall']:>7.3f} {s['f1']:>6.3f}")
    if args.show:
        for d, p in zip(data, predicted):
            print(
                f"\n{d.item.item_id} {d.item.title}\n  expected: {', '.join(d.expected)}\n  got:      "
                + ", ".join(f"{c.name} ({c.weight:.2f}, {c.source})" for c in p)
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

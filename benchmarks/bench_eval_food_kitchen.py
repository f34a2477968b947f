"""All baselines on LLMCDSR Food<->Kitchen, both directions, the dataset's own valid/test users.

    python scripts/prepare_food_kitchen.py --src /tmp/fk/data/food-kitchen --out /work/data/food-kitchen
    IKG_EVAL_CACHE=/work/data/cache python benchmarks/bench_eval_food_kitchen.py \\
        --data /work/data/food-kitchen --out /work/data/runs/food-kitchen

For each test user, every item of the target's domain is ranked (the user's history
excluded); validation users tune each baseline's grid. One process runs both directions so
the shared training frame is fitted once per grid point for both target domains.
`--extra module:factory` adds a Recommender (e.g. the ikg system) to the same comparison.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
from pathlib import Path

from ikg.eval import load_dataset
from ikg.eval.baselines import BASELINES, default_methods
from ikg.eval.baselines.text import tfidf_lsa_encode
from ikg.eval.protocols import make_split
from ikg.eval.runner import as_methods, evaluate_split, evaluate_splits


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--targets", default="kitchen,food")
    p.add_argument("--protocol", default="given")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--methods", default=",".join(BASELINES))
    p.add_argument("--lightgcn-epochs", default="10,30")
    p.add_argument(
        "--text-encoder",
        choices=("minilm", "tfidf"),
        default="minilm",
        help="tfidf: TF-IDF+SVD stand-in when MiniLM is too slow for the catalogue",
    )
    p.add_argument("--extra", action="append", default=[], help="module:callable returning a Recommender")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    dataset = load_dataset(args.data)
    names = [m for m in args.methods.split(",") if m]
    epochs = tuple(int(e) for e in args.lightgcn_epochs.split(","))
    methods = default_methods(
        names,
        seed=args.seed,
        lightgcn_epochs=epochs,
        text_encode=tfidf_lsa_encode if args.text_encoder == "tfidf" else None,
    )
    for method in methods:
        if method.name == "text" and args.text_encoder == "tfidf":
            method.name = "text-tfidf"
    for spec in args.extra:
        module, attr = spec.split(":")
        methods += as_methods([getattr(importlib.import_module(module), attr)()], args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    splits = []
    for target in args.targets.split(","):
        source = next((d for d in dataset.domains if d != target), None)
        splits.append(
            make_split(dataset, args.protocol, source_domain=source, target_domain=target, seed=args.seed)
        )
    started = time.perf_counter()
    if all(s.train.equals(splits[0].train) for s in splits[1:]):
        reports = evaluate_splits(splits, dataset.items, methods, args.k, args.seed, dataset.name)
    else:
        reports = [evaluate_split(s, dataset.items, methods, args.k, args.seed, dataset.name) for s in splits]
    for split, report in zip(splits, reports):
        stem = args.out / f"{args.protocol}-{split.target_domain}"
        table = report.table()
        Path(f"{stem}.txt").write_text(f"$ {' '.join(sys.argv)}\n{table}\n")
        Path(f"{stem}.md").write_text(report.markdown() + "\n")
        report.to_json(f"{stem}.json", per_user=True)
        report.plot(f"{stem}.png")
        print(table, flush=True)
    print(f"({time.perf_counter() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

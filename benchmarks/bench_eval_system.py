"""Add the interest-kg system to stored baseline reports (same split, same users, paired bootstrap).

    python benchmarks/bench_eval_system.py --data /work/data/food-kitchen \\
        --reports /work/data/runs/food-kitchen/given-kitchen.json /work/data/runs/food-kitchen/given-food.json \\
        --out /work/data/runs/food-kitchen-system

The system runs through its public API (ingest, refresh with extraction, topics, GNN, blend
tuning); its grid (blends x positional half-lives) is tuned on the validation users only.
With `--catalog DIR`, every build starts from an items-only graph folder, built first with

    python benchmarks/bench_eval_system.py --data DATA --build-catalog DIR
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd

from ikg.eval import system
from ikg.eval.datasets import load_dataset
from ikg.eval.runner import add_to_report
from ikg.eval.system import CF_ONLY, system_method


def build_catalog(items: pd.DataFrame, folder: Path) -> int:
    """Ingest the items alone and refresh: extraction, concepts and text vectors, no events."""
    from ikg import InterestGraph

    if folder.exists() and any(folder.iterdir()):
        raise SystemExit(f"{folder} is not empty: pass a new folder for the catalog")
    graph = InterestGraph.open(folder, use_gnn=False)
    columns = [c for c in ("item_id", "domain", "title", "description", "categories", "tags") if c in items]
    graph.ingest_items(items[columns])
    report = graph.refresh(progress=True)
    print(f"catalog of {len(items)} items built in {folder}: {report.timings}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--reports", type=Path, nargs="+", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--gnn-epochs", type=int, default=40)
    p.add_argument("--half-lives", default="none,5", help="comma list of positional half-lives (none = off)")
    p.add_argument(
        "--catalog",
        type=Path,
        help="items-only graph folder (ingest_items + refresh) each build starts from, so extraction is paid once",
    )
    p.add_argument(
        "--build-catalog", type=Path, help="build the items-only graph folder at this path and stop"
    )
    p.add_argument("--keep-builds", action="store_true", help="keep the built graph folders for analysis")
    args = p.parse_args(argv)
    system.KEEP_BUILDS = args.keep_builds
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.build_catalog:
        return build_catalog(load_dataset(args.data).items, args.build_catalog)
    half_lives = [None if h == "none" else float(h) for h in args.half_lives.split(",")]
    dataset = load_dataset(args.data)
    method = system_method(
        [None, CF_ONLY], gnn_epochs=args.gnn_epochs, half_lives=half_lives, catalog=args.catalog
    )
    args.out.mkdir(parents=True, exist_ok=True)
    for report in args.reports:
        merged = add_to_report(report, dataset, method)
        stem = args.out / report.stem
        merged.to_json(stem.with_suffix(".json"), per_user=True)
        stem.with_suffix(".md").write_text(merged.markdown() + "\n")
        stem.with_suffix(".txt").write_text(merged.table() + "\n")
        merged.plot(stem.with_suffix(".png"))
        print(merged.table(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

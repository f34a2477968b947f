"""`ikg eval`: run the evaluation harness from the command line.

    ikg eval --data /work/data/food-kitchen --protocol given --target-domain kitchen --k 10 --out runs/fk
    ikg eval --synthetic --protocol cold-start --source-domain books --target-domain films

The ikg system (the whole pipeline through the public API) is evaluated beside the baselines
unless --no-system is given; its grid (its own tuned blend vs walks only, times the
positional half-lives of --half-lives) is tuned on the validation users like theirs.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from ikg.eval.baselines import BASELINES, EXTRA_BASELINES
from ikg.eval.datasets import load_dataset, synthetic_dataset
from ikg.eval.protocols import PROTOCOLS
from ikg.eval.runner import run_evaluation
from ikg.eval.system import CF_ONLY, system_method


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ikg eval",
        description=__doc__.split("\n")[0],
        epilog=f"baselines (--methods): {', '.join(BASELINES)}; the ikg system is evaluated beside "
        "them unless --no-system (docs/evaluation.md)",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", type=Path, help="folder with items/events[/split] CSV or JSONL")
    src.add_argument("--synthetic", action="store_true", help="planted cross-domain synthetic data")
    p.add_argument("--protocol", choices=PROTOCOLS, default="cold-start")
    p.add_argument("--source-domain")
    p.add_argument("--target-domain")
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-valid", type=int, default=200)
    p.add_argument("--n-test", type=int, default=500)
    p.add_argument(
        "--methods",
        default=",".join(BASELINES),
        help=f"comma-separated subset of {','.join(BASELINES + EXTRA_BASELINES)}",
    )
    p.add_argument("--no-system", action="store_true", help="only the baselines, without the ikg system")
    p.add_argument(
        "--half-lives",
        default="none",
        help="ikg grid: positional half-lives to try, comma-separated (none = off), e.g. none,5",
    )
    p.add_argument("--gnn-epochs", type=int, default=60, help="ikg: GNN training epochs at most")
    p.add_argument("--out", type=Path, help="folder for report.json, report.txt, report.md, report.png")
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    dataset = synthetic_dataset(args.seed) if args.synthetic else load_dataset(args.data)
    source, target = args.source_domain, args.target_domain
    if args.synthetic and args.protocol == "cold-start":
        source, target = source or "books", target or "films"
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    extra = []
    if not args.no_system:
        half_lives = [None if h.strip() == "none" else float(h) for h in args.half_lives.split(",")]
        extra.append(system_method([None, CF_ONLY], gnn_epochs=args.gnn_epochs, half_lives=half_lives))
    report = run_evaluation(
        dataset,
        args.protocol,
        methods,
        k=args.k,
        seed=args.seed,
        source_domain=source,
        target_domain=target,
        n_valid=args.n_valid,
        n_test=args.n_test,
        extra=extra,
    )
    table = report.table()
    print(table)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        command = "ikg eval " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
        (args.out / "report.txt").write_text(f"$ {command}\n{table}\n")
        (args.out / "report.md").write_text(report.markdown() + "\n")
        report.to_json(args.out / "report.json", per_user=True)
        report.plot(args.out / "report.png")
        print(f"wrote {args.out}/report.{{txt,md,json,png}}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

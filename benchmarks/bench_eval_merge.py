"""Merge report JSONs of the same split (e.g. baselines run in separate processes) into one.

    python benchmarks/bench_eval_merge.py --out /work/data/runs/fk-kitchen \\
        /work/data/runs/food-kitchen/given-kitchen.json /work/data/runs/food-kitchen-text/given-kitchen.json

Writes OUT.json (per-user values kept), OUT.md, OUT.txt (table + paired comparisons), OUT.png.
"""

from __future__ import annotations

import argparse
from functools import reduce
from pathlib import Path

from ikg.eval import EvalReport


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("reports", nargs="+", type=Path)
    p.add_argument("--out", type=Path, required=True, help="output path without suffix")
    args = p.parse_args(argv)
    merged = reduce(EvalReport.merge, [EvalReport.from_json(r) for r in args.reports])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    merged.to_json(args.out.with_suffix(".json"), per_user=True)
    args.out.with_suffix(".md").write_text(merged.markdown() + "\n")
    args.out.with_suffix(".txt").write_text(merged.table() + "\n")
    merged.plot(args.out.with_suffix(".png"))
    print(merged.table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

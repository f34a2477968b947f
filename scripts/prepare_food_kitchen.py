"""Convert the LLMCDSR Food<->Kitchen release into the generic CSVs of `ikg eval --data`.

Research use only: never commit the data or anything derived from it. Write it outside the
repository (or under a gitignored folder):

    git --git-dir=/work/.mirror/xhran2010+LLMCDSR/repo archive HEAD data/food-kitchen | tar -x -C /tmp/fk
    python scripts/prepare_food_kitchen.py --src /tmp/fk/data/food-kitchen --out /work/data/food-kitchen

Output: items.csv (asin, domain food|kitchen, title), events.csv (user_id, item_id, kind,
ts = position in the user's sequence), split.csv (valid/test users and their last item,
the held-out target). The pickles are read with a restricted unpickler (plain containers only).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ikg.eval.datasets import load_food_kitchen, save_dataset


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--src", type=Path, required=True, help="the data/food-kitchen folder of LLMCDSR")
    p.add_argument("--out", type=Path, required=True, help="output folder, outside the repository")
    args = p.parse_args(argv)
    repo = Path(__file__).resolve().parents[1]
    out = args.out.resolve()
    if out.is_relative_to(repo):
        print(
            f"refusing to write research data inside the repository ({out}); "
            "use a folder outside it, e.g. /work/data/food-kitchen",
            file=sys.stderr,
        )
        return 2
    dataset = load_food_kitchen(args.src)
    save_dataset(dataset, out)
    counts = dataset.items["domain"].value_counts().to_dict()
    print(
        f"wrote {out}: {len(dataset.items)} items {counts}, {len(dataset.events)} events, "
        f"{dataset.events['user_id'].nunique()} users, split {dataset.split['split'].value_counts().to_dict()}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Ablation of the interest-kg blend on a stored evaluation split: each component alone, the blend without each.

    python benchmarks/bench_ablation.py --data /work/data/food-kitchen \\
        --report /work/data/runs/fk-cold-food/cold-start-food.json \\
        --catalog /work/data/fk-catalog-base/graph --out /work/data/runs/fk-ablation

The split is rebuilt from the report's recorded arguments. The system is built once through the
public API (its refresh tunes the blend on its own validation split); every variant re-scores
that one build, so the table shows what each component adds to what the refresh chose for the
target domain. Validation NDCG@20 is on the split's validation users, test on its test users,
and the last column is the paired bootstrap of test NDCG@20 against the chosen blend.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ikg.eval.base import Method
from ikg.eval.datasets import load_dataset
from ikg.eval.metrics import paired_bootstrap
from ikg.eval.protocols import make_split
from ikg.eval.report import EvalReport
from ikg.eval.runner import evaluate_split
from ikg.eval.system import InterestGraphSystem
from ikg.serving import COMPONENTS


def variants(chosen: dict[str, float]) -> dict[str, dict[str, float]]:
    """The chosen blend, each component alone, the blend without each, and each unweighted one added at 0.35."""
    out = {"blend": dict(chosen)}
    for name in COMPONENTS:
        out[f"{name} alone"] = {m: float(m == name) for m in COMPONENTS}
        if chosen.get(name):
            out[f"without {name}"] = {**chosen, name: 0.0}
        else:
            out[f"with {name} 0.35"] = {**chosen, name: 0.35}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--report", type=Path, required=True, help="a stored baseline report: its split is reused")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--catalog", type=Path, help="items-only graph folder the build starts from")
    p.add_argument("--gnn-epochs", type=int, default=40)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    dataset = load_dataset(args.data)
    base = EvalReport.from_json(args.report)
    split = make_split(dataset, **base.split_params)
    probe = InterestGraphSystem(gnn_epochs=args.gnn_epochs, catalog=args.catalog)
    probe.fit(split.train, dataset.items)
    assert probe.graph is not None
    model = probe.graph.model()
    target = split.target_domain
    chosen = dict(model.domain_blends.get(target) or model.blend)
    meta = probe.graph.workdir.load_state().meta
    tuning = {k: v for k, v in meta.get("blend_tuning", {}).items() if k != "table"}
    settings = {
        **tuning,
        "target": target,
        "target_blend": chosen,
        "global_blend": model.blend,
        "walk": meta.get("walk"),
    }
    methods = [
        Method(
            name,
            (lambda b=b: InterestGraphSystem(blend=b, gnn_epochs=args.gnn_epochs, catalog=args.catalog)),
            [{}],
        )
        for name, b in variants(chosen).items()
    ]
    report = evaluate_split(split, dataset.items, methods, k=base.k, seed=base.seed)
    blend = report.result("blend")
    lines = [
        f"Ablation on {base.dataset} {base.protocol} {split.source_domain} -> {target} "
        f"({len(split.test.user_ids)} test users); settings: {json.dumps(settings, default=str)}",
        "",
        "| variant | valid NDCG@20 | test NDCG@20 | test Recall@20 | test NDCG@20 minus the blend [95% CI] |",
        "|---|---|---|---|---|",
    ]
    for name in variants(chosen):
        r = report.result(name)
        diff, _ = paired_bootstrap(r.per_user["ndcg"], blend.per_user["ndcg"])
        lines.append(
            f"| {name} | {r.valid_score:.4f} | {r.per_user['ndcg'].mean():.4f} | "
            f"{r.per_user['recall'].mean():.4f} | {diff} |"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"ablation-{args.report.stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

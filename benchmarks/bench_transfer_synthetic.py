"""The synthetic few-bridges world: the system against every baseline, and its ablation.

    python benchmarks/bench_transfer_synthetic.py            # system vs baselines (about 4 minutes)
    python benchmarks/bench_transfer_synthetic.py --ablation # each component alone / the blend without each

1,000 users, 150 items per domain, 20% of the users active in every domain (`bridge_users=0.2`),
cold start books -> films (`ikg.eval`, seed 0: 60 validation, up to 100 test users). The system
is built once through the public API (refresh with its own tuning, GNN 30 epochs); the ablation
re-scores that one build with the blend the refresh chose for films, one component changed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ikg.eval import run_evaluation, synthetic_dataset
from ikg.eval.base import Method
from ikg.eval.metrics import paired_bootstrap
from ikg.eval.protocols import make_split
from ikg.eval.runner import evaluate_split
from ikg.eval.system import InterestGraphSystem, system_method
from ikg.serving import COMPONENTS

BASELINES = ["popularity", "item-knn", "rp3beta", "lightgcn", "ease", "ridge-map"]
NAMES = list(COMPONENTS)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--ablation", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    data = synthetic_dataset(
        0, n_users=1000, items_per_domain=150, events_per_user=24, noise=0.15, bridge_users=0.2
    )
    kw = {"source_domain": "books", "target_domain": "films", "n_valid": 60, "n_test": 100}
    if not args.ablation:
        report = run_evaluation(
            data, "cold-start", BASELINES, k=20, extra=[system_method(gnn_epochs=30)], **kw
        )
        print(report.markdown())
        for b in BASELINES:
            for metric in ("ndcg", "recall"):
                print(report.compare("ikg", b, metric))
        return
    split = make_split(data, "cold-start", "books", "films", seed=0, n_valid=60, n_test=100)
    probe = InterestGraphSystem(gnn_epochs=30)
    probe.fit(split.train, data.items)
    model = probe.graph.model()
    chosen = dict(model.domain_blends.get("films") or model.blend)
    state = probe.graph.workdir.load_state()
    print("films blend", chosen, "| global", model.blend, "| walk", state.meta.get("walk"))
    print("per domain", json.dumps(state.meta.get("blend_tuning", {}).get("by_domain"), default=str))
    variants = {"blend": chosen}
    for n in NAMES:
        variants[f"{n} alone"] = {m: float(m == n) for m in NAMES}
        variants[f"without {n}"] = {**chosen, n: 0.0}
        if not chosen.get(n):
            variants[f"with {n} 0.35"] = {**chosen, n: 0.35}
    methods = [
        Method(name, (lambda b=b: InterestGraphSystem(blend=b, gnn_epochs=30)), [{}])
        for name, b in variants.items()
    ]
    report = evaluate_split(split, data.items, methods, k=20)
    blend = report.result("blend")
    print("| variant | valid NDCG@20 | test NDCG@20 | test Recall@20 | test NDCG@20 minus the blend |")
    print("|---|---|---|---|---|")
    for name in variants:
        r = report.result(name)
        diff, _ = paired_bootstrap(r.per_user["ndcg"], blend.per_user["ndcg"])
        print(
            f"| {name} | {r.valid_score:.4f} | {r.per_user['ndcg'].mean():.4f} | "
            f"{r.per_user['recall'].mean():.4f} | {diff} |"
        )


if __name__ == "__main__":
    main()

"""Evaluation harness: protocols, metrics with bootstrap CIs, tuned baselines, reports.

from ikg.eval import run_evaluation, load_dataset
report = run_evaluation(load_dataset("/work/data/food-kitchen"), "given",
                        target_domain="kitchen", k=10, extra=[my_recommender])
print(report.table()); report.to_json("out.json", per_user=True); report.plot("out.png")
report = add_to_report("out.json", dataset, my_system)   # later: same split, new row
"""

from ikg.eval.base import Dataset, Method, Recommender
from ikg.eval.datasets import load_amazon, load_dataset, load_food_kitchen, load_movielens, synthetic_dataset
from ikg.eval.leakage import LeakageError, assert_no_leakage, find_leaks
from ikg.eval.protocols import (
    PROTOCOLS,
    EvalUsers,
    Split,
    cold_start_split,
    given_split,
    leave_last_out_split,
    make_split,
    temporal_split,
)
from ikg.eval.report import EvalReport, MethodResult
from ikg.eval.runner import add_to_report, evaluate_split, evaluate_splits, run_evaluation

__all__ = [
    "PROTOCOLS",
    "Dataset",
    "EvalReport",
    "EvalUsers",
    "LeakageError",
    "Method",
    "MethodResult",
    "Recommender",
    "Split",
    "add_to_report",
    "assert_no_leakage",
    "cold_start_split",
    "evaluate_split",
    "evaluate_splits",
    "find_leaks",
    "given_split",
    "leave_last_out_split",
    "load_amazon",
    "load_dataset",
    "load_food_kitchen",
    "load_movielens",
    "make_split",
    "run_evaluation",
    "synthetic_dataset",
    "temporal_split",
]

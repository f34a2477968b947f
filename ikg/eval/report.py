"""Evaluation results: per-method metrics with bootstrap CIs, paired comparisons, table, JSON, plot."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ikg.eval.metrics import METRICS, Interval, PairedComparison, bootstrap_ci, paired_bootstrap

LABELS = {"recall": "Recall", "ndcg": "NDCG", "hit": "HitRate"}


@dataclass
class MethodResult:
    """One method on the test users: per-user metrics (in report user order) and tuning record."""

    name: str
    params: dict[str, Any]
    per_user: dict[str, np.ndarray]
    coverage: float
    valid_score: float
    grid: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class EvalReport:
    """Everything a run produced; `table()`, `to_json()` and `plot()` render it."""

    dataset: str
    protocol: str
    k: int
    seed: int
    source_domain: str | None
    target_domain: str | None
    n_train_events: int
    n_valid_users: int
    n_test_users: int
    n_candidates: int
    test_users: list[str]
    results: list[MethodResult]
    n_boot: int = 1000
    split_params: dict[str, Any] = field(default_factory=dict)

    def result(self, name: str) -> MethodResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(f"no method {name!r}; have {[r.name for r in self.results]}")

    def interval(self, name: str, metric: str) -> Interval:
        return bootstrap_ci(self.result(name).per_user[metric], self.n_boot, seed=self.seed)

    def compare(self, a: str, b: str, metric: str = "ndcg") -> PairedComparison:
        """Paired bootstrap of a minus b over the same test users."""
        diff, p_win = paired_bootstrap(
            self.result(a).per_user[metric],
            self.result(b).per_user[metric],
            n_boot=2 * self.n_boot,
            seed=self.seed,
        )
        return PairedComparison(a, b, metric, diff, p_win)

    def best(self, metric: str = "ndcg") -> str:
        """The method with the highest test mean (for reporting only; selection used validation)."""
        return max(self.results, key=lambda r: float(r.per_user[metric].mean())).name

    def comparisons(self, metric: str = "ndcg") -> list[PairedComparison]:
        """Every other method against the best one."""
        best = self.best(metric)
        return [self.compare(best, r.name, metric) for r in self.results if r.name != best]

    def header(self) -> str:
        domains = " -> ".join(d for d in (self.source_domain, self.target_domain) if d) or "all domains"
        return (
            f"{self.dataset} | protocol {self.protocol} | {domains} | {self.n_test_users} test users, "
            f"{self.n_valid_users} validation users | {self.n_candidates} candidates | "
            f"{self.n_train_events} training events | seed {self.seed}"
        )

    def table(self) -> str:
        """Plain-text table: mean [95% CI] per metric, coverage, validation score, chosen params."""
        cols = [f"{LABELS[m]}@{self.k}" for m in METRICS]
        rows = []
        for r in self.results:
            cells = [str(self.interval(r.name, m)) for m in METRICS]
            params = ", ".join(f"{key}={val}" for key, val in r.params.items() if key != "seed")
            rows.append([r.name, *cells, f"{r.coverage:.4f}", f"{r.valid_score:.4f}", params or "-"])
        head = ["method", *cols, "coverage", f"val NDCG@{self.k}", "tuned params"]
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]

        def line(cells):
            return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

        out = [self.header(), line(head), line(["-" * w for w in widths])]
        out += [line(row) for row in rows]
        out += ["", "paired bootstrap vs best (NDCG):"]
        out += [f"  {c}" for c in self.comparisons("ndcg")]
        return "\n".join(out)

    def markdown(self) -> str:
        """The same table as GitHub markdown (for docs/)."""
        head = ["method", *[f"{LABELS[m]}@{self.k} [95% CI]" for m in METRICS], "coverage", "tuned params"]
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in self.results:
            params = ", ".join(f"{key}={val}" for key, val in r.params.items() if key != "seed")
            cells = [str(self.interval(r.name, m)) for m in METRICS]
            out.append("| " + " | ".join([r.name, *cells, f"{r.coverage:.4f}", params or "-"]) + " |")
        return "\n".join(out)

    def merge(self, other: EvalReport) -> EvalReport:
        """This report's methods followed by `other`'s, measured on the same test users."""
        same = ("dataset", "protocol", "k", "source_domain", "target_domain", "test_users")
        for attr in same:
            if getattr(self, attr) != getattr(other, attr):
                raise ValueError(f"cannot merge reports that differ in {attr}")
        return replace(self, results=[*self.results, *other.results])

    @classmethod
    def from_json(cls, path: str | Path) -> EvalReport:
        """Reload a report written with `to_json(path, per_user=True)`."""
        data = json.loads(Path(path).read_text())
        if not isinstance(data.get("test_users"), list):
            raise ValueError(f"{path} has no per-user values; write it with per_user=True")
        results = [
            MethodResult(
                m["name"],
                m["params"],
                {k: np.asarray(v) for k, v in m["per_user"].items()},
                m["coverage"],
                m["valid_ndcg"],
                m.get("grid", []),
                m.get("seconds", 0.0),
            )
            for m in data["methods"]
        ]
        return cls(
            data["dataset"],
            data["protocol"],
            data["k"],
            data["seed"],
            data["source_domain"],
            data["target_domain"],
            data["n_train_events"],
            data["n_valid_users"],
            data["n_test_users"],
            data["n_candidates"],
            data["test_users"],
            results,
            data.get("n_boot", 1000),
            data.get("split_params", {}),
        )

    def to_dict(self, per_user: bool = False) -> dict[str, Any]:
        methods = []
        for r in self.results:
            entry: dict[str, Any] = {
                "name": r.name,
                "params": r.params,
                "coverage": r.coverage,
                "valid_ndcg": r.valid_score,
                "grid": r.grid,
                "seconds": round(r.seconds, 2),
                "metrics": {m: vars(self.interval(r.name, m)) for m in METRICS},
            }
            if per_user:
                entry["per_user"] = {m: r.per_user[m].tolist() for m in METRICS}
            methods.append(entry)
        return {
            "dataset": self.dataset,
            "protocol": self.protocol,
            "k": self.k,
            "seed": self.seed,
            "source_domain": self.source_domain,
            "target_domain": self.target_domain,
            "n_train_events": self.n_train_events,
            "n_valid_users": self.n_valid_users,
            "n_test_users": self.n_test_users,
            "n_candidates": self.n_candidates,
            "n_boot": self.n_boot,
            "split_params": self.split_params,
            "methods": methods,
            "paired_vs_best": [
                {"a": c.a, "b": c.b, "metric": c.metric, "diff": vars(c.diff), "p_win": c.p_win}
                for c in self.comparisons("ndcg")
            ],
            "test_users": self.test_users if per_user else len(self.test_users),
        }

    def to_json(self, path: str | Path | None = None, per_user: bool = False) -> str:
        text = json.dumps(self.to_dict(per_user), indent=2, default=_jsonable)
        if path is not None:
            Path(path).write_text(text)
        return text

    def plot(self, path: str | Path) -> Path:
        """Grouped bars (one group per metric) with 95% CI whiskers, saved as PNG."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(self.results) * len(METRICS) / 3, 4))
        width = 0.8 / max(len(self.results), 1)
        x = np.arange(len(METRICS))
        for n, r in enumerate(self.results):
            cis = [self.interval(r.name, m) for m in METRICS]
            means = np.array([c.mean for c in cis])
            err = np.array([[c.mean - c.low for c in cis], [c.high - c.mean for c in cis]])
            ax.bar(
                x + (n - (len(self.results) - 1) / 2) * width, means, width, yerr=err, capsize=3, label=r.name
            )
        ax.set_xticks(x, [f"{LABELS[m]}@{self.k}" for m in METRICS])
        ax.set_ylabel("mean over test users (95% bootstrap CI)")
        ax.set_title(self.header().split(" | seed")[0], fontsize=7)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, dpi=120)
        plt.close(fig)
        return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)

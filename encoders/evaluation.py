"""Precision / recall of extracted concepts against hand-written expectations.

A predicted concept matches an expected one when their canonical keys are equal or the
cosine of their MiniLM vectors is >= MATCH_SIM (0.75). Concepts are compared in their lemma
form (`encoders.canonical.key_text`: "soldier" for "soldiers"), as they are embedded and
resolved; the surface name a person reads ("soldiers") plays no part in matching. 0.75 accepts paraphrases and
near-synonyms ("kitchen knife" / "chef's knife" 0.8, "war film" / "war movie") and rejects
merely related concepts ("jazz" / "blues", "skillet" / "wok", about 0.5-0.65). Each expected
concept can be matched by at most one prediction (greedy, best similarity first).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from encoders.canonical import key_text
from encoders.text_encoder import get_text_encoder
from encoders.types import ItemText

MATCH_SIM = 0.75
EVAL_PATH = Path(__file__).parent / "data" / "extraction_eval.jsonl"


@dataclass(frozen=True)
class EvalItem:
    """One hand-labelled item: its text and the concepts a person would expect."""

    item: ItemText
    expected: tuple[str, ...]


def load_eval(path: str | Path = EVAL_PATH) -> list[EvalItem]:
    """The eval set as EvalItems (one JSON object per line)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        item = ItemText(
            item_id=r["item_id"],
            title=r["title"],
            description=r.get("description", ""),
            categories=tuple(r.get("categories", ())),
            tags=tuple(r.get("tags", ())),
            domain=r.get("domain", ""),
        )
        out.append(EvalItem(item, tuple(r["expected"])))
    return out


def match_count(
    predicted: Sequence[tuple[str, str]], expected: Sequence[tuple[str, str]], sim: float = MATCH_SIM
) -> int:
    """Number of one-to-one matches between (key, name) lists (rule in the module docstring)."""
    if not predicted or not expected:
        return 0
    enc = get_text_encoder()
    pv = enc.encode([key_text(k) if k else n for k, n in predicted])
    ev = enc.encode([key_text(k) if k else n for k, n in expected])
    s = pv @ ev.T
    for i, (pk, _) in enumerate(predicted):
        for j, (ek, _) in enumerate(expected):
            if pk == ek:
                s[i, j] = 2.0
    pairs = sorted(
        ((float(s[i, j]), i, j) for i in range(len(predicted)) for j in range(len(expected))), reverse=True
    )
    used_p: set[int] = set()
    used_e: set[int] = set()
    for score, i, j in pairs:
        if score < sim:
            break
        if i not in used_p and j not in used_e:
            used_p.add(i)
            used_e.add(j)
    return len(used_p)


def score(
    predictions: Sequence[Sequence[tuple[str, str]]], expectations: Sequence[Sequence[tuple[str, str]]]
) -> dict[str, float]:
    """Micro-averaged precision, recall and F1 over all items."""
    matched = sum(match_count(p, e) for p, e in zip(predictions, expectations))
    n_pred = sum(len(p) for p in predictions)
    n_exp = sum(len(e) for e in expectations)
    precision = matched / n_pred if n_pred else 0.0
    recall = matched / n_exp if n_exp else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "matched": matched,
        "predicted": n_pred,
        "expected": n_exp,
    }

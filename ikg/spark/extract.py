"""Concept extraction on Spark executors: the extractor built once per Python worker, run per partition.

The driver ships the extractor (a few settings; no model) with each task. A worker keeps the
first copy it receives for a given fingerprint in `_HOLDER`, a module-level dict, so the spaCy
pipeline and MiniLM (loaded on first use by encoders.nlp / encoders.text_encoder, once per
process) and the extractor's phrase cache stay for every later task that worker runs
(`spark.python.worker.reuse`, on by default). Each partition goes through the local engine's
own row builders (ikg.refresh._extract_items / _extract_reviews), so both engines emit the
same columns. This module is imported by reference on the workers (not shipped by value) so
the holder outlives a task; `import ikg` loads nothing heavy.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Iterator
from typing import Any

import pandas as pd

_HOLDER: dict[str, Any] = {}
"""fingerprint -> extractor, per Python worker process."""

ITEM_ROWS = "item_id string, surface string, name string, weight double, source string"
REVIEW_ROWS = "user_id string, item_id string, text_hash string, surface string, name string, weight double"
WORKER_COLUMNS = "_group long, _pid long, _built boolean"
"""Added to each output row: its batch (to restore the local order), the worker, and whether it built the extractor."""


def fingerprint(extractor: Any) -> str:
    """A key for an extractor's settings (its class and public attributes), equal on driver and worker."""
    public = {k: v for k, v in sorted(vars(extractor).items()) if not k.startswith("_")}
    blob = pickle.dumps((type(extractor).__module__, type(extractor).__qualname__, repr(public)))
    return hashlib.sha1(blob).hexdigest()[:16]


def worker_extractor(extractor: Any, key: str) -> tuple[Any, bool]:
    """This worker's extractor for `key` (the shipped one the first time); True when it was built now."""
    held = _HOLDER.get(key)
    if held is not None:
        return held, False
    threads = os.environ.get("IKG_EXECUTOR_TORCH_THREADS")
    if threads:
        import torch

        torch.set_num_threads(int(threads))
    _HOLDER[key] = extractor
    return extractor, True


def _by_batch(batches: Iterator[pd.DataFrame], batch: int) -> Iterator[tuple[int, pd.DataFrame]]:
    """A partition's rows regrouped into the local engine's batches (`_pos // batch`), in order.

    The extractor encodes a batch at a time (MiniLM pads to its longest text), so giving it
    the same batches as the local engine gives the same numbers.
    """
    frames = list(batches)
    if not frames:
        return
    rows = pd.concat(frames, ignore_index=True).sort_values("_pos", kind="stable")
    for group, frame in rows.groupby(rows["_pos"] // batch, sort=True):
        yield int(group), frame.drop(columns="_pos").reset_index(drop=True)


def _partition(extractor: Any, key: str, batch: int, rows_of: Any):
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        held, built = worker_extractor(extractor, key)
        for group, frame in _by_batch(batches, batch):
            yield rows_of(held, frame).assign(_group=group, _pid=os.getpid(), _built=built)
            built = False

    return run


def _item_rows(extractor: Any, frame: pd.DataFrame) -> pd.DataFrame:
    from ikg.refresh import _extract_items

    frame = frame.assign(
        categories=[[] if c is None else list(c) for c in frame["categories"]],
        tags=[[] if t is None else list(t) for t in frame["tags"]],
        description=frame["description"].fillna(""),
    )
    return _extract_items(extractor, frame, False)


def _review_rows(extractor: Any, frame: pd.DataFrame) -> pd.DataFrame:
    from ikg.refresh import _extract_reviews

    return _extract_reviews(extractor, frame, False)


def items_partition(extractor: Any, key: str, batch: int):
    """The mapInPandas function: item rows -> (item_id, surface, name, weight, source) per concept."""
    return _partition(extractor, key, batch, _item_rows)


def reviews_partition(extractor: Any, key: str, batch: int):
    """The mapInPandas function: event rows with text -> (user_id, item_id, text_hash, surface, name, weight)."""
    return _partition(extractor, key, batch, _review_rows)

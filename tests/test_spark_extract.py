"""Concept extraction on Spark executors (ikg.spark.extract) against the local extractor.

Real spaCy and MiniLM on the demo catalog and its review texts, Spark local[2] (the session
fixture in tests/conftest.py). The executors get the same extractor batches as the local
engine, so the rows are the same; weights are compared to 1e-6 since a worker's phrase cache
can encode a fallback phrase in a different batch than the driver's (float rounding only).
A third call on 40 of the items (other batches than the local run's) must match to the same
tolerance, and the three tasks show each Python worker building the extractor at most once.
"""

from __future__ import annotations

import pandas as pd
import pytest

from encoders import get_extractor
from ikg.demo_data import load_catalog, make_demo_events
from ikg.refresh import LocalStages, _merge_items, engine_stages

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.models]


def _assert_same_rows(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    assert list(ours.columns) == list(theirs.columns)
    exact = [c for c in theirs.columns if c != "weight"]
    pd.testing.assert_frame_equal(ours[exact], theirs[exact])
    pd.testing.assert_series_equal(ours["weight"], theirs["weight"], check_exact=False, atol=1e-6, rtol=0)


def test_extraction_on_executors_equals_the_local_extractor(spark, tmp_path):
    items = _merge_items(pd.DataFrame(), load_catalog())
    events = make_demo_events()
    local = LocalStages()
    theirs_items = local.extract_items(get_extractor("local"), items, False)
    theirs_reviews = local.extract_reviews(get_extractor("local"), events, False)
    with engine_stages("spark", scratch=tmp_path) as stages:
        ours_items = stages.extract_items(get_extractor("local"), items)
        ours_reviews = stages.extract_reviews(get_extractor("local"), events)
        again = stages.extract_items(get_extractor("local"), items.iloc[:40])
        workers = pd.DataFrame(stages.extraction_workers)
    assert len(theirs_items) > 5 * len(items) // 2 and len(theirs_reviews) > 0
    _assert_same_rows(ours_items, theirs_items)
    _assert_same_rows(ours_reviews, theirs_reviews)
    subset = theirs_items[theirs_items["item_id"].isin(items["item_id"].iloc[:40])].reset_index(drop=True)
    _assert_same_rows(again, subset)
    # three tasks on local[2]'s two Python workers: each worker built the extractor (and so
    # loaded the models) at most once, and a worker that ran a second task reused what it held
    assert len(workers) >= 3 and workers["pid"].nunique() <= 2
    assert workers.groupby("pid")["built"].sum().max() == 1

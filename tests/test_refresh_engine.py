"""Choosing the refresh engine: bad names and bad Spark options are clear errors before any work."""

from __future__ import annotations

import pytest

from ikg.refresh import LocalStages, engine_stages
from ikg.spark.session import parse_conf


def test_local_engine_is_the_default_and_an_unknown_engine_is_refused():
    with engine_stages() as stages:
        assert isinstance(stages, LocalStages)
    with pytest.raises(ValueError, match="unknown refresh engine 'flink'"), engine_stages("flink"):
        pass


def test_spark_conf_pairs_parse_and_a_pair_without_equals_says_how_to_write_it():
    assert parse_conf(["spark.executor.memory=4g", " spark.sql.shuffle.partitions = 16"]) == {
        "spark.executor.memory": "4g",
        "spark.sql.shuffle.partitions": "16",
    }
    with pytest.raises(ValueError, match=r"not key=value; e\.g\. spark\.executor\.memory=4g"):
        parse_conf(["spark.executor.memory"])

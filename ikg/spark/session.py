"""SparkSession for the refresh job: `local[2]` by default, any master and `spark.*` option passed through."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

DEFAULT_MASTER = "local[2]"
DEFAULT_CONF: dict[str, str] = {
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "2g",
    "spark.python.worker.reuse": "true",
}
"""Defaults sized for one small machine; every key can be overridden (`--spark-conf k=v`)."""


def parse_conf(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`["k=v", ...]` as a dict; a pair without '=' is an error that says how to write it."""
    conf = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--spark-conf {pair!r} is not key=value; e.g. spark.executor.memory=4g")
        conf[key.strip()] = value.strip()
    return conf


@contextmanager
def spark_session(master: str | None = None, conf: Mapping[str, str] | None = None) -> Iterator:
    """The active SparkSession if there is one (left running), else a new one stopped on exit."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "the Spark engine needs pyspark: pip install 'interest-kg[spark]' (Java 17 on PATH)"
        ) from exc
    active = SparkSession.getActiveSession()
    if active is not None and master is None and not conf:
        yield active
        return
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("ikg-refresh").master(master or DEFAULT_MASTER)
    for key, value in {**DEFAULT_CONF, **dict(conf or {})}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        if active is None:
            session.stop()

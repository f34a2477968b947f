"""The Spark engine of the graph refresh (optional extra: `pip install interest-kg[spark]`).

A leaf package: nothing in encoders/, kg/ or gnn/ imports it, and ikg imports it only when a
refresh asks for `engine="spark"`. The stages call the local engine's own functions per
partition (`applyInPandas`), so both engines share one set of rules.
"""

from ikg.spark.session import spark_session
from ikg.spark.stages import SparkStages

__all__ = ["SparkStages", "spark_session"]

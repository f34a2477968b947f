"""interest-kg: knowledge-graph user-interest modeling and recommendation.

The public API is `InterestGraph` (see `ikg.graph`); results are plain dataclasses in `ikg.results`.
"""

from ikg.graph import InterestGraph, UnknownItemError
from ikg.results import (
    Bridge,
    Explanation,
    Interest,
    Migration,
    PathStep,
    Profile,
    Recommendation,
    RefreshReport,
    to_frame,
)

__all__ = [
    "Bridge",
    "Explanation",
    "Interest",
    "InterestGraph",
    "Migration",
    "PathStep",
    "Profile",
    "Recommendation",
    "RefreshReport",
    "UnknownItemError",
    "to_frame",
]

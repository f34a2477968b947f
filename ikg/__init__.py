"""interest-kg: knowledge-graph user-interest modeling and recommendation.

The public API is `InterestGraph` (see `ikg.graph`); results are plain dataclasses in `ikg.results`.
"""

from ikg.graph import InterestGraph, UnknownItemError
from ikg.results import (
    Bridge, Explanation, Interest, Migration, PathStep, Profile, Recommendation, RefreshReport, to_frame,
)

__all__ = ["InterestGraph", "UnknownItemError", "Recommendation", "Explanation", "PathStep", "Migration",
           "Bridge", "Profile", "Interest", "RefreshReport", "to_frame"]

"""interest-kg: knowledge-graph user-interest modeling and recommendation.

The public API is `InterestGraph` (see `ikg.graph`); results are plain dataclasses in `ikg.results`.
Names are imported on first use, so `import ikg` (and `ikg --help`) does not load torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ikg.graph import InterestGraph, UnknownItemError
    from ikg.inputs import ForgottenUserError, NotRefreshedError, UnknownUserError
    from ikg.results import (
        Bridge,
        Explanation,
        Interest,
        Migration,
        PathStep,
        Profile,
        Recommendation,
        Recommendations,
        RefreshReport,
        to_frame,
    )

_WHERE = {
    "InterestGraph": "ikg.graph",
    "UnknownItemError": "ikg.graph",
    "ForgottenUserError": "ikg.inputs",
    "NotRefreshedError": "ikg.inputs",
    "UnknownUserError": "ikg.inputs",
    **{
        name: "ikg.results"
        for name in (
            "Bridge",
            "Explanation",
            "Interest",
            "Migration",
            "PathStep",
            "Profile",
            "Recommendation",
            "Recommendations",
            "RefreshReport",
            "to_frame",
        )
    },
}

__all__ = [
    "Bridge",
    "Explanation",
    "ForgottenUserError",
    "Interest",
    "InterestGraph",
    "Migration",
    "NotRefreshedError",
    "PathStep",
    "Profile",
    "Recommendation",
    "Recommendations",
    "RefreshReport",
    "UnknownItemError",
    "UnknownUserError",
    "to_frame",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    if name not in _WHERE:
        raise AttributeError(f"module 'ikg' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))

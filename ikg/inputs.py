"""Checks of the public API's arguments: ids, k, diversity. Each failure is a ValueError that says
what was wrong and how to fix it, raised before any work is done.

Ids go through `kg.ids.normalise_id`, the rule ingest applies, so `1001` and `"1001"` name the
same user at query time as at ingest time.
"""

from __future__ import annotations

import numbers
from typing import Any

from kg.ids import InvalidIdError, normalise_id


class UnknownUserError(KeyError):
    """A user id the active version has no history for (where a result without history means nothing)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ForgottenUserError(ValueError):
    """A write for a user removed by `forget_user`, refused unless the caller allows it (they returned)."""


class NotRefreshedError(RuntimeError):
    """Nothing is served yet: no refresh has completed."""


def user_id_arg(value: Any, name: str = "user_id") -> str:
    """The canonical user id, or ValueError naming the argument and the rule."""
    return _id_arg(value, name)


def item_id_arg(value: Any, name: str = "item_id") -> str:
    """The canonical item id, or ValueError naming the argument and the rule."""
    return _id_arg(value, name)


def _id_arg(value: Any, name: str) -> str:
    try:
        return normalise_id(value)
    except InvalidIdError as err:
        raise InvalidIdError(
            f"{name} {value!r} is not a valid id: {err}; pass one id as a string or an integer"
        ) from None


def user_ids_arg(values: Any) -> list[str]:
    """A sequence of user ids, each normalised; a single string is refused (it would be split)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"user_ids must be a list of ids, not {type(values).__name__}; e.g. ['u1', 'u2']")
    return [_id_arg(v, f"user_ids[{n}]") for n, v in enumerate(values)]


def positive_int_arg(value: Any, name: str = "k") -> int:
    """`value` as an int >= 1, or ValueError (bools, floats and strings are refused, not coerced)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}; ask for at least one result")
    return int(value)


def diversity_arg(value: Any) -> float:
    """`value` as a float in [0, 1] (0 = rank by score only, 1 = only diversity), or ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"diversity must be a number in [0, 1], got {value!r} ({type(value).__name__})")
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(
            f"diversity must be in [0, 1] (0 = by score only, 1 = most diverse), got {value:g}; e.g. 0.3"
        )
    return value


def no_history_message(user_id: str) -> str:
    """Why a user has no paths or interests, and what to do about it."""
    return (
        f"user {user_id!r} has no history in the graph (never seen, forgotten, or not refreshed yet); "
        "check the id, or ingest their events and refresh"
    )


def cold_start_reason(domain: str) -> str:
    """The reason shown on a recommendation made without any history of the user."""
    return f"popular in {domain}: no history for this user"

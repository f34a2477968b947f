"""One rule for user and item ids, applied the same way at ingest and at query time.

`1001`, `1001.0`, `"1001"` and `" 1001 "` are the same id: "1001". Ids are scalars; lists,
dicts, booleans, NaN, infinities and empty strings are not ids.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from typing import Any

import numpy as np

MAX_ID_LENGTH = 512


class InvalidIdError(ValueError):
    """A value that cannot be a user or item id; the message says why."""


def normalise_id(value: Any) -> str:
    """The canonical string form of an id, or InvalidIdError saying why it is not one."""
    if isinstance(value, (bool, np.bool_)):
        raise InvalidIdError(f"a boolean ({value!r}) is not an id")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value) or math.isinf(value):
            raise InvalidIdError(f"{value!r} is not an id")
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as err:
            raise InvalidIdError("an id must be valid UTF-8 text") from err
    if not isinstance(value, str):
        raise InvalidIdError(f"an id must be a string or a number, not {type(value).__name__}")
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise InvalidIdError("an id must not be empty")
    if len(text) > MAX_ID_LENGTH:
        raise InvalidIdError(f"an id is at most {MAX_ID_LENGTH} characters (got {len(text)})")
    return text


def id_variants(value: Any) -> set[str]:
    """Every text form a raw id may have been written in (for finding and purging it)."""
    canonical = normalise_id(value)
    forms = {canonical, str(value)}
    if canonical.lstrip("-").isdigit():
        forms.add(f"{canonical}.0")
    return forms


def id_digest(value: Any) -> str:
    """sha256 hex of the normalised id: lets a registry recognise an id without holding it."""
    return hashlib.sha256(normalise_id(value).encode("utf-8")).hexdigest()

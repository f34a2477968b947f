"""Ingest items and behaviour events: read, validate, clean, normalise, dedupe, quarantine.

Inputs are pandas DataFrames or CSV / TSV / Parquet / JSONL files (a path or a DataFrame).
Every input row ends in exactly one of three places, and the report counts each, so
`read == accepted + quarantined + deduplicated` always holds:

* `clean`      - rows that passed, normalised (ids as NFC strings, text without HTML, ...);
* `quarantine` - rows that failed, with `source`, `row`, `column`, `reason` (what is wrong
  and how to fix it) and `raw` (the original row as JSON), so nothing is silently dropped;
* deduplicated - exact repeats of an accepted row, counted but not kept twice.

A missing required column is not a row problem: `IngestError` is raised and nothing is
ingested. Row numbers are 1-based data rows as a person counts them in a file (the header
of a CSV is not a data row; a JSONL row is its line number); for a DataFrame they are the
0-based index position (`df.iloc[row]`).

Checks run on whole columns (vectorised pandas); Python loops touch only rows that fail
and the few columns whose values may be lists (item categories and tags).
"""

from __future__ import annotations

import contextlib
import datetime
import html
import json
import math
import time
import unicodedata
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from kg.ids import MAX_ID_LENGTH, InvalidIdError, id_digest, normalise_id
from kg.readers import BAD_UNICODE, IngestError, Source, read_source, unicode_guard, valid_unicode

ITEM_REQUIRED = ("item_id", "domain", "title")
ITEM_OPTIONAL = ("description", "categories", "tags")
EVENT_REQUIRED = ("user_id", "item_id")
EVENT_OPTIONAL = ("kind", "ts", "rating", "text", "event_id")
QUARANTINE_COLUMNS = ["source", "row", "column", "reason", "raw"]

KINDS = ("view", "click", "cart", "purchase", "like", "dislike", "rating", "review", "share")
"""Canonical event kinds; `kg.weights.WeightConfig` gives each a weight."""

KIND_ALIASES: dict[str, str] = {
    **{k: k for k in KINDS},
    "viewed": "view",
    "watch": "view",
    "watched": "view",
    "read": "view",
    "listen": "view",
    "listened": "view",
    "play": "view",
    "played": "view",
    "visit": "view",
    "impression": "view",
    "clicked": "click",
    "tap": "click",
    "add_to_cart": "cart",
    "addtocart": "cart",
    "add_cart": "cart",
    "basket": "cart",
    "carted": "cart",
    "buy": "purchase",
    "bought": "purchase",
    "purchased": "purchase",
    "order": "purchase",
    "ordered": "purchase",
    "checkout": "purchase",
    "transaction": "purchase",
    "liked": "like",
    "favorite": "like",
    "favourite": "like",
    "fav": "like",
    "thumbs_up": "like",
    "upvote": "like",
    "disliked": "dislike",
    "thumbs_down": "dislike",
    "downvote": "dislike",
    "rate": "rating",
    "rated": "rating",
    "reviewed": "review",
    "comment": "review",
    "shared": "share",
}
"""Accepted spellings of each kind (after lowercasing and turning '-' and ' ' into '_')."""

MAX_TITLE_CHARS = 1_000
MAX_DESCRIPTION_CHARS = 20_000
MAX_TEXT_CHARS = 20_000
MAX_LIST_ENTRIES = 100
MAX_LIST_ENTRY_CHARS = 200
"""Field size limits: longer text is cut and longer category/tag lists keep their first entries;
the report's `truncated` counts the rows cut per column."""

FUTURE_TOLERANCE_SECONDS = 86_400.0
TS_FLOOR = 0.0
"""Timestamps more than FUTURE_TOLERANCE_SECONDS after the ingest's wall time, or before TS_FLOOR
(1970-01-01, epoch 0), are quarantined: one stray value must not become the model's "now"."""

FORGOTTEN_REASON = "forgotten user"

_TAG_RE = r"<[^>]*>"
_WS_RE = r"\s+"


@dataclass
class _Result:
    clean: pd.DataFrame
    quarantine: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)

    def messages(self, limit: int | None = 20) -> list[str]:
        """Quarantined rows as readable lines: `source row N, column C: reason`."""
        q = self.quarantine if limit is None else self.quarantine.head(limit)
        return [
            f"{s} row {r}, column {c!r}: {why}"
            for s, r, c, why in zip(q["source"], q["row"], q["column"], q["reason"])
        ]


@dataclass
class ItemsResult(_Result):
    """Clean items (item_id, domain, title, description, categories, tags), quarantine, report."""


@dataclass
class EventsResult(_Result):
    """Clean events (user_id, item_id, kind, ts, rating, text), quarantine, report."""


def _require(frame: pd.DataFrame, name: str, required: Iterable[str], optional: Iterable[str]) -> None:
    """Raise IngestError naming the missing required columns and the existing ones (or repeated ones)."""
    cols = [str(c) for c in frame.columns]
    repeated = sorted(set(pd.Index(cols)[pd.Index(cols).duplicated()]))
    if repeated:
        raise IngestError(
            f"{name}: column name(s) {repeated} appear more than once. Nothing was ingested. "
            "Fix: rename or drop the repeated columns (e.g. frame.loc[:, ~frame.columns.duplicated()])."
        )
    missing = [c for c in required if c not in cols]
    if not missing:
        return
    lower = {c.strip().lower(): c for c in cols}
    near = [f"{lower[m]!r} -> {m!r}" for m in missing if m in lower]
    hint = f" (rename {', '.join(near)})" if near else ""
    raise IngestError(
        f"{name}: missing required column(s) {missing}; found columns {cols}. Nothing was ingested. "
        f"Fix: add or rename the column(s){hint}; required: {list(required)}, optional: {list(optional)}."
    )


# ---------------------------------------------------------------- cleaning


def _id_str(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value)


def _as_str(s: pd.Series) -> pd.Series:
    """Values as a pandas string Series (missing stays missing; 3 and 3.0 become '3')."""
    if ptypes.is_string_dtype(s.dtype) and not ptypes.is_object_dtype(s.dtype):
        return s.astype("str")
    if ptypes.is_integer_dtype(s.dtype) or ptypes.is_bool_dtype(s.dtype):
        return s.astype("str").where(s.notna())
    if ptypes.is_object_dtype(s.dtype) and ptypes.infer_dtype(s, skipna=True) in ("string", "empty"):
        return s.astype("str")
    return s.map(_id_str, na_action="ignore").astype("str")


def _on_uniques(s: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply a string transform to each distinct value once and spread it back (ids and kinds repeat)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    done = fn(pd.Series(uniques, dtype="str"))
    return pd.Series(done.array.take(codes, allow_fill=True), index=s.index)


def _nfc(s: pd.Series) -> pd.Series:
    """NFC-normalise only the non-ASCII values (ASCII text is already NFC)."""
    wide = ~s.str.isascii().fillna(True)
    if not wide.any():
        return s
    return s.where(~wide, s[wide].str.normalize("NFC"))


def _clean_str(s: pd.Series, *, strip_html: bool = False, lower: bool = False) -> pd.Series:
    """NFC-normalised, trimmed strings (HTML tags and entities removed if asked); '' becomes missing."""

    def clean(u: pd.Series) -> pd.Series:
        out = _nfc(u)
        if strip_html:
            out = out.str.replace(_TAG_RE, " ", regex=True)
            has_entity = out.str.contains("&", regex=False, na=False)
            if has_entity.any():
                out = out.where(~has_entity, out[has_entity].map(html.unescape))
            out = out.str.replace(_WS_RE, " ", regex=True)
        out = out.str.strip()
        if lower:
            out = out.str.lower()
        return out.where(out.str.len() > 0)

    return _on_uniques(_as_str(s), clean)


def _scalar_id(value: Any) -> Any:
    """`normalise_id` for one raw value: the id, None for a missing one, or an InvalidIdError."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    try:
        return normalise_id(value)
    except InvalidIdError as err:
        return err


def _clean_ids(s: pd.Series) -> tuple[pd.Series, np.ndarray, list[str]]:
    """Ids normalised as `kg.ids.normalise_id` does (1001, 1001.0 and ' 1001 ' are '1001').

    Returns the ids (missing stays missing), a mask of values that are not ids (lists, dicts,
    booleans, infinities, over-long text) and the reason for each. Text and integer columns take
    the vectorised path; only columns of mixed Python objects are checked value by value.
    """
    n = len(s)
    none = np.zeros(n, dtype=bool)
    if ptypes.is_bool_dtype(s.dtype):
        bad = s.notna().to_numpy()
        return (
            pd.Series([None] * n, index=s.index, dtype="str"),
            bad,
            ["a boolean is not an id"] * int(bad.sum()),
        )
    mixed = ptypes.is_object_dtype(s.dtype) and ptypes.infer_dtype(s, skipna=True) not in (
        "string",
        "empty",
        "integer",
    )
    if ptypes.is_float_dtype(s.dtype):
        inf = np.isinf(s.to_numpy(dtype="float64", na_value=np.nan))
        if inf.any():
            mixed = True
    if mixed:
        done = s.map(_scalar_id, na_action=None)
        errors = done.map(lambda v: isinstance(v, InvalidIdError)).to_numpy(dtype=bool)
        reasons = [str(e) for e in done[errors]]
        ids = done.where(~errors, None).astype("str")
        return ids.where(done.notna() & ~errors), errors, reasons
    ids = _clean_str(s)
    long = (ids.str.len() > MAX_ID_LENGTH).fillna(False).to_numpy(dtype=bool)
    if long.any():
        reasons = [f"an id is at most {MAX_ID_LENGTH} characters (got {n_})" for n_ in ids[long].str.len()]
        return ids.where(~long), long, reasons
    return ids, none, []


def _truncate(s: pd.Series, limit: int) -> tuple[pd.Series, int]:
    """Cut text longer than `limit` characters; returns the Series and how many values were cut."""
    long = (s.str.len() > limit).fillna(False).to_numpy(dtype=bool)
    if not long.any():
        return s, 0
    return s.where(~long, s.str.slice(0, limit)), int(long.sum())


_ID_FIX = "use a non-empty text or integer id (not a list, object, boolean or infinity)"


def _optional_text(s: pd.Series) -> pd.Series:
    """Object Series of str or None (pandas 3 would otherwise infer a NaN-missing str dtype)."""
    values = s.to_numpy(dtype=object, na_value=None)
    return pd.Series(values, dtype=object)


def _present(s: pd.Series) -> np.ndarray:
    """True where a raw value was given (not missing, not a blank string)."""
    if ptypes.is_numeric_dtype(s.dtype) or ptypes.is_datetime64_any_dtype(s.dtype):
        return s.notna().to_numpy()
    text = _as_str(s).str.strip()
    return (text.notna() & (text.str.len() > 0)).to_numpy()


def _to_number(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Float values and a mask of given-but-not-a-finite-number values."""
    if ptypes.is_bool_dtype(s.dtype):
        return np.full(len(s), np.nan), s.notna().to_numpy()
    if ptypes.is_numeric_dtype(s.dtype):
        vals = s.astype("float64").to_numpy()
        return vals, s.notna().to_numpy() & ~np.isfinite(vals)
    given = _present(s)
    text = _as_str(s).str.strip()
    vals = pd.to_numeric(text, errors="coerce").astype("float64").to_numpy()
    bad = given & ~np.isfinite(vals)
    return np.where(bad, np.nan, vals), bad


_UNIT_PER_SECOND = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
_NOT_A_TIME = "\x00not a time"


def _dt_seconds(dt: pd.Series) -> np.ndarray:
    """Epoch seconds of a datetime Series in any unit (no nanosecond overflow); NaT becomes NaN."""
    utc = dt.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(dt.dt, "tz", None) is not None else dt
    ints = utc.to_numpy().view("int64").astype("float64")
    secs = ints / _UNIT_PER_SECOND.get(getattr(utc.dt, "unit", "ns"), 1e9)
    return np.where(utc.isna().to_numpy(), np.nan, secs)


def _time_scalar(value: Any) -> Any:
    """A value a timestamp may be parsed from (text or a real number); anything else cannot be one."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (datetime.date, np.datetime64)):
        try:
            stamp = pd.Timestamp(value)
            stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
            return stamp.timestamp()
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
            return _NOT_A_TIME
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return _NOT_A_TIME
    return value


def _parse_iso(part: pd.Series) -> np.ndarray:
    """Epoch seconds of ISO-8601 text; dates pandas cannot hold (outside 1677-2262 in ns) become NaN."""
    try:
        return _dt_seconds(pd.to_datetime(part, utc=True, errors="coerce", format="ISO8601"))
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        out = np.full(len(part), np.nan)
        for i, text in enumerate(part.tolist()):
            with contextlib.suppress(OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
                out[i] = _dt_seconds(pd.Series(pd.to_datetime([text], utc=True, format="ISO8601")))[0]
        return out


def _to_epoch(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Epoch seconds (UTC) from numbers, ISO-8601 strings or datetimes; mask of unparseable values.

    Numbers and numeric strings are epoch seconds; naive datetimes and ISO strings without an
    offset are taken as UTC. Booleans, lists and objects are not timestamps.
    """
    if ptypes.is_datetime64_any_dtype(s.dtype):
        return _dt_seconds(s), np.zeros(len(s), dtype=bool)
    if ptypes.is_numeric_dtype(s.dtype) and not ptypes.is_bool_dtype(s.dtype):
        return _to_number(s)
    given = _present(s)
    if ptypes.is_object_dtype(s.dtype) and ptypes.infer_dtype(s, skipna=True) not in ("string", "empty"):
        raw = s.map(_time_scalar, na_action="ignore")
        num = pd.to_numeric(raw, errors="coerce")
        raw = raw.where(raw.map(lambda v: isinstance(v, str)), _NOT_A_TIME)
    else:
        raw = _as_str(s).str.strip()
        num = pd.to_numeric(raw, errors="coerce")
    secs = num.astype("float64").to_numpy().copy()
    rest = given & ~np.isfinite(secs)
    if rest.any():
        secs[rest] = _parse_iso(raw[rest])
    bad = given & ~np.isfinite(secs)
    return np.where(bad, np.nan, secs), bad


def _list_value(value: Any) -> tuple[list[str] | None, str]:
    """A list of tags from a list, a JSON list, or 'a|b' / 'a,b' text; (None, why) if unusable."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return [], ""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return [], ""
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                return None, "starts with '[' but is not a valid JSON list"
            if not isinstance(value, list):
                return None, "is not a JSON list"
        else:
            value = text.split("|") if "|" in text else text.split(",")
    elif isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        value = list(value)
    else:
        return None, f"is a {type(value).__name__}, not a list or text"
    out: dict[str, None] = {}
    cut = False
    for v in value:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if isinstance(v, (dict, list, tuple, set, np.ndarray)):
            return None, "holds nested objects"
        if not valid_unicode(v):
            return None, "holds text that is not valid Unicode"
        tag = " ".join(unicodedata.normalize("NFC", str(v)).split())
        if len(tag) > MAX_LIST_ENTRY_CHARS:
            tag, cut = tag[:MAX_LIST_ENTRY_CHARS].rstrip(), True
        if tag and tag not in out:
            if len(out) == MAX_LIST_ENTRIES:
                cut = True
                break
            out[tag] = None
    return list(out), "truncated" if cut else ""


def _parse_lists(values: np.ndarray) -> list[tuple[list[str] | None, str]]:
    """`_list_value` for each value, parsing each distinct text or list of texts once."""
    cache: dict[Any, tuple[list[str] | None, str]] = {}
    out: list[tuple[list[str] | None, str]] = []
    for v in values:
        if isinstance(v, str):
            key: Any = v
        elif isinstance(v, (list, tuple, np.ndarray)) and len(v) <= 64 and all(isinstance(x, str) for x in v):
            key = ("\x00list", *tuple(v))
        else:
            out.append(_list_value(v))
            continue
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = _list_value(v)
        out.append((None if hit[0] is None else list(hit[0]), hit[1]))
    return out


# ---------------------------------------------------------------- problems and quarantine


class _Problems:
    """Per-row problems found by column checks; each row keeps every problem it has."""

    def __init__(self) -> None:
        self.pos: list[np.ndarray] = []
        self.column: list[str] = []
        self.code: list[str] = []
        self.reason: list[list[str]] = []

    def add(self, mask: np.ndarray, column: str, code: str, reasons: Iterable[str] | str) -> None:
        pos = np.flatnonzero(mask)
        if not len(pos):
            return
        reasons = [reasons] * len(pos) if isinstance(reasons, str) else list(reasons)
        self.pos.append(pos)
        self.column.append(column)
        self.code.append(code)
        self.reason.append(reasons)

    def bad_mask(self, n: int) -> np.ndarray:
        mask = np.zeros(n, dtype=bool)
        for pos in self.pos:
            mask[pos] = True
        return mask

    def frame(self) -> pd.DataFrame:
        """One line per (row, problem), ordered by row then check order."""
        if not self.pos:
            return pd.DataFrame({"pos": pd.Series(dtype="int64"), "column": [], "code": [], "reason": []})
        return pd.DataFrame(
            {
                "pos": np.concatenate(self.pos),
                "column": np.concatenate([[c] * len(p) for c, p in zip(self.column, self.pos)]),
                "code": np.concatenate([[c] * len(p) for c, p in zip(self.code, self.pos)]),
                "reason": np.concatenate([np.asarray(r, dtype=object) for r in self.reason]),
            }
        ).sort_values("pos", kind="stable")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    return str(value)


def _raw_json(record: dict[str, Any]) -> str:
    clean = {str(k): (None if isinstance(v, float) and math.isnan(v) else v) for k, v in record.items()}
    text = json.dumps(clean, ensure_ascii=False, default=_json_default)
    return text if valid_unicode(text) else json.dumps(clean, ensure_ascii=True, default=_json_default)


_REDACTED = json.dumps({"redacted": FORGOTTEN_REASON})


def _quarantine(
    raw: pd.DataFrame,
    rows: np.ndarray,
    name: str,
    problems: _Problems,
    unreadable: list[dict[str, Any]],
    redact: np.ndarray | None = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """One quarantine record per bad row: first problem's column, all reasons, the raw row as JSON."""
    lines = problems.frame()
    by_reason = lines["code"].value_counts().to_dict() if len(lines) else {}
    if unreadable:
        by_reason["unreadable_line"] = len(unreadable)
    grouped = lines.groupby("pos", sort=True).agg(column=("column", "first"), reason=("reason", "; ".join))
    positions = grouped.index.to_numpy()
    records = raw.iloc[positions].to_dict("records") if len(positions) else []
    q = pd.DataFrame(
        {
            "source": [name] * len(positions),
            "row": rows[positions].astype("int64") if len(positions) else np.array([], dtype="int64"),
            "column": grouped["column"].to_numpy(dtype=object),
            "reason": grouped["reason"].to_numpy(dtype=object),
            "raw": [
                _REDACTED if redact is not None and redact[pos] else _raw_json(r)
                for pos, r in zip(positions, records)
            ],
        }
    )
    if unreadable:
        q = pd.concat([q, pd.DataFrame(unreadable)], ignore_index=True).sort_values("row", kind="stable")
    return q.reset_index(drop=True)[QUARANTINE_COLUMNS].astype({"row": "int64"}), {
        str(k): int(v) for k, v in by_reason.items()
    }


def _shown(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _report(
    name: str,
    read: int,
    accepted: int,
    quarantined: int,
    deduplicated: int,
    by_reason: dict[str, int],
    ignored: list[str],
    started: float,
) -> dict[str, Any]:
    assert read == accepted + quarantined + deduplicated, "ingest lost rows"
    return {
        "source": name,
        "read": read,
        "accepted": accepted,
        "quarantined": quarantined,
        "deduplicated": deduplicated,
        "by_reason": by_reason,
        "ignored_columns": ignored,
        "seconds": round(time.perf_counter() - started, 4),
    }


def write_quarantine(frame: pd.DataFrame, folder: str | Path, filename: str = "quarantine.jsonl") -> Path:
    """Append quarantine rows to `folder/filename` (JSON Lines, or CSV if it ends in .csv).

    Each record gets a `quarantined_at` UTC timestamp. The records are written in a single
    call so a reader never sees half of a batch. Returns the file's path.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    out = frame.copy()
    out["quarantined_at"] = pd.Timestamp.now(tz="UTC").isoformat()
    if path.suffix.lower() == ".csv":
        text = out.to_csv(index=False, header=not path.exists() or path.stat().st_size == 0)
    else:
        text = "".join(
            json.dumps(rec, ensure_ascii=False, default=_json_default) + "\n"
            for rec in out.to_dict("records")
        )
    with open(path, "a", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return path


# ---------------------------------------------------------------- items


def ingest_items(source: Source, *, name: str | None = None) -> ItemsResult:
    """Read, validate and normalise items.

    Columns: item_id, domain, title (required); description, categories, tags (optional;
    categories/tags may be lists, JSON lists, or text split on '|' if present, else ','; other
    columns are ignored and listed in the report). Ids become NFC strings, domain is
    lowercased, title and description lose HTML. Rows with an empty id, domain or title or an
    unusable list are quarantined. A repeated item_id keeps its first row: an identical repeat
    is counted as deduplicated, a repeat with different content is quarantined.
    """
    started = time.perf_counter()
    original, label, rows, unreadable = read_source(source, name)
    _require(original, label, ITEM_REQUIRED, ITEM_OPTIONAL)
    raw, bad_text = unicode_guard(original)
    n = len(raw)
    problems = _Problems()
    problems.add(bad_text, "<row>", "bad_unicode", BAD_UNICODE)

    item_id, bad_id, why_id = _clean_ids(raw["item_id"])
    problems.add(bad_id, "item_id", "bad_id", [f"item_id is not an id: {w}; fix: {_ID_FIX}" for w in why_id])
    domain, _ = _truncate(_clean_str(raw["domain"], strip_html=True, lower=True), MAX_LIST_ENTRY_CHARS)
    title, cut_title = _truncate(_clean_str(raw["title"], strip_html=True), MAX_TITLE_CHARS)
    desc, cut_desc = (
        _truncate(_clean_str(raw["description"], strip_html=True), MAX_DESCRIPTION_CHARS)
        if "description" in raw
        else (pd.Series([None] * n, index=raw.index, dtype=object), 0)
    )
    truncated = {"title": cut_title, "description": cut_desc}
    problems.add(
        item_id.isna().to_numpy() & ~bad_id,
        "item_id",
        "empty_id",
        "item_id is empty; fix: give every item a non-empty id",
    )
    problems.add(
        domain.isna().to_numpy(),
        "domain",
        "empty_domain",
        "domain is empty; fix: give the item's domain, e.g. 'books'",
    )
    problems.add(
        title.isna().to_numpy(),
        "title",
        "empty_title",
        "title is empty (after removing HTML); fix: give the item a title",
    )

    lists: dict[str, list[list[str] | None]] = {}
    for col in ("categories", "tags"):
        if col not in raw:
            lists[col] = [[] for _ in range(n)]
            continue
        values = raw[col].to_numpy(dtype=object)
        parsed = _parse_lists(values)
        lists[col] = [p for p, _ in parsed]
        bad = np.array([p is None for p, _ in parsed], dtype=bool)
        truncated[col] = sum(1 for p, why in parsed if p is not None and why == "truncated")
        problems.add(
            bad,
            col,
            "bad_list",
            [
                f"{col} {_shown(values[i])} {parsed[i][1]}; fix: use a list, 'a|b', 'a,b' or a "
                'JSON list like ["a", "b"]'
                for i in np.flatnonzero(bad)
            ],
        )

    clean = pd.DataFrame(
        {
            "item_id": item_id.to_numpy(),
            "domain": domain.to_numpy(),
            "title": title.to_numpy(),
            "description": _optional_text(desc),
            "categories": pd.Series(lists["categories"], dtype=object).to_numpy(),
            "tags": pd.Series(lists["tags"], dtype=object).to_numpy(),
        }
    )
    ok = ~problems.bad_mask(n)

    valid = clean[ok]
    dup = valid["item_id"].duplicated(keep="first").to_numpy()
    deduplicated = 0
    keep = ok.copy()
    if dup.any():
        content = (
            valid["domain"]
            + "\x1f"
            + valid["title"]
            + "\x1f"
            + valid["description"].fillna("")
            + "\x1f"
            + valid["categories"].map("\x1e".join)
            + "\x1f"
            + valid["tags"].map("\x1e".join)
        )
        first_content = content.groupby(valid["item_id"].to_numpy(), sort=False).transform("first")
        first_pos = (
            pd.Series(np.flatnonzero(ok), index=valid.index)
            .groupby(valid["item_id"].to_numpy(), sort=False)
            .transform("first")
            .to_numpy()
        )
        same = (content == first_content).to_numpy()
        exact = dup & same
        conflict = dup & ~same
        valid_pos = np.flatnonzero(ok)
        deduplicated = int(exact.sum())
        keep[valid_pos[exact]] = False
        conflict_mask = np.zeros(n, dtype=bool)
        conflict_mask[valid_pos[conflict]] = True
        first_rows = rows[first_pos[conflict]]
        problems.add(
            conflict_mask,
            "item_id",
            "duplicate_conflict",
            [
                f"item_id {iid!r} repeats row {fr} with different content; the first row was "
                "kept; fix: give each item one row (or distinct ids)"
                for iid, fr in zip(valid["item_id"].to_numpy()[conflict], first_rows)
            ],
        )
        keep &= ~conflict_mask

    quarantine, by_reason = _quarantine(original, rows, label, problems, unreadable)
    out = clean[keep].reset_index(drop=True).astype({"item_id": "str", "domain": "str", "title": "str"})
    ignored = [str(c) for c in raw.columns if c not in ITEM_REQUIRED + ITEM_OPTIONAL]
    report = _report(
        label, n + len(unreadable), len(out), len(quarantine), deduplicated, by_reason, ignored, started
    )
    report["truncated"] = {k: v for k, v in truncated.items() if v}
    return ItemsResult(out, quarantine, report)


# ---------------------------------------------------------------- events


def _normalise_kind(raw: pd.DataFrame) -> pd.Series:
    if "kind" not in raw:
        return pd.Series("view", index=raw.index, dtype="str")
    kind = _on_uniques(
        _clean_str(raw["kind"], lower=True), lambda u: u.str.replace(r"[\s\-]+", "_", regex=True)
    )
    return kind.fillna("view")


def ingest_events(
    source: Source,
    *,
    known_items: set[str] | None = None,
    rating_scale: tuple[float, float] = (0.0, 5.0),
    name: str | None = None,
    now: float | None = None,
    future_tolerance: float = FUTURE_TOLERANCE_SECONDS,
    ts_floor: float = TS_FLOOR,
    forgotten: Collection[str] | None = None,
) -> EventsResult:
    """Read, validate and normalise behaviour events.

    Columns: user_id, item_id (required); kind (default 'view'; aliases such as 'buy' or
    'watch' map to the canonical `KINDS`), ts (epoch seconds, ISO-8601 text or datetimes, to
    float epoch seconds UTC), rating (a number within `rating_scale`), text (review text; HTML
    removed, empty becomes None), event_id (your own id of the event). Other columns are
    ignored and listed in the report. Ids are normalised by `kg.ids.normalise_id`.

    Quarantined: empty or non-scalar ids, unknown kinds, unparseable timestamps, timestamps
    more than `future_tolerance` seconds after `now` (default: the wall clock) or before
    `ts_floor`, non-numeric or out-of-scale ratings, item ids outside `known_items` (when
    given), and users whose `kg.ids.id_digest` is in `forgotten` (their raw row is not kept).
    Each clean event carries `event_key`, its identity (see `event_keys`); a repeat of an
    identity already in the batch is counted as deduplicated.
    """
    started = time.perf_counter()
    original, label, rows, unreadable = read_source(source, name)
    _require(original, label, EVENT_REQUIRED, EVENT_OPTIONAL)
    raw, bad_text = unicode_guard(original)
    n = len(raw)
    problems = _Problems()
    problems.add(bad_text, "<row>", "bad_unicode", BAD_UNICODE)
    lo, hi = float(rating_scale[0]), float(rating_scale[1])
    if not lo < hi:
        raise ValueError(f"rating_scale must be (low, high) with low < high, got {rating_scale!r}")

    user_id, bad_user, why_user = _clean_ids(raw["user_id"])
    item_id, bad_item, why_item = _clean_ids(raw["item_id"])
    problems.add(
        bad_user, "user_id", "bad_id", [f"user_id is not an id: {w}; fix: {_ID_FIX}" for w in why_user]
    )
    problems.add(
        bad_item, "item_id", "bad_id", [f"item_id is not an id: {w}; fix: {_ID_FIX}" for w in why_item]
    )
    problems.add(
        user_id.isna().to_numpy() & ~bad_user,
        "user_id",
        "empty_id",
        "user_id is empty; fix: give every event the user's id",
    )
    problems.add(
        item_id.isna().to_numpy() & ~bad_item,
        "item_id",
        "empty_id",
        "item_id is empty; fix: give every event the item's id",
    )

    kind = _normalise_kind(raw)
    canonical = kind.map(KIND_ALIASES)
    unknown = (canonical.isna() & kind.notna()).to_numpy()
    problems.add(
        unknown,
        "kind",
        "unknown_kind",
        [
            f"kind {_shown(v)} is not a known event kind; fix: use one of {list(KINDS)} "
            "(or an alias such as 'buy', 'watch', 'rate')"
            for v in raw["kind"].to_numpy(dtype=object)[unknown]
        ]
        if unknown.any()
        else [],
    )

    if "ts" in raw:
        ts, bad_ts = _to_epoch(raw["ts"])
        problems.add(
            bad_ts,
            "ts",
            "bad_ts",
            [
                f"timestamp {_shown(v)} cannot be parsed; fix: use epoch seconds (1700000000) or "
                "ISO-8601 ('2024-01-31T12:00:00Z'), or leave it empty"
                for v in raw["ts"].to_numpy(dtype=object)[bad_ts]
            ],
        )
        wall = time.time() if now is None else float(now)
        with np.errstate(invalid="ignore"):
            future = ts > wall + float(future_tolerance)
            ancient = ts < float(ts_floor)
        problems.add(
            future,
            "ts",
            "future_ts",
            [
                f"timestamp {_iso(t)} is more than {future_tolerance / 3600:g} h after the ingest time "
                f"{_iso(wall)}; fix: correct it (epoch seconds, not milliseconds?) or leave it empty"
                for t in ts[future]
            ],
        )
        problems.add(
            ancient,
            "ts",
            "ts_before_floor",
            [
                f"timestamp {_iso(t)} is before {_iso(ts_floor)}; fix: correct it or leave it empty"
                for t in ts[ancient]
            ],
        )
    else:
        ts = np.full(n, np.nan)

    if "rating" in raw:
        rating, bad_rating = _to_number(raw["rating"])
        problems.add(
            bad_rating,
            "rating",
            "bad_rating",
            [
                f"rating {_shown(v)} is not a number; fix: use a number such as 4 or 4.5, or leave it empty"
                for v in raw["rating"].to_numpy(dtype=object)[bad_rating]
            ],
        )
        with np.errstate(invalid="ignore"):
            outside = ~np.isnan(rating) & ((rating < lo) | (rating > hi))
        problems.add(
            outside,
            "rating",
            "rating_out_of_scale",
            [
                f"rating {r:g} is outside the scale {lo:g}..{hi:g}; fix: correct it, or pass "
                f"rating_scale=(low, high) if your scale differs"
                for r in rating[outside]
            ],
        )
    else:
        rating = np.full(n, np.nan)

    if known_items is not None:
        unknown_item = (item_id.notna() & ~item_id.isin(known_items)).to_numpy()
        problems.add(
            unknown_item,
            "item_id",
            "unknown_item",
            [
                f"item_id {iid!r} is not a known item; fix: ingest the item first "
                "(ingest_items) or correct the id"
                for iid in item_id.to_numpy()[unknown_item]
            ],
        )

    text, cut_text = (
        _truncate(_clean_str(raw["text"], strip_html=True), MAX_TEXT_CHARS)
        if "text" in raw
        else (pd.Series(np.nan, index=raw.index, dtype="str"), 0)
    )
    event_id = None
    if "event_id" in raw:
        event_id, bad_eid, why_eid = _clean_ids(raw["event_id"])
        problems.add(
            bad_eid, "event_id", "bad_id", [f"event_id is not an id: {w}; fix: {_ID_FIX}" for w in why_eid]
        )

    redact = np.zeros(n, dtype=bool)
    if forgotten:
        redact = _forgotten_mask(user_id, set(forgotten))
        problems.add(
            redact,
            "user_id",
            "forgotten_user",
            f"{FORGOTTEN_REASON}: this user was removed with forget_user, so their events are not "
            "ingested again (the row is not kept here); fix: drop these rows, or pass "
            "allow_forgotten=True (ikg ingest --allow-forgotten) if the user has agreed to return",
        )

    ok = ~problems.bad_mask(n)
    clean = pd.DataFrame(
        {
            "user_id": user_id.to_numpy(),
            "item_id": item_id.to_numpy(),
            "kind": canonical.to_numpy(),
            "ts": ts,
            "rating": rating,
            "text": _optional_text(text),
        }
    )
    if event_id is not None:
        clean["event_id"] = _optional_text(event_id)
    clean = clean[ok].reset_index(drop=True)
    keys = event_keys(clean)
    clean["event_key"] = keys
    dup = pd.Series(keys).duplicated(keep="first").to_numpy()
    deduplicated = int(dup.sum())
    if dup.any():
        clean = clean[~dup].reset_index(drop=True)
    if "event_id" in clean:
        clean = clean.drop(columns=["event_id"])
    clean = clean.astype({"user_id": "str", "item_id": "str", "kind": "str"})

    quarantine, by_reason = _quarantine(original, rows, label, problems, unreadable, redact)
    ignored = [str(c) for c in raw.columns if c not in EVENT_REQUIRED + EVENT_OPTIONAL]
    report = _report(
        label, n + len(unreadable), len(clean), len(quarantine), deduplicated, by_reason, ignored, started
    )
    report["rating_scale"] = (lo, hi)
    report["truncated"] = {"text": cut_text} if cut_text else {}
    return EventsResult(clean, quarantine, report)


def _iso(ts: float) -> str:
    """A timestamp as readable UTC text (or the number when it is outside datetime's range)."""
    try:
        return pd.Timestamp(float(ts), unit="s", tz="UTC").isoformat(timespec="seconds")
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        return f"{ts:g} (epoch seconds)"


def _forgotten_mask(user_id: pd.Series, forgotten: set[str]) -> np.ndarray:
    """True where the user's id digest is in the forgotten registry (each distinct user hashed once)."""
    codes, uniques = pd.factorize(user_id, use_na_sentinel=True)
    hit = np.array([id_digest(u) in forgotten for u in uniques] + [False], dtype=bool)
    return hit[codes]


def event_keys(events: pd.DataFrame) -> np.ndarray:
    """Each event's identity as a uint64: its `event_id` when given, else (user, item, kind, ts).

    Events without ts and event_id are told apart by their order among equal (user, item, kind)
    rows, so re-ingesting a file is idempotent; give a ts or an event_id to record genuine
    repeats that arrive in separate batches. A frame that already carries uint64 keys keeps them.
    """
    n = len(events)
    if n == 0:
        return np.zeros(0, dtype="uint64")
    if "event_key" in events and events["event_key"].dtype == np.dtype("uint64"):
        return events["event_key"].to_numpy()
    parts = [_hash_text(events["user_id"]), _hash_text(events["item_id"])]
    kinds = events["kind"] if "kind" in events else pd.Series("view", index=events.index)
    parts.append(_hash_text(kinds.fillna("view")))
    ts = events["ts"].to_numpy(dtype="float64", na_value=np.nan) if "ts" in events else np.full(n, np.nan)
    untimed = np.isnan(ts)
    nth = np.zeros(n, dtype="int64")
    if untimed.any():
        codes = pd.DataFrame({"u": parts[0][untimed], "i": parts[1][untimed], "k": parts[2][untimed]})
        nth[untimed] = codes.groupby(["u", "i", "k"], sort=False).cumcount().to_numpy()
    parts += [pd.util.hash_array(np.where(untimed, -1.0, ts)), pd.util.hash_array(nth)]
    keys = np.zeros(n, dtype="uint64")
    with np.errstate(over="ignore"):
        for part in parts:
            keys = (keys * np.uint64(1_000_003)) ^ part
    keys = pd.util.hash_array(keys).copy()
    if "event_id" in events:
        eid = events["event_id"].to_numpy(dtype=object, na_value=None)
        given = pd.notna(eid)
        if given.any():
            tagged = np.array(["event_id:" + str(v) for v in eid[given]], dtype=object)
            keys[given] = pd.util.hash_array(tagged)
    return keys


def _hash_text(values: pd.Series) -> np.ndarray:
    """A stable uint64 hash of each value's text, hashing each distinct value once."""
    codes, uniques = pd.factorize(values.astype("str"), use_na_sentinel=False)
    hashed = pd.util.hash_array(np.asarray(uniques, dtype=object).astype(str).astype(object))
    return hashed[codes]


def drop_seen(result: EventsResult, seen: np.ndarray) -> EventsResult:
    """Move events whose identity is in `seen` (already stored or staged) to `deduplicated`."""
    if not len(result.clean) or not len(seen):
        return result
    again = np.isin(result.clean["event_key"].to_numpy(dtype="uint64"), seen)
    if not again.any():
        return result
    report = dict(result.report)
    report["accepted"] -= int(again.sum())
    report["deduplicated"] += int(again.sum())
    return EventsResult(result.clean[~again].reset_index(drop=True), result.quarantine, report)

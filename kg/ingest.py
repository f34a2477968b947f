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

import html
import io
import json
import math
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

Source: TypeAlias = pd.DataFrame | str | Path

ITEM_REQUIRED = ("item_id", "domain", "title")
ITEM_OPTIONAL = ("description", "categories", "tags")
EVENT_REQUIRED = ("user_id", "item_id")
EVENT_OPTIONAL = ("kind", "ts", "rating", "text")
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

_TAG_RE = r"<[^>]*>"
_WS_RE = r"\s+"


class IngestError(ValueError):
    """A whole-input problem (unreadable file, missing required columns); nothing was ingested."""


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


# ---------------------------------------------------------------- reading


def _format_of(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".gz", ".bz2", ".xz", ".zip", ".zst")]
    ext = suffixes[-1] if suffixes else ""
    if ext in (".csv", ".tsv", ".parquet", ".pq", ".jsonl", ".ndjson", ".json"):
        return ext
    raise IngestError(
        f"{path}: unknown file type {ext or '(no suffix)'!r}. "
        "Fix: use .csv, .tsv, .parquet, .jsonl (or .ndjson), or pass a pandas DataFrame."
    )


def _read_jsonl(path: Path, name: str) -> tuple[pd.DataFrame, np.ndarray, list[dict[str, Any]]]:
    """Read JSON Lines; lines that are not a JSON object become quarantine records."""
    compressed = path.suffix.lower() in (".gz", ".bz2", ".xz")
    with _open_compressed(path) if compressed else open(path, encoding="utf-8") as fh:
        text = fh.read()
    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        return _read_json_array(text, path, name)
    lines = text.splitlines()
    keep = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip()]
    rows = np.array([i for i, _ in keep], dtype=np.int64)
    try:
        frame = (
            pd.read_json(
                io.StringIO("\n".join(ln for _, ln in keep)),
                lines=True,
                dtype=False,
                convert_dates=False,
                orient="records",
            )
            if keep
            else pd.DataFrame()
        )
        if len(frame) == len(keep):
            return frame, rows, []
    except ValueError:
        pass
    records, good_rows, bad = [], [], []
    for lineno, ln in keep:
        try:
            obj = json.loads(ln)
        except json.JSONDecodeError as exc:
            obj, why = None, f"not valid JSON ({exc.msg} at char {exc.pos})"
        else:
            why = "" if isinstance(obj, dict) else f"a JSON {type(obj).__name__}, not an object"
        if why:
            bad.append(
                {
                    "source": name,
                    "row": lineno,
                    "column": "<line>",
                    "reason": f"{why}; fix: write one JSON object per line, e.g. "
                    '{"item_id": "i1", "title": "..."}',
                    "raw": json.dumps(ln[:500]),
                }
            )
        else:
            records.append(obj)
            good_rows.append(lineno)
    return pd.DataFrame.from_records(records), np.array(good_rows, dtype=np.int64), bad


def _read_json_array(
    text: str, path: Path, name: str
) -> tuple[pd.DataFrame, np.ndarray, list[dict[str, Any]]]:
    """A .json file holding one array of objects; its rows are numbered by array position from 1."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise IngestError(
            f"{name}: not valid JSON ({exc}). Nothing was ingested. Fix: write a JSON array of "
            "objects, or JSON Lines (one object per line) in a .jsonl file."
        ) from None
    rows = np.arange(1, len(data) + 1, dtype=np.int64)
    good = np.array([isinstance(d, dict) for d in data], dtype=bool)
    bad = [
        {
            "source": name,
            "row": int(i + 1),
            "column": "<line>",
            "reason": f"array element is a JSON {type(data[i]).__name__}, not an object; fix: make every "
            "element an object with the column names as keys",
            "raw": json.dumps(data[i]),
        }
        for i in np.flatnonzero(~good)
    ]
    return pd.DataFrame.from_records([d for d in data if isinstance(d, dict)]), rows[good], bad


def _open_compressed(path: Path) -> Any:
    import bz2
    import gzip
    import lzma

    opener: Any = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[path.suffix.lower()]
    return opener(path, "rt", encoding="utf-8")


def _read(source: Source, name: str | None) -> tuple[pd.DataFrame, str, np.ndarray, list[dict[str, Any]]]:
    """The input as a DataFrame, its display name, each row's number, and unreadable-line records."""
    if isinstance(source, pd.DataFrame):
        return source, name or "<DataFrame>", np.arange(len(source), dtype=np.int64), []
    if not isinstance(source, (str, Path)):
        raise IngestError(f"cannot ingest a {type(source).__name__}. Fix: pass a DataFrame or a file path.")
    path = Path(source)
    label = name or str(path)
    if not path.exists():
        raise IngestError(f"{label}: no such file. Fix: check the path.")
    fmt = _format_of(path)
    try:
        if fmt in (".csv", ".tsv"):
            frame = pd.read_csv(
                path, dtype=str, keep_default_na=False, sep="\t" if fmt == ".tsv" else ",", encoding="utf-8"
            )
        elif fmt in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame, rows, bad = _read_jsonl(path, label)
            return frame, label, rows, bad
    except pd.errors.EmptyDataError:
        raise IngestError(
            f"{label}: the file is empty (no header row). Fix: write a header line with the column names."
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise IngestError(
            f"{label}: cannot be read as {fmt[1:]}: {str(exc).strip()}. Nothing was ingested. "
            "Fix: check the file format, quoting and UTF-8 encoding."
        ) from None
    return frame, label, np.arange(1, len(frame) + 1, dtype=np.int64), []


def _require(frame: pd.DataFrame, name: str, required: Iterable[str], optional: Iterable[str]) -> None:
    """Raise IngestError naming the missing required columns and the existing ones."""
    cols = [str(c) for c in frame.columns]
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


_EPOCH = pd.Timestamp(0, tz="UTC")


def _to_epoch(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Epoch seconds (UTC) from numbers, ISO-8601 strings or datetimes; mask of unparseable values.

    Numbers and numeric strings are epoch seconds; naive datetimes and ISO strings without an
    offset are taken as UTC.
    """
    if ptypes.is_datetime64_any_dtype(s.dtype):
        dt = s if getattr(s.dt, "tz", None) is not None else s.dt.tz_localize("UTC")
        secs = ((dt.dt.tz_convert("UTC") - _EPOCH) / pd.Timedelta(seconds=1)).astype("float64").to_numpy()
        return secs, np.zeros(len(s), dtype=bool)
    if ptypes.is_numeric_dtype(s.dtype) and not ptypes.is_bool_dtype(s.dtype):
        return _to_number(s)
    given = _present(s)
    if ptypes.is_object_dtype(s.dtype) and ptypes.infer_dtype(s, skipna=True) not in ("string", "empty"):
        num = pd.to_numeric(
            s.map(lambda v: v.strip() if isinstance(v, str) else v, na_action="ignore"), errors="coerce"
        )
        raw = s
    else:
        raw = _as_str(s).str.strip()
        num = pd.to_numeric(raw, errors="coerce")
    secs = num.astype("float64").to_numpy().copy()
    rest = given & ~np.isfinite(secs)
    if rest.any():
        part = raw[rest]
        dt = pd.to_datetime(part, utc=True, errors="coerce", format="ISO8601")
        secs[rest] = ((dt - _EPOCH) / pd.Timedelta(seconds=1)).astype("float64").to_numpy()
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
    out: list[str] = []
    for v in value:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if isinstance(v, (dict, list)):
            return None, "holds nested objects"
        tag = " ".join(unicodedata.normalize("NFC", str(v)).split())
        if tag and tag not in out:
            out.append(tag)
    return out, ""


def _parse_lists(values: np.ndarray) -> list[tuple[list[str] | None, str]]:
    """`_list_value` for each value, parsing each distinct text or list of texts once."""
    cache: dict[Any, tuple[list[str] | None, str]] = {}
    out: list[tuple[list[str] | None, str]] = []
    for v in values:
        if isinstance(v, str):
            key: Any = v
        elif isinstance(v, (list, tuple, np.ndarray)) and all(isinstance(x, str) for x in v):
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
    return json.dumps(clean, ensure_ascii=False, default=_json_default)


def _quarantine(
    raw: pd.DataFrame, rows: np.ndarray, name: str, problems: _Problems, unreadable: list[dict[str, Any]]
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
            "raw": [_raw_json(r) for r in records],
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
    raw, label, rows, unreadable = _read(source, name)
    _require(raw, label, ITEM_REQUIRED, ITEM_OPTIONAL)
    n = len(raw)
    problems = _Problems()

    item_id = _clean_str(raw["item_id"])
    domain = _clean_str(raw["domain"], strip_html=True, lower=True)
    title = _clean_str(raw["title"], strip_html=True)
    desc = (
        _clean_str(raw["description"], strip_html=True)
        if "description" in raw
        else pd.Series([None] * n, index=raw.index, dtype=object)
    )
    problems.add(
        item_id.isna().to_numpy(),
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

    quarantine, by_reason = _quarantine(raw, rows, label, problems, unreadable)
    out = clean[keep].reset_index(drop=True).astype({"item_id": "str", "domain": "str", "title": "str"})
    ignored = [str(c) for c in raw.columns if c not in ITEM_REQUIRED + ITEM_OPTIONAL]
    report = _report(
        label, n + len(unreadable), len(out), len(quarantine), deduplicated, by_reason, ignored, started
    )
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
) -> EventsResult:
    """Read, validate and normalise behaviour events.

    Columns: user_id, item_id (required); kind (default 'view'; aliases such as 'buy' or
    'watch' map to the canonical `KINDS`), ts (epoch seconds, ISO-8601 text or datetimes, to
    float epoch seconds UTC), rating (a number within `rating_scale`), text (review text; HTML
    removed, empty becomes None). Other columns are ignored and listed in the report.

    Quarantined: empty ids, unknown kinds, unparseable timestamps, non-numeric or
    out-of-scale ratings, and item ids outside `known_items` (when given). Exact repeats of a
    timestamped event (same user, item, kind, ts, rating, text) are counted as deduplicated;
    repeats without a timestamp are kept, since they may be genuine repeated views.
    """
    started = time.perf_counter()
    raw, label, rows, unreadable = _read(source, name)
    _require(raw, label, EVENT_REQUIRED, EVENT_OPTIONAL)
    n = len(raw)
    problems = _Problems()
    lo, hi = float(rating_scale[0]), float(rating_scale[1])
    if not lo < hi:
        raise ValueError(f"rating_scale must be (low, high) with low < high, got {rating_scale!r}")

    user_id = _clean_str(raw["user_id"])
    item_id = _clean_str(raw["item_id"])
    problems.add(
        user_id.isna().to_numpy(),
        "user_id",
        "empty_id",
        "user_id is empty; fix: give every event the user's id",
    )
    problems.add(
        item_id.isna().to_numpy(),
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

    text = (
        _clean_str(raw["text"], strip_html=True)
        if "text" in raw
        else pd.Series(np.nan, index=raw.index, dtype="str")
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
    )[ok]
    timed = clean["ts"].notna().to_numpy()
    dup = np.zeros(len(clean), dtype=bool)
    if timed.any():
        dup[timed] = clean[timed].duplicated(keep="first").to_numpy()
    deduplicated = int(dup.sum())
    clean = clean[~dup].reset_index(drop=True).astype({"user_id": "str", "item_id": "str", "kind": "str"})

    quarantine, by_reason = _quarantine(raw, rows, label, problems, unreadable)
    ignored = [str(c) for c in raw.columns if c not in EVENT_REQUIRED + EVENT_OPTIONAL]
    report = _report(
        label, n + len(unreadable), len(clean), len(quarantine), deduplicated, by_reason, ignored, started
    )
    report["rating_scale"] = (lo, hi)
    return EventsResult(clean, quarantine, report)

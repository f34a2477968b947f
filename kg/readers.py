"""Reading ingest inputs: a DataFrame or a CSV / TSV / Parquet / JSON / JSONL file, as rows.

Lines that cannot be read (invalid UTF-8, an extra CSV field, a JSON line that is not an
object) become quarantine records and the rest of the file is kept; only a whole-input
problem (no such file, unknown type, no header) is an `IngestError`.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

Source: TypeAlias = pd.DataFrame | str | Path


class IngestError(ValueError):
    """A whole-input problem (unreadable file, missing required columns); nothing was ingested."""


def _format_of(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".gz", ".bz2", ".xz", ".zip", ".zst")]
    ext = suffixes[-1] if suffixes else ""
    if ext in (".csv", ".tsv", ".parquet", ".pq", ".jsonl", ".ndjson", ".json"):
        return ext
    raise IngestError(
        f"{path}: unknown file type {ext or '(no suffix)'!r}. "
        "Fix: use .csv, .tsv, .parquet, .jsonl (or .ndjson), or pass a pandas DataFrame."
    )


def _unreadable(name: str, row: int, why: str, fix: str, raw: str) -> dict[str, Any]:
    """A quarantine record for a line that could not be read into a row."""
    return {"source": name, "row": row, "column": "<line>", "reason": f"{why}; fix: {fix}", "raw": raw}


def _decode(data: bytes) -> str:
    """UTF-8 text; invalid bytes become lone surrogates so the lines holding them can be set aside."""
    return data.decode("utf-8", errors="surrogateescape")


def _has_bad_bytes(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _shown_line(line: str) -> str:
    return json.dumps(line[:500].encode("utf-8", errors="replace").decode("utf-8"))


_BAD_UTF8 = ("holds bytes that are not valid UTF-8", "save the file as UTF-8")


def _read_jsonl(path: Path, name: str) -> tuple[pd.DataFrame, np.ndarray, list[dict[str, Any]]]:
    """Read JSON Lines; lines that are not a JSON object (or not UTF-8) become quarantine records."""
    compressed = path.suffix.lower() in (".gz", ".bz2", ".xz")
    with _open_compressed(path) if compressed else open(path, "rb") as fh:
        text = _decode(fh.read())
    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        return _read_json_array(text, path, name)
    lines = text.splitlines()
    keep = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip()]
    rows = np.array([i for i, _ in keep], dtype=np.int64)
    if all(ln.lstrip().startswith("{") for _, ln in keep) and not _has_bad_bytes(text):
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
        except (ValueError, TypeError, OverflowError):
            pass
    records, good_rows, bad = [], [], []
    fix = 'write one JSON object per line, e.g. {"item_id": "i1", "title": "..."}'
    for lineno, ln in keep:
        if _has_bad_bytes(ln):
            bad.append(_unreadable(name, lineno, *_BAD_UTF8, _shown_line(ln)))
            continue
        try:
            obj = json.loads(ln)
        except json.JSONDecodeError as exc:
            obj, why = None, f"not valid JSON ({exc.msg} at char {exc.pos})"
        except (ValueError, RecursionError):
            obj, why = None, "not valid JSON (malformed or nested too deeply)"
        else:
            why = "" if isinstance(obj, dict) else f"a JSON {type(obj).__name__}, not an object"
        if why:
            bad.append(_unreadable(name, lineno, why, fix, _shown_line(ln)))
        else:
            records.append(obj)
            good_rows.append(lineno)
    return pd.DataFrame.from_records(records), np.array(good_rows, dtype=np.int64), bad


def _read_csv_tolerant(
    path: Path, name: str, sep: str
) -> tuple[pd.DataFrame, np.ndarray, list[dict[str, Any]]]:
    """Slow path for a CSV pandas cannot read whole: set aside records with bad bytes or extra fields."""
    import csv

    with open(path, "rb") as fh:
        text = _decode(fh.read())
    csv.field_size_limit(2**31 - 1)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        header = next(reader)
    except StopIteration:
        raise pd.errors.EmptyDataError("no header") from None
    if _has_bad_bytes("".join(header)):
        raise UnicodeDecodeError("utf-8", b"", 0, 1, "invalid UTF-8 in the header row")
    width = len(header)
    records: list[list[str]] = []
    good_rows: list[int] = []
    bad: list[dict[str, Any]] = []
    number = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            number += 1
            bad.append(
                _unreadable(name, number, f"cannot be parsed as CSV ({exc})", "check the quoting", '""')
            )
            continue
        if not fields:
            continue
        number += 1
        line = sep.join(fields)
        if _has_bad_bytes(line):
            bad.append(_unreadable(name, number, *_BAD_UTF8, _shown_line(line)))
        elif len(fields) > width:
            bad.append(
                _unreadable(
                    name,
                    number,
                    f"has {len(fields)} fields but the header has {width}",
                    "quote values that contain the separator, or remove the extra field",
                    _shown_line(line),
                )
            )
        else:
            records.append(fields + [""] * (width - len(fields)))
            good_rows.append(number)
    frame = pd.DataFrame(records, columns=header, dtype=str) if records else pd.DataFrame(columns=header)
    return frame, np.array(good_rows, dtype=np.int64), bad


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
    return opener(path, "rb")


def read_source(
    source: Source, name: str | None
) -> tuple[pd.DataFrame, str, np.ndarray, list[dict[str, Any]]]:
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
            sep = "\t" if fmt == ".tsv" else ","
            try:
                frame = pd.read_csv(path, dtype=str, keep_default_na=False, sep=sep, encoding="utf-8")
            except (pd.errors.ParserError, UnicodeDecodeError):
                frame, rows, bad = _read_csv_tolerant(path, label, sep)
                return frame, label, rows, bad
        elif fmt in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame, rows, bad = _read_jsonl(path, label)
            return frame, label, rows, bad
    except pd.errors.EmptyDataError:
        raise IngestError(
            f"{label}: the file is empty (no header row). Fix: write a header line with the column names."
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError, NotImplementedError) as exc:
        raise IngestError(
            f"{label}: cannot be read as {fmt[1:]}: {str(exc).strip()}. Nothing was ingested. "
            "Fix: check the file format, quoting and UTF-8 encoding."
        ) from None
    return frame, label, np.arange(1, len(frame) + 1, dtype=np.int64), []


BAD_UNICODE = "holds text that is not valid Unicode (a lone surrogate); fix: decode the source as UTF-8"


def valid_unicode(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unicode_guard(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows holding text that is not valid Unicode (lone surrogates), and the frame with those cells blanked.

    Only object columns can hold such text; each is checked with one vectorised conversion and
    scanned value by value only when that conversion fails.
    """
    bad = np.zeros(len(frame), dtype=bool)
    blanked = frame
    for col in frame.columns[[ptypes.is_object_dtype(t) for t in frame.dtypes]]:
        try:
            pd.array(frame[col], dtype="str")
            continue
        except (UnicodeEncodeError, TypeError, ValueError):
            invalid = ~frame[col].map(valid_unicode).to_numpy(dtype=bool)
        if invalid.any():
            bad |= invalid
            if blanked is frame:
                blanked = frame.copy()
            blanked.loc[invalid, col] = None
    return blanked, bad

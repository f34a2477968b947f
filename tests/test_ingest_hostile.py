"""Hostile input never crashes a loader: every row is accepted, quarantined with a reason, or
deduplicated (issue #14 item 9). Hypothesis drives every loader: DataFrame, CSV, JSONL, Parquet.
"""

from __future__ import annotations

import csv
import io
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg.ingest import (
    MAX_LIST_ENTRIES,
    MAX_TITLE_CHARS,
    IngestError,
    ingest_events,
    ingest_items,
    write_quarantine,
)

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
NOW = 1_750_000_000.0

texts = st.text(alphabet=st.characters(exclude_categories=()), max_size=12)  # lone surrogates too
numbers = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
hostile = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(texts, scalars, max_size=2),
    st.sampled_from(
        [
            "2024-01-31T12:00:00Z",
            "3000-01-01",
            "1500-06-01T00:00:00",
            "99999-01-01",
            "1700000000",
            "4e10",
            "-5",
            " 1001 ",
            "1001.0",
            "<b>x</b>",
            "view",
            "BUY",
            "nope",
            "",
            "   ",
        ]
    ),
)

EVENT_COLUMNS = ["user_id", "item_id", "kind", "ts", "rating", "text", "event_id", "extra"]
ITEM_COLUMNS = ["item_id", "domain", "title", "description", "categories", "tags"]


def rows_of(columns: list[str], min_size: int = 0) -> st.SearchStrategy[list[dict]]:
    return st.lists(st.fixed_dictionaries({c: hostile for c in columns}), min_size=min_size, max_size=12)


def accounted(report: dict) -> bool:
    return report["read"] == report["accepted"] + report["quarantined"] + report["deduplicated"]


def check_events(source, n_rows: int) -> None:
    result = ingest_events(source, now=NOW)
    report = result.report
    assert accounted(report), report
    assert report["read"] == n_rows
    assert len(result.clean) == report["accepted"] and len(result.quarantine) == report["quarantined"]
    assert result.quarantine["reason"].str.len().gt(0).all()
    clean = result.clean
    assert clean["user_id"].map(lambda v: isinstance(v, str) and v == v.strip() and v != "").all()
    assert clean["item_id"].map(lambda v: isinstance(v, str) and v == v.strip() and v != "").all()
    ts = clean["ts"].to_numpy(dtype="float64")
    timed = ts[~np.isnan(ts)]
    assert ((timed >= 0) & (timed <= NOW + 86_400)).all()
    check_clean_is_storable(result)


def check_items(source, n_rows: int) -> None:
    result = ingest_items(source)
    report = result.report
    assert accounted(report), report
    assert report["read"] == n_rows
    assert result.clean["title"].str.len().le(MAX_TITLE_CHARS).all()
    assert result.clean["categories"].map(len).le(MAX_LIST_ENTRIES).all()
    check_clean_is_storable(result)


def _csv_text(rows: list[dict], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_as_cell(row[c]) for c in columns])
    return out.getvalue()


def _as_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)
    return str(value)


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


@SETTINGS
@given(rows_of(EVENT_COLUMNS))
def test_events_from_a_dataframe_of_hostile_values(rows):
    frame = pd.DataFrame(rows, columns=EVENT_COLUMNS, dtype=object)
    check_events(frame, len(rows))


@SETTINGS
@given(rows_of(ITEM_COLUMNS))
def test_items_from_a_dataframe_of_hostile_values(rows):
    frame = pd.DataFrame(rows, columns=ITEM_COLUMNS, dtype=object)
    check_items(frame, len(rows))


@SETTINGS
@given(rows_of(EVENT_COLUMNS, min_size=1), st.data())
def test_events_from_a_csv_with_bad_bytes_and_extra_fields(rows, data):
    text = _csv_text(rows, EVENT_COLUMNS).encode("utf-8", errors="surrogatepass")
    lines = text.split(b"\r\n")
    broken = data.draw(st.sets(st.integers(1, len(rows)), max_size=len(rows)))
    for i in broken:
        lines[i] = lines[i] + data.draw(st.sampled_from([b"\xff", b",extra,fields", b"\xc3"]))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.csv"
        path.write_bytes(b"\r\n".join(lines))
        check_events(path, _csv_records(path))


def _csv_records(path: Path) -> int:
    """Data records a CSV reader sees (a quoted field may span lines, so not the line count)."""
    text = path.read_bytes().decode("utf-8", errors="surrogateescape")
    return sum(1 for fields in csv.reader(io.StringIO(text, newline="")) if fields) - 1


@SETTINGS
@given(rows_of(ITEM_COLUMNS, min_size=1))
def test_items_from_a_csv_of_hostile_values(rows):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "items.csv"
        path.write_text(_csv_text(rows, ITEM_COLUMNS), encoding="utf-8", errors="surrogatepass")
        check_items(path, _csv_records(path))


@SETTINGS
@given(
    st.lists(
        st.one_of(
            st.fixed_dictionaries({c: hostile for c in EVENT_COLUMNS}).map(
                lambda r: json.dumps(_jsonable(r), default=str).encode()
            ),
            hostile.map(lambda v: json.dumps(_jsonable(v), default=str).encode()),
            st.sampled_from([b"{not json", b'{"user_id": "u\xff", "item_id": "i"}', b"[1, 2]", b"7"]),
        ),
        max_size=12,
    )
)
def test_events_from_jsonl_with_non_objects_and_bad_bytes(lines):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.jsonl"
        header = json.dumps({c: None for c in EVENT_COLUMNS}).encode()
        path.write_bytes(b"\n".join([header, *lines]) + b"\n")
        non_blank = 1 + sum(1 for ln in lines if ln.strip())
        check_events(path, non_blank)


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), texts),
            st.one_of(st.none(), texts),
            st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
            st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
        ),
        max_size=12,
    )
)
def test_events_from_parquet_with_typed_columns(rows):
    rows = [(u, i, t, r) for u, i, t, r in rows if all(_encodable(v) for v in (u, i))]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "ts", "rating"], dtype=object)
    frame["ts"] = frame["ts"].astype("float64")
    frame["rating"] = frame["rating"].astype("float64")
    frame["user_id"] = frame["user_id"].astype(object)
    frame["item_id"] = frame["item_id"].astype(object)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.parquet"
        frame.to_parquet(path, index=False)
        check_events(path, len(rows))


def _encodable(value) -> bool:
    return not isinstance(value, str) or value == value.encode("utf-8", "replace").decode("utf-8")


def check_clean_is_storable(result) -> None:
    with tempfile.TemporaryDirectory() as folder:
        result.clean.to_parquet(Path(folder) / "clean.parquet")
        write_quarantine(result.quarantine, folder)


# ------------------------------------------------------------------ the named cases, one each


def test_a_dataframe_with_repeated_column_names_is_a_clear_error():
    frame = pd.DataFrame([["u1", "u2", "i1"]], columns=["user_id", "user_id", "item_id"])
    with pytest.raises(IngestError, match=r"\['user_id'\] appear more than once.*Nothing was ingested"):
        ingest_events(frame)


def test_non_scalar_infinite_and_boolean_values_are_quarantined_not_stored(tmp_path):
    frame = pd.DataFrame(
        {
            "user_id": [["a", "b"], {"x": 1}, float("inf"), True, "ok"],
            "item_id": "i1",
            "ts": [1.7e9, 1.7e9, 1.7e9, 1.7e9, True],
        }
    )
    result = ingest_events(frame, now=NOW)
    assert result.clean.empty
    assert result.report["by_reason"] == {"bad_id": 4, "bad_ts": 1}


def test_one_bad_byte_or_one_extra_field_sets_aside_only_that_row(tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(b"user_id,item_id\nu1,i1\nu\xff2,i1\nu3,i1,extra\nu4,i1\n")
    result = ingest_events(path)
    assert result.clean["user_id"].tolist() == ["u1", "u4"]
    assert result.quarantine["row"].tolist() == [2, 3]
    assert "not valid UTF-8" in result.quarantine["reason"][0]
    assert "3 fields but the header has 2" in result.quarantine["reason"][1]


def test_a_jsonl_line_that_is_json_but_not_an_object_is_quarantined(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"user_id": "u1", "item_id": "i1"}\n[1, 2]\n5\n{"user_id": "u2", "item_id": "i1"}\n')
    result = ingest_events(path)
    assert result.clean["user_id"].tolist() == ["u1", "u2"]
    assert result.quarantine["reason"].str.contains("not an object").all()


def test_timestamps_outside_the_sane_range_are_quarantined_with_their_reason(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(
        "user_id,item_id,ts\nu1,i1,3000-01-01\nu2,i1,1500-01-01\nu3,i1,40000000000\nu4,i1,-5\n"
        "u5,i1,2025-06-01T00:00:00Z\n"
    )
    result = ingest_events(path, now=NOW)
    assert result.clean["user_id"].tolist() == ["u5"]
    assert result.report["by_reason"] == {"future_ts": 2, "ts_before_floor": 2}
    far = pd.DataFrame({"user_id": ["a"], "item_id": ["i"], "ts": [pd.Timestamp("2200-01-01")]})
    assert ingest_events(far, now=NOW).report["by_reason"] == {"future_ts": 1}


def test_oversized_fields_are_truncated_and_counted():
    items = pd.DataFrame(
        {
            "item_id": ["a", "b"],
            "domain": "books",
            "title": ["x" * 1_000_000, "short"],
            "categories": [[f"c{i}" for i in range(100_000)], "a|b"],
        }
    )
    result = ingest_items(items)
    assert result.report["truncated"] == {"title": 1, "categories": 1}
    assert len(result.clean["title"][0]) == MAX_TITLE_CHARS
    assert len(result.clean["categories"][0]) == MAX_LIST_ENTRIES


def test_text_that_is_not_valid_unicode_is_quarantined_and_the_rest_stored():
    frame = pd.DataFrame(
        {
            "item_id": ["a", "b", "c\udcff", "d"],
            "domain": "books",
            "title": "t",
            "categories": [["x\udcff"], "y|z\udcff", "ok", None],
        },
        dtype=object,
    )
    result = ingest_items(frame)
    assert result.clean["item_id"].tolist() == ["d"]
    assert result.report["quarantined"] == 3
    check_clean_is_storable(result)


@SETTINGS
@given(st.lists(st.one_of(st.fixed_dictionaries({c: hostile for c in EVENT_COLUMNS}), hostile), max_size=10))
def test_events_from_a_json_array_with_non_objects(elements):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.json"
        head = {c: None for c in EVENT_COLUMNS}
        path.write_text(json.dumps([head, *[_jsonable(e) for e in elements]], default=str))
        check_events(path, 1 + len(elements))


@settings(SETTINGS, max_examples=25)
@given(rows_of(EVENT_COLUMNS, min_size=1))
def test_the_public_api_stages_hostile_events_without_a_traceback(rows):
    from ikg import InterestGraph

    with tempfile.TemporaryDirectory() as folder:
        ig = InterestGraph.open(folder, use_gnn=False)
        ig.ingest_items(pd.DataFrame({"item_id": ["i1"], "domain": ["books"], "title": ["A"]}))
        frame = pd.DataFrame(rows, columns=EVENT_COLUMNS, dtype=object).assign(item_id="i1")
        report = ig.ingest_events(frame)
        assert accounted(report) and report["read"] == len(rows)
        again = ig.ingest_events(frame)
        assert again["accepted"] == 0 and accounted(again)
        staged = [pd.read_parquet(p) for _, kind, p in ig.workdir.pending() if kind == "events"]
        assert sum(len(f) for f in staged) == report["accepted"]
        ig.close()


def test_datetime_objects_in_a_mixed_column_are_timestamps():
    import datetime as dt

    ts = [dt.datetime(2024, 1, 1), dt.date(2024, 1, 2), None, dt.datetime(9000, 1, 1), "2024-01-03", True]
    frame = pd.DataFrame({"user_id": list("abcdef"), "item_id": "i", "ts": pd.Series(ts, dtype=object)})
    result = ingest_events(frame, now=NOW)
    assert dict(zip(result.clean["user_id"], result.clean["ts"])) == pytest.approx(
        {"a": 1_704_067_200.0, "b": 1_704_153_600.0, "c": np.nan, "e": 1_704_240_000.0}, nan_ok=True
    )
    assert result.report["by_reason"] == {"future_ts": 1, "bad_ts": 1}

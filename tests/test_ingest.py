"""Ingestion: every bad-input kind gets a clear message and a quarantine row; nothing is lost."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kg.ingest import (
    QUARANTINE_COLUMNS,
    IngestError,
    ingest_events,
    ingest_items,
    write_quarantine,
)


def _accounted(report: dict) -> bool:
    return report["read"] == report["accepted"] + report["quarantined"] + report["deduplicated"]


def _write(frame: pd.DataFrame, folder: Path, fmt: str) -> Path:
    path = folder / f"data.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    return path


# ------------------------------------------------------------------ whole-input errors


def test_missing_required_column_raises_and_names_missing_and_existing_columns():
    frame = pd.DataFrame({"user": ["u1"], "item_id": ["i1"]})
    with pytest.raises(IngestError) as err:
        ingest_events(frame)
    msg = str(err.value)
    assert "<DataFrame>" in msg
    assert "['user_id']" in msg
    assert "'user'" in msg and "'item_id'" in msg
    assert "Nothing was ingested" in msg and "Fix:" in msg
    assert isinstance(err.value, ValueError)


def test_missing_column_hint_suggests_renaming_a_case_variant(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("Item_ID,domain,title\n1,books,A\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"rename 'Item_ID' -> 'item_id'") as err:
        ingest_items(path)
    assert str(path) in str(err.value)


def test_unknown_file_type_and_missing_file_are_whole_input_errors(tmp_path):
    with pytest.raises(IngestError, match="unknown file type"):
        ingest_events(_touch(tmp_path / "events.xlsx"))
    with pytest.raises(IngestError, match="no such file"):
        ingest_events(tmp_path / "absent.csv")


def _touch(path: Path) -> Path:
    path.write_text("x", encoding="utf-8")
    return path


# ------------------------------------------------------------------ bad rows, one kind each


def test_non_numeric_rating_is_quarantined_with_file_row_column_and_fix(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("user_id,item_id,kind,rating\nu1,i1,rating,4\nu2,i1,rating,four\n", encoding="utf-8")
    res = ingest_events(path)
    assert res.clean["user_id"].tolist() == ["u1"]
    q = res.quarantine
    assert list(q.columns) == QUARANTINE_COLUMNS
    assert len(q) == 1
    row = q.iloc[0]
    assert row["source"] == str(path)
    assert row["row"] == 2  # second data row, as a person counts them
    assert row["column"] == "rating"
    assert "'four' is not a number" in row["reason"] and "fix:" in row["reason"]
    assert json.loads(row["raw"]) == {"user_id": "u2", "item_id": "i1", "kind": "rating", "rating": "four"}
    assert res.report["by_reason"] == {"bad_rating": 1}
    assert res.messages() == [f"{path} row 2, column 'rating': {row['reason']}"]


def test_rating_outside_scale_is_quarantined_and_scale_is_configurable():
    frame = pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["i1", "i1"], "rating": [4.0, 7.0]})
    res = ingest_events(frame)
    assert res.clean["rating"].tolist() == [4.0]
    assert res.quarantine["row"].tolist() == [1]  # DataFrame rows are index positions
    assert "outside the scale 0..5" in res.quarantine["reason"].iloc[0]
    assert ingest_events(frame, rating_scale=(0, 10)).report["accepted"] == 2


def test_unknown_item_in_event_is_quarantined_when_known_items_given():
    frame = pd.DataFrame({"user_id": ["u1", "u1"], "item_id": ["i1", "ghost"]})
    res = ingest_events(frame, known_items={"i1"})
    assert res.clean["item_id"].tolist() == ["i1"]
    q = res.quarantine.iloc[0]
    assert (q["row"], q["column"]) == (1, "item_id")
    assert "'ghost' is not a known item" in q["reason"] and "ingest_items" in q["reason"]
    assert ingest_events(frame).report["accepted"] == 2  # no check without known_items


def test_empty_required_id_is_quarantined():
    frame = pd.DataFrame({"user_id": ["u1", "  ", None], "item_id": ["i1", "i2", "i3"]})
    res = ingest_events(frame)
    assert res.clean["item_id"].tolist() == ["i1"]
    assert res.quarantine["row"].tolist() == [1, 2]
    assert set(res.quarantine["column"]) == {"user_id"}
    assert res.report["by_reason"] == {"empty_id": 2}


def test_unparseable_timestamp_is_quarantined_and_formats_are_parsed_to_utc_seconds():
    frame = pd.DataFrame(
        {
            "user_id": ["u1"] * 6,
            "item_id": ["a", "b", "c", "d", "e", "f"],
            "ts": [
                "1700000000",
                "2024-01-31T12:00:00Z",
                "2024-01-31T14:00:00+02:00",
                "2024-01-31 12:00:00",
                "31/01/2024",
                "",
            ],
        }
    )
    res = ingest_events(frame)
    assert res.clean["ts"].tolist()[:4] == [
        1_700_000_000.0,
        1_706_702_400.0,
        1_706_702_400.0,
        1_706_702_400.0,
    ]
    assert np.isnan(res.clean["ts"].iloc[4])  # empty ts is allowed: no time
    q = res.quarantine.iloc[0]
    assert (q["row"], q["column"]) == (4, "ts")
    assert "'31/01/2024' cannot be parsed" in q["reason"] and "ISO-8601" in q["reason"]


def test_datetime_column_becomes_epoch_seconds():
    frame = pd.DataFrame(
        {
            "user_id": ["u1", "u2"],
            "item_id": ["i", "i"],
            "ts": pd.to_datetime(["2024-01-31 12:00", "2024-01-31 13:00"]),
        }
    )
    assert ingest_events(frame).clean["ts"].tolist() == [1_706_702_400.0, 1_706_706_000.0]


def test_kinds_are_normalised_with_aliases_and_unknown_kinds_quarantined():
    frame = pd.DataFrame(
        {
            "user_id": ["u"] * 7,
            "item_id": list("abcdefg"),
            "kind": ["BUY", " watch ", "Add to Cart", "rate", None, "like", "teleport"],
        }
    )
    res = ingest_events(frame)
    assert res.clean["kind"].tolist() == ["purchase", "view", "cart", "rating", "view", "like"]
    q = res.quarantine.iloc[0]
    assert (q["row"], q["column"]) == (6, "kind")
    assert "'teleport' is not a known event kind" in q["reason"] and "purchase" in q["reason"]


def test_kind_defaults_to_view_when_column_absent():
    res = ingest_events(pd.DataFrame({"user_id": ["u"], "item_id": ["i"]}))
    assert res.clean["kind"].tolist() == ["view"]


def test_empty_review_text_is_none_not_an_error_and_html_is_stripped():
    frame = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3"],
            "item_id": ["i"] * 3,
            "text": ["  <p>Loved it &amp; cried</p> ", "   ", None],
        }
    )
    res = ingest_events(frame)
    assert res.report["quarantined"] == 0
    assert res.clean["text"].tolist() == ["Loved it & cried", None, None]


def test_a_row_with_several_problems_is_quarantined_once_with_every_reason():
    frame = pd.DataFrame({"user_id": [""], "item_id": ["i"], "rating": ["x"], "ts": ["never"]})
    res = ingest_events(frame)
    assert len(res.quarantine) == 1
    q = res.quarantine.iloc[0]
    assert q["column"] == "user_id"
    assert "user_id is empty" in q["reason"] and "'x' is not a number" in q["reason"]
    assert "'never' cannot be parsed" in q["reason"]
    assert res.report["by_reason"] == {"empty_id": 1, "bad_rating": 1, "bad_ts": 1}


def test_duplicate_item_ids_exact_are_deduplicated_conflicting_are_quarantined():
    frame = pd.DataFrame(
        {
            "item_id": ["b1", "b1", "b1", "b2"],
            "domain": ["books", "Books ", "books", "books"],
            "title": ["Dune", "Dune", "Dune Messiah", "Emma"],
        }
    )
    res = ingest_items(frame)
    assert res.clean["item_id"].tolist() == ["b1", "b2"]
    assert res.clean["title"].tolist() == ["Dune", "Emma"]  # first kept
    assert res.report["deduplicated"] == 1
    q = res.quarantine.iloc[0]
    assert (q["row"], q["column"]) == (2, "item_id")
    assert "repeats row 0 with different content" in q["reason"]
    assert json.loads(q["raw"])["title"] == "Dune Messiah"


def test_exact_duplicate_timestamped_events_are_deduplicated_untimed_repeats_kept():
    frame = pd.DataFrame(
        {"user_id": ["u"] * 4, "item_id": ["i"] * 4, "kind": ["view"] * 4, "ts": [1.0, 1.0, None, None]}
    )
    res = ingest_events(frame)
    assert res.report["deduplicated"] == 1
    assert len(res.clean) == 3


def test_items_empty_title_and_bad_category_list_are_quarantined():
    frame = pd.DataFrame(
        {
            "item_id": ["a", "b", "c"],
            "domain": ["books"] * 3,
            "title": ["A", "<br/>", "C"],
            "categories": ["x", "x", "[broken"],
        }
    )
    res = ingest_items(frame)
    assert res.clean["item_id"].tolist() == ["a"]
    assert res.quarantine[["row", "column"]].values.tolist() == [[1, "title"], [2, "categories"]]
    assert "title is empty" in res.quarantine["reason"].iloc[0]
    assert "not a valid JSON list" in res.quarantine["reason"].iloc[1]


def test_item_fields_are_cleaned_and_lists_parsed():
    frame = pd.DataFrame(
        {
            "item_id": [101, 102, 103, 104],
            "domain": [" Books", "FILMS ", "music", "games"],
            "title": ["<i>Dune</i>", "Heat &amp; Dust", "  Kind of   Blue ", "Doom"],
            "description": ["<p>Desert planet.</p>", "", None, "x"],
            "categories": [
                "Science Fiction|Space Opera",
                '["Drama", "Crime"]',
                ["Jazz", "Jazz"],
                "Arts, Crafts",
            ],
        }
    )
    res = ingest_items(frame)
    c = res.clean
    assert c["item_id"].tolist() == ["101", "102", "103", "104"]
    assert c["domain"].tolist() == ["books", "films", "music", "games"]
    assert c["title"].tolist() == ["Dune", "Heat & Dust", "Kind of Blue", "Doom"]
    assert c["description"].tolist() == ["Desert planet.", None, None, "x"]
    assert c["categories"].tolist() == [
        ["Science Fiction", "Space Opera"],
        ["Drama", "Crime"],
        ["Jazz"],
        ["Arts", "Crafts"],
    ]
    assert c["tags"].tolist() == [[], [], [], []]


def test_unicode_ids_and_titles_survive_and_are_nfc_normalised(tmp_path):
    decomposed = unicodedata.normalize("NFD", "Amélie")
    frame = pd.DataFrame(
        {
            "item_id": ["Amélie", decomposed, "東京物語"],
            "domain": ["films"] * 3,
            "title": ["Amélie", decomposed, "東京物語"],
        }
    )
    res = ingest_items(frame)
    assert res.clean["item_id"].tolist() == ["Amélie", "東京物語"]
    assert res.report["deduplicated"] == 1  # the NFD spelling is the same item
    for fmt in ("csv", "jsonl", "parquet"):
        from_file = ingest_items(_write(frame, tmp_path, fmt))
        assert from_file.clean["title"].tolist() == ["Amélie", "東京物語"], fmt
    events = ingest_events(
        pd.DataFrame({"user_id": ["ユーザー"], "item_id": [decomposed]}),
        known_items=set(res.clean["item_id"]),
    )
    assert events.clean["item_id"].tolist() == ["Amélie"]


def test_malformed_jsonl_line_is_quarantined_with_its_line_number(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"user_id": "u1", "item_id": "i1"}\n{"user_id": "u2", "item_id": \n\n'
        '{"user_id": "u3", "item_id": "i3"}\n',
        encoding="utf-8",
    )
    res = ingest_events(path)
    assert res.clean["user_id"].tolist() == ["u1", "u3"]
    q = res.quarantine.iloc[0]
    assert (q["row"], q["column"]) == (2, "<line>")
    assert "not valid JSON" in q["reason"]
    assert _accounted(res.report) and res.report["read"] == 3


# ------------------------------------------------------------------ formats agree, nothing lost


MESSY_EVENTS = pd.DataFrame(
    {
        "user_id": ["u1", "u1", "u2", "u2", "", "u3", "u3", "u4"],
        "item_id": ["i1", "i2", "i1", "i1", "i2", "i3", "i9", "Amélie"],
        "kind": ["view", "Buy", "rate", "rate", "view", "dance", "click", "review"],
        "ts": [
            "1700000000",
            "2024-01-31T12:00:00Z",
            "1700000100",
            "1700000100",
            "",
            "1700000200",
            "soon",
            "",
        ],
        "rating": ["", "", "4.5", "4.5", "", "", "", "abc"],
        "text": ["", "", "<b>good</b>", "<b>good</b>", "", "", "", "東京物語"],
    }
)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_csv_parquet_jsonl_and_dataframe_give_the_same_result(tmp_path, fmt):
    known = {"i1", "i2", "i3", "Amélie"}
    expected = ingest_events(MESSY_EVENTS, known_items=known)
    got = ingest_events(_write(MESSY_EVENTS, tmp_path, fmt), known_items=known)
    pd.testing.assert_frame_equal(got.clean, expected.clean)
    cols = ["column", "reason"]
    pd.testing.assert_frame_equal(got.quarantine[cols], expected.quarantine[cols])
    assert (got.quarantine["row"] == expected.quarantine["row"] + 1).all()  # files count from 1
    for key in ("read", "accepted", "quarantined", "deduplicated", "by_reason"):
        assert got.report[key] == expected.report[key], key


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_typed_columns_give_the_same_clean_events_as_text(tmp_path, fmt):
    typed = pd.DataFrame(
        {
            "user_id": [1, 2],
            "item_id": [10, 20],
            "kind": ["view", "rating"],
            "ts": [1_700_000_000.0, np.nan],
            "rating": [np.nan, 3.0],
        }
    )
    as_text = typed.astype(str).replace({"nan": ""})
    as_text["ts"] = ["1700000000", ""]
    expected = ingest_events(as_text).clean
    pd.testing.assert_frame_equal(ingest_events(typed).clean, expected)
    pd.testing.assert_frame_equal(ingest_events(_write(typed, tmp_path, fmt)).clean, expected)
    assert expected["user_id"].tolist() == ["1", "2"]


def test_nothing_is_silently_dropped():
    res = ingest_events(MESSY_EVENTS, known_items={"i1", "i2", "i3", "Amélie"})
    r = res.report
    assert (r["read"], r["accepted"], r["quarantined"], r["deduplicated"]) == (8, 3, 4, 1)
    assert _accounted(r)
    assert sorted(res.quarantine["row"]) == [4, 5, 6, 7]
    assert r["by_reason"] == {
        "empty_id": 1,
        "unknown_kind": 1,
        "bad_ts": 1,
        "unknown_item": 1,
        "bad_rating": 1,
    }


def test_extra_columns_are_reported_as_ignored():
    res = ingest_events(pd.DataFrame({"user_id": ["u"], "item_id": ["i"], "device": ["phone"]}))
    assert res.report["ignored_columns"] == ["device"]


def test_write_quarantine_appends_jsonl_and_csv(tmp_path):
    res = ingest_events(MESSY_EVENTS, known_items={"i1"})
    path = write_quarantine(res.quarantine, tmp_path / "q")
    write_quarantine(res.quarantine, tmp_path / "q")
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 2 * len(res.quarantine)
    assert set(QUARANTINE_COLUMNS) <= set(lines[0]) and "quarantined_at" in lines[0]
    csv_path = write_quarantine(res.quarantine, tmp_path / "q", filename="quarantine.csv")
    write_quarantine(res.quarantine, tmp_path / "q", filename="quarantine.csv")
    assert len(pd.read_csv(csv_path)) == 2 * len(res.quarantine)


def test_synthetic_data_ingests_cleanly():
    from kg.synthetic import make_cross_domain

    data = make_cross_domain(n_users=20, items_per_domain=16)
    items = ingest_items(data.items)
    events = ingest_events(data.events, known_items=set(items.clean["item_id"]))
    assert items.report["quarantined"] == 0 and events.report["quarantined"] == 0
    assert events.report["accepted"] == len(data.events)


def test_json_array_file_is_read_like_jsonl(tmp_path):
    path = tmp_path / "events.json"
    path.write_text(
        '[{"user_id": "u1", "item_id": "i1"}, 7, {"user_id": "u2", "item_id": "i2"}]', encoding="utf-8"
    )
    res = ingest_events(path)
    assert res.clean["user_id"].tolist() == ["u1", "u2"]
    assert res.quarantine[["row", "column"]].values.tolist() == [[2, "<line>"]]
    assert _accounted(res.report)
